"""The web application: JSON API, officer pages, public receipt checks and the public page."""

from __future__ import annotations

import importlib
from pathlib import Path

from asgi_csrf import asgi_csrf
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from fairengage import __version__
from fairengage.config import Settings, get_settings
from fairengage.db import engine_for, session_factory
from fairengage.web import problems

STATIC = Path(__file__).parent / "web" / "static"

# Every module with a `router`, pages and API alike; a capability adds its modules here.
ROUTERS: tuple[str, ...] = (
    "fairengage.web.views",
    "fairengage.engagements.api",
    "fairengage.policy.api",
    "fairengage.access.views",
    "fairengage.access.audit_views",
    "fairengage.access.admin_views",
    "fairengage.engagements.views",
    "fairengage.receipts.views",
    "fairengage.complaints.views",
    "fairengage.review.views",
    "fairengage.retention.views",
    "fairengage.reports.dashboard",
    "fairengage.reports.analyst_views",
)

# No inline scripts or styles anywhere: pages work without JavaScript, and a strict CSP stops
# injected markup from running.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class SecurityHeaders:
    """Adds security headers to every response; HSTS only when the request came over TLS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": CSP.encode(),
                    b"x-frame-options": b"DENY",
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"same-origin",
                }
                if secure:
                    extra[b"strict-transport-security"] = b"max-age=31536000; includeSubDomains"
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for the given settings (the environment's by default)."""
    settings = settings or get_settings()
    if settings.using_insecure_key and not settings.debug:
        raise RuntimeError(
            "FAIRENGAGE_SECRET_KEY is not set: set a long random value (or run `fairengage demo`)"
        )
    app = FastAPI(
        title="FairEngage",
        version=__version__,
        description="Record community engagements under a bias-free-policing policy, and check receipts.",
        openapi_url="/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine_for(settings.database_url)
    app.state.sessions = session_factory(app.state.engine)
    problems.install(app)

    from fairengage.web.deps import LoginRequired

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    for module in ROUTERS:
        app.include_router(importlib.import_module(module).router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # Added innermost first: security headers wrap CSRF, which wraps the session cookie.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="fairengage_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )
    app.add_middleware(
        asgi_csrf,  # type: ignore[arg-type]
        signing_secret=settings.secret_key.get_secret_value(),
        always_protect={"/login"},
        # The JSON API authenticates with bearer tokens, never cookies, so it cannot be forged cross-site.
        skip_if_scope=lambda scope: scope["path"].startswith("/api/"),
        cookie_samesite="Lax",
    )
    app.add_middleware(SecurityHeaders)
    return app
