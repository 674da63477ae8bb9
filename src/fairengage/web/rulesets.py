"""The rule sets over HTTP: the one in force, every one shipped, one by id. It lives on the web side so
that the policy package knows nothing of HTTP (docs/development.md, "Layers and import contracts")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request

from fairengage.errors import NotFound
from fairengage.policy import NoRuleSetInForce, get_ruleset, load_rulesets, ruleset_in_force
from fairengage.web.deps import settings_of

router = APIRouter(prefix="/api/v1/rulesets", tags=["rule sets"])


@router.get("/current")
def current_ruleset(request: Request, on: date | None = None) -> dict[str, Any]:
    """The rule set in force today (or on the date given), with every list and rule."""
    day = on or datetime.now(settings_of(request).tz).date()
    try:
        return ruleset_in_force(day).public_dict()
    except NoRuleSetInForce:
        raise NotFound(f"no rule set was in force on {day.isoformat()}") from None


@router.get("")
def list_rulesets() -> list[dict[str, Any]]:
    """Every rule set shipped, with its dates."""
    return [
        {
            "id": r.id,
            "title": r.title,
            "version": r.version,
            "effective_from": r.effective_from,
            "effective_to": r.effective_to,
        }
        for r in load_rulesets()
    ]


@router.get("/{ruleset_id}")
def one_ruleset(ruleset_id: str) -> dict[str, Any]:
    """One rule set by its id."""
    try:
        return get_ruleset(ruleset_id).public_dict()
    except (KeyError, LookupError):
        raise NotFound(f"no rule set {ruleset_id}") from None
