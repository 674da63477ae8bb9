"""Properties of the evaluator over any well-typed engagement, in any time zone, on any day.

Whatever an officer's device sends that fits the facts' types, evaluation either names the rule set in
force on the engagement's local date and gives each entry-time rule a verdict, or (before the first rule
set) says that none was in force. It never fails otherwise, and it gives the same answer every time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairengage.policy import EngagementFacts, NoRuleSetInForce, evaluate, load_rulesets
from fairengage.policy.findings import EXCEPTION, FAIL, PASS, VERDICTS

RULESETS = load_rulesets()
TORONTO = ZoneInfo("America/Toronto")
ZONES = ("America/Toronto", "America/Vancouver", "Europe/London", "Asia/Kolkata", "Pacific/Kiritimati", "UTC")
# Codes from every shipped list, so that drawn values hit real purposes, grounds and categories.
CODES = sorted({code for r in RULESETS for name in r.lists for code in r.codes(name)})

code = st.one_of(st.none(), st.sampled_from(CODES), st.text(max_size=15))
text = st.one_of(
    st.none(),
    st.text(max_size=120),
    st.sampled_from(
        [
            "Trying the doors of parked cars along the lane, one after another",
            "Black male in a high crime area",
            "refused to answer, seemed nervous",
            "Homme noir dans un secteur à criminalité élevée",
        ]
    ),
)
offsets = st.one_of(
    st.sampled_from([ZoneInfo(z) for z in ZONES]),
    st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
)
# From years before the first rule set (2015-06-18) to well after the last one began.
moments = st.datetimes(min_value=datetime(2014, 1, 1), max_value=datetime(2045, 12, 31), timezones=offsets)

facts_strategy = st.builds(
    EngagementFacts,
    occurred_at=moments,
    division=code,
    purpose=code,
    scope_exclusion=code,
    reason=text,
    reason_grounds=st.lists(st.sampled_from(CODES) | st.text(max_size=10), max_size=5).map(tuple),
    description_match=st.booleans(),
    description_elements=st.lists(st.sampled_from(CODES) | st.text(max_size=10), max_size=4).map(tuple),
    informed=st.one_of(st.none(), st.booleans()),
    inform_exception=code,
    inform_exception_details=text,
    informed_why=st.one_of(st.none(), st.booleans()),
    inform_why_exception=code,
    receipt_offered=st.one_of(st.none(), st.booleans()),
    receipt_exception=code,
    receipt_exception_details=text,
    identifying_info_collected=st.one_of(st.none(), st.booleans()),
    person_info_present=st.booleans(),
    perceived_race=code,
    perceived_gender=code,
    perceived_age=st.one_of(st.none(), st.integers()),
    officer_name=text,
    officer_badge=text,
    officer_trained_on=st.one_of(st.none(), st.dates(min_value=date(1990, 1, 1), max_value=date(2050, 1, 1))),
)


def in_force(day: date) -> list[str]:
    """The ids of the shipped rule sets whose dates contain `day`."""
    return [r.id for r in RULESETS if r.covers(day)]


# Facts on a day some rule set covers, in the evaluator's default time zone.
judged_facts = facts_strategy.filter(lambda f: bool(in_force(f.occurred_at.astimezone(TORONTO).date())))


@settings(max_examples=300, deadline=None)
@given(facts=facts_strategy, tz=st.sampled_from(ZONES))
def test_the_rule_set_is_the_one_in_force_on_the_local_date_or_none_is(facts, tz):
    day = facts.occurred_at.astimezone(ZoneInfo(tz)).date()
    covering = in_force(day)
    assert len(covering) <= 1, f"rule sets overlap on {day}: {covering}"
    if not covering:
        with pytest.raises(NoRuleSetInForce):
            evaluate(facts, tz=tz)
        return
    # Nothing but NoRuleSetInForce may escape: any other exception fails the test here.
    evaluation = evaluate(facts, tz=tz)
    assert evaluation.ruleset.id == covering[0]


@settings(max_examples=300, deadline=None)
@given(facts=judged_facts)
def test_compliant_exactly_when_nothing_fails_and_refused_exactly_when_a_refusing_rule_fails(facts):
    evaluation = evaluate(facts)
    verdicts = [f.verdict for f in evaluation.findings]
    assert set(verdicts) <= set(VERDICTS)
    assert evaluation.compliant == (FAIL not in verdicts)
    assert evaluation.refused == any(f.verdict == FAIL and f.refuses for f in evaluation.findings)
    assert set(evaluation.flags) == {f for f in evaluation.findings if f.verdict == FAIL and not f.refuses}
    assert len(evaluation.errors()) == sum(f.refuses for f in evaluation.findings)
    for finding in evaluation.findings:
        # Only a fail can refuse; a pass says nothing; an exception names the ground it relied on.
        assert not finding.refuses or finding.verdict == FAIL
        assert (finding.message == "") == (finding.verdict == PASS)
        assert finding.verdict != EXCEPTION or finding.ground
        assert finding.ruleset_id == evaluation.ruleset.id


@settings(max_examples=200, deadline=None)
@given(facts=judged_facts)
def test_every_entry_time_rule_and_only_those_get_a_verdict(facts):
    evaluation = evaluate(facts)
    entry_time = {rule.code: rule.kind for rule in evaluation.ruleset.rules if rule.entry_time}
    judged = {f.code for f in evaluation.findings}
    assert judged == set(entry_time)
    assert all(f.kind == entry_time[f.code] for f in evaluation.findings)


@settings(max_examples=200, deadline=None)
@given(
    facts=judged_facts,
    other=offsets,
)
def test_evaluation_is_deterministic_and_the_same_instant_in_any_offset_is_judged_alike(facts, other):
    first = evaluate(facts)
    assert evaluate(facts).findings == first.findings
    moved = replace(facts, occurred_at=facts.occurred_at.astimezone(other))
    again = evaluate(moved)
    assert again.ruleset.id == first.ruleset.id
    assert again.findings == first.findings


@settings(max_examples=100, deadline=None)
@given(day=st.dates(min_value=date(2015, 6, 19), max_value=date(2045, 12, 31)), facts=facts_strategy)
def test_as_of_picks_the_rule_set_of_that_day_whatever_the_engagement_date(day, facts):
    assert evaluate(facts, as_of=day).ruleset.id == in_force(day)[0]
    # A moment counts by its local date: 02:00 UTC is still the evening before in Toronto.
    early = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
    assert evaluate(facts, as_of=early).ruleset.id == in_force(early.astimezone(TORONTO).date())[0]
