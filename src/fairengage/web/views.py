"""Start page, health checks and the first public page."""

from __future__ import annotations

from typing import Any

from babel.numbers import format_decimal, format_percent
from fastapi import APIRouter, Depends, Request
from sqlalchemy import text
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, JSONResponse

from fairengage.access.principal import Principal
from fairengage.engagements import statistics
from fairengage.policy import ruleset_in_force
from fairengage.web.deps import db_session, optional_page_principal, settings_of
from fairengage.web.i18n import pick_language
from fairengage.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers."""
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means not ready
        return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: Principal | None = Depends(optional_page_principal)) -> HTMLResponse:
    """The start page, pointing each kind of visitor to what they came for."""
    return render(request, "home.html")


@router.get("/public", response_class=HTMLResponse)
def public(
    request: Request,
    session: Session = Depends(db_session),
    principal: Principal | None = Depends(optional_page_principal),
) -> HTMLResponse:
    """Engagement totals for the public, small counts suppressed."""
    settings = settings_of(request)
    lang = pick_language(request)
    today = statistics.local_today(settings)
    threshold = int(ruleset_in_force(today).param("suppression_threshold"))
    figures = statistics.public_totals(session=session, tz=settings.timezone, threshold=threshold)

    def fmt(value: int | None) -> str:
        return "—" if value is None else format_decimal(value, locale=lang)

    def pct(part: int | None, whole: int | None) -> str:
        if not whole or part is None:
            return "—"
        return format_percent(part / whole, locale=lang, format="#,##0.0%")

    context: dict[str, Any] = {**figures, "threshold": threshold, "fmt": fmt, "pct": pct}
    return render(request, "public.html", context, lang=lang)
