"""Complaints and own-record requests, the requester's contact details (kept apart) and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fairengage.db import Base, UTCDateTime


class Complaint(Base):
    """A complaint about an engagement, or a request for one's own record, filed from a receipt code.

    No personal information lives here: who asked and how to reach them is in `complaint_contacts`, so
    that lists and histories can be shown to staff without showing the person.
    """

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    engagement_id: Mapped[str] = mapped_column(ForeignKey("engagements.id"), index=True)
    # Copied from the engagement when filed: complaints are routed to the division's supervisors.
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The public form's one-time key: a double tap or a resubmitted page files one complaint.
    form_key: Mapped[str] = mapped_column(String(64), unique=True)
    identity_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    identity_confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    identity_note: Mapped[str | None] = mapped_column(Text)

    contact: Mapped[ComplaintContact | None] = relationship(
        back_populates="complaint", cascade="all, delete-orphan", lazy="select"
    )
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", cascade="all, delete-orphan", order_by="ComplaintEvent.id"
    )


class ComplaintContact(Base):
    """How to reach the requester: personal information, never public, every staff read audited."""

    __tablename__ = "complaint_contacts"

    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime())
    complaint: Mapped[Complaint] = relationship(back_populates="contact")


class ComplaintEvent(Base):
    """One step in a complaint's history: filed, status changed, assigned, identity confirmed, exported."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    complaint: Mapped[Complaint] = relationship(back_populates="events")
