"""Cases from flags: open or re-test them from report.json, list and read them (audited), record actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from fairengage.access import audit
from fairengage.access.permissions import scope_of
from fairengage.access.principal import Principal
from fairengage.access.scoping import in_scope
from fairengage.cases.models import CaseAction, CaseTest, InterventionCase
from fairengage.engagements.extract import officer_keys
from fairengage.engagements.models import Engagement
from fairengage.errors import FieldError, Forbidden, NotFound, RecordRefused
from fairengage.officers.models import Officer
from fairengage.web.i18n import N_

ACTIONS = ("conversation", "training", "records_review", "no_action")
STATUSES = ("open", "resolved")
REASON_NEEDED = N_("Write why you agree or disagree with the flag: the reason is kept in the case.")
ACTION_NEEDED = N_("Choose what you did: a conversation, training, an audit of records, or no action.")
AGREEMENT_NEEDED = N_("Say whether you agree with the flag.")
DATE_NEEDED = N_("Give the follow-up date as a date (YYYY-MM-DD).")
PAST_DATE = N_("The follow-up date cannot be in the past.")
RECORDS_SHOWN = 200  # the records behind a flag shown on the case page; the count says when there are more


class ReportUnusable(ValueError):
    """report.json cannot open cases: not a report, or its officer analysis did not run."""


@dataclass(frozen=True)
class OpenResult:
    """What one run did to the cases: counts only, so the command's output names nobody."""

    measure: str
    tested: int
    opened: int
    retested: int
    resolved: int
    unknown_keys: int


def measure_of(report: dict[str, Any]) -> str:
    """The comparison a report's officer rows make: the internal benchmark for one group."""
    group = ((report.get("meta") or {}).get("officers") or {}).get("group")
    if not isinstance(group, str) or not group:
        raise ReportUnusable("its meta does not say which group the officer benchmark compared")
    return f"officers:{group}"


def _period(report: dict[str, Any]) -> tuple[datetime, datetime]:
    period = (report.get("meta") or {}).get("period") or {}
    try:
        first = datetime.fromisoformat(str(period["first"]))
        last = datetime.fromisoformat(str(period["last"]))
    except (KeyError, TypeError, ValueError):
        raise ReportUnusable("its meta has no period (first and last engagement)") from None
    return (
        first if first.tzinfo else first.replace(tzinfo=UTC),
        last if last.tzinfo else last.replace(tzinfo=UTC),
    )


def _officers_by_key(session: Session, secret: bytes) -> dict[str, Officer]:
    # The keyed hash is one-way: the badge of every officer is hashed here, on the governance side, and
    # the analysis's key looked up, so that analytics never hold the means to name anyone.
    everyone = list(session.scalars(select(Officer)))
    keys = officer_keys([o.badge for o in everyone], secret)
    return {keys[o.badge]: o for o in everyone}


def open_from_report(
    *, session: Session, report: dict[str, Any], secret: bytes, actor: str, now: datetime | None = None
) -> OpenResult:
    """Open a case for every flagged officer, and re-test every open case whose officer the run tested.

    An officer flagged again adds a test to their open case (never a second case); one the run tested
    without a flag adds a test showing the difference no longer persists and resolves the case; a case
    whose officer the run did not test is left as it was. All in the caller's transaction.
    """
    rows = report.get("officers")
    if not isinstance(rows, list):
        raise ReportUnusable("its officer benchmark did not run (`officers` is not a list)")
    measure = measure_of(report)
    first, last = _period(report)
    now = now or datetime.now(UTC)
    officers = _officers_by_key(session, secret)
    open_cases = {
        c.officer_id: c
        for c in session.scalars(
            select(InterventionCase).where(
                InterventionCase.measure == measure, InterventionCase.status == "open"
            )
        )
    }
    opened = retested = resolved = unknown = 0
    for row in rows:
        officer = officers.get(str(row.get("officer_key")))
        if officer is None:
            unknown += 1 if row.get("flagged") else 0
            continue
        flagged = bool(row.get("flagged"))
        case = open_cases.get(officer.id)
        if case is None and not flagged:
            continue
        if case is None:
            case = InterventionCase(
                officer_id=officer.id, division_code=officer.division_code, measure=measure,
                status="open", opened_at=now,
            )  # fmt: skip
            session.add(case)
            open_cases[officer.id] = case
            opened += 1
        else:
            retested += 1
        case.tests.append(
            CaseTest(
                period_first=first,
                period_last=last,
                n=int(row["n"]),
                observed=int(row["observed"]),
                expected=float(row["expected"]),
                q_value=float(row["q_value"]),
                flagged=flagged,
                tested_at=now,
            )
        )
        if not flagged:
            case.status = "resolved"
            resolved += 1
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="case.open" if len(case.tests) == 1 else "case.retest",
            entity="case",
            entity_id=str(case.id),
            purpose="early intervention",
            details={"measure": measure, "flagged": flagged},
        )
    return OpenResult(measure, len(rows), opened, retested, resolved, unknown)


def _scope(principal: Principal, permission: str) -> ColumnElement[bool]:
    return in_scope(
        principal,
        permission,
        division=InterventionCase.division_code,
        refusal=f"the {principal.role} role may not see intervention cases",
    )


@dataclass(frozen=True)
class CaseRow:
    """A case as listed: the officer, the measure, its state and whether the last run still flagged."""

    case: InterventionCase
    officer: Officer
    persists: bool | None


def persists(case: InterventionCase) -> bool | None:
    """Whether the latest re-test still flags the officer; None until a later run has re-tested."""
    return case.tests[-1].flagged if len(case.tests) > 1 else None


def cases(*, session: Session, principal: Principal, status: str | None = None) -> list[CaseRow]:
    """The cases in the caller's scope, newest first (never ordered by any count). The read is audited."""
    query = (
        select(InterventionCase, Officer)
        .join(Officer, Officer.id == InterventionCase.officer_id)
        .where(_scope(principal, "cases:read"))
        .options(selectinload(InterventionCase.tests))
        .order_by(InterventionCase.opened_at.desc(), InterventionCase.id.desc())
    )
    if status in STATUSES:
        query = query.where(InterventionCase.status == status)
    found = [CaseRow(c, o, persists(c)) for c, o in session.execute(query).all()]
    audit.append(
        session,
        actor=principal.username,
        action="case.list",
        entity="case",
        entity_id=None,
        purpose="early intervention",
        details={"cases": [row.case.id for row in found], "status": status or "all"},
    )
    return found


def open_count(*, session: Session, principal: Principal) -> int:
    """How many cases in the caller's scope wait for a supervisor: a count, naming nobody."""
    return (
        session.scalar(
            select(func.count())
            .select_from(InterventionCase)
            .where(_scope(principal, "cases:read"), InterventionCase.status == "open")
        )
        or 0
    )


def get(*, session: Session, principal: Principal, case_id: int) -> tuple[InterventionCase, Officer]:
    """One case in the caller's scope, with its officer; the read is audited."""
    row = session.execute(
        select(InterventionCase, Officer)
        .join(Officer, Officer.id == InterventionCase.officer_id)
        .where(InterventionCase.id == case_id, _scope(principal, "cases:read"))
    ).first()
    if row is None:
        raise NotFound("no such case in your scope")
    audit.append(
        session,
        actor=principal.username,
        action="case.read",
        entity="case",
        entity_id=str(case_id),
        purpose="early intervention",
    )
    return row[0], row[1]


def records_behind(*, session: Session, case: InterventionCase) -> tuple[list[Engagement], int]:
    """The officer's records in the period of the case's latest test (at most RECORDS_SHOWN), and how many."""
    test = case.tests[-1]
    condition = (
        (Engagement.officer_id == case.officer_id)
        & (Engagement.occurred_at >= test.period_first)
        & (Engagement.occurred_at <= test.period_last)
        & Engagement.legacy.is_(False)
    )
    total = session.scalar(select(func.count()).select_from(Engagement).where(condition)) or 0
    shown = session.scalars(
        select(Engagement).where(condition).order_by(Engagement.occurred_at.desc()).limit(RECORDS_SHOWN)
    ).all()
    return list(shown), total


def act(
    *,
    session: Session,
    principal: Principal,
    case_id: int,
    agrees: str,
    reason: str,
    action: str,
    follow_up_on: date | None,
    today: date,
) -> CaseAction:
    """Record the supervisor's view of the flag and what they did; an incomplete action is refused."""
    if scope_of(principal.role, "cases:act") is None:
        raise Forbidden(f"the {principal.role} role may not act on intervention cases")
    case = session.scalars(
        select(InterventionCase).where(InterventionCase.id == case_id, _scope(principal, "cases:act"))
    ).first()
    if case is None:
        raise NotFound("no such case in your scope")
    errors = []
    if agrees not in ("agree", "disagree"):
        errors.append(FieldError("agrees", "CASE-ACTION", AGREEMENT_NEEDED))
    if not reason.strip():
        errors.append(FieldError("reason", "CASE-ACTION", REASON_NEEDED))
    if action not in ACTIONS:
        errors.append(FieldError("action", "CASE-ACTION", ACTION_NEEDED))
    if follow_up_on is not None and follow_up_on < today:
        errors.append(FieldError("follow_up_on", "CASE-ACTION", PAST_DATE))
    if errors:
        raise RecordRefused("the action is incomplete", errors)
    done = CaseAction(
        actor=principal.username, acted_at=datetime.now(UTC), agrees=agrees == "agree",
        reason=reason.strip(), action=action, follow_up_on=follow_up_on,
    )  # fmt: skip
    case.actions.append(done)
    case.follow_up_on = follow_up_on
    session.flush()
    audit.append(
        session,
        actor=principal.username,
        action="case.act",
        entity="case",
        entity_id=str(case.id),
        purpose="early intervention",
        details={"action": action, "agrees": done.agrees},
    )
    return done


def board_counts(*, session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """The board's figures on the cases raised by runs over [start, end): counts only, never a name.

    A case belongs to the period its raising run covered (its first test), not to the day it was opened,
    which falls after the period once the analysis of a closed year is run.
    """
    first_test = (
        select(CaseTest.case_id, func.min(CaseTest.id).label("first"))
        .group_by(CaseTest.case_id)
        .subquery()
    )
    opened = (
        select(CaseTest.case_id)
        .join(first_test, first_test.c.first == CaseTest.id)
        .where(CaseTest.period_last >= start, CaseTest.period_first < end)
    )
    ids = [i for (i,) in session.execute(opened)]
    actions: dict[str, int] = dict.fromkeys(ACTIONS, 0)
    agreed = disagreed = 0
    for chunk in range(0, len(ids), 900):
        for action, agrees in session.execute(
            select(CaseAction.action, CaseAction.agrees).where(
                CaseAction.case_id.in_(ids[chunk : chunk + 900])
            )
        ):
            actions[action] = actions.get(action, 0) + 1
            agreed, disagreed = agreed + bool(agrees), disagreed + (not agrees)
    outcomes = {"awaiting_retest": 0, "persists": 0, "no_longer": 0}
    for chunk in range(0, len(ids), 900):
        for case in session.scalars(
            select(InterventionCase)
            .where(InterventionCase.id.in_(ids[chunk : chunk + 900]))
            .options(selectinload(InterventionCase.tests))
        ):
            state = persists(case)
            outcomes["awaiting_retest" if state is None else "persists" if state else "no_longer"] += 1
    return {
        "opened": len(ids),
        "actions": actions,
        "agreed": agreed,
        "disagreed": disagreed,
        "outcomes": outcomes,
    }
