"""Turning the officer's form into an API draft, and field errors back into places on the form."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
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


# What the officer reads when an answer cannot be read at all; never the validator's own words.
PLAIN = {
    "place": N_("Give the place: a street address or intersection, as it will be printed on the receipt."),
    "division": N_("Choose your division from the list."),
    "occurred_at": N_("Give the date and time of the engagement."),
    "perceived_age": N_("Give the age in years as you perceived it (0 to 120)."),
    "reason": N_("The reason is too long: keep it under 4,000 characters."),
    "bwc_video_id": N_("Give the camera video's id as shown by the camera system: at most 80 characters."),
}
DEFAULT_PLAIN = N_("This answer could not be read. Check it and try again.")
AGE_UNREADABLE = N_("Give the age as a whole number of years.")
TIME_UNREADABLE = N_("The date and time could not be read.")
PLAIN_MESSAGES = frozenset({*PLAIN.values(), DEFAULT_PLAIN, AGE_UNREADABLE, TIME_UNREADABLE})


@dataclass(frozen=True)
class FormReading:
    """The form read as a draft; when some answers cannot be read, a stand-in draft for the rules.

    `probe` is the draft with each unreadable answer left blank (or, for the time, set to now), so that
    the rules can still judge the rest and every problem shows the first time, not one round at a time.
    """

    draft: EngagementIn | None
    errors: list[FieldError]
    probe: EngagementIn | None
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
    reading = read_form(form, tz)
    return reading.draft, reading.errors


def read_form(form: Any, tz: ZoneInfo) -> FormReading:
    """Read the form: the draft, or the answers that could not be read and a stand-in for the rules."""
    errors: list[FieldError] = []
    occurred_text = _text(form, "occurred_at")
    occurred_at = None
    if occurred_text is None:
        errors.append(FieldError("occurred_at", "VALID-TIME", PLAIN["occurred_at"]))
    else:
        try:
            # The form's datetime-local value carries no offset: it is the officer's local time.
            occurred_at = datetime.fromisoformat(occurred_text).replace(tzinfo=tz)
        except ValueError:
            errors.append(FieldError("occurred_at", "VALID-TIME", TIME_UNREADABLE))
    age_text = _text(form, "perceived_age")
    age: int | None = None
    if age_text is not None:
        try:
            age = int(age_text)
        except ValueError:
            errors.append(FieldError("perceived_age", "RECORD-CONTENTS", AGE_UNREADABLE))
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
        "scope_answered": _text(form, "scope") is not None,
        "reason": _chosen(form, "reason", "reason_recent"),
        "reason_grounds": form.getlist("reason_grounds") if hasattr(form, "getlist") else [],
        "description_match": bool(_text(form, "description_match")),
        "description_elements": form.getlist("description_elements") if hasattr(form, "getlist") else [],
        "race_word_not_about_person": bool(_text(form, "race_word_not_about_person")),
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
        "bwc_video_id": _text(form, "bwc_video_id"),
    }
    # "No, and no ground" must reach the rule as a plain no, so the officer sees the rule's own words.
    if informed is False and data["inform_exception"] is None:
        data["informed"] = False
    if informed_why is False and data["inform_why_exception"] is None:
        data["informed_why"] = False
    if receipt is False and data["receipt_exception"] is None:
        data["receipt_offered"] = False
    try:
        draft = EngagementIn.model_validate(data)
    except ValidationError as exc:
        unreadable = set()
        for err in exc.errors():
            field = str(err["loc"][0]) if err.get("loc") else "form"
            unreadable.add(field)
            if field == "location":
                field = "place"
            errors.append(
                FieldError(field, FIELD_RULES.get(field, "VALID-TYPE"), PLAIN.get(field, DEFAULT_PLAIN))
            )
        return FormReading(None, errors, _probe(data, unreadable, tz))
    if errors:
        return FormReading(None, errors, _probe(data, set(), tz))
    return FormReading(draft, [], None)


def _probe(data: dict[str, Any], unreadable: set[str], tz: ZoneInfo) -> EngagementIn | None:
    """The draft with its unreadable answers blanked, for the rules to judge the rest."""
    blanks = {
        "occurred_at": data["occurred_at"]
        if data["occurred_at"] and "occurred_at" not in unreadable
        else datetime.now(tz),
        "location": {
            "description": "-" if "location" in unreadable else data["location"]["description"] or "-"
        },
    }
    for field in unreadable - {"occurred_at", "location"}:
        blanks[field] = (
            EngagementIn.model_fields[field].get_default() if field in EngagementIn.model_fields else None
        )
    try:
        return EngagementIn.model_validate({**data, **blanks})
    except ValidationError:
        return None


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
    "race_word_not_about_person": "reason",
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
