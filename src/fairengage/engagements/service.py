"""Recording engagements: evaluate against the rule set in force, store with findings, idempotently."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from fairengage import policy
from fairengage.access import audit
from fairengage.access import service as access
from fairengage.access.permissions import scope_of
from fairengage.access.principal import Principal
from fairengage.access.scoping import in_scope
from fairengage.config import Settings
from fairengage.db import insert_or_skip
from fairengage.engagements import location
from fairengage.engagements.models import Engagement, Finding, IdempotencyRecord, Person
from fairengage.engagements.schemas import EngagementIn
from fairengage.errors import (
    FieldError,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    RecordRefused,
    Unauthenticated,
)
from fairengage.officers import service as officers
from fairengage.officers import training
from fairengage.receipts import codes
from fairengage.web.i18n import N_

if TYPE_CHECKING:
    from fairengage.officers.models import Officer

# A device clock a little ahead of the server's must not refuse a record made just now.
CLOCK_SKEW = timedelta(minutes=5)
# The checks' own words (not a rule set's): kept in English for the API, looked up in the catalogue on pages.
IN_THE_FUTURE = N_("the time is in the future")
NO_RULE_SET = N_("no rule set was in force on that date")
CONTRABAND_UNSEARCHED = N_("contraband can only be found where searched")
UNKNOWN_OUTCOME = N_("outcome must be one of the rule set's outcomes")
CHECK_MESSAGES = frozenset({IN_THE_FUTURE, NO_RULE_SET, CONTRABAND_UNSEARCHED, UNKNOWN_OUTCOME})


@dataclass(frozen=True)
class Recorded:
    """The stored record's answer; `replayed` when an earlier request with the same key made it."""

    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def facts_from(
    draft: EngagementIn, officer: Officer | officers.OfficerOnDuty, settings: Settings
) -> policy.EngagementFacts:
    """What the rule evaluator reads from a draft and its officer."""
    person = draft.person
    return policy.EngagementFacts(
        occurred_at=draft.occurred_at,
        division=draft.division,
        purpose=draft.purpose,
        scope_exclusion=draft.scope_exclusion,
        scope_answered=draft.scope_answered,
        reason=draft.reason,
        reason_grounds=tuple(draft.reason_grounds),
        description_match=draft.description_match,
        description_elements=tuple(draft.description_elements),
        race_word_not_about_person=draft.race_word_not_about_person,
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
        errors.append(FieldError("occurred_at", "VALID-TIME", IN_THE_FUTURE))
    if not officers.division_exists(session=session, code=draft.division):
        errors.append(
            FieldError(
                "division", "VALID-DIVISION", f"{draft.division} is not one of the service's divisions"
            )
        )
    if draft.contraband_found is not None and not draft.searched:
        errors.append(FieldError("contraband_found", "RECORD-CONTENTS", CONTRABAND_UNSEARCHED))
    return errors


@dataclass(frozen=True)
class Judgement:
    """What the rules say of a draft: the refusing problems, and the evaluation when one could be made."""

    errors: list[FieldError]
    evaluation: policy.Evaluation | None


def judge(
    *,
    session: Session,
    draft: EngagementIn,
    officer: Officer | officers.OfficerOnDuty,
    settings: Settings,
    now: datetime | None = None,
) -> Judgement:
    """Every problem the save would meet, without raising: the save and the dry-run share this."""
    now = now or datetime.now(UTC)
    errors = _validate_context(session, draft, now)
    try:
        evaluation = policy.evaluate(facts_from(draft, officer, settings), tz=settings.timezone)
    except policy.NoRuleSetInForce:
        errors.append(FieldError("occurred_at", "VALID-TIME", NO_RULE_SET))
        return Judgement(errors, None)
    ruleset = evaluation.ruleset
    if draft.outcome not in ruleset.codes("outcomes"):
        errors.append(FieldError("outcome", "RECORD-CONTENTS", UNKNOWN_OUTCOME))
    errors += [FieldError(**e) for e in evaluation.errors()]
    return Judgement(errors, evaluation)


def evaluate_draft(
    *,
    session: Session,
    draft: EngagementIn,
    officer: Officer | officers.OfficerOnDuty,
    settings: Settings,
    now: datetime | None = None,
) -> policy.Evaluation:
    """Evaluate a draft; raise RecordRefused with every problem when it may not be stored."""
    judged = judge(session=session, draft=draft, officer=officer, settings=settings, now=now)
    if judged.evaluation is None:
        raise RecordRefused("the record cannot be stored", judged.errors)
    if judged.errors:
        raise RecordRefused("the record breaks a rule and was not stored", judged.errors)
    return judged.evaluation


def checked_findings(judged: Judgement) -> list[dict[str, Any]]:
    """A dry-run's findings: each refusing problem, then each flag, as `{rule, field, message, severity}`."""
    out: list[dict[str, Any]] = [
        {"rule": e.rule, "field": e.field, "message": e.message, "severity": "refuse"} for e in judged.errors
    ]
    if judged.evaluation is not None:
        out += [
            {"rule": f.code, "field": f.field, "message": f.message, "severity": "flag"}
            for f in judged.evaluation.flags
        ]
    return out


def check(
    *,
    sessions: sessionmaker[Session],
    draft: EngagementIn,
    principal: Principal | None = None,
    token: str | None = None,
    settings: Settings,
) -> dict[str, Any]:
    """The dry-run of `record`: the same caller checks and the same judgement, and nothing is written.

    No audit row: nothing is stored and no stored personal information is read; the body's own answers
    go back to the officer who sent them.
    """
    if principal is not None:
        require_recorder(principal)
    with sessions() as session:
        caller = principal or bearer_caller(session, token)
        officer = officers.on_duty(session=session, officer_id=caller.officer_id)
        if officer is None:
            raise Forbidden("this user is not linked to an officer")
        judged = judge(session=session, draft=draft, officer=officer, settings=settings)
        session.rollback()
    ruleset = judged.evaluation.ruleset.id if judged.evaluation is not None else None
    return {"would_save": not judged.errors, "ruleset": ruleset, "findings": checked_findings(judged)}


def request_digest(draft: EngagementIn) -> str:
    """A digest of the request body, to tell a true repeat from a reused key."""
    dumped = draft.model_dump(mode="json")
    # Left out when unset, so a repeat of a request made before the field existed keeps its digest.
    if dumped["location"].get("accuracy_m") is None:
        dumped["location"].pop("accuracy_m", None)
    body = json.dumps(dumped, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def receipt_url(settings: Settings, code: str) -> str:
    """The public page that checks a receipt code."""
    return f"{settings.public_url.rstrip('/')}/r/{code}"


_ENGAGEMENTS = Engagement.__table__
_PERSONS = Person.__table__
_FINDINGS = Finding.__table__
_KEYS = IdempotencyRecord.__table__


# Built once: these run on every recorded engagement.
_REPLAY = select(_KEYS.c.request_digest, _KEYS.c.status_code, _KEYS.c.response).where(
    _KEYS.c.user_id == bindparam("user_id"), _KEYS.c.key == bindparam("key")
)
_INSERT_PERSON = insert(_PERSONS)
_INSERT_FINDINGS = insert(_FINDINGS)


class KeyTaken(Exception):
    """Another request stored a record under the same Idempotency-Key while this one was working."""


def earlier_answer(session: Session, user_id: int, key: str, digest: str) -> Recorded | None:
    """The answer first given under this caller's Idempotency-Key, or None; IdempotencyKeyReused when the
    key came before with a different body. Shared with encounters, which answer under the same keys."""
    row = session.connection().execute(_REPLAY, {"user_id": user_id, "key": key}).first()
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
    principal: Principal | None = None,
    token: str | None = None,
    settings: Settings,
    idempotency_key: str | None,
) -> Recorded:
    """Evaluate the draft against the rule set in force and store it with its findings, once per key.

    The caller is a signed-in `principal` (the form) or an API `token`, resolved in the same
    transaction as the write so that a request takes one database connection, not two.
    """
    if principal is not None:
        require_recorder(principal)
    digest = request_digest(draft)
    caller = principal
    try:
        with sessions.begin() as session:
            caller = caller or bearer_caller(session, token)
            if idempotency_key:
                replay = earlier_answer(session, caller.user_id, idempotency_key, digest)
                if replay:
                    return replay
            officer = officers.on_duty(session=session, officer_id=caller.officer_id)
            if officer is None:
                raise Forbidden("this user is not linked to an officer")
            _require_training(officer, draft, settings)
            evaluation = evaluate_draft(session=session, draft=draft, officer=officer, settings=settings)
            body = store_record(
                session, draft, officer, caller, evaluation, settings, idempotency_key, digest
            )
            return Recorded(201, body)
    except KeyTaken:
        # A concurrent request with the same key committed first; this one rolled back whole.
        replay = None
        if caller is not None:
            with sessions.begin() as session:
                replay = earlier_answer(session, caller.user_id, str(idempotency_key), digest)
        if replay is None:
            raise RuntimeError("an Idempotency-Key was taken but its record cannot be found") from None
        return replay


def _require_training(officer: officers.OfficerOnDuty, draft: EngagementIn, settings: Settings) -> None:
    """Refuse up front, naming TRAINING-36M alone, when the officer's training does not cover the day."""
    day = draft.occurred_at.astimezone(settings.tz).date()
    try:
        officer_standing = training.standing(officer.training, day)
    except policy.NoRuleSetInForce:
        return  # the evaluation names the date no rule set covers
    if not officer_standing.in_date:
        raise training.refusal(officer_standing, settings.training_contact)


def bearer_caller(session: Session, token: str | None) -> Principal:
    """The officer an API token names, allowed to record; Unauthenticated or Forbidden otherwise."""
    principal = access.principal_for_token(session=session, token=token) if token else None
    if principal is None:
        raise Unauthenticated("the API token is not valid or was revoked")
    require_recorder(principal)
    return principal


def require_recorder(principal: Principal) -> None:
    """Forbidden unless the caller is an officer whose role may record engagements."""
    if scope_of(principal.role, "engagements:create") is None or principal.officer_id is None:
        raise Forbidden("only an officer may record an engagement")


def draft_columns(
    draft: EngagementIn, evaluation: policy.Evaluation, settings: Settings | None = None
) -> dict[str, Any]:
    """A record's columns from a draft and its evaluation (a new record, or a correction)."""
    confirmed = confirmed_race_words(draft, evaluation)
    where = draft.location
    point = (where.lat, where.lon) if where.lat is not None and where.lon is not None else None
    return {
        "division_code": draft.division,
        "occurred_at": draft.occurred_at,
        # A latitude without its longitude is no position: neither is kept.
        "lat": point[0] if point else None,
        "lon": point[1] if point else None,
        "location_accuracy_m": where.accuracy_m if point else None,
        "division_at_location": location.division_at(settings, *point) if point and settings else None,
        "location_description": draft.location.description,
        "bwc_video_id": draft.bwc_video_id,
        "purpose": draft.purpose or "",
        "reason": draft.reason or "",
        "reason_grounds": list(draft.reason_grounds),
        "description_match": draft.description_match,
        "description_elements": list(draft.description_elements),
        "race_word_not_about_person": confirmed is not None,
        "race_words_confirmed": confirmed,
        "perceived_race": draft.perceived_race or "",
        "perceived_gender": draft.perceived_gender or "",
        "perceived_age": draft.perceived_age,
        "informed": draft.informed,
        "inform_exception": draft.inform_exception,
        "inform_exception_details": draft.inform_exception_details,
        "informed_why": draft.informed_why,
        "inform_why_exception": draft.inform_why_exception,
        "receipt_offered": draft.receipt_offered,
        "receipt_exception": draft.receipt_exception,
        "receipt_exception_details": draft.receipt_exception_details,
        "identifying_info_collected": bool(draft.identifying_info_collected),
        "searched": draft.searched,
        "contraband_found": draft.contraband_found,
        "outcome": draft.outcome,
        "compliant": evaluation.compliant,
        "ruleset_id": evaluation.ruleset.id,
        "ruleset_version": evaluation.ruleset.version,
    }


def confirmed_race_words(draft: EngagementIn, evaluation: policy.Evaluation) -> list[str] | None:
    """The race words the officer confirmed describe something else, or None when nothing was confirmed.

    Kept only when the confirmation carried the reason past RACE-NOT-A-REASON: a confirmation beside a
    declared description match, or on a reason naming no race word, confirmed nothing.
    """
    confirmed = any(f.code == "RACE-NOT-A-REASON" and f.variant == "confirmed" for f in evaluation.findings)
    if not (draft.race_word_not_about_person and confirmed):
        return None
    ruleset = evaluation.ruleset
    return list(policy.terms_in(draft.reason, ruleset.param("race_terms")))


def _has_person(draft: EngagementIn) -> bool:
    person = draft.person
    return person is not None and bool(person.name or person.date_of_birth or person.address)


def apply_draft(
    *,
    engagement: Engagement,
    draft: EngagementIn,
    evaluation: policy.Evaluation,
    settings: Settings | None = None,
) -> None:
    """Set a stored record's facts from a corrected draft and its evaluation."""
    for name, value in draft_columns(draft, evaluation, settings).items():
        setattr(engagement, name, value)
    if draft.person is not None and _has_person(draft):
        if engagement.person is None:
            engagement.person = Person()
        engagement.person.name = draft.person.name
        engagement.person.date_of_birth = draft.person.date_of_birth
        engagement.person.address = draft.person.address


def _insert_with_fresh_code(connection: Connection, row: dict[str, Any], secret: bytes) -> str:
    """Insert the record under a receipt code no other record holds; return the canonical code."""
    # 30 random serial bits meet the birthday bound within tens of thousands of receipts, so a
    # drawn code can be taken; the unique index decides, and a taken code is drawn again.
    statement = insert_or_skip(connection, _ENGAGEMENTS, ("receipt_code",)).returning(_ENGAGEMENTS.c.id)
    for _ in range(8):
        code = codes.normalize_code(codes.issue_code(secret)) or ""
        if connection.execute(statement, {**row, "receipt_code": code}).first() is not None:
            return code
    raise RuntimeError("no free receipt code after 8 draws")


def store_record(
    session: Session,
    draft: EngagementIn,
    officer: officers.OfficerOnDuty,
    principal: Principal,
    evaluation: policy.Evaluation,
    settings: Settings,
    idempotency_key: str | None,
    digest: str,
    *,
    engagement_id: str | None = None,
    encounter_id: str | None = None,
) -> dict[str, Any]:
    """Insert one judged record (and its person, findings, receipt and key) in the caller's transaction;
    the API's answer body. Encounters call it once per person with their own `encounter_id`."""
    # Core statements, not ORM objects: this is the service's hottest write (docs/load-and-recovery.md).
    connection = session.connection()
    now = datetime.now(UTC)
    engagement_id = engagement_id or str(uuid.uuid4())
    row = {
        "id": engagement_id,
        "officer_id": officer.id,
        "entered_at": now,
        "entered_by": principal.user_id,
        "neighbourhood": None,
        "status": "pending_review",
        "restricted": False,
        "legacy": False,
        "legal_hold": False,
        "import_batch_id": None,
        "encounter_id": encounter_id,
        **draft_columns(draft, evaluation, settings),
    }
    code = _insert_with_fresh_code(connection, row, settings.secret)
    person = draft.person
    if person is not None and _has_person(draft):
        connection.execute(
            _INSERT_PERSON,
            {
                "engagement_id": engagement_id,
                "name": person.name,
                "date_of_birth": person.date_of_birth,
                "address": person.address,
            },
        )
    findings: list[dict[str, Any]] = [
        {
            "engagement_id": engagement_id,
            "rule_code": f.code,
            "verdict": f.verdict,
            "field": f.field,
            "message": f.message,
            "ground": f.ground,
        }
        for f in evaluation.findings
    ]
    if findings:
        connection.execute(_INSERT_FINDINGS, findings)
    body = _body(engagement_id, code, [finding_json(**f) for f in findings], evaluation.compliant, settings)
    if idempotency_key:
        claim_key(connection, principal, idempotency_key, digest, engagement_id, body, now)
    audit.journal(
        session,
        actor=principal.username,
        action="engagement.create",
        entity="engagement",
        entity_id=engagement_id,
        purpose="recording an engagement (O. Reg. 58/16 s.9)",
        details={
            "compliant": evaluation.compliant,
            "flags": sorted({f.code for f in evaluation.flags}),
            "ruleset": f"{evaluation.ruleset.id}@{evaluation.ruleset.version}",
            "personal_information": _has_person(draft),
            **({"encounter": encounter_id} if encounter_id else {}),
        },
        at=now,
    )
    return body


def claim_key(
    connection: Connection,
    principal: Principal,
    idempotency_key: str,
    digest: str,
    engagement_id: str,
    body: dict[str, Any],
    now: datetime,
) -> None:
    """Keep the answer under the caller's key; KeyTaken when a concurrent request kept one first."""
    claimed = connection.execute(
        insert_or_skip(connection, _KEYS, ("user_id", "key")).returning(_KEYS.c.id),
        {
            "user_id": principal.user_id,
            "key": idempotency_key,
            "request_digest": digest,
            "engagement_id": engagement_id,
            "status_code": 201,
            "response": body,
            "created_at": now,
        },
    ).first()
    if claimed is None:
        raise KeyTaken


def finding_json(
    *, rule_code: str, verdict: str, message: str, field: str | None, ground: str | None, **_: Any
) -> dict[str, Any]:
    """One finding as the API shows it."""
    return {"rule": rule_code, "verdict": verdict, "message": message, "field": field, "ground": ground}


def findings_json(engagement: Engagement) -> list[dict[str, Any]]:
    """The findings as the API shows them."""
    return [
        finding_json(
            rule_code=f.rule_code, verdict=f.verdict, message=f.message, field=f.field, ground=f.ground
        )
        for f in engagement.findings
    ]


def recorded_body(engagement: Engagement, settings: Settings) -> dict[str, Any]:
    """The 201 answer of docs/architecture.md's contract."""
    return _body(
        engagement.id, engagement.receipt_code, findings_json(engagement), engagement.compliant, settings
    )


def _body(
    engagement_id: str,
    canonical_code: str,
    findings: list[dict[str, Any]],
    compliant: bool,
    settings: Settings,
) -> dict[str, Any]:
    code = codes.format_code(canonical_code)
    return {
        "id": engagement_id,
        "findings": findings,
        "compliant": compliant,
        "receipt": {"code": code, "url": receipt_url(settings, code)},
    }


def visible_condition(principal: Principal, permission: str) -> ColumnElement[bool]:
    """The SQL condition limiting records to the caller's scope; Forbidden when the role holds none."""
    # Restricted records (non-compliant, or past the restriction age) are read only through the
    # governed restricted-access path, never through ordinary lists and lookups (s.9).
    reach = in_scope(principal, permission, division=Engagement.division_code, officer=Engagement.officer_id)
    return Engagement.restricted.is_(False) & reach


def get_visible(*, session: Session, principal: Principal, engagement_id: str) -> Engagement:
    """A record the caller may read, or NotFound: other people's records are indistinguishable from none."""
    condition = visible_condition(principal, "engagements:read")
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
    conditions = [visible_condition(principal, "engagements:read")]
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
