"""The evaluator: which rule set judges a record, what the evaluation says, and that it never breaks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairengage.policy import (
    EngagementFacts,
    NoRuleSetInForce,
    evaluate,
    get_ruleset,
    load_rulesets,
    message_for,
)
from fairengage.policy.findings import FAIL, VERDICTS, Evaluation, Finding

EDT = timezone(timedelta(hours=-4))
TORONTO = ZoneInfo("America/Toronto")


@pytest.mark.parametrize(
    ("occurred_at", "ruleset_id"),
    [
        (datetime(2015, 6, 18, 0, 5, tzinfo=EDT), "tpsb-2015"),
        (datetime(2016, 12, 31, 23, 55, tzinfo=timezone(timedelta(hours=-5))), "tpsb-2015"),
        (datetime(2017, 1, 1, 0, 5, tzinfo=timezone(timedelta(hours=-5))), "on-reg-58-16"),
        # Late on the last night of 58/16, local time: judged by 58/16.
        (datetime(2024, 3, 31, 23, 30, tzinfo=EDT), "on-reg-58-16"),
        # The same moment sent in UTC (already 1 April there): still 31 March in Toronto.
        (datetime(2024, 4, 1, 3, 30, tzinfo=UTC), "on-reg-58-16"),
        (datetime(2024, 4, 1, 0, 0, tzinfo=EDT), "on-reg-400-23"),
    ],
)
def test_the_rule_set_is_chosen_by_the_local_date(make_facts, occurred_at, ruleset_id):
    facts = make_facts("on-reg-58-16", occurred_at=occurred_at, officer_trained_on=date(2015, 1, 1))
    assert evaluate(facts).ruleset.id == ruleset_id


def test_before_the_first_rule_set_nothing_is_in_force(make_facts):
    facts = make_facts("tpsb-2015", occurred_at=datetime(2015, 6, 17, 12, 0, tzinfo=EDT))
    with pytest.raises(NoRuleSetInForce):
        evaluate(facts)


def test_another_time_zone_moves_the_local_date(make_facts):
    facts = make_facts("on-reg-58-16", occurred_at=datetime(2024, 4, 1, 3, 30, tzinfo=UTC))
    assert evaluate(facts, tz="UTC").ruleset.id == "on-reg-400-23"


@pytest.mark.parametrize(
    ("as_of", "ruleset_id"),
    [
        (date(2016, 1, 1), "tpsb-2015"),
        (datetime(2024, 4, 1, 3, 30, tzinfo=UTC), "on-reg-58-16"),
        (datetime(2024, 4, 1, 3, 30), "on-reg-400-23"),
    ],
)
def test_as_of_overrides_the_engagement_date(make_facts, as_of, ruleset_id):
    assert evaluate(make_facts("on-reg-58-16"), as_of=as_of).ruleset.id == ruleset_id


def test_a_naive_time_is_rejected():
    with pytest.raises(ValueError, match="offset"):
        EngagementFacts(occurred_at=datetime(2020, 1, 1, 12, 0))


def test_errors_name_field_rule_and_message(facts):
    evaluation = evaluate(facts(purpose=None, informed=None))
    errors = evaluation.errors()
    assert {(e["field"], e["rule"]) for e in errors} >= {
        ("purpose", "SCOPE-PURPOSE"),
        ("informed", "INFORM-RIGHT"),
    }
    assert all(set(e) == {"field", "rule", "message"} and e["message"] for e in errors)
    assert evaluation.refused and not evaluation.compliant


def test_a_flag_leaves_the_record_stored_but_not_compliant(facts):
    evaluation = evaluate(facts(reason="Walked away fast", reason_grounds=("vehicle",)))
    assert not evaluation.refused
    assert not evaluation.compliant
    assert evaluation.errors() == []
    assert {f.code for f in evaluation.flags} == {"FORBIDDEN-REASONS"}


def test_exceptions_keep_a_record_compliant(facts):
    evaluation = evaluate(
        facts(
            informed=False,
            inform_exception="safety",
            receipt_offered=False,
            receipt_exception="respond_to_other_matter",
        )
    )
    assert evaluation.compliant
    assert {f.ground for f in evaluation.findings if f.verdict == "exception"} == {
        "safety",
        "respond_to_other_matter",
    }


def test_flag_rules_never_refuse(facts, ruleset):
    evaluation = evaluate(
        facts(reason="", reason_grounds=(), person_info_present=True, identifying_info_collected=False)
    )
    flag_codes = {r.code for r in ruleset.rules if r.kind == "flag"}
    failed = [f for f in evaluation.findings if f.code in flag_codes and f.verdict == FAIL]
    assert {f.code for f in failed} == flag_codes
    assert not any(f.refuses for f in failed)


def test_messages_in_french_and_english(facts, ruleset):
    evaluation = evaluate(facts(purpose=None, informed=False, inform_exception="safety"))
    refused = next(f for f in evaluation.findings if f.code == "SCOPE-PURPOSE")
    assert message_for(refused, "en") == refused.message == ruleset.rule("SCOPE-PURPOSE").message_en
    assert message_for(refused, "fr") == ruleset.rule("SCOPE-PURPOSE").message_fr
    excused = next(f for f in evaluation.findings if f.code == "INFORM-RIGHT")
    assert ruleset.label("inform_exceptions", "safety", "fr") in message_for(excused, "fr")
    assert ruleset.label("inform_exceptions", "safety", "en") in excused.message


def test_a_flag_level_fail_of_a_refusing_rule_speaks_to_the_reviewer(facts, ruleset):
    evaluation = evaluate(
        facts(
            reason="White male trying car doors on the street",
            reason_grounds=("behaviour",),
            race_word_not_about_person=True,
        )
    )
    flagged = next(f for f in evaluation.findings if f.code == "RACE-NOT-A-REASON")
    rule = ruleset.rule("RACE-NOT-A-REASON")
    assert flagged.message == rule.variants["confirmed"]["en"]
    assert message_for(flagged, "fr") == rule.variants["confirmed"]["fr"]


def test_findings_serialise(facts):
    evaluation = evaluate(facts(purpose=None))
    rows = [f.as_dict() for f in evaluation.findings]
    assert {"rule": "SCOPE-PURPOSE", "verdict": "fail", "field": "purpose"}.items() <= rows[0].items()


def test_an_evaluation_built_by_hand_obeys_its_properties():
    ruleset = get_ruleset("on-reg-58-16")
    flag = Finding("NOT-ARBITRARY", "flag", "fail", "reason", "short", refuses=False)
    passed = Finding("SCOPE-PURPOSE", "refuse", "pass", None, "", refuses=False)
    evaluation = Evaluation(ruleset, (flag, passed))
    assert (evaluation.refused, evaluation.compliant, evaluation.flags) == (False, False, (flag,))


# --- property: evaluate never raises within types -------------------------------------------------------

_ALL_CODES = sorted({c for r in load_rulesets() for name in r.lists for c in r.codes(name)})
_codes = st.one_of(st.none(), st.sampled_from(_ALL_CODES), st.text(max_size=12))
_text = st.one_of(
    st.none(),
    st.text(max_size=80),
    st.sampled_from(
        ["Black male standing on the corner", "refused to answer", "Homme noir, secteur à criminalité élevée"]
    ),
)
_offsets = st.sampled_from(
    [UTC, EDT, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
)

facts_strategy = st.builds(
    EngagementFacts,
    occurred_at=st.datetimes(
        min_value=datetime(2015, 6, 20), max_value=datetime(2040, 12, 31), timezones=_offsets
    ),
    division=_codes,
    purpose=_codes,
    scope_exclusion=_codes,
    reason=_text,
    reason_grounds=st.lists(_codes.filter(lambda c: c is not None), max_size=4).map(tuple),
    description_match=st.booleans(),
    description_elements=st.lists(st.sampled_from(_ALL_CODES), max_size=3).map(tuple),
    informed=st.one_of(st.none(), st.booleans()),
    inform_exception=_codes,
    inform_exception_details=_text,
    informed_why=st.one_of(st.none(), st.booleans()),
    inform_why_exception=_codes,
    receipt_offered=st.one_of(st.none(), st.booleans()),
    receipt_exception=_codes,
    receipt_exception_details=_text,
    identifying_info_collected=st.one_of(st.none(), st.booleans()),
    person_info_present=st.booleans(),
    perceived_race=_codes,
    perceived_gender=_codes,
    perceived_age=st.one_of(st.none(), st.integers(min_value=-(10**6), max_value=10**6)),
    officer_name=_text,
    officer_badge=_text,
    officer_trained_on=st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2045, 1, 1))),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts_strategy)
def test_evaluate_never_raises_and_its_verdicts_agree(facts):
    evaluation = evaluate(facts)
    assert evaluation.ruleset.covers(facts.occurred_at.astimezone(TORONTO).date())
    assert all(f.verdict in VERDICTS for f in evaluation.findings)
    assert all(f.refuses is False for f in evaluation.findings if f.verdict != FAIL)
    assert all(f.message for f in evaluation.findings if f.verdict != "pass")
    if evaluation.refused:
        assert evaluation.errors()
        assert not evaluation.compliant
    else:
        assert evaluation.errors() == []
    assert evaluation.compliant == (not evaluation.refused and not evaluation.flags)
    for finding in evaluation.findings:
        assert message_for(finding, "fr") is not None
