"""The permission matrix: every permission, the roles that hold it and over which records. Deny by default."""

from __future__ import annotations

from typing import Literal, cast

Role = Literal["officer", "supervisor", "analyst", "auditor", "admin"]
ROLES: tuple[Role, ...] = ("officer", "supervisor", "analyst", "auditor", "admin")

# Scope of a grant: "own" — records the user's officer made; "division" — records of the user's
# division; "all" — every record. A role absent from a permission's row is denied.
Scope = Literal["own", "division", "all"]

MATRIX: dict[str, dict[Role, Scope]] = {
    # Recording is an officer's act (O. Reg. 58/16 s.5-8 bind the officer who attempts collection).
    "engagements:create": {"officer": "own"},
    "engagements:read": {"officer": "own", "supervisor": "division", "auditor": "all"},
    # The person's identity is shown only to those who act on the record, each read logged.
    "engagements:read-person": {"officer": "own", "supervisor": "division"},
    "audit:read": {"auditor": "all", "admin": "all"},
    "audit:verify": {"auditor": "all", "admin": "all"},
    "users:manage": {"admin": "all"},
    "officers:manage": {"admin": "all"},
    "officers:read": {"supervisor": "division", "auditor": "all", "admin": "all"},
    # Supervisor review within the rule set's deadline (s.9); the reviewer's training gate applies too.
    "review:queue": {"supervisor": "division", "auditor": "all"},
    "review:decide": {"supervisor": "division"},
    "review:summary": {"supervisor": "division", "auditor": "all", "admin": "all"},
    # The annual detailed review of a random sample (s.15): drawn by auditors, findings by reviewers.
    "review:sample": {"auditor": "all", "admin": "all"},
    "review:sample-findings": {"supervisor": "all", "auditor": "all"},
    # Intervention cases from officer flags: the officer's supervisor acts on them; auditors check how
    # flags were handled. Analysts, who run the analyses, never learn whom a key names.
    "cases:read": {"supervisor": "division", "auditor": "all"},
    "cases:act": {"supervisor": "division"},
    # Restricted records (s.9): asking is a role's; approving is delegated per user by the chief, never a
    # role's, so no role holds "restricted:approve" here (see access/delegations).
    "restricted:request": {"supervisor": "division", "auditor": "all"},
    "restricted:approve": {},
    "retention:run": {"admin": "all"},
    "legacy:report": {"auditor": "all", "admin": "all"},
    # Complaints and own-record requests: staff track them; the requester's contact details are audited.
    "complaints:manage": {"supervisor": "division", "admin": "all"},
    "complaints:read-contact": {"supervisor": "division", "admin": "all"},
    "own-records:export": {"admin": "all"},
    "audit:export": {"auditor": "all"},
    "rulesets:manage": {"admin": "all"},
    # Reports: analysts build them from the database; the board report (with officer-level results) is
    # read by staff who oversee the policy; the public sees only the suppressed publication (`public:read`).
    "reports:run": {"analyst": "all", "admin": "all"},
    "reports:read": {"supervisor": "all", "analyst": "all", "auditor": "all", "admin": "all"},
    # Publishing a built release is a second person's act: never the one who built it (publishing/).
    "reports:publish": {"analyst": "all", "admin": "all"},
    # Dispatch and camera events no record matched (events/): the division's supervisor acts on them,
    # the auditor may look; the officer sees only the events a supervisor asked them to record.
    "events:worklist": {"supervisor": "division", "auditor": "all"},
    "events:resolve": {"supervisor": "division"},
    "events:own": {"officer": "own"},
}

# Open to anyone, signed in or not: the published rules, receipt checks and the public dashboard.
PUBLIC: frozenset[str] = frozenset({"rulesets:read", "receipts:verify", "public:read", "complaints:file"})


def scope_of(role: str | None, permission: str) -> Scope | None:
    """The scope a role holds for a permission, or None when it is denied."""
    if permission in PUBLIC:
        return "all"
    if role is None:
        return None
    # A string that names no role finds no entry: denied, as it should be.
    return MATRIX.get(permission, {}).get(cast(Role, role))


def allowed(role: str | None, permission: str) -> bool:
    """Whether a role holds a permission at any scope."""
    return scope_of(role, permission) is not None
