"""Restrictions, requests to read restricted records, their approvals and reads, and retention runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fairengage.db import Base, UTCDateTime


class Restriction(Base):
    """Why and when a record was restricted (s.9): non-compliant, past the restriction age, or legacy."""

    __tablename__ = "restrictions"

    engagement_id: Mapped[str] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(20))
    restricted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    restricted_by: Mapped[str] = mapped_column(String(80))


class ApproverDelegation(Base):
    """The chief's delegation to a named user of the power to approve reads of restricted records."""

    __tablename__ = "approver_delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    granted_by: Mapped[str] = mapped_column(String(120))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")


class RestrictedAccessRequest(Base):
    """A request to read one restricted record for a stated purpose, and its approval."""

    __tablename__ = "restricted_access_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[str] = mapped_column(ForeignKey("engagements.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[str] = mapped_column(String(80))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(40))
    details: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(12), default="pending")
    approver: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RestrictedRead(Base):
    """One granted read of a restricted record: counted for the annual report (ANNUAL-REPORT)."""

    __tablename__ = "restricted_reads"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("restricted_access_requests.id", ondelete="CASCADE"))
    engagement_id: Mapped[str] = mapped_column(ForeignKey("engagements.id", ondelete="CASCADE"), index=True)
    reader: Mapped[str] = mapped_column(String(80))
    read_at: Mapped[datetime] = mapped_column(UTCDateTime())
    legacy: Mapped[bool] = mapped_column(Boolean, default=False)


class RetentionRun(Base):
    """One run of the retention job: what it restricted and destroyed, as of which date."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[str] = mapped_column(String(10))
    run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_by: Mapped[str] = mapped_column(String(80))
    restricted: Mapped[int] = mapped_column(Integer)
    destroyed: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer)
