"""Plain words for the codes pages show: record statuses, decisions, verdicts and review findings.

Pages once printed these codes raw ("pending_review", "fail"), so French pages showed English. Each
code maps to an English phrase marked for the catalogue; the page translates it where it is shown.
Category names (purposes, racialized groups, outcomes, exceptions) come from the rule set instead,
which carries both languages (`RuleSet.label`).
"""

from __future__ import annotations

from fairengage.web.i18n import N_

LABELS: dict[str, dict[str, str]] = {
    # An engagement record's review state (engagements.models.Engagement.status).
    "status": {
        "pending_review": N_("awaiting review"),
        "approved": N_("approved"),
        "returned": N_("returned for correction"),
        "non_compliant": N_("non-compliant"),
    },
    # A supervisor's decision on a record (review.service.DECISIONS).
    "decision": {
        "approved": N_("approved"),
        "returned": N_("returned for correction"),
        "non_compliant": N_("non-compliant"),
    },
    # A rule's verdict on a record (policy.findings): a fail is a flag for the supervisor.
    "verdict": {
        "pass": N_("met"),
        "fail": N_("flagged"),
        "exception": N_("exception applies"),
    },
    # Why a restricted record may be read (the rule set's restricted_read_purposes, 58/16 s.9(10)).
    "read_purpose": {
        "ongoing_investigation": N_("ongoing investigation"),
        "legal_proceeding": N_("legal proceeding"),
        "legal_requirement": N_("legal requirement"),
    },
    # A request to read a restricted record (retention.service).
    "request_status": {
        "pending": N_("awaiting approval"),
        "approved": N_("approved"),
        "refused": N_("refused"),
    },
    # What a supervisor did about an intervention case (cases.service.ACTIONS).
    "case_action": {
        "conversation": N_("a conversation with the officer"),
        "training": N_("training"),
        "records_review": N_("an audit of the officer's records"),
        "no_action": N_("no action"),
    },
    # A detailed reviewer's finding on a sampled record (review.service.record_sample_finding).
    "finding": {
        "compliant": N_("compliant"),
        "non_compliant": N_("non-compliant"),
    },
}


def label_of(kind: str, code: str | None) -> str:
    """The English phrase for a code, to pass through the catalogue; an unknown code as it is."""
    if code is None:
        return ""
    return LABELS.get(kind, {}).get(code, code.replace("_", " "))
