"""Administrator pages: users and roles, officers and their training, and the rule sets in use.

Every change goes through a service that writes its audit entry in the same transaction. No page here
shows or ranks how many engagements an officer made: counts per officer invite quotas, which the
policy forbids, and officer benchmarking belongs to the pseudonymised analytics, not to administration.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fairengage import policy
from fairengage.access import password_policy
from fairengage.access import service as access
from fairengage.access.audit_views import require
from fairengage.access.permissions import ROLES
from fairengage.access.principal import Principal
from fairengage.access.views import FieldMessage, password_errors
from fairengage.errors import Conflict, DomainError, NotFound, RecordRefused
from fairengage.officers import service as officers
from fairengage.officers.models import Officer
from fairengage.policy.checks import training_valid_until
from fairengage.web.deps import DbSession, settings_of
from fairengage.web.i18n import N_
from fairengage.web.params import PageNumber
from fairengage.web.templating import render

router = APIRouter(include_in_schema=False)

# Officers whose training lapses within this many days are listed first, with a warning, so that
# refresher training can be booked before the training gate (O. Reg. 58/16 s.11) stops their records.
EXPIRY_WARNING_DAYS = 60
USERNAME = re.compile(r"^[A-Za-z0-9._-]{1,80}$")

ROLE_LABELS = {
    "officer": N_("Officer"),
    "supervisor": N_("Supervisor"),
    "analyst": N_("Analyst"),
    "auditor": N_("Auditor"),
    "admin": N_("Administrator"),
}

# A message is a catalogue id, or a catalogue id with the values for its placeholders.
Message = FieldMessage
Errors = dict[str, list[Message]]


def _done(request: Request, location: str, msgid: str, **values: Any) -> RedirectResponse:
    """Go to `location` (303), which says what was done: once, as the page after a redirect."""
    # The notice travels in the signed session cookie, readable by its holder: never a secret in it.
    request.session["notice"] = {"msgid": msgid, "values": values}
    return RedirectResponse(location, status_code=303)


def _take_flash(request: Request) -> dict[str, Any] | None:
    notice: dict[str, Any] | None = request.session.pop("notice", None)
    return notice


def _today(request: Request) -> date:
    return datetime.now(settings_of(request).tz).date()


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------- users


def _users_page(
    request: Request,
    session: Session,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    row_errors: Errors | None = None,
    status_code: int = 200,
    reset: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "admin_users.html",
        {
            "users": access.list_users(session=session),
            "roles": [(role, ROLE_LABELS[role]) for role in ROLES],
            "role_labels": ROLE_LABELS,
            "divisions": officers.division_codes(session=session),
            "errors": errors or {},
            "v": values or {},
            "row_errors": row_errors or {},
            "notice": _take_flash(request),
            "min_password": settings_of(request).password_min_length,
            "reset": reset,
        },
        status_code=status_code,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request, principal: Annotated[Principal, Depends(require("users:manage"))], session: DbSession
) -> HTMLResponse:
    """Every user with role, linked badge, division and whether active; forms to add and change them."""
    return _users_page(request, session)


def _check_new_user(session: Session, values: dict[str, str], password: str, min_length: int) -> Errors:
    errors: Errors = {}
    if not values["username"]:
        errors["username"] = [N_("Enter a username.")]
    elif not USERNAME.match(values["username"]):
        errors["username"] = [N_("Use only letters, digits, dots, dashes and underscores (at most 80).")]
    if values["role"] not in ROLES:
        errors["role"] = [N_("Choose a role.")]
    if values["badge"] and officers.get(session=session, badge=values["badge"]) is None:
        errors["badge"] = [N_("No officer has this badge. Add the officer first.")]
    if values["division"] and not officers.division_exists(session=session, code=values["division"]):
        errors["division"] = [N_("Choose one of the service's divisions.")]
    refused = password_policy.problems(password, username=values["username"], min_length=min_length)
    if refused:
        errors.update(password_errors(RecordRefused("password", refused), min_length))
    return errors


# Service refusals, by the field and rule they name, as the sentence shown beside the field.
REFUSALS = {
    ("badge", "VALID-BADGE"): N_("An officer's account needs the badge of an officer on the officers page."),
    ("division", "VALID-DIVISION"): N_("A supervisor needs a division, or the badge of an officer in one."),
    ("role", "VALID-ROLE"): N_("Choose a role."),
    ("role", "VALID-BADGE"): N_("Only a user linked to an officer's badge can have the officer role."),
    ("role", "VALID-DIVISION"): N_("Only a user with a division can be a supervisor."),
    ("username", "NOT-SELF"): N_("You cannot change your own role or deactivate yourself."),
    ("role", "SEPARATE-DUTIES"): N_(
        "This user holds the chief's delegation to approve restricted reads, and an approver may not also "
        "administer users. The chief must withdraw the delegation first."
    ),
    ("username", "ACTIVE"): N_("Reactivate the user before resetting their password."),
}


def _refusal_errors(exc: DomainError) -> Errors:
    errors: Errors = {}
    for error in exc.errors:
        text = REFUSALS.get((error.field, error.rule), N_("This change breaks a rule."))
        errors.setdefault(error.field, []).append(text)
    return errors or {"form": [N_("This change breaks a rule.")]}


@router.post("/admin/users", response_model=None)
def add_user(
    request: Request,
    principal: Annotated[Principal, Depends(require("users:manage"))],
    session: DbSession,
    username: str = Form(""),
    role: str = Form(""),
    badge: str = Form(""),
    division: str = Form(""),
    password: str = Form(""),
) -> Response:
    """Add a user with an initial password; an officer's account is linked to their badge."""
    values = {
        "username": username.strip(),
        "role": role,
        "badge": badge.strip(),
        "division": division.strip(),
    }
    min_length = settings_of(request).password_min_length
    errors = _check_new_user(session, values, password, min_length)
    if not errors:
        try:
            access.add_user(
                session=session,
                username=values["username"],
                role=values["role"],
                password=password,
                badge=values["badge"] or None,
                division=values["division"] or None,
                actor=principal.username,
                min_length=min_length,
            )
        except Conflict:
            errors = {"username": [N_("A user with this name already exists.")]}
        except RecordRefused as exc:
            errors = _refusal_errors(exc)
    if errors:
        session.rollback()
        return _users_page(request, session, errors=errors, values=values, status_code=422)
    return _done(request, "/admin/users", N_("User %(name)s added."), name=values["username"])


@router.post("/admin/users/{username}/role", response_model=None)
def change_role(
    username: str,
    request: Request,
    principal: Annotated[Principal, Depends(require("users:manage"))],
    session: DbSession,
    role: str = Form(""),
) -> Response:
    """Give a user another role."""
    try:
        access.set_role(session=session, username=username, role=role, actor=principal.username)
    except RecordRefused as exc:
        session.rollback()
        messages = [m for ms in _refusal_errors(exc).values() for m in ms]
        return _users_page(request, session, row_errors={f"role-{username}": messages}, status_code=422)
    return _done(
        request, f"/admin/users#user-{username}", N_("The role of %(name)s was changed."), name=username
    )


@router.post("/admin/users/{username}/active", response_model=None)
def change_active(
    username: str,
    request: Request,
    principal: Annotated[Principal, Depends(require("users:manage"))],
    session: DbSession,
    active: str = Form(""),
) -> Response:
    """Deactivate a user (no sign-in, tokens revoked) or reactivate them."""
    if active not in ("true", "false"):
        raise RecordRefused("active must be true or false")
    turn_on = active == "true"
    try:
        access.set_active(session=session, username=username, active=turn_on, actor=principal.username)
    except RecordRefused as exc:
        session.rollback()
        messages = [m for ms in _refusal_errors(exc).values() for m in ms]
        return _users_page(request, session, row_errors={f"active-{username}": messages}, status_code=422)
    if turn_on:
        message = N_("%(name)s was reactivated. Their earlier API tokens stay revoked.")
    else:
        message = N_("%(name)s was deactivated: they can no longer sign in or use API tokens.")
    return _done(request, f"/admin/users#user-{username}", message, name=username)


@router.post("/admin/users/{username}/password", response_model=None)
def reset_password(
    username: str,
    request: Request,
    principal: Annotated[Principal, Depends(require("users:manage"))],
    session: DbSession,
) -> Response:
    """Give a user a new temporary password, shown once on this page, and end their sessions."""
    if username == principal.username:
        # An administrator changes their own password on the account page, with the current one.
        messages: list[Message] = [N_("Change your own password on the Change password page.")]
        return _users_page(request, session, row_errors={f"reset-{username}": messages}, status_code=422)
    try:
        password = access.reset_password(session=session, username=username, actor=principal.username)
    except RecordRefused as exc:
        session.rollback()
        messages = [m for ms in _refusal_errors(exc).values() for m in ms]
        return _users_page(request, session, row_errors={f"reset-{username}": messages}, status_code=422)
    # Shown in this answer, not after a redirect: the flash notice travels in a signed but readable cookie.
    return _users_page(request, session, reset={"username": username, "password": password})


# ------------------------------------------------------------------------------------------- officers


@dataclass(frozen=True)
class TrainingStanding:
    """An officer's training as the administrator needs it: last completion, the last day it counts."""

    badge: str
    name: str
    division: str
    last_trained_on: date | None
    valid_until: date | None
    days_left: int | None

    @property
    def state(self) -> str:
        """`none` (never trained), `expired`, `expiring` (within the warning window) or `current`."""
        if self.days_left is None:
            return "none"
        if self.days_left < 0:
            return "expired"
        return "expiring" if self.days_left <= EXPIRY_WARNING_DAYS else "current"

    @property
    def warn(self) -> bool:
        """True when the officer cannot record now, or will not be able to within the warning window."""
        return self.state != "current"


def training_standings(roster: list[Officer], *, today: date, months: int) -> list[TrainingStanding]:
    """Each officer's standing; those untrained, expired or expiring first, soonest lapse first."""
    standings = []
    for officer in roster:
        last = officer.last_trained_on
        until = training_valid_until(last, months) if last else None
        standings.append(
            TrainingStanding(
                badge=officer.badge,
                name=officer.name,
                division=officer.division_code,
                last_trained_on=last,
                valid_until=until,
                days_left=(until - today).days if until else None,
            )
        )
    return sorted(standings, key=lambda s: (not s.warn, s.valid_until or date.min, s.badge))


def _officers_page(
    request: Request,
    session: Session,
    *,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    row_errors: Errors | None = None,
    status_code: int = 200,
    q: str = "",
    page: int = 1,
) -> HTMLResponse:
    today = _today(request)
    try:
        ruleset: policy.RuleSet | None = policy.ruleset_in_force(today)
    except policy.NoRuleSetInForce:
        ruleset = None
    roster = officers.list_officers(session=session)
    months = int(ruleset.param("training_months")) if ruleset else None
    standings = (
        training_standings(roster, today=today, months=months)
        if months is not None
        else [
            TrainingStanding(o.badge, o.name, o.division_code, o.last_trained_on, None, None) for o in roster
        ]
    )
    found = [s for s in standings if _matches(s, q)]
    pages = max(1, -(-len(found) // OFFICERS_PER_PAGE))
    page = min(max(page, 1), pages)
    shown = found[(page - 1) * OFFICERS_PER_PAGE : page * OFFICERS_PER_PAGE]
    return render(
        request,
        "admin_officers.html",
        {
            "standings": shown,
            "found": len(found),
            "everyone": len(standings),
            "q": q,
            "page": page,
            "pages": pages,
            "query": urlencode({"q": q} if q else {}),
            "ruleset": ruleset,
            "months": months,
            "warning_days": EXPIRY_WARNING_DAYS,
            "today": today,
            "divisions": officers.division_codes(session=session),
            "errors": errors or {},
            "v": values or {},
            "row_errors": row_errors or {},
            "notice": _take_flash(request),
        },
        status_code=status_code,
    )


# A page of officers: a service of 400 once got every one of them as a form on one page (~133,000 px).
OFFICERS_PER_PAGE = 25


def _matches(standing: TrainingStanding, q: str) -> bool:
    """A badge, name or division containing the search words, case and accents aside."""
    words = folded(q).split()
    text = folded(f"{standing.badge} {standing.name} {standing.division}")
    return all(word in text for word in words)


def folded(text: str) -> str:
    """Lower case without accents, so that "Cote" finds "Côté"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@router.get("/admin/officers", response_class=HTMLResponse)
def officers_page(
    request: Request,
    principal: Annotated[Principal, Depends(require("officers:manage"))],
    session: DbSession,
    q: Annotated[str, Query(max_length=100)] = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    """Officers with their training, lapsing soonest first; searchable by badge, name or division, by page."""
    return _officers_page(request, session, q=q.strip(), page=page)


def _training_day(text: str, today: date, *, required: bool) -> tuple[date | None, list[Message]]:
    if not text.strip():
        return None, [N_("Enter the date the training was completed.")] if required else []
    day = _parse_day(text)
    if day is None:
        return None, [N_("Enter a date as YYYY-MM-DD, for example 2026-03-31.")]
    if day > today:
        return None, [N_("The training date cannot be in the future.")]
    return day, []


@router.post("/admin/officers", response_model=None)
def add_officer(
    request: Request,
    principal: Annotated[Principal, Depends(require("officers:manage"))],
    session: DbSession,
    badge: str = Form(""),
    name: str = Form(""),
    division: str = Form(""),
    trained_on: str = Form(""),
) -> Response:
    """Add an officer, with a first training completion when given."""
    values = {
        "badge": badge.strip(),
        "name": name.strip(),
        "division": division.strip(),
        "trained_on": trained_on,
    }
    errors: Errors = {}
    if not values["badge"] or len(values["badge"]) > 32:
        errors["badge"] = [N_("Enter the badge number (at most 32 characters).")]
    if not values["name"] or len(values["name"]) > 200:
        errors["name"] = [N_("Enter the officer's name (at most 200 characters).")]
    if not officers.division_exists(session=session, code=values["division"]):
        errors["division"] = [N_("Choose one of the service's divisions.")]
    day, day_errors = _training_day(trained_on, _today(request), required=False)
    if day_errors:
        errors["trained_on"] = day_errors
    if not errors:
        try:
            officers.add(
                session=session,
                badge=values["badge"],
                name=values["name"],
                division=values["division"],
                trained_on=day,
                actor=principal.username,
            )
        except Conflict:
            errors = {"badge": [N_("An officer with this badge already exists.")]}
    if errors:
        session.rollback()
        return _officers_page(request, session, errors=errors, values=values, status_code=422)
    return _done(request, "/admin/officers", N_("Officer %(badge)s added."), badge=values["badge"])


@router.post("/admin/officers/{badge}/training", response_model=None)
def record_training(
    badge: str,
    request: Request,
    principal: Annotated[Principal, Depends(require("officers:manage"))],
    session: DbSession,
    completed_on: str = Form(""),
) -> Response:
    """Record a completion of the prescribed training (O. Reg. 58/16 s.11)."""
    if officers.get(session=session, badge=badge) is None:
        raise NotFound(f"no officer with badge {badge}")
    day, day_errors = _training_day(completed_on, _today(request), required=True)
    if day is None:
        return _officers_page(
            request, session, row_errors={f"completed_on-{badge}": day_errors}, status_code=422, q=badge
        )
    officers.record_training(session=session, badge=badge, on=day, actor=principal.username)
    # Back to that officer: searched for by badge, so that the right page of the roster is shown.
    return _done(
        request,
        f"/admin/officers?{urlencode({'q': badge})}#officer-{badge}",
        N_("Training on %(day)s recorded for %(badge)s."),
        day=day.isoformat(),
        badge=badge,
    )


# ------------------------------------------------------------------------------------------ rule sets


@router.get("/admin/rulesets", response_class=HTMLResponse)
def rulesets_page(
    request: Request, principal: Principal = Depends(require("rulesets:manage"))
) -> HTMLResponse:
    """Every rule set with its dates, the one in force today, and its published JSON; read-only."""
    today = _today(request)
    rulesets = policy.load_rulesets()
    return render(
        request,
        "admin_rulesets.html",
        {"rulesets": rulesets, "today": today, "in_force": {r.id for r in rulesets if r.covers(today)}},
    )
