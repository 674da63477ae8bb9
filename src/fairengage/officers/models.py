"""Divisions, officers and their training records."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fairengage.db import Base


class Division(Base):
    """A police division: the area of the population benchmark."""

    __tablename__ = "divisions"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class Officer(Base):
    """A sworn officer who may record engagements once trained."""

    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(primary_key=True)
    badge: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str] = mapped_column(ForeignKey("divisions.code"))
    training: Mapped[list[TrainingRecord]] = relationship(
        back_populates="officer", order_by="TrainingRecord.completed_on", cascade="all, delete-orphan"
    )

    @property
    def last_trained_on(self) -> date | None:
        """The most recent completion of the prescribed training."""
        return max((t.completed_on for t in self.training), default=None)

    def trained_as_of(self, day: date) -> date | None:
        """The latest completion on or before `day`: training taken later does not cover earlier work."""
        return max((t.completed_on for t in self.training if t.completed_on <= day), default=None)


class TrainingRecord(Base):
    """One completion of the prescribed training (O. Reg. 58/16 s.11)."""

    __tablename__ = "training_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id", ondelete="CASCADE"), index=True)
    completed_on: Mapped[date] = mapped_column(Date)
    course: Mapped[str] = mapped_column(String(200), default="Community engagements (O. Reg. 58/16 s.11)")
    officer: Mapped[Officer] = relationship(back_populates="training")
