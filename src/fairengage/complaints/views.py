"""Pages: the public complaint and own-record form reached from a receipt, and the staff tracking pages."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fairengage.access.principal import Principal
from fairengage.complaints import service
from fairengage.complaints.models import Complaint, ComplaintContact
from fairengage.complaints.schemas import KINDS, read_intake
from fairengage.db import transaction
from fairengage.errors import DomainError, FieldError, Forbidden
from fairengage.receipts import limits, render
from fairengage.receipts.service import receipt_for
from fairengage.web.deps import (
    DbSession,
    PagePrincipal,
    PostedForm,
    optional_page_principal,
    sessions_of,
    settings_of,
)
from fairengage.web.i18n import N_, pick_language, translations
from fairengage.web.params import RowId
from fairengage.web.templating import local_clock
from fairengage.web.templating import render as render_page

router = APIRouter(include_in_schema=False)

# Where the public page remembers, for this browser only, the reference it just gave.
FILED_KEY = "complaint_filed"
# Staff pages that show personal information must not be kept by browsers or shared caches.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ERROR_TITLES = {
    403: N_("You may not do this"),
    404: N_("Not found"),
    409: N_("Not possible yet"),
    422: N_("The change was not saved"),
}
KIND_LABELS = {
    "complaint": N_("Complaint"),
    "own_record": N_("Own-record request"),
}
STATUS_LABELS = {
    "received": N_("Received"),
    "acknowledged": N_("Acknowledged"),
    "investigating": N_("Investigating"),
    "closed": N_("Closed"),
}
EVENT_LABELS = {
    "received": N_("Received from the public form"),
    "status": N_("Status changed"),
    "assigned": N_("Assigned"),
    "note": N_("Note"),
    "contact_read": N_("Contact details read"),
    "identity_confirmed": N_("Identity confirmed"),
    "exported": N_("Own record exported"),
}


def _gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def _error_page(request: Request, error: DomainError, lang: str | None = None) -> HTMLResponse:
    lang = lang or pick_language(request)
    title = ERROR_TITLES.get(error.status, N_("Not found"))
    return render_page(
        request,
        "error.html",
        {"title": _gettext(lang, title), "detail": _gettext(lang, str(error))},
        status_code=error.status,
        lang=lang,
    )


def _not_found(request: Request, code: str, lang: str) -> HTMLResponse:
    # The receipt's own not-found page: a forged code and a code no record carries look the same.
    return render_page(request, "receipt_invalid.html", {"code": code[:64]}, status_code=404, lang=lang)


def _csrf_ok(request: Request, form: Mapping[str, Any]) -> bool:
    """The form's token matches the browser's signed CSRF cookie.

    The CSRF middleware lets a POST with no cookies at all through (nothing to forge without them);
    the public form is stricter and always wants the token the form page handed out.
    """
    cookie = request.cookies.get("csrftoken")
    token = form.get("csrftoken")
    if not cookie or not isinstance(token, str):
        return False
    return secrets.compare_digest(cookie, token)


def _summary(errors: list[FieldError], lang: str) -> tuple[dict[str, list[str]], list[dict[str, str]]]:
    by_anchor: dict[str, list[str]] = {}
    summary = []
    for error in errors:
        text = _gettext(lang, error.message)
        if text in by_anchor.get(error.field, []):
            continue
        by_anchor.setdefault(error.field, []).append(text)
        summary.append({"anchor": error.field, "message": text})
    return by_anchor, summary


# --- public ------------------------------------------------------------------------------------------


def _intake_page(
    request: Request,
    view: render.ReceiptView,
    values: dict[str, Any],
    errors: list[FieldError],
    lang: str,
    status_code: int = 200,
) -> HTMLResponse:
    by_anchor, summary = _summary(errors, lang)
    return render_page(
        request,
        "complaint_form.html",
        {
            "r": view,
            "when": render.format_when(view.occurred_local, lang),
            "v": values,
            "errors": by_anchor,
            "summary": summary,
            "form_key": values.get("form_key") or uuid.uuid4().hex,
        },
        status_code=status_code,
        lang=lang,
    )


@router.get("/r/{code}/complaint", response_class=HTMLResponse)
def complaint_form(
    code: str,
    request: Request,
    session: DbSession,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    principal: Principal | None = Depends(optional_page_principal),
) -> Response:
    """The public form: a complaint about the engagement on a receipt, or a request for one's own record."""
    if refusal := limits.refused(request, code):
        return refusal
    lang = pick_language(request)
    view = receipt_for(session=session, text=code, settings=settings_of(request), lang=lang)
    if view is None:
        return _not_found(request, code, lang)
    return _intake_page(request, view, {"kind": kind if kind in KINDS else ""}, [], lang)


@router.post("/r/{code}/complaint", response_model=None)
def file_complaint(
    code: str,
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_page_principal)],
    form: PostedForm,
) -> Response:
    """File the complaint or request once per form; show each problem in place, or go to the reference."""
    if refusal := limits.refused(request, code):
        return refusal
    lang = pick_language(request)
    if not _csrf_ok(request, form):
        return _error_page(
            request,
            Forbidden(N_("This form has expired. Open it again from your receipt and resend it.")),
            lang,
        )
    settings = settings_of(request)
    # A short session of its own: filing below takes the write lock in another one.
    with sessions_of(request)() as session:
        view = receipt_for(session=session, text=code, settings=settings, lang=lang)
    if view is None:
        return _not_found(request, code, lang)
    values = {
        name: str(form.get(name) or "")[:5000]
        for name in ("kind", "description", "name", "email", "phone", "consent", "form_key")
    }
    intake, errors = read_intake(form)
    if intake is None:
        return _intake_page(request, view, values, errors, lang, status_code=422)
    client, now = limits.client_of(request), datetime.now(UTC)
    with sessions_of(request)() as session:
        pause = limits.paused(
            session=session, settings=settings, kind="filing", client=client, code=code, now=now
        )
        # A form sent again (a double tap, a lost answer) still gets its reference while filing is paused.
        resent = service.filed_with(
            session=session, settings=settings, code_text=code, form_key=values["form_key"] or None
        )
    if pause is not None and resent is None:
        return limits.too_many(request, pause)
    try:
        filed = service.file_request(
            sessions=sessions_of(request),
            settings=settings,
            code_text=code,
            intake=intake,
            form_key=values["form_key"] or None,
        )
    except DomainError as error:
        return _error_page(request, error, lang)
    if filed is None:
        return _not_found(request, code, lang)
    if not filed.replayed:
        # Counted once stored: a second tap on the same form, or a form sent back for a typo, is not.
        with transaction(sessions_of(request)) as session:
            limits.record(
                session=session, settings=settings, kind="filing", client=client, code=code, now=now
            )
    request.session[FILED_KEY] = {"code": view.code, "reference": filed.reference, "kind": filed.kind}
    return RedirectResponse(f"/r/{view.code}/complaint/filed?lang={lang}", status_code=303)


@router.get("/r/{code}/complaint/filed", response_model=None)
def complaint_filed(
    code: str,
    request: Request,
    session: DbSession,
    principal: Principal | None = Depends(optional_page_principal),
) -> Response:
    """The reference number, shown only to the browser that filed; nothing the person typed is echoed."""
    if refusal := limits.refused(request, code):
        return refusal
    lang = pick_language(request)
    view = receipt_for(session=session, text=code, settings=settings_of(request), lang=lang)
    if view is None:
        return _not_found(request, code, lang)
    filed = request.session.get(FILED_KEY)
    if not isinstance(filed, dict) or filed.get("code") != view.code:
        return RedirectResponse(f"/r/{view.code}/complaint?lang={lang}", status_code=303)
    return render_page(
        request,
        "complaint_filed.html",
        {"r": view, "reference": filed.get("reference", ""), "kind": filed.get("kind", "complaint")},
        lang=lang,
    )


# --- staff -------------------------------------------------------------------------------------------


def _local(request: Request):
    return local_clock(settings_of(request).tz)


@router.get("/staff/complaints", response_class=HTMLResponse)
def staff_list(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    status: Annotated[str | None, Query(max_length=20)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """Complaints and own-record requests in the caller's scope, oldest open first, filtered."""
    try:
        rows = service.list_requests(session=session, principal=principal, status=status, kind=kind)
    except DomainError as error:
        return _error_page(request, error)
    now = datetime.now(UTC)
    return render_page(
        request,
        "complaints_list.html",
        {
            "rows": rows,
            "status": status or "",
            "kind": kind or "",
            "statuses": service.STATUSES,
            "kinds": KINDS,
            "status_labels": STATUS_LABELS,
            "kind_labels": KIND_LABELS,
            "assignees": {row.id: service.username_of(session, row.assigned_to) for row in rows},
            "age_days": lambda row: ((row.closed_at or now) - row.received_at).days,
            "local": _local(request),
        },
    )


def _detail_page(
    request: Request,
    session: Session,
    principal: Principal,
    complaint: Complaint,
    *,
    contact: ComplaintContact | None = None,
    contact_shown: bool = False,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = pick_language(request)
    by_anchor, summary = _summary(errors or [], lang)
    current = service.STATUSES.index(complaint.status)
    response = render_page(
        request,
        "complaint_detail.html",
        {
            "c": complaint,
            "receipt_code": service.receipt_code(session=session, complaint=complaint),
            "next_statuses": service.STATUSES[current:],
            "status_labels": STATUS_LABELS,
            "kind_labels": KIND_LABELS,
            "event_labels": EVENT_LABELS,
            "purposes": service.CONTACT_PURPOSES,
            "assignable": [u.username for u in service.assignable(session=session, complaint=complaint)],
            "assigned": service.username_of(session, complaint.assigned_to) or "",
            "confirmed_by": service.username_of(session, complaint.identity_confirmed_by) or "",
            "can_read_contact": service.may(principal, "complaints:read-contact", complaint),
            "can_export": service.may(principal, "own-records:export", complaint),
            "contact": contact,
            "contact_shown": contact_shown,
            "errors": by_anchor,
            "summary": summary,
            "local": _local(request),
        },
        status_code=status_code,
        lang=lang,
    )
    if contact_shown:
        response.headers.update(NO_STORE)
    return response


def _refusal(
    request: Request, session: Session, principal: Principal, complaint_id: int, error: DomainError
) -> HTMLResponse:
    """A refused staff action: the detail page with the problems in place, or the error page."""
    if isinstance(error, service.UpdateRefused):
        complaint = service.get_visible(session=session, principal=principal, complaint_id=complaint_id)
        return _detail_page(request, session, principal, complaint, errors=error.errors, status_code=422)
    return _error_page(request, error)


@router.get("/staff/complaints/{complaint_id}", response_class=HTMLResponse)
def staff_detail(
    complaint_id: RowId, request: Request, principal: PagePrincipal, session: DbSession
) -> HTMLResponse:
    """One complaint or request with its history and the forms to move it on; no contact details."""
    try:
        complaint = service.get_visible(session=session, principal=principal, complaint_id=complaint_id)
    except DomainError as error:
        return _error_page(request, error)
    return _detail_page(request, session, principal, complaint)


@router.post("/staff/complaints/{complaint_id}", response_model=None)
def staff_update(
    complaint_id: RowId, request: Request, principal: PagePrincipal, session: DbSession, form: PostedForm
) -> Response:
    """Change the status, the assignee or add a note; closing takes the outcome as the note."""
    try:
        service.update(
            session=session,
            principal=principal,
            complaint_id=complaint_id,
            status=str(form.get("status") or "") or None,
            assignee=str(form.get("assignee") or "") if "assignee" in form else None,
            note=str(form.get("note") or ""),
        )
    except DomainError as error:
        return _refusal(request, session, principal, complaint_id, error)
    return RedirectResponse(f"/staff/complaints/{complaint_id}", status_code=303)


@router.post("/staff/complaints/{complaint_id}/contact", response_model=None)
def staff_contact(
    complaint_id: RowId, request: Request, principal: PagePrincipal, session: DbSession, form: PostedForm
) -> Response:
    """Show the requester's contact details for a stated purpose; the read is audited before it is shown."""
    try:
        contact = service.read_contact(
            session=session,
            principal=principal,
            complaint_id=complaint_id,
            purpose=str(form.get("purpose") or ""),
        )
    except DomainError as error:
        return _refusal(request, session, principal, complaint_id, error)
    # The audit entry is committed before a single detail leaves the server.
    session.commit()
    complaint = service.get_visible(session=session, principal=principal, complaint_id=complaint_id)
    return _detail_page(request, session, principal, complaint, contact=contact, contact_shown=True)


@router.post("/staff/complaints/{complaint_id}/identity", response_model=None)
def staff_confirm_identity(
    complaint_id: RowId, request: Request, principal: PagePrincipal, session: DbSession, form: PostedForm
) -> Response:
    """Record that an own-record requester's identity was confirmed, with how."""
    try:
        service.confirm_identity(
            session=session,
            principal=principal,
            complaint_id=complaint_id,
            note=str(form.get("identity_note") or ""),
        )
    except DomainError as error:
        return _refusal(request, session, principal, complaint_id, error)
    return RedirectResponse(f"/staff/complaints/{complaint_id}", status_code=303)


@router.post("/staff/complaints/{complaint_id}/export", response_model=None)
def staff_export(
    complaint_id: RowId, request: Request, principal: PagePrincipal, session: DbSession, form: PostedForm
) -> Response:
    """Download the requester's records (JSON, or CSV), refused until their identity is confirmed."""
    fmt = "csv" if form.get("format") == "csv" else "json"
    try:
        export = service.export_own_record(
            session=session, principal=principal, complaint_id=complaint_id, fmt=fmt
        )
    except DomainError as error:
        return _error_page(request, error)
    # The export is on the audit log before it is sent.
    session.commit()
    if fmt == "csv":
        body, media_type = service.export_csv(export), "text/csv; charset=utf-8"
    else:
        body, media_type = service.export_json(export), "application/json"
    filename = f"own-record-{export.reference}.{fmt}"
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=headers)
