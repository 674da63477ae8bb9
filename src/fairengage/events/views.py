"""Pages: the supervisor's worklist of unmatched events and its actions; the officer's events to record."""

from __future__ import annotations

from datetime import tzinfo
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fairengage.access.permissions import scope_of
from fairengage.access.principal import Principal
from fairengage.errors import Conflict, DomainError, Forbidden, NotFound
from fairengage.events import service
from fairengage.events.models import ExternalEvent
from fairengage.web.deps import DbSession, FormChoice, FormText, PagePrincipal, settings_of
from fairengage.web.i18n import pick_language, translations
from fairengage.web.params import Offset, RowId
from fairengage.web.templating import local_clock, render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    principal: Principal,
    session: Session,
    offset: int = 0,
    errors: dict[int, dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    listed = service.worklist(session=session, principal=principal, offset=offset)
    return render(
        request,
        "events_worklist.html",
        {
            "items": listed.items,
            "total": listed.total,
            "offset": offset,
            "limit": service.PAGE,
            "local": local_clock(settings_of(request).tz),
            "can_resolve": scope_of(principal.role, "events:resolve") is not None,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/events", response_class=HTMLResponse)
def events_worklist(
    request: Request, principal: PagePrincipal, session: DbSession, offset: Offset = 0
) -> HTMLResponse:
    """Events no engagement record matched, in the supervisor's division, oldest first."""
    return _page(request, principal, session, offset)


@router.post("/events/{event_id}/resolve", response_model=None)
def events_resolve(
    event_id: RowId,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    action: FormChoice = "",
    reason: FormText = "",
) -> Response:
    """Ask the officer to record it, mark it as not an engagement, or escalate it (each with its reason)."""
    try:
        service.resolve(session=session, principal=principal, event_id=event_id, action=action, reason=reason)
    except (Forbidden, NotFound, Conflict):
        raise
    except DomainError as exc:
        session.rollback()
        words = translations(pick_language(request)).gettext
        errors = {event_id: {e.field: words(e.message) for e in exc.errors}}
        return _page(request, principal, session, errors=errors, status_code=422)
    return RedirectResponse(f"/events?done={action}", status_code=303)


def form_link(event: ExternalEvent, tz: tzinfo) -> str:
    """The recording form, opened with the event's time, division and position filled in."""
    values = {
        "occurred_at": event.occurred_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        "division": event.division_code,
    }
    if event.lat is not None and event.lon is not None:
        values |= {"lat": repr(event.lat), "lon": repr(event.lon)}
    return "/engagements/new?" + urlencode(values)


@router.get("/events/mine", response_class=HTMLResponse)
def events_mine(request: Request, principal: PagePrincipal, session: DbSession) -> HTMLResponse:
    """The officer's events a supervisor asked them to record, each with the form opened for it."""
    tz = settings_of(request).tz
    items = service.mine(session=session, principal=principal)
    return render(
        request,
        "events_mine.html",
        {"items": [(e, form_link(e, tz)) for e in items], "local": local_clock(tz)},
    )
