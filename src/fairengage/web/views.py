"""Start page and health checks; the public dashboard lives in publishing/dashboard.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import text
from starlette.responses import HTMLResponse, JSONResponse

from fairengage.access.principal import Principal
from fairengage.web.deps import optional_page_principal
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
