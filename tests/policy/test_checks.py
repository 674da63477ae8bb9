"""Each entry-time rule: pass, fail and every exception ground, in each shipped rule set."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from fairengage.policy import evaluate, load_rulesets
from fairengage.policy.checks import CHECKS, mentions_any, training_valid_until
from fairengage.policy.findings import EXCEPTION, FAIL, PASS

SHIPPED = [r.id for r in load_rulesets()]


def findings_of(evaluation, code):
    """The findings one rule produced."""
    return [f for f in evaluation.findings if f.code == code]


def only(evaluation, code):
    """The single finding one rule produced."""
    found = findings_of(evaluation, code)
    assert len(found) == 1, found
    return found[0]


def pairs(list_name):
    """(rule set id, code) for every entry of a list, read from each shipped file."""
    return [(r.id, code) for r in load_rulesets() for code in r.codes(list_name)]


# --- the baseline ---------------------------------------------------------------------------------------


def test_the_baseline_engagement_is_compliant(facts, ruleset):
    evaluation = evaluate(facts())
    assert evaluation.ruleset.id == ruleset.id
    assert evaluation.compliant, [f for f in evaluation.findings if f.verdict != PASS]
    assert not evaluation.refused
    assert {f.code for f in evaluation.findings} == {r.code for r in ruleset.rules if r.entry_time}


def test_lifecycle_and_report_rules_are_not_run_at_entry(facts, ruleset):
    judged = {f.code for f in evaluate(facts()).findings}
    later = {r.code for r in ruleset.rules if r.kind in ("lifecycle", "report")}
    assert later
    assert not judged & later


def test_every_entry_time_rule_has_a_check(ruleset):
    assert {r.code for r in ruleset.rules if r.entry_time} <= set(CHECKS)


# --- scope ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ruleset_id", "purpose"), pairs("purposes"))
def test_each_regulated_purpose_passes(make_facts, ruleset_id, purpose):
    assert only(evaluate(make_facts(ruleset_id, purpose=purpose)), "SCOPE-PURPOSE").verdict == PASS


@pytest.mark.parametrize("purpose", [None, "", "community_outreach", "Intelligence"])
def test_a_purpose_not_on_the_list_is_refused(facts, purpose):
    evaluation = evaluate(facts(purpose=purpose))
    finding = only(evaluation, "SCOPE-PURPOSE")
    assert (finding.verdict, finding.field, finding.refuses) == (FAIL, "purpose", True)
    assert evaluation.refused


@pytest.mark.parametrize(("ruleset_id", "exclusion"), pairs("scope_exclusions"))
def test_each_scope_exclusion_refuses_the_record(make_facts, ruleset_id, exclusion):
    evaluation = evaluate(make_facts(ruleset_id, scope_exclusion=exclusion))
    finding = only(evaluation, "SCOPE-EXCLUDED")
    assert (finding.verdict, finding.field, finding.refuses) == (FAIL, "scope_exclusion", True)
    assert "not a community engagement" in finding.message


def test_an_unknown_scope_exclusion_is_refused_too(facts):
    assert only(evaluate(facts(scope_exclusion="felt_like_it")), "SCOPE-EXCLUDED").refuses


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_no_scope_exclusion_passes(facts, blank):
    assert only(evaluate(facts(scope_exclusion=blank)), "SCOPE-EXCLUDED").verdict == PASS


def test_an_attempt_counts_whether_or_not_anything_was_collected(facts):
    evaluation = evaluate(facts(identifying_info_collected=False, person_info_present=False))
    assert only(evaluation, "ATTEMPT-COUNTS").verdict == PASS
    assert evaluation.compliant


def test_personal_details_with_nothing_collected_is_flagged_not_refused(facts):
    evaluation = evaluate(facts(identifying_info_collected=False, person_info_present=True))
    finding = only(evaluation, "ATTEMPT-COUNTS")
    assert (finding.verdict, finding.field, finding.refuses) == (FAIL, "identifying_info_collected", False)
    assert not evaluation.refused
    assert finding in evaluation.flags


# --- the reason -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [None, "", "   \n"])
def test_a_missing_reason_is_refused(facts, reason):
    evaluation = evaluate(facts(reason=reason))
    assert {"field": "reason", "rule": "REASON-REQUIRED"} in [
        {k: e[k] for k in ("field", "rule")} for e in evaluation.errors()
    ]


def test_a_ground_not_on_the_list_is_refused(facts):
    finding = only(evaluate(facts(reason_grounds=("behaviour", "gut_feeling"))), "REASON-REQUIRED")
    assert (finding.verdict, finding.field, finding.refuses) == (FAIL, "reason_grounds", True)


def test_a_reason_resting_on_race_alone_is_refused(facts):
    evaluation = evaluate(facts(reason="Black male standing on the corner", reason_grounds=()))
    assert evaluation.refused
    assert "RACE-NOT-A-REASON" in {e["rule"] for e in evaluation.errors()}
    assert only(evaluation, "RACE-NOT-A-REASON").field == "reason"


@pytest.mark.parametrize(
    "reason",
    [
        "NOIR, debout au coin de la rue",
        "Homme noire près du parc",
        "brown-skinned youth by the school",
        "Brown skinned youth by the school",
        "male, middle eastern, at the bus shelter",
        "Autochtone assis sur le banc",
    ],
)
def test_race_words_are_found_whatever_the_case_accents_or_hyphens(facts, reason):
    evaluation = evaluate(facts(reason=reason, reason_grounds=()))
    assert only(evaluation, "RACE-NOT-A-REASON").refuses


@pytest.mark.parametrize(
    "reason", ["Picking blackberries in the ravine at 3 am", "Whitening teeth kit stolen"]
)
def test_race_words_match_only_whole_words(facts, reason):
    assert only(evaluate(facts(reason=reason, reason_grounds=())), "RACE-NOT-A-REASON").verdict == PASS


def test_a_race_word_with_other_grounds_is_still_refused(facts):
    # Race may be no part of the reason: a ticked ground beside it does not make it one of several.
    evaluation = evaluate(facts(reason="Black male trying car door handles", reason_grounds=("behaviour",)))
    finding = only(evaluation, "RACE-NOT-A-REASON")
    assert (finding.verdict, finding.refuses, finding.field) == (FAIL, True, "reason")
    assert evaluation.refused


def test_a_race_word_with_only_forbidden_grounds_is_refused(facts):
    evaluation = evaluate(facts(reason="White man in the park", reason_grounds=("walked_away",)))
    assert only(evaluation, "RACE-NOT-A-REASON").refuses


@pytest.mark.parametrize(("ruleset_id", "element"), pairs("description_elements"))
def test_a_description_narrowed_beyond_sex_passes(make_facts, ruleset_id, element):
    facts = make_facts(
        ruleset_id,
        reason="Black male, matches the robbery suspect seen running from the store",
        reason_grounds=("description_match",),
        description_match=True,
        description_elements=(element,),
    )
    assert only(evaluate(facts), "RACE-NOT-A-REASON").verdict == PASS


@pytest.mark.parametrize("elements", [(), ("sex",), ("race", "sex")])
def test_a_description_of_race_and_sex_alone_is_refused(facts, elements):
    finding = only(
        evaluate(
            facts(
                reason="Black male matches a description",
                description_match=True,
                description_elements=elements,
            )
        ),
        "RACE-NOT-A-REASON",
    )
    assert (finding.verdict, finding.field, finding.refuses) == (FAIL, "description_elements", True)


def test_only_forbidden_grounds_are_refused(facts, ruleset):
    forbidden = tuple(sorted(ruleset.forbidden_codes()))
    assert set(forbidden) == {"declined_to_answer", "walked_away", "high_crime_area"}
    finding = only(evaluate(facts(reason_grounds=forbidden)), "FORBIDDEN-REASONS")
    assert (finding.verdict, finding.field, finding.refuses) == (FAIL, "reason_grounds", True)


@pytest.mark.parametrize(
    ("ruleset_id", "ground"),
    [p for p in pairs("reason_grounds") if p[1] in {"declined_to_answer", "walked_away", "high_crime_area"}],
)
def test_each_forbidden_ground_alone_is_refused(make_facts, ruleset_id, ground):
    assert only(evaluate(make_facts(ruleset_id, reason_grounds=(ground,))), "FORBIDDEN-REASONS").refuses


def test_a_forbidden_ground_beside_a_real_one_passes(facts):
    evaluation = evaluate(facts(reason_grounds=("behaviour", "high_crime_area")))
    assert only(evaluation, "FORBIDDEN-REASONS").verdict == PASS


@pytest.mark.parametrize(
    "reason",
    [
        "He refused to answer and then walked away from us",
        "Standing in a HIGH-CRIME area near the plaza at night",
        "Il a refusé de répondre puis est reparti vers le métro",
        "Présent dans un secteur à criminalité élevée la nuit",
    ],
)
def test_forbidden_phrases_in_the_text_are_flagged_even_with_good_grounds(facts, reason):
    evaluation = evaluate(facts(reason=reason, reason_grounds=("behaviour",)))
    finding = only(evaluation, "FORBIDDEN-REASONS")
    assert (finding.verdict, finding.field, finding.refuses) == (FAIL, "reason", False)
    assert not evaluation.refused


def test_forbidden_grounds_and_text_give_two_findings(facts):
    evaluation = evaluate(facts(reason="walked away when I spoke to him", reason_grounds=("walked_away",)))
    found = findings_of(evaluation, "FORBIDDEN-REASONS")
    assert sorted((f.field, f.refuses) for f in found) == [("reason", True), ("reason_grounds", True)]


def test_a_short_reason_without_grounds_is_flagged_as_possibly_arbitrary(facts, ruleset):
    words = ruleset.param("min_reason_words")
    short = " ".join(["loitering"] * (words - 1))
    finding = only(evaluate(facts(reason=short, reason_grounds=())), "NOT-ARBITRARY")
    assert (finding.verdict, finding.refuses) == (FAIL, False)
    long_enough = " ".join(["loitering"] * words)
    assert only(evaluate(facts(reason=long_enough, reason_grounds=())), "NOT-ARBITRARY").verdict == PASS


def test_a_short_reason_with_a_real_ground_passes_not_arbitrary(facts):
    assert (
        only(evaluate(facts(reason="Trying doors", reason_grounds=("behaviour",))), "NOT-ARBITRARY").verdict
        == PASS
    )


def test_a_short_reason_with_only_a_forbidden_ground_is_flagged(facts):
    finding = only(
        evaluate(facts(reason="Trying doors", reason_grounds=("high_crime_area",))), "NOT-ARBITRARY"
    )
    assert finding.verdict == FAIL


# --- duties at the time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("ruleset_id", "ground"), pairs("inform_exceptions"))
def test_each_inform_exception_ground_is_an_exception_on_both_duties(make_facts, ruleset_id, ground):
    evaluation = evaluate(
        make_facts(
            ruleset_id, informed=False, inform_exception=ground, inform_exception_details="details given"
        )
    )
    for code in ("INFORM-RIGHT", "INFORM-WHY"):
        finding = only(evaluation, code)
        assert (finding.verdict, finding.ground) == (EXCEPTION, ground)
    assert evaluation.compliant


@pytest.mark.parametrize(("ruleset_id", "ground"), pairs("receipt_exceptions"))
def test_each_receipt_exception_ground_is_an_exception(make_facts, ruleset_id, ground):
    evaluation = evaluate(make_facts(ruleset_id, receipt_offered=None, receipt_exception=ground))
    finding = only(evaluation, "RECEIPT-OFFER")
    assert (finding.verdict, finding.ground) == (EXCEPTION, ground)
    assert evaluation.compliant


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"informed": None}, "INFORM-RIGHT", "informed"),
        ({"informed": False}, "INFORM-RIGHT", "informed"),
        ({"informed": True, "inform_exception": "safety"}, "INFORM-RIGHT", "inform_exception"),
        ({"informed": False, "inform_exception": "busy"}, "INFORM-RIGHT", "inform_exception"),
        ({"informed": None}, "INFORM-WHY", "informed"),
        ({"informed_why": False}, "INFORM-WHY", "informed_why"),
        ({"informed_why": True, "inform_why_exception": "safety"}, "INFORM-WHY", "inform_why_exception"),
        ({"informed_why": False, "inform_why_exception": "busy"}, "INFORM-WHY", "inform_why_exception"),
        ({"receipt_offered": None}, "RECEIPT-OFFER", "receipt_offered"),
        ({"receipt_offered": False}, "RECEIPT-OFFER", "receipt_offered"),
        ({"receipt_offered": True, "receipt_exception": "safety"}, "RECEIPT-OFFER", "receipt_exception"),
        # "ongoing_investigation" excuses informing, not the receipt.
        (
            {"receipt_offered": False, "receipt_exception": "ongoing_investigation"},
            "RECEIPT-OFFER",
            "receipt_exception",
        ),
    ],
)
def test_a_duty_missed_without_a_valid_ground_is_refused(facts, changes, code, field):
    evaluation = evaluate(facts(**changes))
    assert {"field": field, "rule": code} in [
        {k: e[k] for k in ("field", "rule")} for e in evaluation.errors()
    ]


def test_informing_why_answered_separately_is_judged_on_its_own(facts):
    evaluation = evaluate(
        facts(informed=True, informed_why=None, inform_why_exception="ongoing_investigation")
    )
    assert only(evaluation, "INFORM-RIGHT").verdict == PASS
    assert (only(evaluation, "INFORM-WHY").verdict, only(evaluation, "INFORM-WHY").ground) == (
        EXCEPTION,
        "ongoing_investigation",
    )


def test_told_of_the_right_but_not_why_without_a_ground_is_refused_on_informed_why(facts):
    evaluation = evaluate(facts(informed=True, informed_why=False))
    assert only(evaluation, "INFORM-RIGHT").verdict == PASS
    assert only(evaluation, "INFORM-WHY").field == "informed_why"


def test_a_receipt_is_required_to_name_the_officer(facts):
    for changes in ({"officer_name": None}, {"officer_badge": ""}, {"officer_name": "  "}):
        finding = only(evaluate(facts(**changes)), "RECEIPT-CONTENT")
        assert (finding.verdict, finding.field, finding.refuses) == (FAIL, "officer", True)


def test_receipt_content_needs_the_complaints_body_and_own_record_text(facts, ruleset):
    from dataclasses import replace
    from types import MappingProxyType

    from fairengage.policy.checks import check_receipt_content

    assert check_receipt_content(facts(), ruleset)[0].verdict == PASS
    assert check_receipt_content(facts(), replace(ruleset, complaints_body=None))[0].verdict == FAIL
    no_text = replace(ruleset, own_record_request=MappingProxyType({}))
    assert check_receipt_content(facts(), no_text)[0].verdict == FAIL


def test_the_complaints_body_follows_the_regime(ruleset):
    expected = {
        "tpsb-2015": "Office of the Independent Police Review Director",
        "on-reg-58-16": "Office of the Independent Police Review Director",
        "on-reg-400-23": "Law Enforcement Complaints Agency",
    }
    assert ruleset.complaints_body.name_en == expected[ruleset.id]
    assert "MFIPPA" in ruleset.own_record_text("en")


# --- the record -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ruleset_id", "race"), pairs("perceived_race"))
def test_each_perceived_race_category_is_accepted(make_facts, ruleset_id, race):
    assert only(evaluate(make_facts(ruleset_id, perceived_race=race)), "RECORD-CONTENTS").verdict == PASS


@pytest.mark.parametrize(("ruleset_id", "gender"), pairs("perceived_gender"))
def test_each_perceived_gender_is_accepted(make_facts, ruleset_id, gender):
    assert only(evaluate(make_facts(ruleset_id, perceived_gender=gender)), "RECORD-CONTENTS").verdict == PASS


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"perceived_race": None}, "perceived_race"),
        ({"perceived_race": "black"}, "perceived_race"),
        ({"perceived_gender": "male"}, "perceived_gender"),
        ({"perceived_age": None}, "perceived_age"),
        ({"perceived_age": -1}, "perceived_age"),
        ({"perceived_age": 121}, "perceived_age"),
        ({"perceived_age": True}, "perceived_age"),
        ({"identifying_info_collected": None}, "identifying_info_collected"),
    ],
)
def test_a_missing_or_invalid_record_field_is_refused_by_name(facts, changes, field):
    finding = only(evaluate(facts(**changes)), "RECORD-CONTENTS")
    assert (finding.verdict, finding.field, finding.refuses) == (FAIL, field, True)


def test_each_missing_record_field_gets_its_own_finding(facts):
    evaluation = evaluate(
        facts(perceived_race=None, perceived_gender=None, perceived_age=None, identifying_info_collected=None)
    )
    assert {f.field for f in findings_of(evaluation, "RECORD-CONTENTS")} == {
        "perceived_race",
        "perceived_gender",
        "perceived_age",
        "identifying_info_collected",
    }


@pytest.mark.parametrize("age", [0, 120])
def test_ages_at_the_ends_of_the_range_are_accepted(facts, age):
    assert only(evaluate(facts(perceived_age=age)), "RECORD-CONTENTS").verdict == PASS


# --- training -------------------------------------------------------------------------------------------

EDT = timezone(timedelta(hours=-4))
EST = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("trained", "occurred", "verdict"),
    [
        (date(2021, 3, 15), datetime(2024, 3, 15, 12, 0, tzinfo=EDT), PASS),
        (date(2021, 3, 15), datetime(2024, 3, 16, 12, 0, tzinfo=EDT), FAIL),
        # 22:00 Toronto time on the last valid day, sent in UTC: judged on the local date.
        (date(2021, 3, 15), datetime(2024, 3, 16, 2, 0, tzinfo=UTC), PASS),
        # A month end the later month lacks: 29 February runs to 28 February.
        (date(2020, 2, 29), datetime(2023, 2, 28, 12, 0, tzinfo=EST), PASS),
        (date(2020, 2, 29), datetime(2023, 3, 1, 12, 0, tzinfo=EST), FAIL),
        (date(2019, 1, 1), datetime(2019, 1, 1, 9, 0, tzinfo=EST), PASS),
        # Training recorded after the engagement does not count.
        (date(2020, 6, 16), datetime(2020, 6, 15, 12, 0, tzinfo=EDT), FAIL),
        (None, datetime(2020, 6, 15, 12, 0, tzinfo=EDT), FAIL),
    ],
)
def test_training_counts_for_36_calendar_months_inclusive(make_facts, trained, occurred, verdict):
    facts = make_facts("on-reg-58-16", occurred_at=occurred, officer_trained_on=trained)
    finding = only(evaluate(facts), "TRAINING-36M")
    assert finding.verdict == verdict
    if verdict == FAIL:
        assert (finding.field, finding.refuses) == ("officer", True)


def test_training_is_required_in_every_rule_set(facts):
    assert only(evaluate(facts(officer_trained_on=None)), "TRAINING-36M").refuses


@pytest.mark.parametrize(
    ("trained", "months", "until"),
    [
        (date(2021, 3, 15), 36, date(2024, 3, 15)),
        (date(2021, 8, 31), 6, date(2022, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2021, 11, 30), 3, date(2022, 2, 28)),
        (date(2021, 12, 1), 1, date(2022, 1, 1)),
    ],
)
def test_training_valid_until_clamps_to_month_end(trained, months, until):
    assert training_valid_until(trained, months) == until


# --- the text matcher -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms", "found"),
    [
        ("Black male", ["black"], True),
        ("Blackberry picking", ["black"], False),
        ("Un homme NOIR", ["noir"], True),
        ("middle-eastern man", ["middle eastern"], True),
        ("refusé de répondre", ["refuse de repondre"], True),
        ("refused to   ANSWER", ["refused to answer"], True),
        ("refused to", ["refused to answer"], False),
        (None, ["black"], False),
        ("", ["black"], False),
    ],
)
def test_mentions_any(text, terms, found):
    assert mentions_any(text, terms) is found


def test_the_loader_knows_exactly_the_codes_that_have_a_check() -> None:
    # The rule set loader validates against policy/codes.py, not CHECKS, so that it need not import checks.py.
    from fairengage.policy.codes import ENTRY_CHECK_CODES

    assert set(CHECKS) == ENTRY_CHECK_CODES
