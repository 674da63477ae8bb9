"""The cases' pages: the list in the caller's scope, one case with its tests and records, the action form."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fairengage.access.permissions import scope_of
from fairengage.access.principal import Principal
from fairengage.cases import service
from fairengage.errors import FieldError, Forbidden, NotFound, RecordRefused
from fairengage.web.deps import DbSession, FormChoice, FormText, PagePrincipal, settings_of
from fairengage.web.i18n import pick_language, translations
from fairengage.web.params import RowId
from fairengage.web.templating import local_clock, render

router = APIRouter(include_in_schema=False)


def _today(request: Request) -> date:
    return datetime.now(settings_of(request).tz).date()


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    status: Annotated[str, Query(max_length=20)] = "open",
) -> HTMLResponse:
    """Intervention cases in the caller's scope, newest first: an agenda, never a ranking."""
    status = status if status in service.STATUSES else ""
    rows = service.cases(session=session, principal=principal, status=status or None)
    return render(
        request,
        "cases_list.html",
        {"rows": rows, "status": status, "local": local_clock(settings_of(request).tz)},
    )


def _case_page(
    request: Request,
    principal: Principal,
    session: Session,
    case_id: int,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    case, officer = service.get(session=session, principal=principal, case_id=case_id)
    records, total = service.records_behind(session=session, case=case)
    return render(
        request,
        "case.html",
        {
            "case": case,
            "officer": officer,
            "first": case.tests[0],
            "latest": case.tests[-1],
            "persists": service.persists(case),
            "records": records,
            "records_total": total,
            "actions": service.ACTIONS,
            "can_act": scope_of(principal.role, "cases:act") is not None,
            "errors": errors or {},
            "form": form or {},
            "today": _today(request),
            "local": local_clock(settings_of(request).tz),
        },
        status_code=status_code,
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: RowId, request: Request, principal: PagePrincipal, session: DbSession) -> HTMLResponse:
    """One case: the comparison that raised it, every re-test, the records behind it and the actions taken."""
    return _case_page(request, principal, session, case_id)


@router.post("/cases/{case_id}/actions", response_model=None)
def case_action(
    case_id: RowId,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    agrees: Annotated[str, Form(max_length=10)] = "",
    reason: FormText = "",
    action: FormChoice = "",
    follow_up_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Record agreement or disagreement with a reason, what was done, and when to look again."""
    try:
        follow_up = date.fromisoformat(follow_up_on) if follow_up_on.strip() else None
    except ValueError:
        follow_up = None
        bad_date = True
    else:
        bad_date = False
    try:
        if bad_date:
            raise RecordRefused(
                "the action is incomplete",
                [FieldError("follow_up_on", "CASE-ACTION", service.DATE_NEEDED)],
            )
        service.act(
            session=session, principal=principal, case_id=case_id, agrees=agrees, reason=reason,
            action=action, follow_up_on=follow_up, today=_today(request),
        )  # fmt: skip
    except (Forbidden, NotFound):
        raise
    except RecordRefused as exc:
        session.rollback()
        words = translations(pick_language(request)).gettext
        errors = {e.field: words(e.message) for e in exc.errors}
        form = {"agrees": agrees, "reason": reason, "action": action, "follow_up_on": follow_up_on}
        return _case_page(request, principal, session, case_id, errors, form, status_code=422)
    return RedirectResponse(f"/cases/{case_id}?done=1", status_code=303)
