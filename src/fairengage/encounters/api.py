"""JSON API for encounters: several people recorded at once, and an encounter's records read back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from fairengage.encounters import service
from fairengage.engagements.api import ERRORS, engagement_out, recorded_response
from fairengage.engagements.schemas import EncounterIn, EncounterOut, EncounterRecordedOut
from fairengage.web.deps import (
    ApiPrincipal,
    BearerToken,
    DbSession,
    IdempotencyKey,
    sessions_of,
    settings_of,
)

router = APIRouter(prefix="/api/v1", tags=["encounters"])

# Engagement ids are UUIDs: anything longer cannot name an encounter.
EncounterId = Annotated[str, Path(max_length=36)]


@router.post("/encounters", status_code=201, response_model=EncounterRecordedOut, responses=ERRORS)
def create_encounter(
    encounter: EncounterIn, request: Request, token: BearerToken, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Record one engagement per person, all or none; a repeat with the same key returns the first answer."""
    result = service.record(
        sessions=sessions_of(request),
        encounter=encounter,
        token=token,
        settings=settings_of(request),
        idempotency_key=idempotency_key,
    )
    return recorded_response(result, "encounters")


@router.get("/encounters/{encounter_id}", response_model=EncounterOut, responses=ERRORS)
def read_encounter(
    encounter_id: EncounterId, request: Request, principal: ApiPrincipal, session: DbSession
) -> dict[str, Any]:
    """The encounter's records the caller may see, first person first; no personal information."""
    rows = service.members(session=session, principal=principal, encounter_id=encounter_id)
    return {
        "id": encounter_id,
        "people": len(rows),
        "engagements": [engagement_out(e, request) for e in rows],
    }
