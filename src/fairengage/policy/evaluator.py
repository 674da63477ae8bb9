"""Judge one engagement against the rule set in force on its local date."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fairengage.policy.checks import CHECKS
from fairengage.policy.facts import EngagementFacts
from fairengage.policy.findings import Evaluation, Finding, finding_message
from fairengage.policy.ruleset import PolicyError, RuleSet, get_ruleset, ruleset_in_force

__all__ = ["Evaluation", "Finding", "evaluate", "message_for"]

DEFAULT_TIMEZONE = "America/Toronto"


def evaluate(
    record: EngagementFacts, as_of: date | datetime | None = None, tz: str = DEFAULT_TIMEZONE
) -> Evaluation:
    """Run each refuse and flag rule of the rule set in force on `as_of` (default: the local date).

    The engagement is judged in local time `tz`: an engagement at 23:30 on 2024-03-31 in Toronto is judged
    by the rule set in force on 2024-03-31, whatever offset the device sent.
    """
    zone = ZoneInfo(tz)
    local = replace(record, occurred_at=record.occurred_at.astimezone(zone))
    day = local.occurred_at.date() if as_of is None else _local_day(as_of, zone)
    ruleset = ruleset_in_force(day)
    findings: list[Finding] = []
    for rule in ruleset.rules:
        # Lifecycle and report rules are run by review, retention and reports, not at entry.
        if rule.entry_time:
            findings.extend(CHECKS[rule.code](local, ruleset))
    return Evaluation(ruleset=ruleset, findings=tuple(findings))


def message_for(finding: Finding, lang: str = "en", ruleset: RuleSet | None = None) -> str:
    """The finding's message in `lang` (`en` or `fr`), from the rule set that produced it."""
    if ruleset is None:
        if finding.ruleset_id is None:
            raise PolicyError(f"finding {finding.code} does not say which rule set produced it")
        ruleset = get_ruleset(finding.ruleset_id)
    return finding_message(
        ruleset,
        finding.code,
        finding.verdict,
        refuses=finding.refuses,
        ground=finding.ground,
        lang=lang,
        variant=finding.variant,
    )


def _local_day(moment: date | datetime, zone: ZoneInfo) -> date:
    if isinstance(moment, datetime):
        return moment.astimezone(zone).date() if moment.tzinfo else moment.date()
    return moment
