"""Builders for the policy tests: a compliant engagement in each shipped rule set's period."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from fairengage.policy import EngagementFacts, get_ruleset
from fairengage.policy.ruleset import RuleSet

EDT = timezone(timedelta(hours=-4))

# A mid-period afternoon in each shipped rule set (Toronto summer time).
MOMENTS = {
    "tpsb-2015": datetime(2016, 6, 15, 14, 0, tzinfo=EDT),
    "on-reg-58-16": datetime(2020, 6, 15, 14, 0, tzinfo=EDT),
    "on-reg-400-23": datetime(2025, 6, 15, 14, 0, tzinfo=EDT),
}
RULESET_IDS = tuple(MOMENTS)


def compliant_facts(ruleset_id: str = "on-reg-58-16", **changes: Any) -> EngagementFacts:
    """An engagement that every entry-time rule passes, in `ruleset_id`'s period, with `changes` applied."""
    occurred_at = MOMENTS[ruleset_id]
    facts = EngagementFacts(
        occurred_at=occurred_at,
        division="D14",
        purpose="suspicious_activities",
        reason="Looking into parked cars one by one along the lane, trying door handles",
        reason_grounds=("behaviour",),
        informed=True,
        receipt_offered=True,
        identifying_info_collected=True,
        person_info_present=True,
        perceived_race="Unknown",
        perceived_gender="man",
        perceived_age=30,
        officer_name="Pat Officer",
        officer_badge="1234",
        officer_trained_on=occurred_at.date() - timedelta(days=365),
    )
    return replace(facts, **changes)


@pytest.fixture(params=RULESET_IDS)
def ruleset_id(request: pytest.FixtureRequest) -> str:
    """Each shipped rule set in turn."""
    return request.param


@pytest.fixture
def ruleset(ruleset_id: str) -> RuleSet:
    """The shipped rule set under test."""
    return get_ruleset(ruleset_id)


@pytest.fixture
def facts(ruleset_id: str) -> Callable[..., EngagementFacts]:
    """A builder of facts in the period of the rule set under test."""
    return lambda **changes: compliant_facts(ruleset_id, **changes)


@pytest.fixture
def make_facts() -> Callable[..., EngagementFacts]:
    """The builder itself, for tests that pick the rule set's period by id."""
    return compliant_facts
