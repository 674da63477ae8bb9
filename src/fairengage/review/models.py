"""Review decisions, kept versions of corrected records, and the annual detailed-review samples."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fairengage.db import Base, UTCDateTime


class ReviewDecision(Base):
    """A reviewer's decision on one version of a record: approved, returned or non-compliant."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[str] = mapped_column(ForeignKey("engagements.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EngagementVersion(Base):
    """A record as it stood before a correction: versions are kept, never overwritten."""

    __tablename__ = "engagement_versions"
    __table_args__ = (UniqueConstraint("engagement_id", "version", name="uq_engagement_versions_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[str] = mapped_column(ForeignKey("engagements.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    saved_by: Mapped[str] = mapped_column(String(80))
    facts: Mapped[dict] = mapped_column(JSON)
    findings: Mapped[list] = mapped_column(JSON)
    compliant: Mapped[bool] = mapped_column(Boolean)


class ReviewSample(Base):
    """A reproducible random sample of a year's records for the annual detailed review (s.15)."""

    __tablename__ = "review_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    drawn_by: Mapped[str] = mapped_column(String(80))


class ReviewSampleItem(Base):
    """One sampled record and the detailed reviewer's finding on it."""

    __tablename__ = "review_sample_items"
    __table_args__ = (UniqueConstraint("sample_id", "engagement_id", name="uq_review_sample_items_record"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("review_samples.id", ondelete="CASCADE"), index=True)
    engagement_id: Mapped[str] = mapped_column(ForeignKey("engagements.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    finding: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
