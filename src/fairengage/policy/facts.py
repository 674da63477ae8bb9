"""The evaluator's input: what a record says about one engagement, in the policy's terms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class EngagementFacts:
    """One engagement as the rules see it; every field but `occurred_at` may be missing.

    `informed` answers both duties to inform (58/16 s.6(1)(a) and (b)) unless the caller answers the
    second separately with `informed_why` / `inform_why_exception`.
    """

    occurred_at: datetime
    division: str | None = None
    purpose: str | None = None
    scope_exclusion: str | None = None
    # False when the officer left the scope question unanswered: not the same as "none of these applies".
    scope_answered: bool = True
    reason: str | None = None
    reason_grounds: tuple[str, ...] = ()
    description_match: bool = False
    description_elements: tuple[str, ...] = ()
    # The officer confirms that the race word(s) in the reason describe something else ("a black jacket").
    race_word_not_about_person: bool = False
    informed: bool | None = None
    inform_exception: str | None = None
    inform_exception_details: str | None = None
    informed_why: bool | None = None
    inform_why_exception: str | None = None
    receipt_offered: bool | None = None
    receipt_exception: str | None = None
    receipt_exception_details: str | None = None
    identifying_info_collected: bool | None = None
    person_info_present: bool = False
    perceived_race: str | None = None
    perceived_gender: str | None = None
    perceived_age: int | None = None
    officer_name: str | None = None
    officer_badge: str | None = None
    officer_trained_on: date | None = None

    def __post_init__(self) -> None:
        # The rule set in force is chosen by the engagement's local date, which a naive time cannot give.
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() is None:
            raise ValueError("occurred_at must carry its UTC offset")
