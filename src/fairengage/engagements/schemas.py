"""The recording API's input and output shapes (docs/architecture.md, "The contract")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    create_model,
)

ShortText = Annotated[StrictStr, Field(max_length=300)]
LongText = Annotated[StrictStr, Field(max_length=4000)]
Code = Annotated[StrictStr, Field(max_length=60)]
# Wide bounds that only keep time-zone arithmetic in range (year 1 in Toronto time is before year 1);
# the service refuses times in the future or before any rule set with the VALID-TIME rule.
Moment = Annotated[
    AwareDatetime, Field(ge=datetime(1900, 1, 1, tzinfo=UTC), lt=datetime(9999, 1, 1, tzinfo=UTC))
]


class Strict(BaseModel):
    """Unknown fields are refused, so a misspelt field never silently drops an answer."""

    model_config = ConfigDict(extra="forbid")


class Location(Strict):
    """Where it happened; the description is printed on the receipt."""

    lat: Annotated[StrictFloat, Field(ge=-90, le=90)] | None = None
    lon: Annotated[StrictFloat, Field(ge=-180, le=180)] | None = None
    # The phone's own estimate of how far off its position may be, in metres.
    accuracy_m: Annotated[StrictFloat, Field(ge=0, le=100_000)] | None = None
    description: Annotated[StrictStr, Field(min_length=1, max_length=300)]


class PersonIn(Strict):
    """The person's identifying information; all optional, stored apart and audited on read."""

    name: ShortText | None = None
    date_of_birth: date | None = None
    address: ShortText | None = None


class EngagementIn(Strict):
    """A draft record as the officer submits it (the officer is the caller)."""

    occurred_at: Moment
    division: Code
    location: Location
    purpose: Code | None = None
    scope_exclusion: Code | None = None
    # False when the officer's device left the scope question unanswered: the record is then refused.
    scope_answered: StrictBool = True
    reason: LongText | None = None
    reason_grounds: Annotated[list[Code], Field(max_length=20)] = []
    description_match: StrictBool = False
    description_elements: Annotated[list[Code], Field(max_length=20)] = []
    race_word_not_about_person: StrictBool = False
    perceived_race: Code | None = None
    perceived_gender: Code | None = None
    perceived_age: Annotated[StrictInt, Field(ge=0, le=120)] | None = None
    informed: StrictBool | None = None
    inform_exception: Code | None = None
    inform_exception_details: LongText | None = None
    informed_why: StrictBool | None = None
    inform_why_exception: Code | None = None
    receipt_offered: StrictBool | None = None
    receipt_exception: Code | None = None
    receipt_exception_details: LongText | None = None
    identifying_info_collected: StrictBool | None = None
    person: PersonIn | None = None
    searched: StrictBool = False
    contraband_found: StrictBool | None = None
    outcome: Code = "none"


# The answers an encounter's people share (asked once), and those each person gives (one page each).
SHARED_FIELDS: tuple[str, ...] = (
    "occurred_at",
    "division",
    "location",
    "purpose",
    "scope_exclusion",
    "scope_answered",
    "reason",
    "reason_grounds",
    "description_match",
    "description_elements",
    "race_word_not_about_person",
)
PERSONAL_FIELDS: tuple[str, ...] = tuple(f for f in EngagementIn.model_fields if f not in SHARED_FIELDS)
MAX_PEOPLE = 20


def _fields_of(names: tuple[str, ...]) -> dict[str, Any]:
    # Each field with its own annotation, bounds and default, exactly as EngagementIn declares it.
    fields = EngagementIn.model_fields
    return {name: (fields[name].annotation, fields[name]) for name in names}


# Derived from EngagementIn, never written out again: a field added there reaches an encounter's shared
# answers or each of its people by itself (tests/encounters/test_encounter_schema.py holds them to it).
EncounterPersonIn = create_model(  # type: ignore[call-overload]
    "EncounterPersonIn",
    __base__=Strict,
    __doc__="One person of an encounter: what the officer perceived, the duties to this person, the outcome.",
    __module__=__name__,
    **_fields_of(PERSONAL_FIELDS),
)


class _EncounterShared(Strict):
    """The shared answers' fields come from EngagementIn (below); this class holds only the method."""

    def drafts(self) -> list[EngagementIn]:
        """One draft per person: the shared answers with that person's own."""
        shared = {name: getattr(self, name) for name in SHARED_FIELDS}
        return [
            EngagementIn.model_validate({**shared, **{n: getattr(p, n) for n in PERSONAL_FIELDS}})
            for p in getattr(self, "people")  # noqa: B009 - a field create_model adds
        ]


EncounterIn = create_model(  # type: ignore[call-overload]
    "EncounterIn",
    __base__=_EncounterShared,
    __doc__="Several people engaged at once: the shared answers once, then each person's own.",
    __module__=__name__,
    **_fields_of(SHARED_FIELDS),
    people=(Annotated[list[EncounterPersonIn], Field(min_length=1, max_length=MAX_PEOPLE)], ...),
)


class FindingOut(BaseModel):
    """One rule's verdict."""

    rule: str
    verdict: str
    message: str
    field: str | None = None
    ground: str | None = None


class CheckedFinding(BaseModel):
    """A problem a dry-run finds: `refuse` stops the save, `flag` goes to the supervisor."""

    rule: str
    field: str | None
    message: str
    severity: str


class CheckedOut(BaseModel):
    """The dry-run's answer: what saving this body would give, with nothing stored."""

    would_save: bool
    ruleset: str | None
    findings: list[CheckedFinding]


class ReceiptOut(BaseModel):
    """The receipt's code and the public page that checks it."""

    code: str
    url: str


class RecordedOut(BaseModel):
    """The answer to a stored record (201)."""

    id: str
    findings: list[FindingOut]
    compliant: bool
    receipt: ReceiptOut


class EncounterRecordedOut(BaseModel):
    """The answer to a stored encounter (201): one record, with its receipt, per person, in order."""

    id: str
    people: int
    engagements: list[RecordedOut]


class PersonOut(BaseModel):
    """The person's information, for roles allowed to read it."""

    name: str | None
    date_of_birth: date | None
    address: str | None


class EngagementOut(BaseModel):
    """A stored record as the API shows it."""

    id: str
    occurred_at: datetime
    entered_at: datetime
    division: str
    officer_badge: str
    officer_name: str
    location: dict
    purpose: str
    reason: str
    reason_grounds: list[str]
    description_match: bool
    description_elements: list[str]
    race_word_not_about_person: bool = False
    race_words_confirmed: list[str] | None = None
    perceived_race: str
    perceived_gender: str
    perceived_age: int | None
    informed: bool | None
    inform_exception: str | None
    informed_why: bool | None
    inform_why_exception: str | None
    receipt_offered: bool | None
    receipt_exception: str | None
    identifying_info_collected: bool
    searched: bool
    contraband_found: bool | None
    outcome: str
    compliant: bool
    status: str
    ruleset: dict
    findings: list[FindingOut]
    receipt: ReceiptOut
    person: PersonOut | None = None
    encounter_id: str | None = None


class EncounterOut(BaseModel):
    """An encounter's records the caller may see (no personal information), first person first."""

    id: str
    people: int
    engagements: list[EngagementOut]


class EngagementPage(BaseModel):
    """One page of a filtered list."""

    items: list[EngagementOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None
