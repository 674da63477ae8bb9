"""Pages of single sign-on: the start of a sign-in through the provider, and the provider's answer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from fairengage.access import audit, oidc
from fairengage.access.views import complete_sign_in, safe_next
from fairengage.web.deps import DbSession, settings_of
from fairengage.web.templating import render

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


def _refused(request: Request, status_code: int = 401) -> Response:
    # The page says only that it did not work and what to do; the reason is in the audit log.
    return render(
        request, "login.html", {"next": "", "error": None, "sso_error": True}, status_code=status_code
    )


@router.get("/login/sso", response_model=None)
def start(request: Request, next: str | None = Query(None, max_length=500)) -> Response:
    """Send the browser to the identity provider to sign in."""
    settings = settings_of(request)
    if not oidc.enabled(settings):
        return render(request, "error.html", {"title": "Not found", "detail": ""}, status_code=404)
    try:
        return RedirectResponse(
            oidc.authorization_url(request, settings, safe_next(next) or ""), status_code=303
        )
    except oidc.SsoRefused as exc:
        log.warning("single sign-on unavailable: %s", exc)
        return _refused(request, status_code=503)


@router.get(oidc.CALLBACK_PATH, response_model=None)
def callback(
    request: Request,
    session: DbSession,
    code: str | None = Query(None, max_length=2000),
    state: str | None = Query(None, max_length=200),
    error: str | None = Query(None, max_length=200),
) -> Response:
    """Check the provider's answer and the ID token it leads to, and sign the linked account in."""
    settings = settings_of(request)
    if not oidc.enabled(settings):
        return render(request, "error.html", {"title": "Not found", "detail": ""}, status_code=404)
    claims: dict[str, object] = {}
    try:
        flow = oidc.take_flow(request, state or "")
        if error or not code:
            raise oidc.SsoRefused("provider-error", error or "no code")
        id_token = oidc.exchange(settings, code, flow["verifier"])
        claims = oidc.validate(settings, id_token, flow["nonce"])
        user, linked_now = oidc.link_user(session=session, settings=settings, claims=claims)
    except oidc.SsoRefused as exc:
        session.rollback()
        log.warning("single sign-on refused: %s", exc)
        username = claims.get(settings.oidc_username_claim)
        audit.append(
            session,
            actor="anonymous",
            action="login.failed",
            entity="user",
            entity_id=username[:64] if isinstance(username, str) else None,
            purpose="sign-in",
            details={"via": "sso", "reason": exc.reason},
        )
        return _refused(request)
    if linked_now:
        audit.append(
            session,
            actor=user.username,
            action="sso.link",
            entity="user",
            entity_id=user.username,
            purpose="sign-in",
            details={"issuer": settings.oidc_issuer},
        )
    return complete_sign_in(
        request, session, user, now=datetime.now(UTC), next=str(flow.get("next") or ""), via="sso"
    )
