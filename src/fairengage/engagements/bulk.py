"""Loading many engagements at once (the demo's synthetic data, imports): judged by the rules, not refused.

Records loaded in bulk describe engagements that already happened. They are evaluated against the
rule set in force on their date and stored with their findings, so that a breach shows as a
non-compliant record for review instead of vanishing; refusal is for the point of entry.

A record dated before the first rule set (before 2015-06-18) was made before the regulation: it is
stored as `legacy` (docs/rule-sets.md LEGACY-DATA), with no findings, rule set `none`, and not compliant —
a record never judged against a rule set is not counted as keeping one. That sequestration is for the
service's own records: rows from another jurisdiction or source (`own_records=False`, e.g. an Open
Policing file) are never legacy by Ontario's dates. Those from before the first rule set are stored
unjudged (rule set `none`, status `imported`) but not legacy, so the default extract keeps them; their
source is their import batch (file, format, checksum).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from fairengage import policy
from fairengage.access import audit
from fairengage.config import Settings
from fairengage.engagements.models import Engagement, Finding, Person
from fairengage.officers.models import Officer, TrainingRecord
from fairengage.receipts import codes

ID_NAMESPACE = uuid.UUID("6f1c3c52-2f7e-4e59-9d0b-7a4f3c1e9a10")
# The rule set id and version stored on legacy records (no rule set was in force).
LEGACY_RULESET = "none"


def engagement_uuid(source_id: str) -> str:
    """The stored id of a loaded record: a UUID derived from its source id, the same on every load."""
    return str(uuid.uuid5(ID_NAMESPACE, str(source_id)))


@lru_cache(maxsize=1)
def first_rule_day() -> date:
    """The first day any rule set was in force: records before it are legacy."""
    return min(r.effective_from for r in policy.load_rulesets())


@dataclass(frozen=True)
class RosterEntry:
    """An officer named by a bulk load."""

    badge: str
    name: str
    division: str
    trained_on: tuple[date, ...]


def ensure_officers(*, session: Session, roster: Iterable[RosterEntry]) -> dict[str, Officer]:
    """The officers by badge, adding those not yet known with their training date."""
    wanted = {r.badge: r for r in roster}
    existing = {o.badge: o for o in session.scalars(select(Officer).where(Officer.badge.in_(wanted)))}
    for badge, entry in wanted.items():
        if badge not in existing:
            officer = Officer(badge=badge, name=entry.name, division_code=entry.division)
            officer.training.extend(TrainingRecord(completed_on=day) for day in entry.trained_on)
            session.add(officer)
            existing[badge] = officer
    session.flush()
    return existing


def _none(value: Any) -> Any:
    return None if value is None or (not isinstance(value, list | tuple) and pd.isna(value)) else value


def _age(value: Any) -> int | None:
    value = _none(value)
    return None if value is None else int(value)


def load_frame(
    *,
    session: Session,
    frame: pd.DataFrame,
    officers: dict[str, Officer],
    settings: Settings,
    actor: str,
    batch: int = 2000,
    import_batch_id: int | None = None,
    taken: set[str] | None = None,
    status: str = "pending_review",
    own_records: bool = True,
) -> int:
    """Store every row of a detailed synthetic or imported frame; returns the number stored.

    `taken` is the set of receipt codes in use; a caller loading several frames in one transaction
    passes the same set each time (it is read from the database when absent, and kept up to date).
    `own_records=False` for another jurisdiction's or source's records: never legacy by our rule dates.
    """
    if taken is None:
        taken = set(session.scalars(select(Engagement.receipt_code)))
    codes_in_use = taken

    def in_use(code: str) -> bool:
        # Codes are issued formatted (XXXX-XXXX-XXXX) and stored canonical: compare canonical forms.
        # 30 random bits collide by the birthday bound (about 15% within 18,000 codes).
        return codes.normalize_code(code) in codes_in_use

    entered = datetime.now(UTC)
    stored = 0
    for start in range(0, len(frame), batch):
        chunk = frame.iloc[start : start + batch]
        engagements: list[dict[str, Any]] = []
        findings: list[dict[str, Any]] = []
        persons: list[dict[str, Any]] = []
        for row in chunk.itertuples(index=False):
            officer = officers[row.officer_badge]
            occurred = pd.Timestamp(row.occurred_at).to_pydatetime()
            grounds = list(_none(row.reason_grounds) or [])
            facts = policy.EngagementFacts(
                occurred_at=occurred,
                division=row.division,
                purpose=row.purpose,
                reason=row.reason,
                reason_grounds=tuple(grounds),
                informed=True if _none(row.informed) else None,
                inform_exception=_none(row.inform_exception),
                receipt_offered=True if _none(row.receipt_offered) else None,
                receipt_exception=_none(row.receipt_exception),
                identifying_info_collected=bool(row.identifying_info_collected),
                person_info_present=bool(_none(row.person_name)),
                perceived_race=row.perceived_race,
                perceived_gender=row.perceived_gender,
                perceived_age=_age(row.perceived_age),
                officer_name=officer.name,
                officer_badge=officer.badge,
                officer_trained_on=officer.trained_as_of(occurred.astimezone(settings.tz).date()),
            )
            evaluation = _evaluate(facts, settings)
            code = codes.normalize_code(codes.issue_code(settings.secret, taken=in_use)) or ""
            taken.add(code)
            eid = engagement_uuid(row.engagement_id)
            encounter = _none(getattr(row, "encounter_id", None))
            engagements.append(
                {
                    "id": eid,
                    "officer_id": officer.id,
                    "division_code": row.division,
                    "occurred_at": occurred,
                    "entered_at": entered,
                    "lat": _none(row.lat),
                    "lon": _none(row.lon),
                    "neighbourhood": _none(getattr(row, "neighbourhood", None)),
                    "location_description": _none(row.location_description),
                    "purpose": row.purpose,
                    "reason": row.reason,
                    "reason_grounds": grounds,
                    "description_match": False,
                    "description_elements": [],
                    "perceived_race": row.perceived_race,
                    "perceived_gender": row.perceived_gender,
                    "perceived_age": _age(row.perceived_age),
                    "informed": True if _none(row.informed) else None,
                    "inform_exception": _none(row.inform_exception),
                    "informed_why": None,
                    "inform_why_exception": None,
                    "receipt_offered": True if _none(row.receipt_offered) else None,
                    "receipt_exception": _none(row.receipt_exception),
                    "identifying_info_collected": bool(row.identifying_info_collected),
                    "searched": bool(row.searched),
                    "contraband_found": _none(row.contraband_found),
                    "outcome": row.outcome,
                    "compliant": evaluation.compliant if evaluation else False,
                    "ruleset_id": evaluation.ruleset.id if evaluation else LEGACY_RULESET,
                    "ruleset_version": evaluation.ruleset.version if evaluation else LEGACY_RULESET,
                    "receipt_code": code,
                    # Legacy and imported records are not ours to review: they are kept apart, not queued.
                    "status": "legacy" if evaluation is None and own_records else status,
                    "restricted": False,
                    # Only the service's own records predate its regulation; another source's are not
                    # "before" Ontario's rules in any meaningful sense.
                    "legacy": own_records
                    and (evaluation is None or bool(_none(getattr(row, "legacy", False)))),
                    "legal_hold": False,
                    "import_batch_id": import_batch_id,
                    # Mapped as engagement ids are, so it still names the encounter's first record
                    # (for one person, the record itself: the same as none).
                    "encounter_id": None if encounter is None else engagement_uuid(encounter),
                }
            )
            findings += [
                {
                    "engagement_id": eid,
                    "rule_code": f.code,
                    "verdict": f.verdict,
                    "field": f.field,
                    "message": f.message,
                    "ground": f.ground,
                }
                for f in (evaluation.findings if evaluation else ())
            ]
            if _none(row.person_name):
                dob = _none(row.person_date_of_birth)
                persons.append(
                    {
                        "engagement_id": eid,
                        "name": row.person_name,
                        "address": _none(row.person_address),
                        "date_of_birth": pd.Timestamp(dob).date() if dob is not None else None,
                    }
                )
        if not engagements:
            continue
        session.execute(insert(Engagement), engagements)
        if findings:
            session.execute(insert(Finding), findings)
        if persons:
            session.execute(insert(Person), persons)
        # One audit entry per batch: a bulk load is one act, and its ids are recoverable from the range.
        audit.append(
            session,
            actor=actor,
            action="engagement.import",
            entity="engagement",
            entity_id=engagements[0]["id"],
            purpose="bulk load of engagements",
            details={"count": len(engagements), "first": engagements[0]["id"], "last": engagements[-1]["id"]},
        )
        stored += len(engagements)
    return stored


def _evaluate(facts: policy.EngagementFacts, settings: Settings) -> policy.Evaluation | None:
    """The evaluation under the rule set in force, or None for a record made before any rule set."""
    try:
        return policy.evaluate(facts, tz=settings.timezone)
    except policy.NoRuleSetInForce:
        if facts.occurred_at.astimezone(settings.tz).date() < first_rule_day():
            return None
        raise
