"""Restriction on schedule (RESTRICT-5Y), legacy records (LEGACY-DATA), legal holds, and governed reads.

The regulation restricts; it does not delete. Destruction follows the board's retention schedule, which
a rule set may define (`destruction_years`, default 0: none). Records under legal hold are never
destroyed; they are still restricted, since restriction only limits who may read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from fairengage import policy
from fairengage.access import audit
from fairengage.access.models import User
from fairengage.access.permissions import scope_of
from fairengage.access.principal import Principal
from fairengage.engagements.models import Engagement, Person
from fairengage.errors import Conflict, FieldError, Forbidden, NotFound, RecordRefused
from fairengage.retention.models import (
    ApproverDelegation,
    RestrictedAccessRequest,
    RestrictedRead,
    Restriction,
    RetentionRun,
)

# An approval lets the requester read the record for this long; a later need is a new request.
APPROVAL_VALID = timedelta(days=7)


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier; 29 February falls back to the 28th.

    A record is restricted once `years` full years have passed since its local entry date, so one
    entered on 29 February 2020 is restricted on 1 March 2025 (2025 has no 29 February).
    """
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _start_of_next_day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def restrict(*, session: Session, engagement: Engagement, reason: str, actor: str) -> None:
    """Restrict one record now, noting why; a record already restricted keeps its first reason."""
    if engagement.restricted:
        return
    engagement.restricted = True
    session.add(
        Restriction(
            engagement_id=engagement.id, reason=reason, restricted_at=datetime.now(UTC), restricted_by=actor
        )
    )
    audit.append(
        session,
        actor=actor,
        action="engagement.restrict",
        entity="engagement",
        entity_id=engagement.id,
        purpose="restriction (O. Reg. 58/16 s.9)",
        details={"reason": reason},
    )


@dataclass(frozen=True)
class RunReport:
    """What a retention run did (or, dry, would do)."""

    as_of: date
    restricted_by_age: int
    restricted_legacy: int
    destroyed: int
    held: int
    dry_run: bool


def run(*, session: Session, as_of: date, tz: str, actor: str, dry_run: bool = False) -> RunReport:
    """Restrict what is due as of a date and apply any destruction schedule; safe to run twice."""
    zone = ZoneInfo(tz)
    restricted_by_age = destroyed = held = 0
    now = datetime.now(UTC)
    for ruleset in policy.load_rulesets():
        years = int(ruleset.param("restriction_years"))
        cutoff = _start_of_next_day(years_before(as_of, years), zone)
        due = select(Engagement.id).where(
            Engagement.ruleset_id == ruleset.id,
            Engagement.restricted.is_(False),
            Engagement.entered_at < cutoff,
        )
        ids = list(session.scalars(due))
        restricted_by_age += len(ids)
        if ids and not dry_run:
            _restrict_many(session, ids, "age", actor, now)
        destruction_years = int(ruleset.param("destruction_years"))
        if destruction_years > 0:
            destroy_cutoff = _start_of_next_day(years_before(as_of, destruction_years), zone)
            old = Engagement.ruleset_id == ruleset.id, Engagement.entered_at < destroy_cutoff
            held += (
                session.scalar(
                    select(func.count()).select_from(Engagement).where(*old, Engagement.legal_hold.is_(True))
                )
                or 0
            )
            doomed = list(
                session.scalars(select(Engagement.id).where(*old, Engagement.legal_hold.is_(False)))
            )
            destroyed += len(doomed)
            if doomed and not dry_run:
                _destroy(session, doomed, actor)
    legacy_ids = list(
        session.scalars(
            select(Engagement.id).where(Engagement.legacy.is_(True), Engagement.restricted.is_(False))
        )
    )
    if legacy_ids and not dry_run:
        _restrict_many(session, legacy_ids, "legacy", actor, now)
    report = RunReport(as_of, restricted_by_age, len(legacy_ids), destroyed, held, dry_run)
    if not dry_run:
        session.add(
            RetentionRun(
                as_of=as_of.isoformat(),
                run_at=now,
                run_by=actor,
                restricted=restricted_by_age + len(legacy_ids),
                destroyed=destroyed,
                held=held,
            )
        )
        audit.append(
            session,
            actor=actor,
            action="retention.run",
            entity="retention",
            entity_id=as_of.isoformat(),
            purpose="retention schedule (O. Reg. 58/16 s.9)",
            details={
                "restricted_by_age": restricted_by_age,
                "restricted_legacy": len(legacy_ids),
                "destroyed": destroyed,
                "held": held,
            },
        )
    session.flush()
    return report


def _restrict_many(session: Session, ids: list[str], reason: str, actor: str, now: datetime) -> None:
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        session.execute(update(Engagement).where(Engagement.id.in_(chunk)).values(restricted=True))
        session.add_all(
            Restriction(engagement_id=i, reason=reason, restricted_at=now, restricted_by=actor) for i in chunk
        )
        # One entry per batch, naming its first and last record: a schedule run is one act.
        audit.append(
            session,
            actor=actor,
            action="engagement.restrict",
            entity="engagement",
            entity_id=chunk[0],
            purpose="restriction (O. Reg. 58/16 s.9)",
            details={"reason": reason, "count": len(chunk), "first": chunk[0], "last": chunk[-1]},
        )


def _destroy(session: Session, ids: list[str], actor: str) -> None:
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        session.execute(delete(Person).where(Person.engagement_id.in_(chunk)))
        session.execute(delete(Engagement).where(Engagement.id.in_(chunk)))
        audit.append(
            session,
            actor=actor,
            action="engagement.destroy",
            entity="engagement",
            entity_id=chunk[0],
            purpose="retention schedule",
            details={"count": len(chunk), "ids": chunk},
        )


def set_legal_hold(*, session: Session, engagement_id: str, hold: bool, actor: str, note: str) -> None:
    """Place or lift a legal hold: a held record is never destroyed by a schedule."""
    engagement = session.get(Engagement, engagement_id)
    if engagement is None:
        raise NotFound(f"no record {engagement_id}")
    engagement.legal_hold = hold
    audit.append(
        session,
        actor=actor,
        action="engagement.hold" if hold else "engagement.release",
        entity="engagement",
        entity_id=engagement_id,
        purpose=note or "legal hold",
    )


# Separation of duties: whoever can create and change accounts could make one to ask with and then
# approve its request, so user administration and the approval delegation are never one person's.
USER_ADMIN = "users:manage"
SEPARATE_DUTIES = "SEPARATE-DUTIES"


def administers_users(role: str) -> bool:
    """Whether a role holds user administration, which no approver of restricted reads may hold."""
    return scope_of(role, USER_ADMIN) is not None


def delegate(*, session: Session, username: str, granted_by: str, note: str = "") -> ApproverDelegation:
    """Record the chief's delegation of the power to approve restricted reads to a named user."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user named {username}")
    if administers_users(user.role):
        raise RecordRefused(
            f"{username} administers users, so cannot also approve reads of restricted records",
            [
                FieldError(
                    "username",
                    SEPARATE_DUTIES,
                    f"someone who can create and change accounts could make one to ask with and then "
                    f"approve its request: delegate to someone else, or have another administrator give "
                    f"{username} a role without user administration first",
                )
            ],
        )
    if active_delegation(session=session, user_id=user.id):
        raise Conflict(f"{username} already holds the delegation")
    row = ApproverDelegation(user_id=user.id, granted_by=granted_by, granted_at=datetime.now(UTC), note=note)
    session.add(row)
    audit.append(
        session,
        actor=granted_by,
        action="delegation.grant",
        entity="user",
        entity_id=username,
        purpose="restricted-record approvals (O. Reg. 58/16 s.9)",
        details={"note": note},
    )
    session.flush()
    return row


def revoke(*, session: Session, username: str, revoked_by: str) -> None:
    """Withdraw a delegation."""
    user = session.scalars(select(User).where(User.username == username)).first()
    row = active_delegation(session=session, user_id=user.id) if user else None
    if row is None:
        raise NotFound(f"{username} holds no delegation")
    row.revoked_at = datetime.now(UTC)
    audit.append(
        session,
        actor=revoked_by,
        action="delegation.revoke",
        entity="user",
        entity_id=username,
        purpose="restricted-record approvals",
    )


def active_delegation(*, session: Session, user_id: int) -> ApproverDelegation | None:
    """The user's unrevoked delegation, if any."""
    return session.scalars(
        select(ApproverDelegation).where(
            ApproverDelegation.user_id == user_id, ApproverDelegation.revoked_at.is_(None)
        )
    ).first()


def request_access(
    *,
    session: Session,
    principal: Principal,
    engagement_id: str,
    purpose: str,
    details: str,
    today: date,
) -> RestrictedAccessRequest:
    """Ask to read a restricted record, for a purpose from the rule set's list, with details."""
    scope = scope_of(principal.role, "restricted:request")
    if scope is None:
        raise Forbidden(f"the {principal.role} role may not ask to read restricted records")
    purposes = tuple(policy.ruleset_in_force(today).param("restricted_read_purposes"))
    errors = []
    if purpose not in purposes:
        errors.append(FieldError("purpose", "RESTRICT-5Y", f"choose one of: {', '.join(purposes)}"))
    if not details.strip():
        errors.append(FieldError("details", "RESTRICT-5Y", "say which investigation or proceeding, and why"))
    if errors:
        raise RecordRefused("the request is incomplete", errors)
    engagement = session.get(Engagement, engagement_id)
    if (
        engagement is None
        or not engagement.restricted
        or (scope == "division" and engagement.division_code != principal.division_code)
    ):
        raise NotFound("no restricted record with that id in your scope")
    row = RestrictedAccessRequest(
        engagement_id=engagement_id,
        requested_by=principal.username,
        requester_id=principal.user_id,
        purpose=purpose,
        details=details.strip(),
        requested_at=datetime.now(UTC),
        status="pending",
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=principal.username,
        action="restricted.request",
        entity="engagement",
        entity_id=engagement_id,
        purpose=purpose,
        details={"request": row.id},
    )
    return row


# What an administrator may have done to the requester's account, as the refusal says it.
_SHAPED_BY = (
    ("created_by", "created the account of"),
    ("role_changed_by", "last changed the role of"),
    ("reactivated_by", "reactivated the account of"),
)


def approval_barrier(
    *, session: Session, principal: Principal, request: RestrictedAccessRequest
) -> str | None:
    """Why this approver may not approve this request, in plain words; None when they may."""
    if request.requester_id == principal.user_id:
        return "a request cannot be approved by the person who made it"
    if administers_users(principal.role):
        # Holders of both from before the rule (the delegation was granted to an administrator) keep
        # neither half silently: they approve nothing until one of the two is withdrawn.
        return (
            "you administer users and hold the chief's delegation at once, and the two may not go "
            "together: ask the chief to withdraw the delegation, or another administrator to change your role"
        )
    requester = session.get(User, request.requester_id)
    if requester is None:
        return None
    for column, act in _SHAPED_BY:
        if getattr(requester, column) == principal.username:
            return (
                f"you {act} {request.requested_by}, who filed this request: another approver must decide it"
            )
    return None


def decide_request(
    *, session: Session, principal: Principal, request_id: int, approve: bool
) -> RestrictedAccessRequest:
    """An approver with the chief's delegation grants or refuses a request; never one they are party to."""
    if active_delegation(session=session, user_id=principal.user_id) is None:
        raise Forbidden("approving needs the chief's delegation")
    row = session.get(RestrictedAccessRequest, request_id)
    if row is None:
        raise NotFound("no such request")
    barrier = approval_barrier(session=session, principal=principal, request=row) if approve else None
    if row.requester_id == principal.user_id:
        # Not even to refuse it: whoever asks may not decide their own request either way.
        barrier = "a request cannot be decided by the person who made it"
    if barrier:
        raise Forbidden(barrier, [FieldError("decision", SEPARATE_DUTIES, barrier)])
    if row.status != "pending":
        raise Conflict(f"the request is already {row.status}")
    now = datetime.now(UTC)
    row.status = "approved" if approve else "refused"
    row.approver, row.decided_at = principal.username, now
    row.expires_at = now + APPROVAL_VALID if approve else None
    audit.append(
        session,
        actor=principal.username,
        action=f"restricted.{row.status}",
        entity="engagement",
        entity_id=row.engagement_id,
        purpose=row.purpose,
        details={"request": row.id},
    )
    session.flush()
    return row


def read_restricted(*, session: Session, principal: Principal, request_id: int) -> tuple[Engagement, Any]:
    """Read an approved restricted record, with the person's information; logged and counted."""
    # The requester must still hold the permission, in the scope that covers the record: an approval
    # does not outlive a change of role or division made after it was granted.
    scope = scope_of(principal.role, "restricted:request")
    if scope is None:
        raise Forbidden(f"the {principal.role} role may not read restricted records")
    row = session.get(RestrictedAccessRequest, request_id)
    if row is None or row.requester_id != principal.user_id:
        raise NotFound("no such request of yours")
    now = datetime.now(UTC)
    if row.status != "approved" or row.expires_at is None or now > row.expires_at:
        raise Forbidden("this request is not approved, or its approval has expired")
    # get_one: the request's foreign key (ON DELETE CASCADE) means its record is there.
    engagement = session.get_one(Engagement, row.engagement_id)
    if scope == "division" and engagement.division_code != principal.division_code:
        raise NotFound("no such request of yours")
    session.add(
        RestrictedRead(
            request_id=row.id,
            engagement_id=engagement.id,
            reader=principal.username,
            read_at=now,
            legacy=engagement.legacy,
        )
    )
    audit.append(
        session,
        actor=principal.username,
        action="restricted.read",
        entity="engagement",
        entity_id=engagement.id,
        purpose=row.purpose,
        details={"request": row.id, "approver": row.approver, "legacy": engagement.legacy},
    )
    session.flush()
    return engagement, engagement.person


def reads_in(
    *, session: Session, start: datetime, end: datetime, legacy: bool | None = None
) -> list[RestrictedRead]:
    """Granted reads of restricted records in a period (ANNUAL-REPORT; the quarterly LEGACY-DATA report)."""
    condition = [RestrictedRead.read_at >= start, RestrictedRead.read_at < end]
    if legacy is not None:
        condition.append(RestrictedRead.legacy.is_(legacy))
    return list(session.scalars(select(RestrictedRead).where(*condition).order_by(RestrictedRead.read_at)))


def quarter_bounds(text: str, tz: str) -> tuple[datetime, datetime]:
    """The local start and end of a quarter written like 2025-Q3."""
    try:
        year_text, quarter_text = text.upper().split("-Q")
        year, quarter = int(year_text), int(quarter_text)
        if quarter not in (1, 2, 3, 4):
            raise ValueError
    except ValueError:
        raise RecordRefused(
            "not a quarter", [FieldError("quarter", "LEGACY-DATA", "write it like 2025-Q3")]
        ) from None
    zone = ZoneInfo(tz)
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=zone)
    end = datetime(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1, tzinfo=zone)
    return start, end
