"""Dispatch and body-worn camera events, with what reconciliation and the supervisor made of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fairengage.db import Base, UTCDateTime
from fairengage.officers.models import Officer

# What an event may be, after reconciliation and the supervisor's action.
OPEN = "open"  # reconciled, no engagement found, nobody has acted yet
MATCHED = "matched"  # an engagement of the same officer, time and place was found
RECORD_REQUESTED = "record_requested"  # the supervisor asked the officer to record it
NOT_ENGAGEMENT = "not_engagement"  # the supervisor found it was not an engagement (with a reason)
ESCALATED = "escalated"  # sent up, with a reason
STATUSES = (OPEN, MATCHED, RECORD_REQUESTED, NOT_ENGAGEMENT, ESCALATED)
# A supervisor's decision stands through later reconciliations; only a match found later closes it.
DECIDED = (NOT_ENGAGEMENT, ESCALATED)


class ExternalEvent(Base):
    """One dispatch or camera event that suggests an engagement took place."""

    __tablename__ = "external_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The source system's own id: importing the same file twice stores each event once.
    event_id: Mapped[str] = mapped_column(String(80), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(40))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Reconciliation's last word: the engagement it matched (no foreign key: a record removed by the
    # retention schedule must not take the event with it), and when it ran.
    matched_engagement_id: Mapped[str | None] = mapped_column(String(36), index=True)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default=OPEN, index=True)
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    officer: Mapped[Officer] = relationship(lazy="joined")
