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
)

ShortText = Annotated[StrictStr, Field(max_length=300)]
LongText = Annotated[StrictStr, Field(max_length=4000)]
Code = Annotated[StrictStr, Field(max_length=60)]
# A body-worn camera system's id for one video: any short text without control characters.
VideoId = Annotated[StrictStr, Field(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f]+$")]
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


class SharedAnswers(Strict):
    """The answers an encounter's people share: when, where, why (asked once for an encounter)."""

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
    # The body-worn camera's id for the video, when the camera recorded the engagement.
    bwc_video_id: VideoId | None = None


class PersonalAnswers(Strict):
    """The answers each person engaged gives: what the officer perceived, the duties, the outcome."""

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


# Shared answers first, then the personal ones: pydantic orders fields from the last base to the first.
class EngagementIn(PersonalAnswers, SharedAnswers):
    """A draft record as the officer submits it (the officer is the caller)."""


# The answers an encounter's people share (asked once), and those each person gives (one page each).
SHARED_FIELDS: tuple[str, ...] = tuple(SharedAnswers.model_fields)
PERSONAL_FIELDS: tuple[str, ...] = tuple(PersonalAnswers.model_fields)
MAX_PEOPLE = 20


class EncounterPersonIn(PersonalAnswers):
    """One person of an encounter: what the officer perceived, the duties to this person, the outcome."""


class EncounterIn(SharedAnswers):
    """Several people engaged at once: the shared answers once, then each person's own."""

    people: Annotated[list[EncounterPersonIn], Field(min_length=1, max_length=MAX_PEOPLE)]

    def drafts(self) -> list[EngagementIn]:
        """One draft per person: the shared answers with that person's own."""
        shared = {name: getattr(self, name) for name in SHARED_FIELDS}
        return [
            EngagementIn.model_validate({**shared, **{n: getattr(p, n) for n in PERSONAL_FIELDS}})
            for p in self.people
        ]


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
    location: dict[str, Any]
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
    ruleset: dict[str, Any]
    findings: list[FindingOut]
    receipt: ReceiptOut
    person: PersonOut | None = None
    encounter_id: str | None = None
    bwc_video_id: str | None = None


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
