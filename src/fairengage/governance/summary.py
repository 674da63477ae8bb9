"""The governance summary: the annual report's figures that the analytic table cannot hold, as counts only.

`ANNUAL-REPORT` (docs/rule-sets.md) asks for figures on people, exceptions, reviews and restricted reads that
live in the database, not in the pseudonymised analytic table: how many people were approached, which
exception grounds officers relied on, whether reviews met the 30-day deadline (REVIEW-30D), reviews
finding non-compliance, reads of restricted records (RESTRICT-5Y, LEGACY-DATA), the detailed review of a
random sample (DETAILED-REVIEW), and complaints. Like the extract, this is a door from personal data to
reporting, and a narrow one: it writes counts only — no record ids, names, dates of birth, badges or
user names — so `reports/` can read it without reading anyone's information.

Records made before the regulation (`legacy`) are left out of the engagement figures, as the extract
leaves them out of the analytic table; reads of legacy records are counted apart.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, sessionmaker

from fairengage.cases import service as cases
from fairengage.complaints.models import Complaint
from fairengage.engagements.models import Engagement, Finding, Person
from fairengage.events.models import MATCHED, NOT_ENGAGEMENT, ExternalEvent
from fairengage.policy.findings import EXCEPTION
from fairengage.retention import service as retention
from fairengage.retention.models import RestrictedAccessRequest
from fairengage.review.deadlines import due_on
from fairengage.review.models import EngagementVersion, ReviewDecision, ReviewSample
from fairengage.review.service import sample_summary

KIND = "fairengage.governance-summary"
VERSION = 1
# Said in the file itself, so the estimate is never quoted without its method.
PEOPLE_METHOD = (
    "Distinct people are estimated: attempts whose record gives both a name and a date of birth count "
    "one person per distinct name and date of birth (names compared ignoring case, accents and extra "
    "spaces); every other attempt counts as one more person. The first part can merge two people who "
    "share a name and birthday (rare); the second counts a person approached twice without both details "
    "twice. The estimate therefore errs towards more people, never fewer than the identified ones."
)
_CHUNK = 900  # below SQLite's limit on bound parameters
# The period's end is exclusive: its last instant is just before it.
_TICK = timedelta(microseconds=1)


def write_governance_summary(
    *,
    sessions: sessionmaker[Session],
    period_start: datetime,
    period_end: datetime,
    tz: str,
    out: Path,
    today: date | None = None,
) -> dict[str, Any]:
    """Write governance.json for engagements that occurred in [period_start, period_end); returns it.

    `today` (local; default now) is the day against which pending reviews are judged overdue.
    """
    if period_start.tzinfo is None or period_end.tzinfo is None:
        raise ValueError("period bounds must be aware datetimes")
    zone = ZoneInfo(tz)
    today = today or datetime.now(zone).date()
    with sessions() as session:
        in_period = and_(
            Engagement.occurred_at >= period_start,
            Engagement.occurred_at < period_end,
            Engagement.legacy.is_(False),
        )
        attempts, collected = session.execute(
            select(func.count(), func.count().filter(Engagement.identifying_info_collected.is_(True))).where(
                in_period
            )
        ).one()
        summary = {
            "kind": KIND,
            "version": VERSION,
            "period": {
                "start": period_start.astimezone(zone).isoformat(),
                "end": period_end.astimezone(zone).isoformat(),
                "timezone": tz,
            },
            "as_of": today.isoformat(),
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "attempts": attempts,
            "attempts_collected": collected,
            "people": _people(session, in_period),
            "exceptions": _exceptions(session, in_period),
            "reviews": _reviews(session, in_period, zone, today),
            "non_compliant_findings": session.scalar(
                select(func.count())
                .select_from(ReviewDecision)
                .join(Engagement, Engagement.id == ReviewDecision.engagement_id)
                .where(in_period, ReviewDecision.decision == "non_compliant")
            ),
            "restricted_reads": _restricted_reads(session, period_start, period_end),
            "detailed_reviews": _detailed_reviews(session, period_start, period_end, zone),
            "complaints": _complaints(session, period_start, period_end),
            "unrecorded_events": _unrecorded_events(session, period_start, period_end),
            # Officers the analyses flagged, as counts: cases opened, what supervisors did, re-test outcomes.
            "intervention_cases": cases.board_counts(session=session, start=period_start, end=period_end),
        }
    out = Path(out)
    out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def _normal_name(name: str) -> str:
    # Accents, case and spacing vary between records of the same person; compare without them.
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def _people(session: Session, in_period: Any) -> dict[str, Any]:
    rows = session.execute(
        select(Person.name, Person.date_of_birth)
        .select_from(Engagement)
        .outerjoin(Person, Person.engagement_id == Engagement.id)
        .where(in_period)
        .execution_options(yield_per=10_000)
    )
    identified: set[tuple[str, date]] = set()
    identified_attempts = 0
    without = 0
    for name, born in rows:
        if name and name.strip() and born is not None:
            identified.add((_normal_name(name), born))
            identified_attempts += 1
        else:
            without += 1
    return {
        "estimate": len(identified) + without,
        "distinct_identified": len(identified),
        "attempts_identified": identified_attempts,
        "attempts_without_name_and_birth_date": without,
        "method": PEOPLE_METHOD,
    }


def _exceptions(session: Session, in_period: Any) -> dict[str, dict[str, int]]:
    """Times each exception ground was relied on: not told of the right, not told why, no receipt."""
    # Counted from the findings, which say which duty each ground excused: one `informed` answer with
    # its ground covers both informing duties when the record does not answer them apart (policy/checks).
    rules = {"not_told_of_right": "INFORM-RIGHT", "not_told_why": "INFORM-WHY", "no_receipt": "RECEIPT-OFFER"}
    rows = session.execute(
        select(Finding.rule_code, Finding.ground, func.count())
        .join(Engagement, Engagement.id == Finding.engagement_id)
        .where(in_period, Finding.verdict == EXCEPTION, Finding.rule_code.in_(rules.values()))
        .group_by(Finding.rule_code, Finding.ground)
    ).all()
    counted: dict[tuple[str, str], int] = {(rule, str(ground)): count for rule, ground, count in rows}
    return {
        name: {ground: n for (r, ground), n in sorted(counted.items()) if r == rule}
        for name, rule in rules.items()
    }


def _reviews(session: Session, in_period: Any, zone: ZoneInfo, today: date) -> dict[str, int]:
    """Decisions made by the deadline or after it, and records still waiting (on time or overdue)."""
    records = {
        rid: (entered, ruleset, status)
        for rid, entered, ruleset, status in session.execute(
            select(Engagement.id, Engagement.entered_at, Engagement.ruleset_id, Engagement.status).where(
                in_period
            )
        )
    }
    ids = list(records)
    # A correction starts a new entry: the review of version v+1 is due from the correction that saved
    # version v (review/service.py treats a corrected record the same way).
    corrected: dict[tuple[str, int], datetime] = {}
    decisions: list[tuple[str, int, datetime]] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        corrected.update(
            ((rid, version + 1), saved)
            for rid, version, saved in session.execute(
                select(
                    EngagementVersion.engagement_id, EngagementVersion.version, EngagementVersion.saved_at
                ).where(EngagementVersion.engagement_id.in_(chunk))
            )
        )
        decisions.extend(
            session.execute(
                select(ReviewDecision.engagement_id, ReviewDecision.version, ReviewDecision.decided_at).where(
                    ReviewDecision.engagement_id.in_(chunk)
                )
            ).all()
        )
    counts = Counter({"decided_on_time": 0, "decided_late": 0, "pending_on_time": 0, "pending_overdue": 0})
    for rid, version, decided_at in decisions:
        entered, ruleset, _status = records[rid]
        due = due_on(corrected.get((rid, version), entered), ruleset, zone)
        counts["decided_on_time" if decided_at.astimezone(zone).date() <= due else "decided_late"] += 1
    latest: dict[str, datetime] = {}
    for (rid, _version), saved in corrected.items():
        latest[rid] = max(saved, latest.get(rid, saved))
    for rid, (entered, ruleset, status) in records.items():
        if status != "pending_review":
            continue
        due = due_on(max(entered, latest.get(rid, entered)), ruleset, zone)
        counts["pending_overdue" if today > due else "pending_on_time"] += 1
    return {"records": len(records), **dict(counts)}


def _restricted_reads(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    reads = retention.reads_in(session=session, start=start, end=end)
    approvals = session.execute(
        select(func.count())
        .select_from(RestrictedAccessRequest)
        .where(
            RestrictedAccessRequest.status == "approved",
            RestrictedAccessRequest.decided_at >= start,
            RestrictedAccessRequest.decided_at < end,
        )
    ).scalar_one()
    legacy = sum(1 for r in reads if r.legacy)
    return {"granted": len(reads), "legacy": legacy, "current": len(reads) - legacy, "approvals": approvals}


def _detailed_reviews(
    session: Session, start: datetime, end: datetime, zone: ZoneInfo
) -> list[dict[str, Any]]:
    """Samples drawn for the years the period touches, with their findings (no record ids)."""
    first, last = start.astimezone(zone).year, (end.astimezone(zone) - _TICK).year
    samples = session.scalars(
        select(ReviewSample)
        .where(ReviewSample.year >= first, ReviewSample.year <= last)
        .order_by(ReviewSample.id)
    ).all()
    return [
        {
            "year": s.year,
            "drawn_on": s.drawn_at.astimezone(zone).date().isoformat(),
            "size": s.size,
            "population": s.population,
            **sample_summary(session=session, sample_id=s.id),
        }
        for s in samples
    ]


def _complaints(session: Session, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    received = session.execute(
        select(Complaint.kind, func.count())
        .where(Complaint.received_at >= start, Complaint.received_at < end)
        .group_by(Complaint.kind)
    ).all()
    closed = session.execute(
        select(Complaint.kind, func.count())
        .where(Complaint.closed_at >= start, Complaint.closed_at < end)
        .group_by(Complaint.kind)
    ).all()
    return {"received": dict(sorted(received)), "closed": dict(sorted(closed))}


def _unrecorded_events(session: Session, start: datetime, end: datetime) -> dict[str, dict[str, int]]:
    """Per division: the period's reconciled dispatch and camera events, how many no record matched, and
    how many of those a supervisor found were not engagements. Counts only (the board's figure)."""
    rows = session.execute(
        select(ExternalEvent.division_code, ExternalEvent.status, func.count())
        .where(
            ExternalEvent.occurred_at >= start,
            ExternalEvent.occurred_at < end,
            ExternalEvent.reconciled_at.is_not(None),
        )
        .group_by(ExternalEvent.division_code, ExternalEvent.status)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for division, status, n in sorted(rows):
        counts = out.setdefault(division, {"events": 0, "unmatched": 0, "not_engagement": 0})
        counts["events"] += n
        if status != MATCHED:
            counts["unmatched"] += n
        if status == NOT_ENGAGEMENT:
            counts["not_engagement"] += n
    return out
