"""Pages of the second factor: the sign-in step that asks for the code, setting it up, and its reset."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, Request
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fairengage.access import audit, throttle, totp
from fairengage.access import service as access
from fairengage.access.audit_views import require
from fairengage.access.models import User
from fairengage.access.principal import Principal
from fairengage.access.views import PENDING_KEY, SECOND_FACTOR_PATH, complete_sign_in
from fairengage.web.deps import (
    SECOND_FACTOR_SETUP_PATH,
    DbSession,
    PagePrincipal,
    settings_of,
)
from fairengage.web.i18n import N_
from fairengage.web.templating import render

router = APIRouter(include_in_schema=False)

# The code must follow the password within this many seconds, or the sign-in starts again.
PENDING_MAX_AGE = 5 * 60


def _pending(request: Request, session: Session) -> tuple[User, str] | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_MAX_AGE:
        request.session.pop(PENDING_KEY, None)
        return None
    user = session.get(User, pending.get("uid"))
    if user is None or not user.active or not totp.enrolled(user):
        return None
    return user, str(pending.get("next") or "")


@router.get(SECOND_FACTOR_PATH, response_model=None)
def code_page(request: Request, session: DbSession) -> Response:
    """The sign-in step after the password: the code from the app, or a recovery code."""
    if _pending(request, session) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "login_code.html", {"error": None})


@router.post(SECOND_FACTOR_PATH, response_model=None)
def check_code(
    request: Request, session: DbSession, code: Annotated[str, Form(max_length=40)] = ""
) -> Response:
    """Accept the code and start the session; a wrong code counts as a failed sign-in."""
    pending = _pending(request, session)
    if pending is None:
        return RedirectResponse("/login", status_code=303)
    user, next = pending
    settings = settings_of(request)
    now = datetime.now(UTC)
    client = request.client.host if request.client else "unknown"
    if throttle.paused(session=session, settings=settings, username=user.username, client=client, now=now):
        request.session.pop(PENDING_KEY, None)
        return RedirectResponse("/login", status_code=303)
    kind = totp.verify(session=session, user=user, code=code, now=now, key=settings.secret)
    if kind is None:
        audit.append(
            session,
            actor="anonymous",
            action="login.failed",
            entity="user",
            entity_id=user.username,
            purpose="sign-in",
            details={"step": "second factor"},
        )
        throttle.record_failure(
            session=session, settings=settings, username=user.username, client=client, now=now
        )
        return render(request, "login_code.html", {"error": True}, status_code=401)
    request.session.pop(PENDING_KEY, None)
    details: dict[str, object] = {"second_factor": kind}
    if kind == "recovery":
        details["recovery_codes_left"] = totp.remaining_recovery_codes(session=session, user=user)
    return complete_sign_in(request, session, user, now=now, next=next, via="password+totp", details=details)


def _qr_svg(uri: str) -> Markup:
    # Inline SVG: the page's CSP allows no inline script, and an SVG of rects needs none.
    svg = segno.make_qr(uri, error="m").svg_inline(scale=5, omitsize=True, title="QR")
    return Markup(svg)  # noqa: S704  # nosec B704 # segno's own markup of our own otpauth URI


@router.get(SECOND_FACTOR_SETUP_PATH, response_class=HTMLResponse)
def setup_page(request: Request, principal: PagePrincipal, session: DbSession) -> HTMLResponse:
    """Set up the second factor (a QR code for the app), or see that it is set up."""
    return _setup(request, session, principal)


def _setup(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    error: bool = False,
    codes: list[str] | None = None,
) -> HTMLResponse:
    user = access.get_or_raise(session=session, username=principal.username)
    context: dict[str, object] = {
        "enrolled": totp.enrolled(user),
        "required": totp.required(settings_of(request), user),
        "error": error,
        "codes": codes,
    }
    if totp.enrolled(user):
        context["left"] = totp.remaining_recovery_codes(session=session, user=user)
    else:
        key = settings_of(request).secret
        # An unconfirmed secret that no longer opens (the secret key changed) is replaced like a missing one.
        secret = totp.secret_of(user, key) or totp.begin(session=session, user=user, key=key)
        uri = totp.provisioning_uri(user, settings_of(request).service_name, key)
        context.update(qr=_qr_svg(uri), secret=secret)
    return render(request, "account_second_factor.html", context, status_code=422 if error else 200)


@router.post(SECOND_FACTOR_SETUP_PATH, response_model=None)
def confirm(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Confirm the app with its first code; the recovery codes are shown in this answer, once."""
    user = access.get_or_raise(session=session, username=principal.username)
    if totp.enrolled(user):
        return RedirectResponse(SECOND_FACTOR_SETUP_PATH, status_code=303)
    codes = totp.confirm(
        session=session, user=user, code=code, now=datetime.now(UTC), key=settings_of(request).secret
    )
    if codes is None:
        return _setup(request, session, principal, error=True)
    # Shown in this answer, not after a redirect: never kept in the cookie or anywhere else in clear.
    return _setup(request, session, principal, codes=codes)


@router.post("/admin/users/{username}/second-factor", response_model=None)
def reset(
    username: str,
    request: Request,
    principal: Annotated[Principal, Depends(require("users:manage"))],
    session: DbSession,
) -> Response:
    """Remove a user's second factor (a lost phone); they set up a new one at their next sign-in."""
    user = access.get_or_raise(session=session, username=username)
    totp.reset(session=session, user=user, actor=principal.username)
    request.session["notice"] = {
        "msgid": N_(
            "The second factor of %(name)s was removed: they set up a new one when they next sign in."
        ),
        "values": {"name": username},
    }
    return RedirectResponse(f"/admin/users#user-{username}", status_code=303)
