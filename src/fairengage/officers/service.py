"""Officers, divisions and the training gate."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def division_exists(*, session: Session, code: str) -> bool:
    """Whether the division is one of the service's."""
    return session.get(Division, code) is not None


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
    from sqlalchemy.orm import selectinload

    query = select(Officer).options(selectinload(Officer.training)).order_by(Officer.badge)
    return list(session.scalars(query))
