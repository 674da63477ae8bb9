"""An intervention case, each run's test of the measure behind it, and the supervisor's actions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fairengage.db import Base, UTCDateTime


class InterventionCase(Base):
    """One officer and one measure an analysis flagged, open until a supervisor closes it."""

    __tablename__ = "intervention_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    # The division at the time the case opened: it decides which supervisors see it.
    division_code: Mapped[str] = mapped_column(String(16), index=True)
    # Which comparison flagged: "officers:<group>" for the internal benchmark of report.json's `officers`.
    measure: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    follow_up_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    tests: Mapped[list[CaseTest]] = relationship(
        back_populates="case", order_by="CaseTest.id", cascade="all, delete-orphan"
    )
    actions: Mapped[list[CaseAction]] = relationship(
        back_populates="case", order_by="CaseAction.id", cascade="all, delete-orphan"
    )


class CaseTest(Base):
    """A run's comparison with matched peers: the first raised the case, later ones re-test."""

    __tablename__ = "case_tests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("intervention_cases.id", ondelete="CASCADE"), index=True)
    # The run's period (first and last engagement, UTC), which also selects the records behind the flag.
    period_first: Mapped[datetime] = mapped_column(UTCDateTime())
    period_last: Mapped[datetime] = mapped_column(UTCDateTime())
    n: Mapped[int] = mapped_column(Integer)
    observed: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)
    q_value: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean)
    tested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    case: Mapped[InterventionCase] = relationship(back_populates="tests")


class CaseAction(Base):
    """What a supervisor made of the flag: agree or not, why, what they did, when to look again."""

    __tablename__ = "case_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("intervention_cases.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    acted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    agrees: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(20))
    follow_up_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    case: Mapped[InterventionCase] = relationship(back_populates="actions")
