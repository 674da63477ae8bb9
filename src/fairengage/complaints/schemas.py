"""What the public form takes (a complaint or an own-record request) and how its answers are checked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from fairengage.errors import FieldError
from fairengage.web.i18n import N_

Kind = Literal["complaint", "own_record"]
KINDS: tuple[str, ...] = ("complaint", "own_record")

DESCRIPTION_MAX = 4000
NAME_MAX = 200
EMAIL_MAX = 254
PHONE_MAX = 40

# Deliberately loose: one @, something either side, a dot in the domain. Staff reply by hand, so a
# strict RFC 5322 check would only turn away addresses people really use.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Digits with the usual separators, an optional leading + and an extension ("x123", "ext. 123").
_PHONE = re.compile(r"^\+?[0-9 ().\-]+((x|ext\.?)\s*[0-9]+)?$", re.IGNORECASE)
_PHONE_MIN_DIGITS = 7


class IntakeIn(BaseModel):
    """A checked complaint or own-record request, as the service stores it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    description: Annotated[StrictStr, Field(max_length=DESCRIPTION_MAX)] | None = None
    name: Annotated[StrictStr, Field(max_length=NAME_MAX)] | None = None
    email: Annotated[StrictStr, Field(max_length=EMAIL_MAX)] | None = None
    phone: Annotated[StrictStr, Field(max_length=PHONE_MAX)] | None = None
    consent: StrictBool


# Each message is the English msgid: the page translates it where it is shown.
MESSAGES = {
    "kind": N_("Choose whether you want to make a complaint or ask for your own record."),
    "description": N_("Tell us what happened."),
    "description_long": N_("Shorten what happened to 4,000 characters or fewer."),
    "contact": N_("Give an email address or a phone number so that we can reach you."),
    "email": N_("Enter an email address like name@example.com."),
    "phone": N_("Enter a phone number with at least 7 digits."),
    "name_long": N_("Shorten your name to 200 characters or fewer."),
    "consent": N_("Tick the box to agree to the statement, or we cannot act on your request."),
}


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def read_intake(form: Mapping[str, Any]) -> tuple[IntakeIn | None, list[FieldError]]:
    """Read the public form; the errors name each field to fix (the message is an English msgid)."""
    errors: list[FieldError] = []
    kind = _text(form, "kind")
    if kind not in KINDS:
        errors.append(FieldError("kind", "COMPLAINT-KIND", MESSAGES["kind"]))
    description = _text(form, "description")
    if kind == "complaint" and description is None:
        errors.append(FieldError("description", "COMPLAINT-DESCRIPTION", MESSAGES["description"]))
    elif description is not None and len(description) > DESCRIPTION_MAX:
        errors.append(FieldError("description", "COMPLAINT-DESCRIPTION", MESSAGES["description_long"]))
    name = _text(form, "name")
    if name is not None and len(name) > NAME_MAX:
        errors.append(FieldError("name", "COMPLAINT-CONTACT", MESSAGES["name_long"]))
    email = _text(form, "email")
    phone = _text(form, "phone")
    if email is None and phone is None:
        errors.append(FieldError("email", "COMPLAINT-CONTACT", MESSAGES["contact"]))
    if email is not None and (len(email) > EMAIL_MAX or not _EMAIL.match(email)):
        errors.append(FieldError("email", "COMPLAINT-EMAIL", MESSAGES["email"]))
    if phone is not None and (
        len(phone) > PHONE_MAX
        or not _PHONE.match(phone)
        or sum(char.isdigit() for char in phone) < _PHONE_MIN_DIGITS
    ):
        errors.append(FieldError("phone", "COMPLAINT-PHONE", MESSAGES["phone"]))
    consent = _text(form, "consent") == "yes"
    if not consent:
        errors.append(FieldError("consent", "COMPLAINT-CONSENT", MESSAGES["consent"]))
    if errors:
        return None, errors
    # An own-record request needs no account of what happened; keep one only if given.
    values = {"kind": kind, "description": description, "name": name, "email": email, "phone": phone}
    return IntakeIn.model_validate({**values, "consent": consent}), []
