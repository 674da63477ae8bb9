"""Reading restricted records: the request with its purpose, the delegated approval, the logged read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fairengage import policy
from fairengage.access.permissions import scope_of
from fairengage.access.principal import Principal
from fairengage.engagements import service as engagements
from fairengage.errors import DomainError, Forbidden
from fairengage.receipts import codes
from fairengage.retention import service
from fairengage.retention.models import RestrictedAccessRequest
from fairengage.web.deps import DbSession, FormText, PagePrincipal, settings_of
from fairengage.web.params import RowId
from fairengage.web.templating import local_clock, render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    principal: Principal,
    session: Session,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    refusal: str | None = None,
) -> HTMLResponse:
    settings = settings_of(request)
    today = datetime.now(settings.tz).date()
    may_request = scope_of(principal.role, "restricted:request") is not None
    approver = service.active_delegation(session=session, user_id=principal.user_id) is not None
    if not (may_request or approver):
        raise Forbidden(f"the {principal.role} role may not read restricted records")
    mine = session.scalars(
        select(RestrictedAccessRequest)
        .where(RestrictedAccessRequest.requester_id == principal.user_id)
        .order_by(RestrictedAccessRequest.id.desc())
    ).all()
    pending = (
        session.scalars(
            select(RestrictedAccessRequest)
            .where(
                RestrictedAccessRequest.status == "pending",
                RestrictedAccessRequest.requester_id != principal.user_id,
            )
            .order_by(RestrictedAccessRequest.id)
        ).all()
        if approver
        else []
    )
    # Each request this approver may not approve, with the plain reason shown in place of the button.
    barriers = {
        r.id: service.approval_barrier(session=session, principal=principal, request=r) for r in pending
    }
    purposes = policy.ruleset_in_force(today).param("restricted_read_purposes")
    tz = settings.tz
    return render(
        request,
        "restricted.html",
        {
            "may_request": may_request,
            "approver": approver,
            "mine": mine,
            "pending": pending,
            "barriers": barriers,
            "refusal": refusal,
            "purposes": purposes,
            "errors": errors or {},
            "v": values or {},
            "local": local_clock(tz),
        },
        status_code=status_code,
    )


@router.get("/restricted", response_class=HTMLResponse)
def restricted_home(request: Request, principal: PagePrincipal, session: DbSession) -> HTMLResponse:
    """Ask to read a restricted record; approvers see requests waiting for them."""
    return _page(request, principal, session)


@router.post("/restricted/requests", response_model=None)
def restricted_request(
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    record: Annotated[str, Form(max_length=64)] = "",
    purpose: Annotated[str, Form(max_length=40)] = "",
    details: FormText = "",
) -> Response:
    """File a request: the record by id or receipt code, a purpose from the rule set's list, and details."""
    record = record.strip()
    canonical = codes.verify_code(record, settings_of(request).secret)
    if canonical:
        found = engagements.find_by_receipt(session=session, canonical_code=canonical)
        record = found.id if found else record
    try:
        service.request_access(
            session=session,
            principal=principal,
            engagement_id=record,
            purpose=purpose,
            details=details,
            today=datetime.now(settings_of(request).tz).date(),
        )
    except Forbidden:
        raise
    except DomainError as exc:
        session.rollback()
        errors = {e.field: e.message for e in exc.errors} or {"record": str(exc)}
        return _page(
            request,
            principal,
            session,
            errors,
            {"record": record, "purpose": purpose, "details": details},
            status_code=422,
        )
    return RedirectResponse("/restricted?sent=1", status_code=303)


@router.post("/restricted/requests/{request_id}/decision", response_model=None)
def restricted_decision(
    request_id: RowId,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    decision: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Approve or refuse a request (approvers holding the chief's delegation)."""
    try:
        service.decide_request(
            session=session, principal=principal, request_id=request_id, approve=decision == "approve"
        )
    except Forbidden as exc:
        # A separation-of-duties refusal is shown on the approver's page, saying why.
        if not any(e.rule == service.SEPARATE_DUTIES for e in exc.errors):
            raise
        session.rollback()
        return _page(request, principal, session, status_code=403, refusal=str(exc))
    return RedirectResponse("/restricted", status_code=303)


@router.get("/restricted/requests/{request_id}/record", response_class=HTMLResponse)
def restricted_read(
    request_id: RowId, request: Request, principal: PagePrincipal, session: DbSession
) -> HTMLResponse:
    """The approved record with the person's information: this read is logged and counted."""
    engagement, person = service.read_restricted(session=session, principal=principal, request_id=request_id)
    row = session.get(RestrictedAccessRequest, request_id)
    tz = settings_of(request).tz
    return render(
        request,
        "restricted_record.html",
        {
            "e": engagement,
            "person": person,
            "req": row,
            "local": local_clock(tz),
        },
    )
