"""Engagement facts, the person's information (kept apart), findings and idempotency keys."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fairengage.db import Base, UTCDateTime
from fairengage.officers.models import Officer


class Engagement(Base):
    """One attempt to collect identifying information from one person: the facts, no personal data."""

    __tablename__ = "engagements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # How far off the phone said its position might be (metres), and the division that position falls
    # in by the boundary file: the officer may choose another, and a reviewer can see that they did.
    location_accuracy_m: Mapped[float | None] = mapped_column(Float)
    division_at_location: Mapped[str | None] = mapped_column(String(20))
    neighbourhood: Mapped[str | None] = mapped_column(String(120))
    location_description: Mapped[str | None] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    reason_grounds: Mapped[list[str]] = mapped_column(JSON, default=list)
    description_match: Mapped[bool] = mapped_column(Boolean, default=False)
    description_elements: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The officer confirmed the race word(s) in the reason describe something else ("a black jacket");
    # the words are the rule set's terms the reason named, kept for the reviewer.
    race_word_not_about_person: Mapped[bool] = mapped_column(Boolean, default=False)
    race_words_confirmed: Mapped[list[str] | None] = mapped_column(JSON)
    perceived_race: Mapped[str] = mapped_column(String(40))
    perceived_gender: Mapped[str] = mapped_column(String(20))
    perceived_age: Mapped[int | None] = mapped_column(Integer)
    informed: Mapped[bool | None] = mapped_column(Boolean)
    inform_exception: Mapped[str | None] = mapped_column(String(40))
    inform_exception_details: Mapped[str | None] = mapped_column(Text)
    informed_why: Mapped[bool | None] = mapped_column(Boolean)
    inform_why_exception: Mapped[str | None] = mapped_column(String(40))
    receipt_offered: Mapped[bool | None] = mapped_column(Boolean)
    receipt_exception: Mapped[str | None] = mapped_column(String(40))
    receipt_exception_details: Mapped[str | None] = mapped_column(Text)
    identifying_info_collected: Mapped[bool] = mapped_column(Boolean)
    searched: Mapped[bool] = mapped_column(Boolean, default=False)
    contraband_found: Mapped[bool | None] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(20), default="none")
    compliant: Mapped[bool] = mapped_column(Boolean)
    ruleset_id: Mapped[str] = mapped_column(String(40))
    ruleset_version: Mapped[str] = mapped_column(String(20))
    receipt_code: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending_review", index=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    legacy: Mapped[bool] = mapped_column(Boolean, default=False)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    # The import that loaded the record (None for records made in the application). No foreign key:
    # adding one to an existing SQLite table means rebuilding it, and batches are never deleted.
    import_batch_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The encounter the record belongs to when several people were engaged at once: the id of the
    # encounter's first record (docs/officer.md, "Several people"). None is an encounter of one, so
    # older records need no rewrite; analyses read `encounter_id or id`.
    encounter_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # The body-worn camera's id for the video of this engagement, when there is one: the reviewer can
    # ask for the footage by it (docs/events.md).
    bwc_video_id: Mapped[str | None] = mapped_column(String(80))

    officer: Mapped[Officer] = relationship(lazy="joined")
    findings: Mapped[list[Finding]] = relationship(
        back_populates="engagement", cascade="all, delete-orphan", order_by="Finding.id"
    )
    person: Mapped[Person | None] = relationship(back_populates="engagement", cascade="all, delete-orphan")


class Person(Base):
    """The person's identifying information, apart from the facts so it can be restricted and audited."""

    __tablename__ = "persons"

    engagement_id: Mapped[str] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(String(300))
    engagement: Mapped[Engagement] = relationship(back_populates="person")


class Finding(Base):
    """One rule's verdict on one record, with the rule set's version."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[str] = mapped_column(ForeignKey("engagements.id", ondelete="CASCADE"), index=True)
    rule_code: Mapped[str] = mapped_column(String(40))
    verdict: Mapped[str] = mapped_column(String(12))
    field: Mapped[str | None] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    ground: Mapped[str | None] = mapped_column(String(40))
    engagement: Mapped[Engagement] = relationship(back_populates="findings")


class ImportBatch(Base):
    """One run of `fairengage import`: which file (by SHA-256), in which format, by whom, and its counts."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_already_present: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyRecord(Base):
    """The first answer given to a caller's Idempotency-Key, replayed on every repeat."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_digest: Mapped[str] = mapped_column(String(64))
    engagement_id: Mapped[str] = mapped_column(ForeignKey("engagements.id", ondelete="CASCADE"))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
