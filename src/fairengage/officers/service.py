"""Officers, divisions and the training gate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from fairengage.access import audit
from fairengage.errors import Conflict, FieldError, NotFound, RecordRefused
from fairengage.officers.models import Division, Officer, TrainingRecord


def get(*, session: Session, badge: str) -> Officer | None:
    """The officer with this badge, or None."""
    return session.scalars(select(Officer).where(Officer.badge == badge)).first()


def get_or_raise(*, session: Session, badge: str) -> Officer:
    """The officer with this badge, or NotFound."""
    officer = get(session=session, badge=badge)
    if officer is None:
        raise NotFound(f"no officer with badge {badge}")
    return officer


def division_codes(*, session: Session) -> list[str]:
    """Every division code, sorted."""
    return list(session.scalars(select(Division.code).order_by(Division.code)))


_DIVISIONS = Division.__table__
_OFFICERS = Officer.__table__
_TRAINING = TrainingRecord.__table__
# Built once: both run on every recorded engagement.
_DIVISION = select(_DIVISIONS.c.code).where(_DIVISIONS.c.code == bindparam("code"))
_ON_DUTY = (
    select(_OFFICERS.c.name, _OFFICERS.c.badge, _TRAINING.c.completed_on)
    .select_from(_OFFICERS.outerjoin(_TRAINING, _TRAINING.c.officer_id == _OFFICERS.c.id))
    .where(_OFFICERS.c.id == bindparam("officer_id"))
)


def division_exists(*, session: Session, code: str) -> bool:
    """Whether the division is one of the service's."""
    return session.connection().execute(_DIVISION, {"code": code}).first() is not None


@dataclass(frozen=True)
class OfficerOnDuty:
    """What recording an engagement needs to know of its officer, read in one query."""

    id: int
    name: str
    badge: str
    training: tuple[date, ...]

    def trained_as_of(self, day: date) -> date | None:
        """The latest completion on or before `day`, as `Officer.trained_as_of` reckons it."""
        return max((done for done in self.training if done <= day), default=None)


def on_duty(*, session: Session, officer_id: int | None) -> OfficerOnDuty | None:
    """The officer with their training dates, or None (as for a user linked to no officer)."""
    if officer_id is None:
        return None
    rows = session.connection().execute(_ON_DUTY, {"officer_id": officer_id}).all()
    if not rows:
        return None
    training = tuple(r.completed_on for r in rows if r.completed_on is not None)
    return OfficerOnDuty(id=officer_id, name=rows[0].name, badge=rows[0].badge, training=training)


def add(
    *, session: Session, badge: str, name: str, division: str, trained_on: date | None, actor: str
) -> Officer:
    """Add an officer, with a first training record when given."""
    if get(session=session, badge=badge) is not None:
        raise Conflict(f"an officer with badge {badge} already exists")
    if not division_exists(session=session, code=division):
        raise RecordRefused(
            f"unknown division {division}",
            [FieldError("division", "VALID-DIVISION", f"{division} is not one of the service's divisions")],
        )
    officer = Officer(badge=badge, name=name, division_code=division)
    if trained_on is not None:
        officer.training.append(TrainingRecord(completed_on=trained_on))
    session.add(officer)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="officer.add",
        entity="officer",
        entity_id=badge,
        purpose="administration",
        details={"division": division},
    )
    return officer


def record_training(*, session: Session, badge: str, on: date, actor: str) -> TrainingRecord:
    """Record a completion of the prescribed training (O. Reg. 58/16 s.11)."""
    officer = get_or_raise(session=session, badge=badge)
    record = TrainingRecord(completed_on=on)
    officer.training.append(record)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="officer.train",
        entity="officer",
        entity_id=badge,
        purpose="administration",
        details={"completed_on": on.isoformat()},
    )
    return record


def list_officers(*, session: Session) -> list[Officer]:
    """Every officer with their training records, by badge."""
    query = select(Officer).options(selectinload(Officer.training)).order_by(Officer.badge)
    return list(session.scalars(query))
