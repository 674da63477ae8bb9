"""The officer's correction of a record returned by review: the form opened on the returned record, and
the new version saved. It builds on the engagement form's pages (engagements/views.py) and review's
versions (review/service.py), so it lives on the review side, which may import both."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fairengage.access.principal import Principal
from fairengage.engagements import service
from fairengage.engagements.views import form_page, judge_form, training_notice, values_of
from fairengage.errors import Forbidden, RecordRefused
from fairengage.review import service as review
from fairengage.web.deps import (
    DbSession,
    PagePrincipal,
    PostedForm,
    settings_of,
)

router = APIRouter(include_in_schema=False)


def _return_reason(session: Session, engagement_id: str) -> str:
    _, decisions = review.history(session=session, engagement_id=engagement_id)
    returned = [d for d in decisions if d.decision == "returned"]
    return returned[-1].reason if returned else ""


def _returned_to(session: Session, principal: Principal, engagement_id: str) -> Any:
    """The caller's own record returned for correction; NotFound or Forbidden otherwise."""
    engagement = service.get_visible(session=session, principal=principal, engagement_id=engagement_id)
    if principal.role != "officer" or engagement.status != "returned":
        raise Forbidden("only a record returned to you for correction can be corrected")
    return engagement


@router.get("/engagements/{engagement_id}/correct", response_class=HTMLResponse)
def correction_form(
    engagement_id: str, request: Request, principal: PagePrincipal, session: DbSession
) -> HTMLResponse:
    """A returned record, opened in the form for the officer to correct."""
    engagement = _returned_to(session, principal, engagement_id)
    # Judged on the engagement's own day, as the rule will judge the corrected record.
    day = engagement.occurred_at.astimezone(settings_of(request).tz).date()
    if notice := training_notice(request, principal, session, day):
        return notice
    return form_page(
        request,
        principal,
        session,
        values_of(engagement, settings_of(request).tz),
        [],
        form_action=f"/engagements/{engagement_id}/correct",
        correcting=_return_reason(session, engagement_id),
    )


@router.post("/engagements/{engagement_id}/correct", response_model=None)
def submit_correction(
    engagement_id: str, request: Request, principal: PagePrincipal, session: DbSession, form: PostedForm
) -> Response:
    """Save the correction as a new version; the earlier one is kept."""
    # Checked before the form is judged: a refused form is shown again with the supervisor's reason for
    # returning the record, which no one but its officer may read.
    _returned_to(session, principal, engagement_id)
    values: dict[str, Any] = {k: form.get(k) for k in form}
    values["reason_grounds"] = form.getlist("reason_grounds")
    values["description_elements"] = form.getlist("description_elements")
    settings = settings_of(request)
    action = f"/engagements/{engagement_id}/correct"
    draft, errors, _, _ = judge_form(request, principal, session, form)
    if draft is None or errors:
        session.rollback()
        return form_page(
            request, principal, session, values, errors, 422, action, _return_reason(session, engagement_id)
        )
    try:
        review.correct(
            session=session, principal=principal, engagement_id=engagement_id, draft=draft, settings=settings
        )
    except RecordRefused as refused:
        session.rollback()
        return form_page(
            request,
            principal,
            session,
            values,
            refused.errors,
            422,
            action,
            _return_reason(session, engagement_id),
        )
    return RedirectResponse(f"/engagements/{engagement_id}/receipt", status_code=303)
