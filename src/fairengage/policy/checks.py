"""One check per entry-time rule code: each reads the facts and the rule set's lists and parameters."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from datetime import date
from functools import lru_cache

from fairengage.policy import folding
from fairengage.policy.facts import EngagementFacts
from fairengage.policy.findings import EXCEPTION, FAIL, PASS, Finding, finding_message
from fairengage.policy.ruleset import RuleSet

Check = Callable[[EngagementFacts, RuleSet], list[Finding]]

MAX_AGE = 120


def finding(
    ruleset: RuleSet,
    code: str,
    verdict: str,
    *,
    field: str | None = None,
    refuses: bool = True,
    ground: str | None = None,
    variant: str | None = None,
) -> Finding:
    """Build a finding for `code`; only a fail of a `refuse` rule can refuse the record."""
    rule = ruleset.rule(code)
    refusing = refuses and verdict == FAIL and rule.kind == "refuse"
    return Finding(
        code=code,
        kind=rule.kind,
        verdict=verdict,
        field=field,
        message=finding_message(ruleset, code, verdict, refuses=refusing, ground=ground, variant=variant),
        refuses=refusing,
        ground=ground,
        ruleset_id=ruleset.id,
        variant=variant,
    )


# --- free-text matching -------------------------------------------------------------------------------


def normalise_words(text: str | None) -> tuple[str, ...]:
    """The words of `text` as every rule compares them (policy/folding.py): "Bl\\u0430ck" -> ("black",)."""
    return folding.words(text)


def mentions_any(text: str | None, terms: Iterable[str]) -> bool:
    """True when one of `terms` appears in `text` as whole words, folded alike (policy/folding.py)."""
    return bool(terms_in(text, terms))


def terms_in(text: str | None, terms: Iterable[str]) -> tuple[str, ...]:
    """The entries of `terms` that appear in `text` as whole words, as the rule set spells them.

    The rule set's spelling, not the folded form, is what a record keeps: the folded form is a comparison
    key ("black" folds to "black", but "Métis" to "metls") and is never shown.
    """
    words = normalise_words(text)
    if not words:
        return ()
    padded = f" {' '.join(words)} "
    terms = tuple(terms)
    return tuple(
        term for term, phrase in zip(terms, _term_phrases(terms), strict=True) if phrase and phrase in padded
    )


@lru_cache(maxsize=16)
def _term_phrases(terms: tuple[str, ...]) -> tuple[str, ...]:
    # One entry per term (empty for a term with no words), so that a match names its term.
    return tuple(f" {' '.join(w)} " if (w := normalise_words(t)) else "" for t in terms)


def _blank(text: str | None) -> bool:
    # A zero-width space is not whitespace to str.strip(), yet shows nothing: it is no answer.
    return folding.is_blank(text)


def _supporting_grounds(facts: EngagementFacts, ruleset: RuleSet) -> list[str]:
    """Ticked grounds that are on the list and not forbidden: the ones that can carry a reason."""
    known = set(ruleset.codes("reason_grounds"))
    forbidden = ruleset.forbidden_codes("reason_grounds")
    return [g for g in facts.reason_grounds if g in known and g not in forbidden]


# --- scope (s.1) ----------------------------------------------------------------------------------------


def check_scope_purpose(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """The purpose must be one of the regulated purposes (58/16 s.1(1))."""
    if facts.purpose in ruleset.codes("purposes"):
        return [finding(ruleset, "SCOPE-PURPOSE", PASS)]
    return [finding(ruleset, "SCOPE-PURPOSE", FAIL, field="purpose")]


def check_scope_excluded(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """An excluded interaction (58/16 s.1(2)) is not an engagement and is not recorded here.

    The question must be answered: an unanswered one is not "none of these applies".
    """
    if not facts.scope_answered:
        return [finding(ruleset, "SCOPE-EXCLUDED", FAIL, field="scope_exclusion", variant="unanswered")]
    if _blank(facts.scope_exclusion):
        return [finding(ruleset, "SCOPE-EXCLUDED", PASS)]
    # A code not on the list is refused too: the officer meant an exclusion, and the form cannot tell which.
    return [finding(ruleset, "SCOPE-EXCLUDED", FAIL, field="scope_exclusion")]


def check_attempt_counts(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """Every attempt is recorded; personal details with "nothing collected" is inconsistent (58/16 s.4)."""
    if facts.person_info_present and facts.identifying_info_collected is False:
        return [finding(ruleset, "ATTEMPT-COUNTS", FAIL, field="identifying_info_collected")]
    return [finding(ruleset, "ATTEMPT-COUNTS", PASS)]


# --- the reason (s.5) -----------------------------------------------------------------------------------


def check_reason_required(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """An articulated reason in the officer's words, and ticked grounds only from the list (58/16 s.5(3))."""
    found = []
    if _blank(facts.reason):
        found.append(finding(ruleset, "REASON-REQUIRED", FAIL, field="reason"))
    known = set(ruleset.codes("reason_grounds"))
    if any(g not in known for g in facts.reason_grounds):
        found.append(finding(ruleset, "REASON-REQUIRED", FAIL, field="reason_grounds"))
    return found or [finding(ruleset, "REASON-REQUIRED", PASS)]


def race_terms_in_reason(facts: EngagementFacts, ruleset: RuleSet) -> tuple[str, ...]:
    """The rule set's race terms that the reason's text names (what a confirmation records)."""
    return terms_in(facts.reason, ruleset.param("race_terms"))


def check_race_not_a_reason(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """Race may be part of a reason only in a description narrowed beyond sex (58/16 s.5(1)(a), s.5(2)).

    A reason whose text names a racialized group is refused, whatever else is ticked, unless the officer
    declares a description match with narrowing details, or confirms the word describes something else
    ("a black jacket"): that confirmation is kept and flagged for the reviewer.
    """
    code = "RACE-NOT-A-REASON"
    if facts.description_match:
        narrowing = set(facts.description_elements) & set(ruleset.codes("description_elements"))
        if not narrowing:
            return [finding(ruleset, code, FAIL, field="description_elements")]
        return [finding(ruleset, code, PASS)]
    if not race_terms_in_reason(facts, ruleset):
        return [finding(ruleset, code, PASS)]
    if facts.race_word_not_about_person:
        return [finding(ruleset, code, FAIL, field="reason", refuses=False, variant="confirmed")]
    if _supporting_grounds(facts, ruleset) and ruleset.param("race_term_with_other_grounds") == "flag":
        # This rule set lets other grounds carry the reason: the reviewer decides what the word meant.
        return [finding(ruleset, code, FAIL, field="reason", refuses=False)]
    return [finding(ruleset, code, FAIL, field="reason")]


def check_forbidden_reasons(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """Declining to answer, walking away or a high-crime area cannot be the reason (58/16 s.5(4)).

    Ticked alone they are refused. Named in the text they are refused too when no ground that can carry
    a reason is ticked (the rule set's `forbidden_phrase_without_ground`); beside such a ground they are
    flagged for the reviewer.
    """
    code = "FORBIDDEN-REASONS"
    found = []
    known = set(ruleset.codes("reason_grounds"))
    ticked = [g for g in facts.reason_grounds if g in known]
    if ticked and set(ticked) <= ruleset.forbidden_codes("reason_grounds"):
        found.append(finding(ruleset, code, FAIL, field="reason_grounds"))
    if mentions_any(facts.reason, ruleset.param("forbidden_reason_phrases")):
        alone = not _supporting_grounds(facts, ruleset)
        refusing = alone and ruleset.param("forbidden_phrase_without_ground") == "refuse"
        found.append(finding(ruleset, code, FAIL, field="reason", refuses=refusing))
    return found or [finding(ruleset, code, PASS)]


def check_not_arbitrary(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """A reason with no supporting ground and too few words may be arbitrary (58/16 s.5(1)(b)): flagged."""
    short = len(normalise_words(facts.reason)) < ruleset.param("min_reason_words")
    if short and not _supporting_grounds(facts, ruleset):
        return [finding(ruleset, "NOT-ARBITRARY", FAIL, field="reason")]
    return [finding(ruleset, "NOT-ARBITRARY", PASS)]


# --- duties at the time (ss.6-7) ------------------------------------------------------------------------


def _duty(
    ruleset: RuleSet,
    code: str,
    done: bool | None,
    ground: str | None,
    *,
    done_field: str,
    ground_field: str,
) -> list[Finding]:
    """A duty is met by "yes", or excused by a ground from the rule's list; both at once contradict."""
    ground = None if _blank(ground) else ground
    grounds = ruleset.codes(ruleset.rule(code).exceptions or "")
    if done is True:
        if ground is not None:
            return [finding(ruleset, code, FAIL, field=ground_field)]
        return [finding(ruleset, code, PASS)]
    if ground is None:
        return [finding(ruleset, code, FAIL, field=done_field)]
    if ground not in grounds:
        return [finding(ruleset, code, FAIL, field=ground_field)]
    return [finding(ruleset, code, EXCEPTION, ground=ground)]


def check_inform_right(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """Told they need not give identifying information, or an exception ground (58/16 s.6(1)(a))."""
    return _duty(
        ruleset,
        "INFORM-RIGHT",
        facts.informed,
        facts.inform_exception,
        done_field="informed",
        ground_field="inform_exception",
    )


def check_inform_why(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """Told why, or an exception ground (58/16 s.6(1)(b)).

    When the caller answered neither `informed_why` nor `inform_why_exception`, the single `informed`
    answer (and its exception) covers this duty too, as the API contract has one `informed` field.
    """
    if facts.informed_why is None and facts.inform_why_exception is None:
        return _duty(
            ruleset,
            "INFORM-WHY",
            facts.informed,
            facts.inform_exception,
            done_field="informed",
            ground_field="inform_exception",
        )
    return _duty(
        ruleset,
        "INFORM-WHY",
        facts.informed_why,
        facts.inform_why_exception,
        done_field="informed_why",
        ground_field="inform_why_exception",
    )


def check_receipt_offer(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """A receipt offered, even to someone who would not answer, or an exception ground (58/16 s.7)."""
    return _duty(
        ruleset,
        "RECEIPT-OFFER",
        facts.receipt_offered,
        facts.receipt_exception,
        done_field="receipt_offered",
        ground_field="receipt_exception",
    )


def check_receipt_content(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """The receipt can name officer and badge, the complaints body and the own-record route (58/16 s.7)."""
    complete = (
        not _blank(facts.officer_name)
        and not _blank(facts.officer_badge)
        and ruleset.complaints_body is not None
        and bool(ruleset.own_record_text("en"))
    )
    if complete:
        return [finding(ruleset, "RECEIPT-CONTENT", PASS)]
    return [finding(ruleset, "RECEIPT-CONTENT", FAIL, field="officer")]


def check_record_contents(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """Perceived race, gender and age, and whether information was collected, are recorded (58/16 s.8)."""
    age = facts.perceived_age
    missing = [
        name
        for name, ok in (
            ("perceived_race", facts.perceived_race in ruleset.codes("perceived_race")),
            ("perceived_gender", facts.perceived_gender in ruleset.codes("perceived_gender")),
            ("perceived_age", isinstance(age, int) and not isinstance(age, bool) and 0 <= age <= MAX_AGE),
            ("identifying_info_collected", isinstance(facts.identifying_info_collected, bool)),
        )
        if not ok
    ]
    if not missing:
        return [finding(ruleset, "RECORD-CONTENTS", PASS)]
    return [finding(ruleset, "RECORD-CONTENTS", FAIL, field=name) for name in missing]


# --- officers (s.11) ------------------------------------------------------------------------------------


def training_valid_until(trained_on: date, months: int) -> date:
    """The last day on which training still counts: `months` calendar months on, inclusive.

    A day the later month lacks is clamped to its last day: 2020-02-29 + 36 months -> 2023-02-28, and
    2021-08-31 + 6 months -> 2022-02-28.
    """
    year, month_index = divmod(trained_on.month - 1 + months, 12)
    year += trained_on.year
    last = calendar.monthrange(year, month_index + 1)[1]
    return date(year, month_index + 1, min(trained_on.day, last))


def check_training(facts: EngagementFacts, ruleset: RuleSet) -> list[Finding]:
    """Training completed within the previous `training_months` calendar months (58/16 s.11).

    Counted on the engagement's local date (the evaluator passes local time): trained 2021-03-15 covers
    engagements up to 2024-03-15 inclusive. Training dated after the engagement does not count.
    """
    trained = facts.officer_trained_on
    day = facts.occurred_at.date()
    months = ruleset.param("training_months")
    if trained is not None and trained <= day <= training_valid_until(trained, months):
        return [finding(ruleset, "TRAINING-36M", PASS)]
    return [finding(ruleset, "TRAINING-36M", FAIL, field="officer")]


CHECKS: dict[str, Check] = {
    "SCOPE-PURPOSE": check_scope_purpose,
    "SCOPE-EXCLUDED": check_scope_excluded,
    "ATTEMPT-COUNTS": check_attempt_counts,
    "REASON-REQUIRED": check_reason_required,
    "RACE-NOT-A-REASON": check_race_not_a_reason,
    "FORBIDDEN-REASONS": check_forbidden_reasons,
    "NOT-ARBITRARY": check_not_arbitrary,
    "INFORM-RIGHT": check_inform_right,
    "INFORM-WHY": check_inform_why,
    "RECEIPT-OFFER": check_receipt_offer,
    "RECEIPT-CONTENT": check_receipt_content,
    "RECORD-CONTENTS": check_record_contents,
    "TRAINING-36M": check_training,
}
