"""The evaluator's output: one finding per rule and record, and the evaluation that gathers them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fairengage.policy.ruleset import RuleSet

PASS = "pass"  # noqa: S105 - a verdict, not a secret  # nosec B105
FAIL = "fail"
EXCEPTION = "exception"
VERDICTS = (PASS, FAIL, EXCEPTION)


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one record: pass, fail (refusing or a flag for the reviewer) or exception."""

    code: str
    kind: str
    verdict: str
    field: str | None
    message: str
    refuses: bool
    ground: str | None = None
    ruleset_id: str | None = None
    # Which of the rule's own wordings the message uses, when not its plain one ("unanswered", "confirmed").
    variant: str | None = None

    @property
    def is_flag(self) -> bool:
        """True for a fail that does not refuse the record: it goes to the reviewer."""
        return self.verdict == FAIL and not self.refuses

    def as_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready data (rule code under `rule`, as in the API's errors)."""
        return {
            "rule": self.code,
            "kind": self.kind,
            "verdict": self.verdict,
            "field": self.field,
            "message": self.message,
            "refuses": self.refuses,
            "ground": self.ground,
        }


@dataclass(frozen=True)
class Evaluation:
    """Every finding on one record, and the rule set that produced them."""

    ruleset: RuleSet
    findings: tuple[Finding, ...]

    @property
    def refused(self) -> bool:
        """True when a refusing rule failed: the record must not be stored."""
        return any(f.verdict == FAIL and f.refuses for f in self.findings)

    @property
    def compliant(self) -> bool:
        """True when every finding is a pass or a permitted exception."""
        return all(f.verdict in (PASS, EXCEPTION) for f in self.findings)

    @property
    def flags(self) -> tuple[Finding, ...]:
        """The fails that do not refuse: kept, and marked for the reviewer."""
        return tuple(f for f in self.findings if f.is_flag)

    def errors(self) -> list[dict[str, str]]:
        """The refusing fails as `{field, rule, message}`, the body of a 422 answer."""
        # Every check that can fail names its field; only passes and exceptions have none.
        return [
            {"field": f.field or "", "rule": f.code, "message": f.message}
            for f in self.findings
            if f.verdict == FAIL and f.refuses
        ]


def finding_message(
    ruleset: RuleSet,
    code: str,
    verdict: str,
    *,
    refuses: bool,
    ground: str | None,
    lang: str = "en",
    variant: str | None = None,
) -> str:
    """A finding's words: none for a pass, the ground's label for an exception, else the rule's message."""
    rule = ruleset.rule(code)
    if verdict == PASS:
        return ""
    if verdict == EXCEPTION:
        label = ruleset.label(rule.exceptions, ground, lang) if rule.exceptions and ground else ground or ""
        return f"Exception : {label}" if lang == "fr" else f"Exception: {label}"
    # A refusing rule that can only suspect a breach from the text speaks to the reviewer, not the officer.
    return rule.message(lang, flag=not refuses and rule.kind == "refuse", variant=variant)
