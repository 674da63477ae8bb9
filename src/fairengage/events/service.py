"""The supervisor's worklist of unmatched events and the three actions on one; the officer's own list.

Every action is audited in the transaction that makes it. `unmatched_count_for` is the figure a desk
shows beside its link to the worklist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from fairengage.access import audit
from fairengage.access.permissions import scope_of
from fairengage.access.principal import Principal
from fairengage.access.scoping import in_scope
from fairengage.errors import Conflict, FieldError, NotFound, RecordRefused
from fairengage.events.models import (
    ESCALATED,
    MATCHED,
    NOT_ENGAGEMENT,
    OPEN,
    RECORD_REQUESTED,
    ExternalEvent,
)

# The worklist: events reconciliation left unmatched that still need someone. A dismissed event has
# left it; an escalated one stays, marked, until the commander's answer (a record, or a dismissal).
WORKLIST = (OPEN, RECORD_REQUESTED, ESCALATED)
ACTIONS: dict[str, str] = {
    "record": RECORD_REQUESTED,
    "not_engagement": NOT_ENGAGEMENT,
    "escalate": ESCALATED,
}
# Dismissing or escalating is a judgement the next reader must be able to follow: it needs a reason.
NEEDS_REASON = ("not_engagement", "escalate")
MAX_REASON = 2000
PAGE = 50


def _scoped(principal: Principal, permission: str) -> ColumnElement[bool]:
    return in_scope(
        principal, permission, division=ExternalEvent.division_code, officer=ExternalEvent.officer_id
    )


def _unmatched() -> tuple[ColumnElement[bool], ...]:
    return (
        ExternalEvent.reconciled_at.is_not(None),
        ExternalEvent.matched_engagement_id.is_(None),
        ExternalEvent.status.in_(WORKLIST),
    )


def unmatched_count_for(session: Session, principal: Principal) -> int | None:
    """Unmatched events awaiting someone in the principal's scope; None when the role has no worklist."""
    if scope_of(principal.role, "events:worklist") is None:
        return None
    return (
        session.scalar(
            select(func.count())
            .select_from(ExternalEvent)
            .where(_scoped(principal, "events:worklist"), *_unmatched())
        )
        or 0
    )


@dataclass(frozen=True)
class Worklist:
    items: list[ExternalEvent]
    total: int


def worklist(*, session: Session, principal: Principal, offset: int = 0, limit: int = PAGE) -> Worklist:
    """The unmatched events of the principal's scope, oldest first."""
    condition = _scoped(principal, "events:worklist")
    total = (
        session.scalar(select(func.count()).select_from(ExternalEvent).where(condition, *_unmatched())) or 0
    )
    items = list(
        session.scalars(
            select(ExternalEvent)
            .where(condition, *_unmatched())
            .order_by(ExternalEvent.occurred_at, ExternalEvent.id)
            .offset(offset)
            .limit(limit)
        )
    )
    return Worklist(items=items, total=total)


def get(*, session: Session, principal: Principal, event_id: int, permission: str) -> ExternalEvent:
    event = session.scalar(
        select(ExternalEvent).where(ExternalEvent.id == event_id, _scoped(principal, permission))
    )
    if event is None:
        raise NotFound("no such event in your scope")
    return event


def resolve(
    *, session: Session, principal: Principal, event_id: int, action: str, reason: str
) -> ExternalEvent:
    """Record requested, not an engagement, or escalated: stored and audited together."""
    event = get(session=session, principal=principal, event_id=event_id, permission="events:resolve")
    if action not in ACTIONS:
        raise RecordRefused(
            "unknown action",
            [FieldError("action", "UNRECORDED-EVENT", "choose record, not an engagement, or escalate")],
        )
    reason = reason.strip()
    if action in NEEDS_REASON and not reason:
        raise RecordRefused(
            "a reason is required", [FieldError("reason", "UNRECORDED-EVENT", "give a reason")]
        )
    if len(reason) > MAX_REASON:
        raise RecordRefused(
            "the reason is too long",
            [FieldError("reason", "UNRECORDED-EVENT", f"at most {MAX_REASON} characters")],
        )
    if event.status in (MATCHED, NOT_ENGAGEMENT) or event.matched_engagement_id is not None:
        raise Conflict(f"this event is {event.status.replace('_', ' ')}: nothing is left to do")
    event.status = ACTIONS[action]
    event.resolution_reason = reason or None
    event.resolved_by = principal.user_id
    event.resolved_at = datetime.now(UTC)
    audit.append(
        session,
        actor=principal.username,
        action=f"events.{action}",
        entity="external_events",
        entity_id=str(event.id),
        purpose="act on an event that no engagement record matched",
        details={"event_id": event.event_id, "status": event.status},
    )
    return event


def mine(*, session: Session, principal: Principal) -> list[ExternalEvent]:
    """The officer's events a supervisor asked them to record, oldest first."""
    return list(
        session.scalars(
            select(ExternalEvent)
            .where(
                _scoped(principal, "events:own"),
                ExternalEvent.status == RECORD_REQUESTED,
                ExternalEvent.matched_engagement_id.is_(None),
            )
            .order_by(ExternalEvent.occurred_at, ExternalEvent.id)
            .limit(200)
        )
    )
