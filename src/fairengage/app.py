"""The web application: JSON API, officer pages, public receipt checks and the public page."""

from __future__ import annotations

import importlib
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from asgi_csrf import asgi_csrf
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fairengage import __version__
from fairengage.access import logs, sealer, transparency
from fairengage.access.views import csrf_refused
from fairengage.config import Settings, get_settings
from fairengage.db import engine_for, session_factory
from fairengage.receipts import render as receipt_render
from fairengage.shipped import shipped
from fairengage.web import csrf, problems
from fairengage.web.deps import (
    PASSWORD_CHANGE_PATH,
    SECOND_FACTOR_SETUP_PATH,
    LoginRequired,
    PasswordChangeRequired,
    SecondFactorRequired,
)
from fairengage.web.pages_only import PagesOnly

STATIC = shipped("web", "static")

# Every module with a `router`, pages and API alike; a capability adds its modules here.
ROUTERS: tuple[str, ...] = (
    "fairengage.web.views",
    "fairengage.engagements.api",
    "fairengage.encounters.api",
    "fairengage.web.rulesets",
    "fairengage.access.views",
    "fairengage.access.oidc_views",
    "fairengage.access.totp_views",
    "fairengage.access.audit_views",
    "fairengage.access.admin_views",
    "fairengage.engagements.views",
    "fairengage.review.correction",
    "fairengage.encounters.views",
    "fairengage.engagements.offline",
    "fairengage.receipts.views",
    "fairengage.complaints.views",
    "fairengage.review.views",
    "fairengage.events.views",
    "fairengage.review.api",
    "fairengage.officers.api",
    "fairengage.retention.views",
    "fairengage.publishing.dashboard",
    "fairengage.publishing.views",
    "fairengage.access.transparency_views",
    "fairengage.cases.views",
    "fairengage.desk.views",
)

# No inline scripts or styles anywhere: pages work without JavaScript, and a strict CSP stops
# injected markup from running.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


# Answers that may be kept by browsers and shared caches: assets and the reports published to the public.
# Everything else is `no-store`: a signed-in page or an API answer may hold personal information, and a
# shared computer's back button or a proxy's disk must not keep it.
CACHEABLE_PREFIXES = ("/static/", "/public/files/")
HSTS = b"max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Adds security headers to every response; HSTS only when the request came over TLS.

    "Over TLS" is the ASGI scheme: https when uvicorn terminated TLS itself, or when a trusted proxy
    said so in X-Forwarded-Proto and uvicorn runs with --proxy-headers and --forwarded-allow-ips
    naming that proxy (docs/security.md).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"
        cacheable = scope["path"].startswith(CACHEABLE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": CSP.encode(),
                    b"x-frame-options": b"DENY",
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"same-origin",
                    b"cross-origin-opener-policy": b"same-origin",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=(), usb=()",
                }
                if not cacheable:
                    extra[b"cache-control"] = b"no-store"
                if secure:
                    extra[b"strict-transport-security"] = HSTS
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Size the worker threads, and seal audit entries while the app runs."""
    # Each request's database work runs on a worker thread. Many threads in one process mostly
    # queue for the interpreter lock (and burn CPU handing it over); a few keep the database busy.
    to_thread.current_default_thread_limiter().total_tokens = app.state.settings.worker_threads
    # The first receipt PDF after a start would otherwise wait for WeasyPrint to load.
    threading.Thread(target=receipt_render.warm_up, name="receipt-pdf-warm-up", daemon=True).start()
    async with sealer.sealing(app):
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for the given settings (the environment's by default)."""
    settings = settings or get_settings()
    # Refused in every mode: a debug server on a reachable port signs with the same key (docs/security.md).
    settings.require_strong_secret_key()
    app = FastAPI(
        title="FairEngage",
        version=__version__,
        description="Record community engagements under a bias-free-policing policy, and check receipts.",
        openapi_url="/openapi.json",
        # No browsable viewer: Swagger UI loads scripts from a CDN and runs an inline one, which the CSP
        # refuses (it would be a blank page), and third-party script on this origin could read its pages.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    logs.install()
    # asgi-csrf reads multipart forms with a parser argument python-multipart dropped, and compares
    # tokens in a way that raises on non-ASCII text (web/csrf.py).
    csrf.install()
    app.state.engine = engine_for(settings.database_url)
    app.state.sessions = session_factory(app.state.engine)
    # The audit journal's MAC key and the least size the log may have (access/transparency.py).
    transparency.bind(app.state.engine, settings)
    problems.install(app)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        ended = "&ended=1" if getattr(request.state, "session_ended", False) else ""
        return RedirectResponse(f"/login?next={request.url.path}{ended}", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _temporary_password(request: Request, exc: PasswordChangeRequired) -> Response:
        return RedirectResponse(PASSWORD_CHANGE_PATH, status_code=303)

    @app.exception_handler(SecondFactorRequired)
    async def _second_factor(request: Request, exc: SecondFactorRequired) -> Response:
        return RedirectResponse(SECOND_FACTOR_SETUP_PATH, status_code=303)

    for module in ROUTERS:
        app.include_router(importlib.import_module(module).router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # Added innermost first: security headers wrap CSRF, which wraps the session cookie. The JSON API
    # authenticates with bearer tokens, never cookies, so it cannot be forged cross-site and passes both.
    # The ignores: mypy cannot match a constructor taking **options to the ParamSpec of Starlette's
    # middleware factory protocol, whatever the options' type (a limit of the checker, not of PagesOnly).
    app.add_middleware(
        PagesOnly,  # type: ignore[arg-type]
        middleware=SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="fairengage_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )
    # The ignores: mypy cannot match a constructor taking **options to the ParamSpec of Starlette's
    # middleware factory protocol, whatever the options' type (a limit of the checker, not of PagesOnly).
    app.add_middleware(
        PagesOnly,  # type: ignore[arg-type]
        middleware=asgi_csrf,
        signing_secret=settings.secret_key.get_secret_value(),
        always_protect={"/login"},
        cookie_samesite="Lax",
        cookie_secure=settings.public_url.startswith("https://"),
        send_csrf_failed=csrf_refused,
    )
    # Outside CSRF, which reads whole form bodies, so that the size limit bounds that read too.
    from fairengage.web.limits import RequestLimits

    app.add_middleware(
        RequestLimits, max_body_bytes=settings.max_body_bytes, max_json_depth=settings.max_json_depth
    )
    app.add_middleware(SecurityHeaders)
    return app
