"""Auditor pages: the audit log with filters, the chain check, and the JSON Lines export.

Reading the audit log is itself logged (one entry per page shown, with the filters used): who looked
at whose trail is something an oversight body may need to know, and it costs one row per page view.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select
from starlette.responses import HTMLResponse, StreamingResponse

from fairengage.access import audit, export, transparency
from fairengage.access.models import AuditEntry
from fairengage.access.permissions import allowed
from fairengage.access.principal import Principal
from fairengage.db import transaction
from fairengage.errors import FieldError, Forbidden, RecordRefused
from fairengage.web.deps import DbSession, PagePrincipal, sessions_of, settings_of
from fairengage.web.i18n import N_
from fairengage.web.params import PageNumber
from fairengage.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# Longest accepted filter values: the columns' own widths.
FILTER_LIMITS = {"actor": 80, "entity_id": 64, "action": 40}


def require(permission: str) -> Callable[..., Principal]:
    """A dependency: the signed-in user holding `permission`; others get 403, visitors the sign-in page."""

    def holder(principal: PagePrincipal) -> Principal:
        if not allowed(principal.role, permission):
            raise Forbidden(f"the {principal.role} role does not hold {permission}")
        return principal

    return holder


@dataclass
class LogFilters:
    """What the auditor asked to see; `errors` maps a field to the messages shown beside it."""

    actor: str = ""
    entity_id: str = ""
    action: str = ""
    first: date | None = None
    last: date | None = None
    raw: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def used(self) -> dict[str, str]:
        """The filters in force, as logged and as kept in page links."""
        return {k: v for k, v in self.raw.items() if v and k not in self.errors}


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_filters(params: Any) -> LogFilters:
    """Read the filter form; a malformed date is reported beside its field and otherwise ignored."""
    found = LogFilters()
    for name, limit in FILTER_LIMITS.items():
        value = str(params.get(name) or "").strip()[:limit]
        setattr(found, name, value)
        found.raw[name] = value
    for name, attr in (("from", "first"), ("to", "last")):
        text = str(params.get(name) or "").strip()[:10]
        found.raw[name] = text
        if not text:
            continue
        day = _parse_day(text)
        if day is None:
            found.errors[name] = [N_("Enter a date as YYYY-MM-DD, for example 2026-03-31.")]
        else:
            setattr(found, attr, day)
    if found.first and found.last and found.first > found.last:
        found.errors["to"] = [N_("The end date is before the start date.")]
        found.last = None
    return found


def _conditions(filters: LogFilters, tz: Any) -> list[Any]:
    conditions: list[Any] = []
    if filters.actor:
        conditions.append(AuditEntry.actor == filters.actor)
    if filters.entity_id:
        conditions.append(AuditEntry.entity_id == filters.entity_id)
    if filters.action:
        conditions.append(AuditEntry.action == filters.action)
    start, end = export.local_bounds(filters.first, filters.last, tz)
    if start is not None:
        conditions.append(AuditEntry.at >= start)
    if end is not None:
        conditions.append(AuditEntry.at < end)
    return conditions


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    principal: Annotated[Principal, Depends(require("audit:read"))],
    session: DbSession,
    page: PageNumber = 1,
) -> HTMLResponse:
    """The audit log, newest first, filtered by user, record, action and local dates; the view is logged."""
    audit.seal_all(sessions_of(request))
    settings = settings_of(request)
    filters = parse_filters(request.query_params)
    conditions = _conditions(filters, settings.tz)
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*conditions)) or 0
    rows = session.scalars(
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.seq.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    actions = list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
    # ?proof=SEQ: that entry's inclusion proof against the latest checkpoint, verified as an outsider would.
    asked = str(request.query_params.get("proof") or "")
    shown = None
    if asked.isdigit() and len(asked) < 19:
        shown = transparency.proof_for_page(session, settings, int(asked))
    # Logged after the query, so the page shows the log as it stood when asked.
    audit.append(
        session,
        actor=principal.username,
        action="audit.read",
        entity="audit_log",
        entity_id=None,
        purpose="oversight",
        details={"filters": filters.used(), "page": page},
    )

    def link(to_page: int) -> str:
        return "/audit?" + urlencode({**filters.used(), "page": to_page})

    def local(at: datetime) -> str:
        return at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S")

    return render(
        request,
        "audit_log.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "f": filters,
            "actions": actions,
            "link": link,
            "local": local,
            "details": lambda d: json.dumps(d or {}, ensure_ascii=False, sort_keys=True),
            "timezone": settings.timezone,
            "can_verify": allowed(principal.role, "audit:verify"),
            "can_export": allowed(principal.role, "audit:export"),
            "shown": shown,
        },
        status_code=422 if filters.errors else 200,
    )


def describe_problem(report: audit.ChainReport) -> tuple[str, dict[str, Any]]:
    """The verdict sentence for a broken chain, as a catalogue message and its values."""
    problem = report.problem or ""
    values: dict[str, Any] = {"seq": report.first_bad_seq}
    if "altered" in problem:
        return N_("Entry %(seq)s was altered."), values
    if "missing" in problem:
        return N_("Entry %(seq)s is missing: it was removed."), values
    if "link" in problem:
        message = N_("Entry %(seq)s does not link to the entry before it: an entry was inserted or replaced.")
        return message, values
    if "Merkle" in problem:
        return N_("The Merkle tree kept with the log's head does not match its entries."), values
    # The only other finding: the chain stops short of its head (the last entries were removed).
    values["last"] = (report.first_bad_seq or 1) - 1
    message = N_("The log ends at entry %(last)s but its head says it goes further: entries were removed.")
    return message, values


@router.get("/audit/verify", response_class=HTMLResponse)
def audit_verify_page(
    request: Request, principal: Annotated[Principal, Depends(require("audit:verify"))], session: DbSession
) -> HTMLResponse:
    """Walk the hash chain and tree, check the log against the kept checkpoints, and say plainly
    whether the log is intact or what is wrong."""
    kept, unreadable = transparency.folder_checkpoints(settings_of(request))
    # A log shorter than a checkpoint refuses writes (sealing, and logging this check); the page still
    # shows why, from the findings below.
    with suppress(audit.AuditRolledBack):
        audit.seal_all(sessions_of(request))
    check = transparency.check_log(session, kept)
    report, problems = check.report, unreadable + check.problems
    with suppress(audit.AuditRolledBack):
        audit.append(
            session,
            actor=principal.username,
            action="audit.verify",
            entity="audit_log",
            entity_id=None,
            purpose="oversight",
            details={
                "ok": report.ok and not problems,
                "checked": report.checked,
                "first_bad_seq": report.first_bad_seq,
            },
        )
    verdict, values = (None, {}) if report.ok else describe_problem(report)
    return render(
        request,
        "audit_verify.html",
        {"report": report, "verdict": verdict, "values": values, "problems": problems, "kept": len(kept)},
    )


@router.get("/audit/export.jsonl")
def audit_export(
    request: Request, principal: Principal = Depends(require("audit:export"))
) -> StreamingResponse:
    """The audit log (or the entries of some local dates) as JSON Lines, streamed, ending with its head."""
    first = _query_day(request, "from")
    last = _query_day(request, "to")
    if first and last and first > last:
        raise RecordRefused(
            "the end date is before the start date",
            [FieldError("to", "VALID-DATE", "the end date is before the start date")],
        )
    sessions = sessions_of(request)
    # Its own short transaction, committed before the first line is read, so the export includes it
    # and no write lock is held while the file is sent.
    with transaction(sessions) as session:
        export.record_export(session=session, actor=principal.username, first=first, last=last)
    lines = export.export_lines(sessions, tz=settings_of(request).tz, first=first, last=last)
    name = "fairengage-audit" + (f"-{first.isoformat()}" if first else "") + (f"-to-{last}" if last else "")
    return StreamingResponse(
        (line.encode("utf-8") for line in lines),
        media_type="application/jsonl",
        headers={"Content-Disposition": f'attachment; filename="{name}.jsonl"'},
    )


def _query_day(request: Request, name: str) -> date | None:
    text = (request.query_params.get(name) or "").strip()
    if not text:
        return None
    day = _parse_day(text)
    if day is None:
        raise RecordRefused(
            f"{name}: {text[:20]!r} is not a date", [FieldError(name, "VALID-DATE", "use YYYY-MM-DD")]
        )
    return day
