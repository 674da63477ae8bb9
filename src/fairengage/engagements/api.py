"""JSON API for recording and reading engagements (docs/architecture.md, "The contract")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from fairengage.engagements import service
from fairengage.engagements.models import Engagement
from fairengage.engagements.schemas import (
    CheckedOut,
    EngagementIn,
    EngagementOut,
    EngagementPage,
    Moment,
    RecordedOut,
)
from fairengage.policy import ruleset_for_record
from fairengage.web.deps import (
    ApiPrincipal,
    BearerToken,
    DbSession,
    IdempotencyKey,
    sessions_of,
    settings_of,
)
from fairengage.web.problems import MEDIA_TYPE

router = APIRouter(prefix="/api/v1", tags=["engagements"])

PROBLEM = {"content": {MEDIA_TYPE: {}}, "description": "problem+json (RFC 9457)"}
ERRORS: dict[int | str, dict[str, Any]] = {401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 422: PROBLEM}


def recorded_response(result: service.Recorded, collection: str) -> JSONResponse:
    """The stored answer to a recording request, where to read what it made, and whether it is a repeat."""
    headers = {"Location": f"/api/v1/{collection}/{result.body['id']}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


@router.post("/engagements", status_code=201, response_model=RecordedOut, responses=ERRORS)
def create_engagement(
    draft: EngagementIn, request: Request, token: BearerToken, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Record an engagement; a repeat with the same Idempotency-Key returns the first answer."""
    # The token is checked in the recording transaction itself: one connection per request.
    result = service.record(
        sessions=sessions_of(request),
        draft=draft,
        token=token,
        settings=settings_of(request),
        idempotency_key=idempotency_key,
    )
    return recorded_response(result, "engagements")


@router.post("/engagements/check", response_model=CheckedOut, responses=ERRORS)
def check_engagement(draft: EngagementIn, request: Request, token: BearerToken) -> dict[str, Any]:
    """Dry-run: the findings saving this body would give (refusals and flags), with nothing stored.

    Same body and same caller checks as POST /engagements, so a device checks each answer against the
    server's own rule set in force as the officer gives it.
    """
    return service.check(
        sessions=sessions_of(request), draft=draft, token=token, settings=settings_of(request)
    )


def engagement_out(engagement: Engagement, request: Request, person: Any = None) -> dict[str, Any]:
    """A stored record in the API's shape."""
    settings = settings_of(request)
    ruleset = ruleset_for_record(engagement.ruleset_id)
    body = service.recorded_body(engagement, settings)
    return {
        "id": engagement.id,
        "occurred_at": engagement.occurred_at,
        "entered_at": engagement.entered_at,
        "division": engagement.division_code,
        "officer_badge": engagement.officer.badge,
        "officer_name": engagement.officer.name,
        "location": {
            "lat": engagement.lat,
            "lon": engagement.lon,
            "description": engagement.location_description,
        },
        "purpose": engagement.purpose,
        "reason": engagement.reason,
        "reason_grounds": engagement.reason_grounds,
        "description_match": engagement.description_match,
        "description_elements": engagement.description_elements,
        "race_word_not_about_person": engagement.race_word_not_about_person,
        "race_words_confirmed": engagement.race_words_confirmed,
        "perceived_race": engagement.perceived_race,
        "perceived_gender": engagement.perceived_gender,
        "perceived_age": engagement.perceived_age,
        "informed": engagement.informed,
        "inform_exception": engagement.inform_exception,
        "informed_why": engagement.informed_why,
        "inform_why_exception": engagement.inform_why_exception,
        "receipt_offered": engagement.receipt_offered,
        "receipt_exception": engagement.receipt_exception,
        "identifying_info_collected": engagement.identifying_info_collected,
        "searched": engagement.searched,
        "contraband_found": engagement.contraband_found,
        "outcome": engagement.outcome,
        "compliant": engagement.compliant,
        "status": engagement.status,
        "ruleset": {"id": ruleset.id, "version": engagement.ruleset_version, "title": ruleset.title},
        "findings": body["findings"],
        "receipt": body["receipt"],
        "encounter_id": engagement.encounter_id,
        "bwc_video_id": engagement.bwc_video_id,
        "person": None
        if person is None
        else {
            "name": person.name,
            "date_of_birth": person.date_of_birth,
            "address": person.address,
        },
    }


@router.get("/engagements/{engagement_id}", response_model=EngagementOut, responses=ERRORS)
def read_engagement(
    engagement_id: str,
    request: Request,
    principal: ApiPrincipal,
    session: DbSession,
    purpose: Annotated[str, Query(max_length=200, description="why the person's information is read")] = (
        "operational follow-up"
    ),
) -> dict[str, Any]:
    """One record the caller may see, with the person's information (logged) for roles allowed it."""
    engagement = service.get_visible(session=session, principal=principal, engagement_id=engagement_id)
    person = service.read_person(session=session, principal=principal, engagement=engagement, purpose=purpose)
    return engagement_out(engagement, request, person)


@router.get("/engagements", response_model=EngagementPage, responses=ERRORS)
def list_engagements(
    request: Request,
    principal: ApiPrincipal,
    session: DbSession,
    division: Annotated[str | None, Query(max_length=16)] = None,
    perceived_race: Annotated[str | None, Query(max_length=40)] = None,
    purpose: Annotated[str | None, Query(max_length=40)] = None,
    compliant: bool | None = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    # Aware, and within years that survive the shift to UTC in which the column is compared.
    occurred_from: Moment | None = Query(None, alias="from"),
    occurred_to: Moment | None = Query(None, alias="to"),
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """A filtered page of the records the caller may see, newest first; no personal information."""
    filters = service.Filters(
        division=division,
        perceived_race=perceived_race,
        purpose=purpose,
        compliant=compliant,
        status=status,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    rows, total = service.search(
        session=session, principal=principal, filters=filters, limit=limit, offset=offset
    )
    return {
        "items": [engagement_out(e, request) for e in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if offset + limit < total else None,
    }
