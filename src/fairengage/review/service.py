"""Supervisor review: the queue, decisions, corrections as versions, escalation, detailed-review samples."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fairengage import policy
from fairengage.access import audit
from fairengage.access.permissions import scope_of
from fairengage.access.principal import Principal
from fairengage.access.scoping import in_scope
from fairengage.config import Settings
from fairengage.engagements import service as engagements
from fairengage.engagements.models import Engagement, Finding
from fairengage.engagements.schemas import EngagementIn
from fairengage.errors import Conflict, FieldError, Forbidden, NotFound, RecordRefused
from fairengage.officers.models import Officer
from fairengage.policy import folding
from fairengage.policy.checks import training_valid_until
from fairengage.retention import service as retention
from fairengage.review.deadlines import due_on, is_overdue
from fairengage.review.models import EngagementVersion, ReviewDecision, ReviewSample, ReviewSampleItem
from fairengage.web.i18n import N_

DECISIONS = ("approved", "returned", "non_compliant")
APPROVAL_REASON_NEEDED = N_(
    "This record failed a rule. To approve it anyway, write why: the reason is kept in the record's history."
)


def failed_rules(engagement: Engagement) -> list[str]:
    """The codes of the rules the record failed (its flags): approving it then needs a written reason."""
    return sorted({f.rule_code for f in engagement.findings if f.verdict == "fail"})


OPEN = ("pending_review",)


@dataclass(frozen=True)
class QueueItem:
    """A record waiting for review, with its deadline."""

    engagement: Engagement
    due: date
    overdue: bool
    days_left: int


def _scope_condition(principal: Principal, permission: str):
    return in_scope(principal, permission, division=Engagement.division_code, officer=Engagement.officer_id)


def queue(
    *,
    session: Session,
    principal: Principal,
    settings: Settings,
    today: date,
    overdue_only: bool = False,
    descending: bool = False,
    limit: int | None = 100,
    offset: int = 0,
    rule: str | None = None,
    finding: str | None = None,
    flagged_first: bool = False,
) -> tuple[list[QueueItem], int]:
    """Records awaiting review in the caller's scope, by due date (earliest first unless descending).

    `rule` keeps the records that failed that rule; `finding` keeps the flagged ("flagged") or the fully
    compliant ("met") ones; `flagged_first` puts every flagged record before the others, each part by due
    date.
    """
    pending = _pending_due(session, _scope_condition(principal, "review:queue"), settings)
    items = [(due, rid) for due, rid, _ in pending if not overdue_only or is_overdue(due, today)]
    failed: dict[str, set[str]] = {}
    if rule or finding or flagged_first:
        failed = failed_rules_of(session, [rid for _, rid in items])
    if rule:
        items = [(due, rid) for due, rid in items if rule in failed.get(rid, ())]
    if finding == "flagged":
        items = [(due, rid) for due, rid in items if failed.get(rid)]
    elif finding == "met":
        items = [(due, rid) for due, rid in items if not failed.get(rid)]
    items.sort(reverse=descending)
    if flagged_first:
        # A stable sort on "not flagged" keeps the due-date order inside each part.
        items.sort(key=lambda item: not failed.get(item[1]))
    total = len(items)
    page = items[offset:] if limit is None else items[offset : offset + limit]
    by_id = {
        e.id: e for e in session.scalars(select(Engagement).where(Engagement.id.in_([i for _, i in page])))
    }
    return [
        QueueItem(by_id[rid], due, is_overdue(due, today), (due - today).days) for due, rid in page
    ], total


def failed_rules_of(session: Session, ids: list[str]) -> dict[str, set[str]]:
    """The codes of the rules each record failed; records that failed none are absent."""
    out: dict[str, set[str]] = {}
    for chunk in range(0, len(ids), 900):
        for rid, code in session.execute(
            select(Finding.engagement_id, Finding.rule_code).where(
                Finding.engagement_id.in_(ids[chunk : chunk + 900]), Finding.verdict == "fail"
            )
        ):
            out.setdefault(rid, set()).add(code)
    return out


def failed_rule_codes(*, session: Session, principal: Principal) -> list[str]:
    """Every rule some record awaiting review in the caller's scope failed: the queue's rule filter."""
    rows = session.scalars(
        select(Finding.rule_code)
        .join(Engagement, Engagement.id == Finding.engagement_id)
        .where(
            _scope_condition(principal, "review:queue"),
            Engagement.status.in_(OPEN),
            Engagement.restricted.is_(False),
            Finding.verdict == "fail",
        )
        .distinct()
    )
    return sorted(rows)


def _pending_due(session: Session, condition, settings: Settings) -> list[tuple[date, str, str]]:
    """(due date, id, division) of every record awaiting review under a scope condition."""
    rows = session.execute(
        select(Engagement.id, Engagement.entered_at, Engagement.ruleset_id, Engagement.division_code).where(
            condition, Engagement.status.in_(OPEN), Engagement.restricted.is_(False)
        )
    ).all()
    corrected = _last_correction(session, [r.id for r in rows])
    # A corrected record is a new entry: its review clock starts again from the correction.
    return [
        (due_on(max(entered_at, corrected.get(rid, entered_at)), ruleset_id, settings.tz), rid, division)
        for rid, entered_at, ruleset_id, division in rows
    ]


def _last_correction(session: Session, ids: list[str]) -> dict[str, datetime]:
    if not ids:
        return {}
    out: dict[str, datetime] = {}
    for chunk in range(0, len(ids), 900):
        rows = session.execute(
            select(EngagementVersion.engagement_id, func.max(EngagementVersion.saved_at))
            .where(EngagementVersion.engagement_id.in_(ids[chunk : chunk + 900]))
            .group_by(EngagementVersion.engagement_id)
        ).all()
        out.update({rid: at.replace(tzinfo=UTC) if at.tzinfo is None else at for rid, at in rows})
    return out


def due_date_of(*, session: Session, engagement: Engagement, settings: Settings) -> date:
    """The review deadline of one record."""
    corrected = _last_correction(session, [engagement.id]).get(engagement.id, engagement.entered_at)
    return due_on(max(engagement.entered_at, corrected), engagement.ruleset_id, settings.tz)


def get_for_review(*, session: Session, principal: Principal, engagement_id: str) -> Engagement:
    """A record in the reviewer's scope; restricted ones are read only through the restricted-access path."""
    condition = _scope_condition(principal, "review:queue")
    engagement = session.scalars(
        select(Engagement).where(Engagement.id == engagement_id, condition, Engagement.restricted.is_(False))
    ).first()
    if engagement is None:
        raise NotFound("no such record in your review scope")
    return engagement


def decided(
    *, session: Session, principal: Principal, engagement_id: str
) -> tuple[Engagement, list[ReviewDecision]]:
    """A record in the reviewer's scope that review has decided, restricted or not, with its decisions.

    What a reviewer still sees of a record once it is decided: the decisions (what, by whom, when, why),
    never a restricted record's facts, which are read only through a restricted-access request.
    NotFound when the record is not in the reviewer's scope or has no decision.
    """
    condition = _scope_condition(principal, "review:queue")
    engagement = session.scalars(select(Engagement).where(Engagement.id == engagement_id, condition)).first()
    _, decisions = history(session=session, engagement_id=engagement_id) if engagement else ((), [])
    if engagement is None or not decisions:
        raise NotFound("no such record in your review scope")
    return engagement, decisions


def current_version(*, session: Session, engagement_id: str) -> int:
    """The record's version: 1, plus one for each correction."""
    latest = session.scalar(
        select(func.max(EngagementVersion.version)).where(EngagementVersion.engagement_id == engagement_id)
    )
    return (latest or 0) + 1


def history(*, session: Session, engagement_id: str) -> tuple[list[EngagementVersion], list[ReviewDecision]]:
    """Earlier versions and every decision, oldest first."""
    versions = session.scalars(
        select(EngagementVersion)
        .where(EngagementVersion.engagement_id == engagement_id)
        .order_by(EngagementVersion.version)
    ).all()
    decisions = session.scalars(
        select(ReviewDecision)
        .where(ReviewDecision.engagement_id == engagement_id)
        .order_by(ReviewDecision.id)
    ).all()
    return list(versions), list(decisions)


def reviewer_trained(*, session: Session, principal: Principal, today: date) -> bool:
    """TRAINING-36M applies to reviewers too: their own training must be in date today."""
    if principal.officer_id is None:
        return False
    officer = session.get(Officer, principal.officer_id)
    trained = officer.trained_as_of(today) if officer else None
    if trained is None:
        return False
    months = int(policy.ruleset_in_force(today).param("training_months"))
    return today <= training_valid_until(trained, months)


def decide(
    *,
    session: Session,
    principal: Principal,
    engagement_id: str,
    decision: str,
    reason: str,
    today: date,
) -> ReviewDecision:
    """Approve, return for correction (with a reason), or find non-compliant (restricting it at once)."""
    if scope_of(principal.role, "review:decide") is None:
        raise Forbidden(f"the {principal.role} role may not review records")
    if not reviewer_trained(session=session, principal=principal, today=today):
        raise RecordRefused(
            "your training is not in date",
            [
                FieldError(
                    "reviewer", "TRAINING-36M", "A reviewer needs the prescribed training within 36 months."
                )
            ],
        )
    if decision not in DECISIONS:
        raise RecordRefused("unknown decision", [FieldError("decision", "REVIEW-30D", "choose a decision")])
    reason = (reason or "").strip()
    # A reason that shows nothing (spaces, zero-width characters) is no reason.
    if decision in ("returned", "non_compliant") and folding.is_blank(reason):
        raise RecordRefused(
            "a reason is required",
            [FieldError("reason", "REVIEW-30D", "Say what must be corrected, or why it is non-compliant.")],
        )
    engagement = get_for_review(session=session, principal=principal, engagement_id=engagement_id)
    if engagement.status not in OPEN:
        raise Conflict(f"this record is {engagement.status.replace('_', ' ')}, not awaiting review")
    if decision == "approved" and folding.is_blank(reason) and failed_rules(engagement):
        raise RecordRefused(
            "a reason is required to approve a record with a failed rule",
            [FieldError("reason", "REVIEW-30D", APPROVAL_REASON_NEEDED)],
        )
    now = datetime.now(UTC)
    row = ReviewDecision(
        engagement_id=engagement.id,
        version=current_version(session=session, engagement_id=engagement.id),
        decision=decision,
        reason=reason,
        reviewer=principal.username,
        decided_at=now,
    )
    session.add(row)
    engagement.status = decision
    audit.append(
        session,
        actor=principal.username,
        action=f"review.{decision}",
        entity="engagement",
        entity_id=engagement.id,
        purpose="supervisor review (O. Reg. 58/16 s.9)",
        details={"version": row.version, "reason": reason},
    )
    if decision == "non_compliant":
        # RESTRICT-NONCOMPLIANT: restricted at once, in the same transaction as the finding.
        retention.restrict(
            session=session, engagement=engagement, reason="non_compliant", actor=principal.username
        )
    session.flush()
    return row


def _snapshot(engagement: Engagement) -> dict[str, Any]:
    skip = {"officer", "findings", "person"}
    facts = {c.key: getattr(engagement, c.key) for c in Engagement.__table__.columns if c.key not in skip}
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in facts.items()}


def correct(
    *,
    session: Session,
    principal: Principal,
    engagement_id: str,
    draft: EngagementIn,
    settings: Settings,
) -> Engagement:
    """The officer's correction of a returned record: the old version is kept, the new one re-evaluated."""
    engagement = engagements.get_visible(session=session, principal=principal, engagement_id=engagement_id)
    if scope_of(principal.role, "engagements:create") is None:
        raise Forbidden("only the officer who made the record may correct it")
    if engagement.status != "returned":
        raise Conflict("only a record returned for correction can be corrected")
    officer = session.get_one(Officer, engagement.officer_id)  # a record's officer is a foreign key
    evaluation = engagements.evaluate_draft(session=session, draft=draft, officer=officer, settings=settings)
    version = current_version(session=session, engagement_id=engagement.id)
    session.add(
        EngagementVersion(
            engagement_id=engagement.id,
            version=version,
            saved_at=datetime.now(UTC),
            saved_by=principal.username,
            facts=_snapshot(engagement),
            findings=[
                {"rule": f.rule_code, "verdict": f.verdict, "message": f.message, "field": f.field}
                for f in engagement.findings
            ],
            compliant=engagement.compliant,
        )
    )
    engagements.apply_draft(engagement=engagement, draft=draft, evaluation=evaluation, settings=settings)
    engagement.findings = [
        Finding(rule_code=f.code, verdict=f.verdict, field=f.field, message=f.message, ground=f.ground)
        for f in evaluation.findings
    ]
    engagement.status = "pending_review"
    audit.append(
        session,
        actor=principal.username,
        action="engagement.correct",
        entity="engagement",
        entity_id=engagement.id,
        purpose="correction after review",
        details={"new_version": version + 1},
    )
    session.flush()
    return engagement


def escalations(
    *, session: Session, principal: Principal, settings: Settings, today: date
) -> list[QueueItem]:
    """Overdue records, for the division's commander (every division for auditors)."""
    items, _ = queue(
        session=session, principal=principal, settings=settings, today=today, overdue_only=True, limit=None
    )
    return items


@dataclass(frozen=True)
class DivisionSummary:
    """A division's compliance and review figures; never per officer (NO-QUOTAS)."""

    division: str
    records: int
    compliant: int
    pending: int
    overdue: int
    approved: int
    returned: int
    non_compliant: int
    restricted: int

    @property
    def compliant_rate(self) -> float | None:
        """Share of records meeting every rule."""
        return self.compliant / self.records if self.records else None


def division_summary(
    *, session: Session, principal: Principal, settings: Settings, today: date
) -> list[DivisionSummary]:
    """Per-division figures in the caller's scope."""
    condition = _scope_condition(principal, "review:summary")
    counts = session.execute(
        select(
            Engagement.division_code,
            func.count(),
            func.count().filter(Engagement.compliant.is_(True)),
            func.count().filter(Engagement.status == "pending_review"),
            func.count().filter(Engagement.status == "approved"),
            func.count().filter(Engagement.status == "returned"),
            func.count().filter(Engagement.status == "non_compliant"),
            func.count().filter(Engagement.restricted.is_(True)),
        )
        .where(condition)
        .group_by(Engagement.division_code)
        .order_by(Engagement.division_code)
    ).all()
    overdue: dict[str, int] = {}
    for due, _, division in _pending_due(session, condition, settings):
        if is_overdue(due, today):
            overdue[division] = overdue.get(division, 0) + 1
    return [
        DivisionSummary(d, n, c, p, overdue.get(d, 0), a, r, nc, rs) for d, n, c, p, a, r, nc, rs in counts
    ]


def draw_sample(
    *, session: Session, year: int, size: int, seed: int, actor: str, tz: str
) -> tuple[ReviewSample, list[str]]:
    """A reproducible random sample of the year's records (DETAILED-REVIEW): the same inputs, the same ids."""
    zone = ZoneInfo(tz)
    start = datetime(year, 1, 1, tzinfo=zone)
    end = datetime(year + 1, 1, 1, tzinfo=zone)
    # Sorted ids make the draw independent of storage order, so it reproduces on any database.
    ids = sorted(
        session.scalars(
            select(Engagement.id).where(Engagement.occurred_at >= start, Engagement.occurred_at < end)
        )
    )
    if size < 1:
        raise RecordRefused("size must be at least 1", [FieldError("size", "DETAILED-REVIEW", "at least 1")])
    chosen = sample_ids(ids, size, seed)
    sample = ReviewSample(
        year=year,
        size=len(chosen),
        seed=seed,
        population=len(ids),
        drawn_at=datetime.now(UTC),
        drawn_by=actor,
    )
    session.add(sample)
    session.flush()
    session.add_all(
        ReviewSampleItem(sample_id=sample.id, engagement_id=rid, position=i, notes="")
        for i, rid in enumerate(chosen, start=1)
    )
    audit.append(
        session,
        actor=actor,
        action="review.sample",
        entity="review_sample",
        entity_id=str(sample.id),
        purpose="annual detailed review (O. Reg. 58/16 s.15)",
        details={"year": year, "size": len(chosen), "seed": seed, "population": len(ids)},
    )
    session.flush()
    return sample, chosen


def sample_ids(ids: list[str], size: int, seed: int) -> list[str]:
    """Choose `size` of the sorted ids without replacement with a seeded generator (all when fewer)."""
    if len(ids) <= size:
        return list(ids)
    picks = np.random.default_rng(seed).choice(len(ids), size=size, replace=False)
    return [ids[i] for i in sorted(picks)]


def record_sample_finding(
    *, session: Session, principal: Principal, item_id: int, finding: str, notes: str
) -> ReviewSampleItem:
    """A detailed reviewer's finding on one sampled record."""
    if scope_of(principal.role, "review:sample-findings") is None:
        raise Forbidden(f"the {principal.role} role may not record detailed-review findings")
    if finding not in ("compliant", "non_compliant"):
        raise RecordRefused(
            "choose a finding", [FieldError("finding", "DETAILED-REVIEW", "compliant or not")]
        )
    item = session.get(ReviewSampleItem, item_id)
    if item is None:
        raise NotFound("no such sample item")
    item.finding, item.notes = finding, notes.strip()
    item.reviewer, item.reviewed_at = principal.username, datetime.now(UTC)
    audit.append(
        session,
        actor=principal.username,
        action="review.sample_finding",
        entity="engagement",
        entity_id=item.engagement_id,
        purpose="annual detailed review (O. Reg. 58/16 s.15)",
        details={"sample": item.sample_id, "finding": finding},
    )
    session.flush()
    return item


def sample_summary(*, session: Session, sample_id: int) -> dict[str, int]:
    """Counts of findings in a sample, for the annual report."""
    rows = session.execute(
        select(ReviewSampleItem.finding, func.count())
        .where(ReviewSampleItem.sample_id == sample_id)
        .group_by(ReviewSampleItem.finding)
    ).all()
    counts = {str(k or "not_reviewed"): v for k, v in rows}
    return {
        "compliant": counts.get("compliant", 0),
        "non_compliant": counts.get("non_compliant", 0),
        "not_reviewed": counts.get("not_reviewed", 0),
    }
