"""Turning the officer's form into an API draft, and field errors back into places on the form."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from fairengage.engagements.schemas import EngagementIn
from fairengage.errors import FieldError
from fairengage.web.i18n import N_
from fairengage.web.problems import FIELD_RULES

YES_NO = {"yes": True, "no": False}
POSITION_UNREADABLE = N_(
    "The phone's position could not be read. Tap “Use my location” again, or leave it out."
)
# Messages the form itself writes (not a rule's): shown translated as they are.
FORM_MESSAGES = frozenset({POSITION_UNREADABLE})


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _answer(form: Mapping[str, Any], name: str) -> bool | None:
    return YES_NO.get(_text(form, name) or "")


def _position(form: Mapping[str, Any], errors: list[FieldError]) -> dict[str, float]:
    """The phone's position from the hidden fields the location button fills; empty when not given."""
    texts = {name: _text(form, name) for name in ("lat", "lon", "accuracy_m")}
    if texts["lat"] is None and texts["lon"] is None:
        return {}
    bounds = {"lat": 90.0, "lon": 180.0, "accuracy_m": 100_000.0}
    low = {"lat": -90.0, "lon": -180.0, "accuracy_m": 0.0}
    out: dict[str, float] = {}
    for name, text in texts.items():
        if text is None:
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low[name] <= value <= bounds[name]):
            errors.append(
                FieldError(
                    "place",
                    "RECEIPT-CONTENT",
                    POSITION_UNREADABLE,
                )
            )
            return {}
        out[name] = value
    if "lat" not in out or "lon" not in out:
        return {}
    return out


def _chosen(form: Mapping[str, Any], typed: str, recent: str) -> str | None:
    """What the officer typed; without it, the recent answer they picked (the form without script)."""
    return _text(form, typed) or _text(form, recent)


def draft_from_form(form: Any, tz: ZoneInfo) -> tuple[EngagementIn | None, list[FieldError]]:
    """Build a draft from the form; the errors say which answers could not be read."""
    errors: list[FieldError] = []
    occurred_text = _text(form, "occurred_at")
    occurred_at = None
    if occurred_text is None:
        errors.append(FieldError("occurred_at", "VALID-TIME", "Give the date and time of the engagement."))
    else:
        try:
            # The form's datetime-local value carries no offset: it is the officer's local time.
            occurred_at = datetime.fromisoformat(occurred_text).replace(tzinfo=tz)
        except ValueError:
            errors.append(FieldError("occurred_at", "VALID-TIME", "The date and time could not be read."))
    age_text = _text(form, "perceived_age")
    age: int | None = None
    if age_text is not None:
        try:
            age = int(age_text)
        except ValueError:
            errors.append(
                FieldError("perceived_age", "RECORD-CONTENTS", "Give the age as a whole number of years.")
            )
    informed = _answer(form, "informed")
    informed_why = _answer(form, "informed_why")
    receipt = _answer(form, "receipt_offered")
    searched = _answer(form, "searched") or False
    person = {
        "name": _text(form, "person_name"),
        "date_of_birth": _text(form, "person_date_of_birth"),
        "address": _text(form, "person_address"),
    }
    data: dict[str, Any] = {
        "occurred_at": occurred_at,
        "division": _text(form, "division") or "",
        "location": {"description": _chosen(form, "place", "place_recent") or "", **_position(form, errors)},
        "purpose": _text(form, "purpose"),
        "scope_exclusion": None if _text(form, "scope") in (None, "none") else _text(form, "scope"),
        "reason": _chosen(form, "reason", "reason_recent"),
        "reason_grounds": form.getlist("reason_grounds") if hasattr(form, "getlist") else [],
        "description_match": bool(_text(form, "description_match")),
        "description_elements": form.getlist("description_elements") if hasattr(form, "getlist") else [],
        "perceived_race": _text(form, "perceived_race"),
        "perceived_gender": _text(form, "perceived_gender"),
        "perceived_age": age,
        "informed": True if informed else None,
        "inform_exception": _text(form, "inform_exception") if informed is False else None,
        "inform_exception_details": _text(form, "inform_exception_details") if informed is False else None,
        "informed_why": True if informed_why else None,
        "inform_why_exception": _text(form, "inform_why_exception") if informed_why is False else None,
        "receipt_offered": True if receipt else None,
        "receipt_exception": _text(form, "receipt_exception") if receipt is False else None,
        "receipt_exception_details": _text(form, "receipt_exception_details") if receipt is False else None,
        "identifying_info_collected": _answer(form, "identifying_info_collected"),
        "person": person if any(person.values()) else None,
        "searched": searched,
        "contraband_found": _answer(form, "contraband_found") if searched else None,
        "outcome": _text(form, "outcome") or "none",
    }
    # "No, and no ground" must reach the rule as a plain no, so the officer sees the rule's own words.
    if informed is False and data["inform_exception"] is None:
        data["informed"] = False
    if informed_why is False and data["inform_why_exception"] is None:
        data["informed_why"] = False
    if receipt is False and data["receipt_exception"] is None:
        data["receipt_offered"] = False
    if errors:
        return None, errors
    try:
        return EngagementIn.model_validate(data), []
    except ValidationError as exc:
        for err in exc.errors():
            field = str(err["loc"][0]) if err.get("loc") else "form"
            if field == "location":
                field = "place"
            errors.append(FieldError(field, FIELD_RULES.get(field, "VALID-TYPE"), err.get("msg", "")))
        return None, errors


# Where on the form each field's problem is shown: the id of the input or group it belongs to.
ANCHORS = {
    "scope_exclusion": "scope",
    "location": "place",
    "location.description": "place",
    "officer": "officer",
    "inform_exception": "informed",
    "inform_exception_details": "informed",
    "inform_why_exception": "informed_why",
    "receipt_exception": "receipt_offered",
    "receipt_exception_details": "receipt_offered",
    "reason_grounds": "reason",
    "description_elements": "description_match",
}


# The rule's message covers every record-content field at once; on the form each field gets its own ask.
FIELD_PROMPTS = {
    "perceived_race": N_("Choose the racialized group as you perceived it. Never ask the person."),
    "perceived_gender": N_("Choose the gender as you perceived it."),
    "perceived_age": N_("Give the age in years as you perceived it (0 to 120)."),
    "identifying_info_collected": N_("Say whether you collected identifying information."),
}


def anchor_for(field: str, rule: str = "") -> str:
    """The form element a field's error belongs to."""
    if rule == "INFORM-WHY":
        # The API lets one `informed` answer cover both duties; the form asks each on its own.
        return "informed_why"
    return ANCHORS.get(field, field)


def prompt_for(field: str, rule: str) -> str | None:
    """A field-specific ask for rules whose message covers several fields."""
    return FIELD_PROMPTS.get(field) if rule == "RECORD-CONTENTS" else None
