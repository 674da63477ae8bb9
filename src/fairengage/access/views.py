"""Sign-in and sign-out pages for staff, and the page a form refused for its CSRF token gets."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Message, Scope, Send

from fairengage.access import audit, oidc, password_policy, sessions, throttle, totp
from fairengage.access import service as access
from fairengage.access.models import User
from fairengage.access.principal import Principal
from fairengage.errors import RecordRefused
from fairengage.web.deps import (
    PASSWORD_CHANGE_PATH,
    DbSession,
    PagePrincipal,
    optional_page_principal,
    settings_of,
)
from fairengage.web.i18n import N_, pick_language, translations
from fairengage.web.templating import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

# Where each role lands after signing in: an officer on the form, every other role on its desk.
HOME_BY_ROLE = {
    "officer": "/engagements/new",
    "supervisor": "/desk",
    "analyst": "/desk",
    "auditor": "/desk",
    "admin": "/desk",
}


def safe_next(target: str | None) -> str | None:
    """Only same-site paths, so the login page cannot be used to send people elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    next: str | None = None,
    ended: str | None = None,
    principal: Principal | None = Depends(optional_page_principal),
) -> HTMLResponse:
    """The sign-in form; it says so when the visitor's session has just ended."""
    context = {"next": safe_next(next) or "", "error": None, "ended": ended == "1"}
    return render(request, "login.html", context)


@router.post("/login", response_model=None)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=1000)],
    session: DbSession,
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Check the password, start a fresh session and go where the user was heading."""
    settings = settings_of(request)
    now = datetime.now(UTC)
    name = username.strip()
    client = request.client.host if request.client else "unknown"
    pause = throttle.paused(session=session, settings=settings, username=name, client=client, now=now)
    if pause is not None:
        # The password is not even looked at while paused, so the answer says nothing about it.
        log.warning("sign-in refused: too many failed sign-ins for this %s", pause.scope)
        return _paused_page(request, pause, next)
    user = access.authenticate_password(session=session, username=name, password=password)
    if user is None:
        # Name the account only when it exists: people type passwords into the username field.
        known = access.get(session=session, username=name)
        audit.append(
            session,
            actor="anonymous",
            action="login.failed",
            entity="user",
            entity_id=known.username if known else None,
            purpose="sign-in",
        )
        started = throttle.record_failure(
            session=session, settings=settings, username=name, client=client, now=now
        )
        if started is not None:
            # One entry when a pause starts, not one per refused attempt, so that hammering the form
            # cannot flood the audit log; the address is named only for a pause of the address.
            audit.append(
                session,
                actor="anonymous",
                action="login.throttled",
                entity="user",
                entity_id=known.username if known else None,
                purpose="sign-in",
                details={
                    "scope": started.scope,
                    "until": started.until.isoformat(),
                    **({"client": client} if started.scope == "client" else {}),
                },
            )
        return render(request, "login.html", {"next": safe_next(next) or "", "error": True}, status_code=401)
    throttle.clear_account(session=session, settings=settings, username=name)
    if totp.enrolled(user):
        # The password was right; the session starts only once the second factor is too. The cookie
        # carries who is half-way and since when, signed, so that the step cannot be skipped or kept open.
        request.session[PENDING_KEY] = {"uid": user.id, "at": now.timestamp(), "next": safe_next(next) or ""}
        return RedirectResponse(SECOND_FACTOR_PATH, status_code=303)
    return complete_sign_in(request, session, user, now=now, next=next, via="password")


# The sign-in step that asks for the second factor, and the key under which the half-done sign-in waits.
SECOND_FACTOR_PATH = "/login/code"
PENDING_KEY = "pending_2fa"


def complete_sign_in(
    request: Request,
    session: Session,
    user: User,
    *,
    now: datetime,
    next: str,
    via: str,
    details: dict[str, object] | None = None,
) -> Response:
    """Start a fresh session for a user who has proved who they are, and go where they were heading."""
    settings = settings_of(request)
    # A new session on sign-in: nothing from before it carries over (session fixation), and a session
    # this browser held before is ended, not merely forgotten.
    previous = request.session.get(sessions.COOKIE_KEY)
    if isinstance(previous, str):
        sessions.end(session=session, token=previous, now=now, reason="replaced")
    sessions.prune(session=session, settings=settings, now=now)
    request.session.clear()
    request.session[sessions.COOKIE_KEY] = sessions.start(session=session, user=user, now=now)
    # How the session was started: one signed in through the identity provider got its second factor there.
    request.session["via"] = via
    audit.append(
        session,
        actor=user.username,
        action="login",
        entity="user",
        entity_id=user.username,
        purpose="sign-in",
        details={"via": via, **(details or {})},
    )
    if user.password_temporary:
        # Someone else set this password: the user chooses their own before anything else.
        return RedirectResponse(PASSWORD_CHANGE_PATH, status_code=303)
    return RedirectResponse(safe_next(next) or HOME_BY_ROLE.get(user.role, "/"), status_code=303)


def _paused_page(request: Request, pause: throttle.Pause, next: str) -> Response:
    until = pause.until.astimezone(settings_of(request).tz).strftime("%H:%M")
    response = render(
        request,
        "login.html",
        {"next": safe_next(next) or "", "error": None, "paused_until": until},
        status_code=429,
    )
    response.headers["Retry-After"] = str(pause.retry_after)
    return response


@router.post("/logout", response_model=None)
def logout(request: Request, session: DbSession) -> Response:
    """End the session on the server, so that a copy of the cookie is no use either.

    A session started through the identity provider is then ended there too, when the provider says
    where (its discovery document's end_session_endpoint), so that the next sign-in asks again.
    """
    token = request.session.get(sessions.COOKIE_KEY)
    provider_logout = oidc.end_session_url(request) if request.session.get("via") == "sso" else None
    ended = (
        sessions.end(session=session, token=token, now=datetime.now(UTC), reason="logout")
        if isinstance(token, str)
        else None
    )
    if ended is not None:
        audit.append(
            session,
            actor=ended.user.username,
            action="logout",
            entity="user",
            entity_id=ended.user.username,
            purpose="sign-out",
        )
    request.session.clear()
    if provider_logout:
        # A page with a link, not a redirect: the site's CSP (form-action 'self') stops a form's
        # redirect to another site, and signing out of the organisation's account is the user's call too.
        return render(request, "signed_out.html", {"provider_logout": provider_logout})
    return RedirectResponse("/", status_code=303)


# The policy's refusals as the sentence shown beside the field, by field and rule.
PASSWORD_REFUSALS = {
    ("current", "PASSWORD-CURRENT"): N_("The current password is not right."),
    ("password", password_policy.RULE_LENGTH): N_("The password needs at least %(n)s characters."),
    ("password", password_policy.RULE_USERNAME): N_("The password must not contain the username."),
    ("password", password_policy.RULE_COMMON): N_(
        "This password is on a list of common or breached passwords. Choose another."
    ),
    ("password", password_policy.RULE_SAME): N_("Choose a password other than your current one."),
}

# A message shown beside a field: its text, or its text and the values it names.
FieldMessage = str | tuple[str, dict[str, Any]]


def password_errors(exc: RecordRefused, min_length: int) -> dict[str, list[FieldMessage]]:
    """A policy refusal as the messages shown beside each field of a password form."""
    errors: dict[str, list[FieldMessage]] = {}
    for error in exc.errors:
        text = PASSWORD_REFUSALS.get((error.field, error.rule), N_("This change breaks a rule."))
        message = (text, {"n": min_length}) if error.rule == password_policy.RULE_LENGTH else text
        errors.setdefault(error.field, []).append(message)
    return errors


def _password_page(
    request: Request, *, errors: dict[str, list[FieldMessage]] | None = None, status_code: int = 200
) -> HTMLResponse:
    user = request.state.principal
    return render(
        request,
        "account_password.html",
        {
            "errors": errors or {},
            "min_length": settings_of(request).password_min_length,
            "temporary": _is_temporary(request, user),
            "done": request.session.pop("password_changed", False),
        },
        status_code=status_code,
    )


def _is_temporary(request: Request, principal: Principal) -> bool:
    with request.app.state.sessions() as session:
        user = access.get(session=session, username=principal.username)
        return bool(user and user.password_temporary)


@router.get(PASSWORD_CHANGE_PATH, response_class=HTMLResponse)
def password_page(request: Request, principal: PagePrincipal) -> HTMLResponse:
    """The form to change one's own password: the current one, and the new one twice."""
    return _password_page(request)


@router.post(PASSWORD_CHANGE_PATH, response_model=None)
def change_password(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    # Empty when missing, so that a form sent without a field gets the page's own messages.
    current: str = Form("", max_length=1000),
    password: str = Form("", max_length=1000),
    confirm: str = Form("", max_length=1000),
) -> Response:
    """Check the current password and the policy, store the new one and end the user's other sessions."""
    min_length = settings_of(request).password_min_length
    if password != confirm:
        errors: dict[str, list[FieldMessage]] = {"confirm": [N_("The two new passwords are not the same.")]}
        return _password_page(request, errors=errors, status_code=422)
    token = request.session.get(sessions.COOKIE_KEY)
    try:
        access.change_own_password(
            session=session,
            username=principal.username,
            current=current,
            new=password,
            min_length=min_length,
            keep_session=token if isinstance(token, str) else None,
        )
    except RecordRefused as exc:
        session.rollback()
        return _password_page(request, errors=password_errors(exc, min_length), status_code=422)
    request.session["password_changed"] = True
    return RedirectResponse(PASSWORD_CHANGE_PATH, status_code=303)


async def csrf_refused(scope: Scope, send: Send, reason: object) -> None:
    """asgi-csrf's refusal (403) as a page in the site's layout that says what to do, not its bare text."""
    request = Request(scope)
    lang = pick_language(request)
    detail = N_(
        "The form was old, or it was not sent from one of this service's pages. Nothing was changed. "
        "Go back, reload the page and send the form again."
    )
    response = render(
        request,
        "error.html",
        {"title": N_("This form could not be accepted"), "detail": translations(lang).gettext(detail)},
        status_code=403,
        lang=lang,
    )

    async def no_body() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    await response(scope, no_body, send)
