"""The policy engine: rule sets as data, and the evaluator that judges each engagement against them."""

from fairengage.policy.checks import terms_in
from fairengage.policy.evaluator import evaluate, message_for
from fairengage.policy.facts import EngagementFacts
from fairengage.policy.findings import Evaluation, Finding
from fairengage.policy.ruleset import (
    NoRuleSetInForce,
    PolicyError,
    RuleSet,
    get_ruleset,
    load_rulesets,
    ruleset_for_record,
    ruleset_in_force,
)

__all__ = [
    "EngagementFacts",
    "Evaluation",
    "Finding",
    "NoRuleSetInForce",
    "PolicyError",
    "RuleSet",
    "evaluate",
    "get_ruleset",
    "load_rulesets",
    "message_for",
    "ruleset_for_record",
    "ruleset_in_force",
    "terms_in",
]
