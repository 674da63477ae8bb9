"""The publication ledger: one row per release of a period's reports, never deleted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fairengage.db import Base, UTCDateTime


class PublicationRelease(Base):
    """A release: built (draft), approved by a second person (published), then superseded or withdrawn.

    The files are in `folder` (relative to the publications folder), written once at the build and never
    rewritten; `files` holds the SHA-256 of each public one so any later change is detected.
    """

    __tablename__ = "publication_releases"
    __table_args__ = (UniqueConstraint("period", "version", name="uq_publication_releases_period_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    version: Mapped[int] = mapped_column(Integer)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("publication_releases.id"))
    # draft, published, superseded or withdrawn
    status: Mapped[str] = mapped_column(String(12), index=True)
    folder: Mapped[str] = mapped_column(String(40))
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())
    built_by: Mapped[str] = mapped_column(String(80))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(80))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by: Mapped[str | None] = mapped_column(String(80))
    # Why a correction replaces the earlier version, shown on the dashboard with it.
    reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    partial: Mapped[bool] = mapped_column(Boolean)
    as_of: Mapped[date] = mapped_column(Date)
    data_to: Mapped[date] = mapped_column(Date)
    threshold: Mapped[int] = mapped_column(Integer)
    disclosure_ok: Mapped[bool] = mapped_column(Boolean)
    # {"summary", "further_suppressed", "blocking": [{release, file, figure, low, high}]}
    disclosure: Mapped[dict[str, Any]] = mapped_column(JSON)
    # {"report.public.json": "<sha256>", ...}: every public file of the release
    files: Mapped[dict[str, str]] = mapped_column(JSON)
