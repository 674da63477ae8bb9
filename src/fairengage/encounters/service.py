"""Recording an encounter with several people: one engagement per person, all or nothing, once per key.

Every person's record is evaluated on its own (the shared answers with that person's own), so each
gets its own findings and receipt. The encounter id is the id of the encounter's first record; a
record with no encounter id is an encounter of one (docs/officer.md, "Several people").
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from fairengage.access import audit
from fairengage.access.principal import Principal
from fairengage.config import Settings
from fairengage.engagements import service as engagements
from fairengage.engagements.models import Engagement
from fairengage.engagements.schemas import PERSONAL_FIELDS, EncounterIn, EngagementIn
from fairengage.errors import FieldError, Forbidden, NotFound, RecordRefused
from fairengage.officers import service as officers

# Kept apart from single records' digests, so one key can never replay the other kind of answer.
_DIGEST_LABEL = "encounter:"


def request_digest(encounter: EncounterIn) -> str:
    """A digest of the encounter's body, to tell a true repeat from a reused key."""
    body = json.dumps(encounter.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((_DIGEST_LABEL + body).encode()).hexdigest()


def person_errors(index: int, errors: list[FieldError]) -> list[FieldError]:
    """A person's errors named by place: people[2].perceived_age; shared answers keep their names."""
    out = []
    for error in errors:
        top = error.field.split(".", 1)[0]
        field = f"people[{index}].{error.field}" if top in PERSONAL_FIELDS else error.field
        out.append(FieldError(field, error.rule, error.message))
    return out


def evaluate_all(
    *, session: Session, drafts: list[EngagementIn], officer: Any, settings: Settings
) -> list[Any]:
    """Each person's evaluation; RecordRefused naming every problem of every person when any has one."""
    evaluations: list[Any] = []
    errors: list[FieldError] = []
    for index, draft in enumerate(drafts):
        try:
            evaluations.append(
                engagements.evaluate_draft(session=session, draft=draft, officer=officer, settings=settings)
            )
        except RecordRefused as refused:
            for error in person_errors(index, refused.errors):
                # A problem with a shared answer is the same for everyone: named once.
                if error not in errors:
                    errors.append(error)
    if errors:
        raise RecordRefused("the encounter breaks a rule and nothing was stored", errors)
    return evaluations


def record(
    *,
    sessions: sessionmaker[Session],
    encounter: EncounterIn,
    token: str | None,
    settings: Settings,
    idempotency_key: str | None,
) -> engagements.Recorded:
    """Store one record per person in one transaction, once per Idempotency-Key."""
    digest = request_digest(encounter)
    drafts = encounter.drafts()
    caller: Principal | None = None
    try:
        with sessions.begin() as session:
            caller = engagements.bearer_caller(session, token)
            if idempotency_key and (
                replay := engagements.earlier_answer(session, caller.user_id, idempotency_key, digest)
            ):
                return replay
            officer = officers.on_duty(session=session, officer_id=caller.officer_id)
            if officer is None:
                raise Forbidden("this user is not linked to an officer")
            evaluations = evaluate_all(session=session, drafts=drafts, officer=officer, settings=settings)
            ids = [str(uuid.uuid4()) for _ in drafts]
            stored = [
                engagements.store_record(
                    session,
                    draft,
                    officer,
                    caller,
                    evaluation,
                    settings,
                    None,
                    digest,
                    engagement_id=engagement_id,
                    encounter_id=ids[0],
                )
                for draft, evaluation, engagement_id in zip(drafts, evaluations, ids, strict=True)
            ]
            body = {"id": ids[0], "people": len(stored), "engagements": stored}
            if idempotency_key:
                now = datetime.now(UTC)
                engagements.claim_key(
                    session.connection(), caller, idempotency_key, digest, ids[0], body, now
                )
            return engagements.Recorded(201, body)
    except engagements.KeyTaken:
        # A concurrent request with the same key committed first; this one rolled back whole.
        replay = None
        if caller is not None:
            with sessions.begin() as session:
                replay = engagements.earlier_answer(session, caller.user_id, str(idempotency_key), digest)
        if replay is None:
            raise RuntimeError("an Idempotency-Key was taken but its encounter cannot be found") from None
        return replay


def members(*, session: Session, principal: Principal, encounter_id: str) -> list[Engagement]:
    """The encounter's records the caller may read, first entered first; NotFound when none."""
    condition = engagements.visible_condition(principal, "engagements:read")
    rows = session.scalars(
        select(Engagement)
        .where(
            condition,
            or_(
                Engagement.encounter_id == encounter_id,
                (Engagement.id == encounter_id) & Engagement.encounter_id.is_(None),
            ),
        )
        .order_by(Engagement.entered_at, Engagement.id)
    ).all()
    if not rows:
        raise NotFound("no such encounter")
    return list(rows)


def shared_draft_values(engagement: Engagement) -> dict[str, Any]:
    """The shared answers of a stored record, as a draft's fields (for the next person's page)."""
    return {
        "occurred_at": engagement.occurred_at,
        "division": engagement.division_code,
        "location": {
            "lat": engagement.lat,
            "lon": engagement.lon,
            "description": engagement.location_description or "",
        },
        "purpose": engagement.purpose or None,
        "scope_exclusion": None,
        "reason": engagement.reason or None,
        "reason_grounds": list(engagement.reason_grounds or []),
        "description_match": bool(engagement.description_match),
        "description_elements": list(engagement.description_elements or []),
        "race_word_not_about_person": bool(engagement.race_word_not_about_person),
    }


def add_person(
    *,
    sessions: sessionmaker[Session],
    principal: Principal,
    anchor_id: str,
    person: dict[str, Any],
    settings: Settings,
    idempotency_key: str | None,
) -> engagements.Recorded:
    """Record one more person of the encounter `anchor_id` belongs to, with its shared answers.

    The anchor is any record of the encounter, the officer's own; a record that was an encounter of
    one becomes the first of this encounter.
    """
    engagements.require_recorder(principal)
    try:
        return _add_person(sessions, principal, anchor_id, person, settings, idempotency_key)
    except engagements.KeyTaken:
        # The same page sent twice at once: the first one stored the person; answer as it did.
        with sessions.begin() as session:
            anchor = anchor_of(session=session, principal=principal, engagement_id=anchor_id)
            draft = EngagementIn.model_validate({**shared_draft_values(anchor), **person})
            digest = engagements.request_digest(draft)
            replay = engagements.earlier_answer(session, principal.user_id, str(idempotency_key), digest)
        if replay is None:
            raise RuntimeError("an Idempotency-Key was taken but its record cannot be found") from None
        return replay


def _add_person(
    sessions: sessionmaker[Session],
    principal: Principal,
    anchor_id: str,
    person: dict[str, Any],
    settings: Settings,
    idempotency_key: str | None,
) -> engagements.Recorded:
    with sessions.begin() as session:
        anchor = anchor_of(session=session, principal=principal, engagement_id=anchor_id)
        encounter_id = anchor.encounter_id or anchor.id
        draft = EngagementIn.model_validate({**shared_draft_values(anchor), **person})
        digest = engagements.request_digest(draft)
        if idempotency_key and (
            replay := engagements.earlier_answer(session, principal.user_id, idempotency_key, digest)
        ):
            return replay
        officer = officers.on_duty(session=session, officer_id=principal.officer_id)
        if officer is None:
            raise Forbidden("this user is not linked to an officer")
        evaluation = engagements.evaluate_draft(
            session=session, draft=draft, officer=officer, settings=settings
        )
        if anchor.encounter_id is None:
            session.execute(
                update(Engagement).where(Engagement.id == anchor.id).values(encounter_id=encounter_id)
            )
            audit.journal(
                session,
                actor=principal.username,
                action="engagement.encounter",
                entity="engagement",
                entity_id=anchor.id,
                purpose="recording an engagement (O. Reg. 58/16 s.9)",
                details={"encounter": encounter_id},
            )
        body = engagements.store_record(
            session,
            draft,
            officer,
            principal,
            evaluation,
            settings,
            idempotency_key,
            digest,
            encounter_id=encounter_id,
        )
        return engagements.Recorded(201, body)


def anchor_of(*, session: Session, principal: Principal, engagement_id: str) -> Engagement:
    """The officer's own record another person is added to; NotFound or Forbidden otherwise."""
    anchor = engagements.get_visible(session=session, principal=principal, engagement_id=engagement_id)
    if principal.role != "officer" or anchor.officer_id != principal.officer_id:
        raise Forbidden("only the officer who recorded the encounter may add a person to it")
    return anchor
