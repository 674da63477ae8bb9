"""The rule codes the policy engine knows how to check when a record is made. The rule set loader checks a
rule set against these, and checks.py supplies one check for each, so neither imports the other."""

from __future__ import annotations

# Every entry-time rule that checks.py implements (tests/policy/test_checks.py keeps the two equal).
ENTRY_CHECK_CODES = frozenset(
    {
        "SCOPE-PURPOSE",
        "SCOPE-EXCLUDED",
        "ATTEMPT-COUNTS",
        "REASON-REQUIRED",
        "RACE-NOT-A-REASON",
        "FORBIDDEN-REASONS",
        "NOT-ARBITRARY",
        "INFORM-RIGHT",
        "INFORM-WHY",
        "RECEIPT-OFFER",
        "RECEIPT-CONTENT",
        "RECORD-CONTENTS",
        "TRAINING-36M",
    }
)

# Rules that are a duty met by "yes" or excused by a ground from the list the rule names in `exceptions`.
DUTY_RULES = frozenset({"INFORM-RIGHT", "INFORM-WHY", "RECEIPT-OFFER"})
