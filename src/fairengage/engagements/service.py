"""Recording engagements: evaluate against the rule set in force, store with findings, idempotently."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from fairengage import policy
from fairengage.access import audit
from fairengage.access.permissions import scope_of
from fairengage.access.principal import Principal
from fairengage.config import Settings
from fairengage.engagements.models import Engagement, Finding, IdempotencyRecord, Person
from fairengage.engagements.schemas import EngagementIn
from fairengage.errors import FieldError, Forbidden, IdempotencyKeyReused, NotFound, RecordRefused
from fairengage.officers import service as officers
from fairengage.officers.models import Officer
from fairengage.receipts import codes

# A device clock a little ahead of the server's must not refuse a record made just now.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Recorded:
    """The stored record's answer; `replayed` when an earlier request with the same key made it."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def facts_from(draft: EngagementIn, officer: Officer, settings: Settings) -> policy.EngagementFacts:
    """What the rule evaluator reads from a draft and its officer."""
    person = draft.person
    return policy.EngagementFacts(
        occurred_at=draft.occurred_at,
        division=draft.division,
        purpose=draft.purpose,
        scope_exclusion=draft.scope_exclusion,
        reason=draft.reason,
        reason_grounds=tuple(draft.reason_grounds),
        description_match=draft.description_match,
        description_elements=tuple(draft.description_elements),
        informed=draft.informed,
        inform_exception=draft.inform_exception,
        inform_exception_details=draft.inform_exception_details,
        informed_why=draft.informed_why,
        inform_why_exception=draft.inform_why_exception,
        receipt_offered=draft.receipt_offered,
        receipt_exception=draft.receipt_exception,
        receipt_exception_details=draft.receipt_exception_details,
        identifying_info_collected=draft.identifying_info_collected,
        person_info_present=bool(person and (person.name or person.date_of_birth or person.address)),
        perceived_race=draft.perceived_race,
        perceived_gender=draft.perceived_gender,
        perceived_age=draft.perceived_age,
        officer_name=officer.name,
        officer_badge=officer.badge,
        officer_trained_on=officer.trained_as_of(draft.occurred_at.astimezone(settings.tz).date()),
    )


def _validate_context(session: Session, draft: EngagementIn, now: datetime) -> list[FieldError]:
    """Checks that need the database or the clock rather than the rule set."""
    errors: list[FieldError] = []
    if draft.occurred_at > now + CLOCK_SKEW:
        errors.append(FieldError("occurred_at", "VALID-TIME", "the time is in the future"))
    if not officers.division_exists(session=session, code=draft.division):
        errors.append(
            FieldError(
                "division", "VALID-DIVISION", f"{draft.division} is not one of the service's divisions"
            )
        )
    if draft.contraband_found is not None and not draft.searched:
        errors.append(
            FieldError("contraband_found", "RECORD-CONTENTS", "contraband can only be found where searched")
        )
    return errors


def evaluate_draft(
    *,
    session: Session,
    draft: EngagementIn,
    officer: Officer,
    settings: Settings,
    now: datetime | None = None,
) -> policy.Evaluation:
    """Evaluate a draft; raise RecordRefused with every problem when it may not be stored."""
    now = now or datetime.now(UTC)
    errors = _validate_context(session, draft, now)
    try:
        evaluation = policy.evaluate(facts_from(draft, officer, settings), tz=settings.timezone)
    except policy.NoRuleSetInForce:
        errors.append(FieldError("occurred_at", "VALID-TIME", "no rule set was in force on that date"))
        raise RecordRefused("the record cannot be stored", errors) from None
    ruleset = evaluation.ruleset
    if draft.outcome not in ruleset.codes("outcomes"):
        errors.append(
            FieldError("outcome", "RECORD-CONTENTS", "outcome must be one of the rule set's outcomes")
        )
    errors += [FieldError(**e) for e in evaluation.errors()]
    if errors:
        raise RecordRefused("the record breaks a rule and was not stored", errors)
    return evaluation


def request_digest(draft: EngagementIn) -> str:
    """A digest of the request body, to tell a true repeat from a reused key."""
    body = json.dumps(draft.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def receipt_url(settings: Settings, code: str) -> str:
    """The public page that checks a receipt code."""
    return f"{settings.public_url.rstrip('/')}/r/{code}"


def _replay(session: Session, user_id: int, key: str, digest: str) -> Recorded | None:
    row = session.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    ).first()
    if row is None:
        return None
    if row.request_digest != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was first used with a different body; use a new key for a new record",
            [FieldError("Idempotency-Key", "IDEMPOTENCY-KEY", "key reused with a different body")],
        )
    return Recorded(row.status_code, row.response, replayed=True)


def record(
    *,
    sessions: sessionmaker[Session],
    draft: EngagementIn,
    principal: Principal,
    settings: Settings,
    idempotency_key: str | None,
) -> Recorded:
    """Evaluate the draft against the rule set in force and store it with its findings, once per key."""
    if scope_of(principal.role, "engagements:create") is None or principal.officer_id is None:
        raise Forbidden("only an officer may record an engagement")
    digest = request_digest(draft)
    try:
        with sessions.begin() as session:
            if idempotency_key and (replay := _replay(session, principal.user_id, idempotency_key, digest)):
                return replay
            officer = session.get(Officer, principal.officer_id)
            if officer is None:
                raise Forbidden("this user is not linked to an officer")
            evaluation = evaluate_draft(session=session, draft=draft, officer=officer, settings=settings)
            engagement = _store(session, draft, officer, principal, evaluation, settings)
            body = recorded_body(engagement, settings)
            if idempotency_key:
                session.add(
                    IdempotencyRecord(
                        user_id=principal.user_id,
                        key=idempotency_key,
                        request_digest=digest,
                        engagement_id=engagement.id,
                        status_code=201,
                        response=body,
                        created_at=datetime.now(UTC),
                    )
                )
                session.flush()
            return Recorded(201, body)
    except IntegrityError:
        # A concurrent request with the same key committed first: answer with what it stored.
        if not idempotency_key:
            raise
        with sessions.begin() as session:
            replay = _replay(session, principal.user_id, idempotency_key, digest)
        if replay is None:
            raise
        return replay


def apply_draft(*, engagement: Engagement, draft: EngagementIn, evaluation: policy.Evaluation) -> None:
    """Set a record's facts from a draft and its evaluation (a new record, or a correction)."""
    engagement.division_code = draft.division
    engagement.occurred_at = draft.occurred_at
    engagement.lat = draft.location.lat
    engagement.lon = draft.location.lon
    engagement.location_description = draft.location.description
    engagement.purpose = draft.purpose or ""
    engagement.reason = draft.reason or ""
    engagement.reason_grounds = list(draft.reason_grounds)
    engagement.description_match = draft.description_match
    engagement.description_elements = list(draft.description_elements)
    engagement.perceived_race = draft.perceived_race or ""
    engagement.perceived_gender = draft.perceived_gender or ""
    engagement.perceived_age = draft.perceived_age
    engagement.informed = draft.informed
    engagement.inform_exception = draft.inform_exception
    engagement.inform_exception_details = draft.inform_exception_details
    engagement.informed_why = draft.informed_why
    engagement.inform_why_exception = draft.inform_why_exception
    engagement.receipt_offered = draft.receipt_offered
    engagement.receipt_exception = draft.receipt_exception
    engagement.receipt_exception_details = draft.receipt_exception_details
    engagement.identifying_info_collected = bool(draft.identifying_info_collected)
    engagement.searched = draft.searched
    engagement.contraband_found = draft.contraband_found
    engagement.outcome = draft.outcome
    engagement.compliant = evaluation.compliant
    engagement.ruleset_id = evaluation.ruleset.id
    engagement.ruleset_version = evaluation.ruleset.version
    person = draft.person
    if person is not None and (person.name or person.date_of_birth or person.address):
        if engagement.person is None:
            engagement.person = Person()
        engagement.person.name = person.name
        engagement.person.date_of_birth = person.date_of_birth
        engagement.person.address = person.address


def _store(
    session: Session,
    draft: EngagementIn,
    officer: Officer,
    principal: Principal,
    evaluation: policy.Evaluation,
    settings: Settings,
) -> Engagement:
    now = datetime.now(UTC)
    engagement = Engagement(
        id=str(uuid.uuid4()),
        officer_id=officer.id,
        entered_at=now,
        entered_by=principal.user_id,
        receipt_code=codes.normalize_code(codes.issue_code(settings.secret)) or "",
        status="pending_review",
        restricted=False,
        legacy=False,
        legal_hold=False,
    )
    apply_draft(engagement=engagement, draft=draft, evaluation=evaluation)
    engagement.findings = [
        Finding(rule_code=f.code, verdict=f.verdict, field=f.field, message=f.message, ground=f.ground)
        for f in evaluation.findings
    ]
    session.add(engagement)
    session.flush()
    audit.append(
        session,
        actor=principal.username,
        action="engagement.create",
        entity="engagement",
        entity_id=engagement.id,
        purpose="recording an engagement (O. Reg. 58/16 s.9)",
        details={
            "compliant": engagement.compliant,
            "flags": sorted({f.code for f in evaluation.flags}),
            "ruleset": f"{evaluation.ruleset.id}@{evaluation.ruleset.version}",
            "personal_information": engagement.person is not None,
        },
        at=now,
    )
    return engagement


def findings_json(engagement: Engagement) -> list[dict[str, Any]]:
    """The findings as the API shows them."""
    return [
        {
            "rule": f.rule_code,
            "verdict": f.verdict,
            "message": f.message,
            "field": f.field,
            "ground": f.ground,
        }
        for f in engagement.findings
    ]


def recorded_body(engagement: Engagement, settings: Settings) -> dict[str, Any]:
    """The 201 answer of DESIGN.md's contract."""
    code = codes.format_code(engagement.receipt_code)
    return {
        "id": engagement.id,
        "findings": findings_json(engagement),
        "compliant": engagement.compliant,
        "receipt": {"code": code, "url": receipt_url(settings, code)},
    }


def _visible(principal: Principal, permission: str):  # type: ignore[no-untyped-def]
    """The SQL condition limiting records to the caller's scope; Forbidden when the role holds none."""
    scope = scope_of(principal.role, permission)
    if scope is None:
        raise Forbidden(f"the {principal.role} role may not do this")
    # Restricted records (non-compliant, or past the restriction age) are read only through the
    # governed restricted-access path, never through ordinary lists and lookups (s.9).
    condition = Engagement.restricted.is_(False)
    if scope == "own":
        return condition & (Engagement.officer_id == principal.officer_id)
    if scope == "division":
        return condition & (Engagement.division_code == principal.division_code)
    return condition


def get_visible(*, session: Session, principal: Principal, engagement_id: str) -> Engagement:
    """A record the caller may read, or NotFound: other people's records are indistinguishable from none."""
    condition = _visible(principal, "engagements:read")
    engagement = session.scalars(select(Engagement).where(Engagement.id == engagement_id, condition)).first()
    if engagement is None:
        raise NotFound("no such engagement")
    return engagement


def read_person(
    *, session: Session, principal: Principal, engagement: Engagement, purpose: str
) -> Person | None:
    """The person's information when the caller's role allows, each read logged with its purpose."""
    if scope_of(principal.role, "engagements:read-person") is None or engagement.person is None:
        return None
    audit.append(
        session,
        actor=principal.username,
        action="person.read",
        entity="engagement",
        entity_id=engagement.id,
        purpose=purpose,
        details={"role": principal.role},
    )
    return engagement.person


@dataclass(frozen=True)
class Filters:
    """The list's filters; every one optional."""

    division: str | None = None
    perceived_race: str | None = None
    purpose: str | None = None
    compliant: bool | None = None
    status: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None


def search(
    *, session: Session, principal: Principal, filters: Filters, limit: int, offset: int
) -> tuple[list[Engagement], int]:
    """A page of the records the caller may read, newest first, and the total matching."""
    conditions = [_visible(principal, "engagements:read")]
    if filters.division:
        conditions.append(Engagement.division_code == filters.division)
    if filters.perceived_race:
        conditions.append(Engagement.perceived_race == filters.perceived_race)
    if filters.purpose:
        conditions.append(Engagement.purpose == filters.purpose)
    if filters.compliant is not None:
        conditions.append(Engagement.compliant.is_(filters.compliant))
    if filters.status:
        conditions.append(Engagement.status == filters.status)
    if filters.occurred_from:
        conditions.append(Engagement.occurred_at >= filters.occurred_from)
    if filters.occurred_to:
        conditions.append(Engagement.occurred_at < filters.occurred_to)
    total = session.scalar(select(func.count()).select_from(Engagement).where(*conditions)) or 0
    rows = session.scalars(
        select(Engagement)
        .where(*conditions)
        .order_by(Engagement.occurred_at.desc(), Engagement.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def find_by_receipt(*, session: Session, canonical_code: str) -> Engagement | None:
    """The record a verified receipt code belongs to."""
    return session.scalars(select(Engagement).where(Engagement.receipt_code == canonical_code)).first()
