"""Issue 12: race is never part of the reason, forbidden reasons alone are refused, scope must be answered.

Each test runs under every shipped rule set, in its own period (tests/policy/conftest.py).
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from fairengage.policy import evaluate, message_for, terms_in
from fairengage.policy.checks import check_forbidden_reasons, check_race_not_a_reason
from fairengage.policy.findings import FAIL, PASS


def only(evaluation, code):
    found = [f for f in evaluation.findings if f.code == code]
    assert len(found) == 1, found
    return found[0]


def codes_refusing(evaluation):
    return {f.code for f in evaluation.findings if f.verdict == FAIL and f.refuses}


# --- RACE-NOT-A-REASON ----------------------------------------------------------------------------------

RACE_REASONS = [
    "Black male loitering",
    "BLACK MALE on the corner",
    "bl\u0430ck male",  # a Cyrillic a
    "Bl\u200back male",  # a zero-width space inside
    "ｂｌａｃｋ male",  # full-width letters
    "Homme noir au coin de la rue",
    "Jeune femme Noire près du parc",
    "Métis youth near the store",
    "South-Asian man by the car",
    "brown-skinned man near the bikes",
]


@pytest.mark.parametrize("reason", RACE_REASONS)
def test_a_race_word_alone_is_refused(facts, reason):
    evaluation = evaluate(facts(reason=reason, reason_grounds=()))
    finding = only(evaluation, "RACE-NOT-A-REASON")
    assert (finding.verdict, finding.refuses, finding.field) == (FAIL, True, "reason")
    assert evaluation.refused


@pytest.mark.parametrize("grounds", [("behaviour",), ("behaviour", "vehicle", "property")])
def test_a_race_word_is_refused_whatever_else_is_ticked(facts, grounds):
    # The finding behind the issue: "Black male loitering" with "The person's behaviour" ticked saved.
    evaluation = evaluate(facts(reason="Black male loitering", reason_grounds=grounds))
    assert only(evaluation, "RACE-NOT-A-REASON").refuses


def test_a_description_match_with_narrowing_details_is_accepted(facts):
    evaluation = evaluate(
        facts(
            reason="Looking for the robbery suspect: Black male, red hoodie, on a grey bike, heading north",
            reason_grounds=("description_match",),
            description_match=True,
            description_elements=("clothing", "vehicle", "location"),
        )
    )
    assert only(evaluation, "RACE-NOT-A-REASON").verdict == PASS
    assert not evaluation.refused and evaluation.compliant


@pytest.mark.parametrize("elements", [(), ("sex",), ("race",)])
def test_a_description_match_without_details_beyond_race_and_sex_is_refused(facts, elements):
    evaluation = evaluate(
        facts(
            reason="Suspect described as a Black male",
            reason_grounds=("description_match",),
            description_match=True,
            description_elements=elements,
        )
    )
    finding = only(evaluation, "RACE-NOT-A-REASON")
    assert (finding.refuses, finding.field) == (True, "description_elements")


def test_a_word_confirmed_to_describe_something_else_is_accepted_and_flagged(facts, ruleset):
    evaluation = evaluate(
        facts(
            reason="Man in a black jacket trying car door handles along the lane",
            reason_grounds=("behaviour",),
            race_word_not_about_person=True,
        )
    )
    finding = only(evaluation, "RACE-NOT-A-REASON")
    assert (finding.verdict, finding.refuses, finding.variant) == (FAIL, False, "confirmed")
    assert not evaluation.refused and not evaluation.compliant
    assert finding in evaluation.flags
    assert finding.message == ruleset.rule("RACE-NOT-A-REASON").variants["confirmed"]["en"]
    assert message_for(finding, "fr") == ruleset.rule("RACE-NOT-A-REASON").variants["confirmed"]["fr"]
    assert terms_in("Man in a black jacket", ruleset.param("race_terms")) == ("black",)


def test_a_confirmation_with_no_race_word_confirms_nothing(facts):
    evaluation = evaluate(facts(race_word_not_about_person=True))
    assert only(evaluation, "RACE-NOT-A-REASON").verdict == PASS
    assert evaluation.compliant


def test_a_word_inside_another_is_not_a_race_word(facts):
    evaluation = evaluate(facts(reason="Carrying a blackberry crate and trying car doors", reason_grounds=()))
    assert only(evaluation, "RACE-NOT-A-REASON").verdict == PASS


def test_the_rule_set_decides_whether_other_grounds_let_a_race_word_through(ruleset, facts):
    # The judgement is data: a rule set saying "flag" keeps the record for the reviewer.
    lenient = replace(
        ruleset, parameters=MappingProxyType({**ruleset.parameters, "race_term_with_other_grounds": "flag"})
    )
    record = facts(reason="Black male loitering", reason_grounds=("behaviour",))
    (finding,) = check_race_not_a_reason(record, lenient)
    assert (finding.verdict, finding.refuses) == (FAIL, False)
    (strict,) = check_race_not_a_reason(record, ruleset)
    assert strict.refuses


# --- FORBIDDEN-REASONS ----------------------------------------------------------------------------------

FORBIDDEN_ALONE = [
    "Loitering",
    "loitering",
    "LOITERING near the doors",
    "lo\u200biterıng",  # zero-width space, dotless i
    "present in a high-crime area",
    "Present in a HIGH CRIME AREA",
    "present in a high\u2011crime area",  # non-breaking hyphen
    "he declined to answer",
    "Declined To Answer my questions",
    "walked away",
    "W\u0430lked away from me",  # a Cyrillic a
    "Il a refusé de répondre",
    "il a refuse de repondre",  # no accents
    "Elle s'est éloignée",
    "Se trouvait dans un secteur à criminalité élevée",
    "SECTEUR A CRIMINALITE ELEVEE",
    "flânait devant le dépanneur",
]


@pytest.mark.parametrize("reason", FORBIDDEN_ALONE)
def test_a_forbidden_reason_alone_is_refused(facts, reason):
    evaluation = evaluate(facts(reason=reason, reason_grounds=()))
    refusing = [f for f in evaluation.findings if f.code == "FORBIDDEN-REASONS" and f.refuses]
    assert [f.field for f in refusing] == ["reason"], evaluation.findings
    assert evaluation.refused


@pytest.mark.parametrize("ground", ["declined_to_answer", "walked_away", "high_crime_area"])
def test_a_forbidden_ground_ticked_alone_is_refused(facts, ground):
    evaluation = evaluate(
        facts(reason="See the ticked ground for what happened there", reason_grounds=(ground,))
    )
    assert "FORBIDDEN-REASONS" in codes_refusing(evaluation)


@pytest.mark.parametrize(
    "reason", ["Loitering", "present in a high-crime area", "walked away", "declined to answer"]
)
def test_a_forbidden_reason_beside_a_real_ground_is_accepted_and_flagged(facts, reason):
    evaluation = evaluate(
        facts(
            reason=f"Trying car door handles one by one along the lane; {reason}",
            reason_grounds=("behaviour",),
        )
    )
    finding = only(evaluation, "FORBIDDEN-REASONS")
    assert (finding.verdict, finding.refuses) == (FAIL, False)
    assert not evaluation.refused and finding in evaluation.flags


def test_a_forbidden_ground_beside_a_real_one_is_accepted(facts):
    evaluation = evaluate(facts(reason_grounds=("behaviour", "walked_away")))
    assert only(evaluation, "FORBIDDEN-REASONS").verdict == PASS
    assert not evaluation.refused


def test_the_rule_set_decides_whether_a_forbidden_phrase_alone_refuses(ruleset, facts):
    lenient = replace(
        ruleset,
        parameters=MappingProxyType({**ruleset.parameters, "forbidden_phrase_without_ground": "flag"}),
    )
    record = facts(reason="Loitering", reason_grounds=())
    assert [f.refuses for f in check_forbidden_reasons(record, lenient)] == [False]
    assert [f.refuses for f in check_forbidden_reasons(record, ruleset)] == [True]


# --- SCOPE-EXCLUDED -------------------------------------------------------------------------------------


def test_an_unanswered_scope_question_is_refused_in_its_own_words(facts, ruleset):
    evaluation = evaluate(facts(scope_answered=False))
    finding = only(evaluation, "SCOPE-EXCLUDED")
    assert (finding.verdict, finding.refuses, finding.field) == (FAIL, True, "scope_exclusion")
    assert finding.message == ruleset.rule("SCOPE-EXCLUDED").variants["unanswered"]["en"]
    assert "not a community engagement" not in finding.message
    assert evaluation.refused and not evaluation.compliant


def test_none_of_these_applies_is_an_answer(facts):
    assert only(evaluate(facts(scope_answered=True, scope_exclusion=None)), "SCOPE-EXCLUDED").verdict == PASS


def test_every_rule_set_words_its_variants_in_both_languages(ruleset):
    assert set(ruleset.rule("SCOPE-EXCLUDED").variants) == {"unanswered"}
    assert set(ruleset.rule("RACE-NOT-A-REASON").variants) == {"confirmed"}
    for code in ("SCOPE-EXCLUDED", "RACE-NOT-A-REASON"):
        for words in ruleset.rule(code).variants.values():
            assert words["en"] != words["fr"] and words["en"].strip() and words["fr"].strip()
