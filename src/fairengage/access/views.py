"""Sign-in and sign-out pages for staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fairengage.access import audit
from fairengage.access import service as access
from fairengage.access.principal import Principal
from fairengage.web.deps import db_session, optional_page_principal
from fairengage.web.templating import render

router = APIRouter(include_in_schema=False)

HOME_BY_ROLE = {"officer": "/engagements/new", "supervisor": "/engagements"}


def safe_next(target: str | None) -> str | None:
    """Only same-site paths, so the login page cannot be used to send people elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, next: str | None = None, principal: Principal | None = Depends(optional_page_principal)
) -> HTMLResponse:
    """The sign-in form."""
    return render(request, "login.html", {"next": safe_next(next) or "", "error": None})


@router.post("/login", response_model=None)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=500)] = "",
    session: Session = Depends(db_session),
) -> Response:
    """Check the password, start a fresh session and go where the user was heading."""
    user = access.authenticate_password(session=session, username=username.strip(), password=password)
    if user is None:
        # Name the account only when it exists: people type passwords into the username field.
        known = access.get(session=session, username=username.strip())
        audit.append(
            session,
            actor="anonymous",
            action="login.failed",
            entity="user",
            entity_id=known.username if known else None,
            purpose="sign-in",
        )
        return render(request, "login.html", {"next": safe_next(next) or "", "error": True}, status_code=401)
    # A new session on sign-in: nothing from before it carries over (session fixation).
    request.session.clear()
    request.session["uid"] = user.id
    audit.append(
        session,
        actor=user.username,
        action="login",
        entity="user",
        entity_id=user.username,
        purpose="sign-in",
    )
    return RedirectResponse(safe_next(next) or HOME_BY_ROLE.get(user.role, "/"), status_code=303)


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    """End the session."""
    request.session.clear()
    return RedirectResponse("/", status_code=303)
