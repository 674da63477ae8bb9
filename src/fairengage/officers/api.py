"""Officers over the JSON API: whose training lapses soon, the twin of `fairengage officers expiring`
and of the panel on the supervisor's review queue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from fairengage import policy
from fairengage.access.permissions import scope_of
from fairengage.errors import FieldError, Forbidden, RecordRefused
from fairengage.officers import training
from fairengage.web.deps import ApiPrincipal, DbSession, settings_of
from fairengage.web.problems import MEDIA_TYPE

router = APIRouter(prefix="/api/v1", tags=["officers"])

PROBLEM = {"content": {MEDIA_TYPE: {}}, "description": "problem+json (RFC 9457)"}
ERRORS: dict[int | str, dict[str, Any]] = {401: PROBLEM, 403: PROBLEM, 422: PROBLEM}
# The command line's bound: ten years ahead covers any training period a rule set may set.
MAX_DAYS = 3650


class ExpiringOut(BaseModel):
    """One officer whose training lapses within the window, or already has; `valid_until` is null for
    an officer never trained."""

    badge: str
    name: str
    division: str
    valid_until: date | None
    lapsed: bool


class ExpiringPage(BaseModel):
    """The officers in the caller's scope, soonest lapse first, those never trained last."""

    days: int
    today: date
    items: list[ExpiringOut]


@router.get("/officers/expiring", response_model=ExpiringPage, responses=ERRORS)
def officers_expiring(
    request: Request,
    principal: ApiPrincipal,
    session: DbSession,
    days: Annotated[int, Query(ge=0, le=MAX_DAYS, description="how many days ahead to look")] = 60,
) -> dict[str, Any]:
    """Officers whose training lapses within `days` (or already has): a supervisor's division, or all."""
    scope = scope_of(principal.role, "officers:read")
    if scope is None or (scope == "division" and principal.division_code is None):
        raise Forbidden("reading officers' training needs the officers:read permission")
    today = datetime.now(settings_of(request).tz).date()
    division = principal.division_code if scope == "division" else None
    try:
        found = training.expiring(session=session, today=today, division=division, within_days=days)
    except policy.NoRuleSetInForce as error:
        # No rule set says how long training lasts today: the same refusal the form gives.
        raise RecordRefused(
            "no rule set is in force today, so no training period applies",
            [FieldError("days", "VALID-TIME", str(error))],
        ) from error
    return {"days": days, "today": today, "items": [vars(o) for o in found]}
