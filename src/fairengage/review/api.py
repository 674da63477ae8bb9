"""The supervisor's review decision over the JSON API, with the same rules as the review page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field, StrictStr

from fairengage.engagements.schemas import Strict
from fairengage.review import service
from fairengage.web.deps import ApiPrincipal, DbSession, settings_of
from fairengage.web.problems import MEDIA_TYPE

router = APIRouter(prefix="/api/v1", tags=["review"])

PROBLEM = {"content": {MEDIA_TYPE: {}}, "description": "problem+json (RFC 9457)"}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: PROBLEM,
    403: PROBLEM,
    404: PROBLEM,
    409: PROBLEM,
    422: PROBLEM,
}


class DecisionIn(Strict):
    """A reviewer's decision; `reason` is required to return a record, to find it non-compliant, and to
    approve a record that failed a rule."""

    decision: Annotated[StrictStr, Field(max_length=20)]
    reason: Annotated[StrictStr, Field(max_length=4000)] = ""


class DecisionOut(BaseModel):
    """The decision as kept in the record's history."""

    engagement_id: str
    version: int
    decision: str
    reason: str
    reviewer: str
    decided_at: datetime


@router.post("/review/{engagement_id}/decision", response_model=DecisionOut, responses=ERRORS)
def decide(
    body: DecisionIn,
    request: Request,
    engagement_id: Annotated[str, Path(max_length=36)],
    principal: ApiPrincipal,
    session: DbSession,
) -> dict[str, Any]:
    """Approve, return for correction, or find non-compliant one record in the reviewer's scope."""
    row = service.decide(
        session=session,
        principal=principal,
        engagement_id=engagement_id,
        decision=body.decision,
        reason=body.reason,
        today=datetime.now(settings_of(request).tz).date(),
    )
    return {
        "engagement_id": row.engagement_id,
        "version": row.version,
        "decision": row.decision,
        "reason": row.reason,
        "reviewer": row.reviewer,
        "decided_at": row.decided_at,
    }
