"""Analyst pages: make a period's release, preview it, approve it (a second person) or withdraw it.

A run extracts and builds a draft release through the one publishing service (service.py) in a
background thread, one at a time; its page refreshes itself every two seconds while it runs, so progress
shows without JavaScript. Nothing is public until a second person holding `reports:publish` approves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from fairengage.access.permissions import allowed
from fairengage.access.principal import Principal
from fairengage.db import transaction
from fairengage.errors import Forbidden
from fairengage.publishing import service
from fairengage.publishing.dashboard import dashboard_page, file_response, period_label, publications_root
from fairengage.publishing.service import PublishRefused, Release
from fairengage.reports import publications
from fairengage.reports.publications import JobBusy, JobProgress, PublicationNotFound, ReportJobs
from fairengage.web.deps import PagePrincipal, sessions_of, settings_of
from fairengage.web.i18n import N_, pick_language, translations
from fairengage.web.params import MAX_INT, RowId
from fairengage.web.templating import render

router = APIRouter(include_in_schema=False)

JOB_ID = re.compile(r"^[0-9a-f]{16}$")
FIRST_YEAR = 2000
STATES = {
    "queued": N_("Waiting to start"),
    "running": N_("Running"),
    "done": N_("Done"),
    "failed": N_("Failed"),
}
RELEASE_STATES = {
    "draft": N_("Draft: awaiting approval"),
    "published": N_("Published"),
    "superseded": N_("Superseded by a later version"),
    "withdrawn": N_("Withdrawn"),
}


def require(permission: str) -> Callable[..., Principal]:
    """A dependency: the signed-in user holding `permission`; others get 403, visitors the sign-in page."""

    def holder(principal: PagePrincipal) -> Principal:
        if not allowed(principal.role, permission):
            raise Forbidden(f"the {principal.role} role does not hold {permission}")
        return principal

    return holder


def jobs_of(request: Request) -> ReportJobs:
    """The report runner of this service's publications folder."""
    return publications.jobs_for(publications_root(settings_of(request)))


def _page(
    request: Request,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    busy: publications.ReportJob | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = pick_language(request)
    with transaction(sessions_of(request)) as session:
        releases = service.list_releases(session=session)
    return render(
        request,
        "analyst_reports.html",
        {
            "releases": releases,
            "release_state": lambda s: translations(lang).gettext(RELEASE_STATES.get(s) or s),
            "jobs": jobs_of(request).recent()[:10],
            "may_run": allowed(principal.role, "reports:run"),
            "errors": errors or {},
            "v": values
            or {"year": str(datetime.now(settings_of(request).tz).year - 1), "quarter": "", "reason": ""},
            "busy": busy,
            "state_label": lambda s: translations(lang).gettext(STATES.get(s) or s),
            "period_label": lambda p: period_label(p, lang),
        },
        status_code=status_code,
        lang=lang,
    )


@router.get("/analyst/reports", response_class=HTMLResponse)
def reports_home(request: Request, principal: Principal = Depends(require("reports:read"))) -> HTMLResponse:
    """The publications with their outputs, recent runs, and (for `reports:run`) the form to run one."""
    return _page(request, principal)


def parse_period_form(year: str, quarter: str) -> tuple[str | None, dict[str, str]]:
    """The period the form names (`2025` or `2025-Q3`), or the problems with it by field."""
    errors: dict[str, str] = {}
    year, quarter = year.strip(), quarter.strip()
    if not re.fullmatch(r"\d{4}", year) or not FIRST_YEAR <= int(year) <= 2100:
        errors["year"] = N_("Enter a year of four digits, such as 2025.")
    if quarter not in ("", "1", "2", "3", "4"):
        errors["quarter"] = N_("Choose the whole year or one quarter.")
    if errors:
        return None, errors
    return (f"{year}-Q{quarter}" if quarter else year), {}


@router.post("/analyst/reports")
def run_report(
    request: Request,
    year: Annotated[str, Form()] = "",
    quarter: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    principal: Principal = Depends(require("reports:run")),
) -> Response:
    """Start building a period's draft release; the browser goes to the run's page to follow it."""
    period, errors = parse_period_form(year, quarter)
    values = {"year": year, "quarter": quarter, "reason": reason}
    if period is None:
        return _page(request, principal, errors=errors, values=values, status_code=422)
    settings, sessions = settings_of(request), sessions_of(request)

    def build(progress: JobProgress) -> int:
        made = service.build_release(
            sessions=sessions,
            settings=settings,
            period=period,
            actor=principal.username,
            reason=reason,
            progress=progress,
        )
        return made.id

    try:
        job = jobs_of(request).start(period=period, build=build, requested_by=principal.username)
    except JobBusy as busy:
        return _page(request, principal, values=values, busy=busy.job, status_code=409)
    return RedirectResponse(f"/analyst/reports/{job.id}", status_code=303)


@router.get("/analyst/reports/{job_id}", response_class=HTMLResponse)
def run_page(
    request: Request, job_id: str, principal: Principal = Depends(require("reports:read"))
) -> HTMLResponse:
    """A run's state and progress (refreshing itself while it runs), then its outputs to download."""
    job = jobs_of(request).get(job_id) if JOB_ID.fullmatch(job_id) else None
    if job is None:
        raise HTTPException(404, "no such report run")
    lang = pick_language(request)
    context: dict[str, Any] = {
        "job": job,
        "state_label": translations(lang).gettext(STATES.get(job.state, job.state)),
        "period_label": period_label(job.period, lang),
        "percent": round(100 * job.done / job.total) if job.total else None,
    }
    return render(request, "analyst_run.html", context, lang=lang)


@router.get("/analyst/reports/{period}/files/{path:path}")
def staff_file(
    request: Request,
    period: str,
    path: str,
    version: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    principal: Principal = Depends(require("reports:read")),
) -> FileResponse:
    """A report file of a release (the published one unless `version` says), each download logged."""
    settings, sessions = settings_of(request), sessions_of(request)
    if not publications.is_period(period):
        raise HTTPException(404, "no such file")
    with transaction(sessions) as session:
        releases = service.list_releases(session=session, period=period)
        if version is not None:
            release = next((r for r in releases if r.version == version), None)
        else:
            release = next((r for r in releases if r.status == service.PUBLISHED), None)
        target = service.staff_file(service.root_of(settings), release, path) if release else None
        if release is None or target is None:
            raise HTTPException(404, "no such file")
        service.record_download(session=session, release=release, name=path, actor=principal.username)
    return file_response(target)


def _release(request: Request, release_id: int) -> Release:
    with transaction(sessions_of(request)) as session:
        found = service.get(session=session, release_id=release_id)
    if found is None:
        raise HTTPException(404, "no such release")
    return found


def _release_page(
    request: Request,
    principal: Principal,
    release: Release,
    *,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = pick_language(request)
    root = service.root_of(settings_of(request))
    with transaction(sessions_of(request)) as session:
        others = [
            r for r in service.list_releases(session=session, period=release.period) if r.id != release.id
        ]
    context: dict[str, Any] = {
        "release": release,
        "others": others,
        "state_label": translations(lang).gettext(RELEASE_STATES.get(release.status, release.status)),
        "release_state": lambda s: translations(lang).gettext(RELEASE_STATES.get(s) or s),
        "period_label": period_label(release.period, lang),
        "files": sorted(
            {*release.files, *(n for n in service.STAFF_FILES if (release.path(root) / n).is_file())}
        ),
        "may_publish": allowed(principal.role, "reports:publish"),
        "is_builder": principal.username == release.built_by,
        "changed": service.changed_files(root, release),
        "error": error,
        "done": done,
    }
    return render(request, "analyst_release.html", context, status_code=status_code, lang=lang)


@router.get("/analyst/releases/{release_id}", response_class=HTMLResponse)
def release_page(
    request: Request, release_id: RowId, principal: Principal = Depends(require("reports:read"))
) -> HTMLResponse:
    """A release: its state, the disclosure check's result, its files and (for `reports:publish`) actions."""
    return _release_page(request, principal, _release(request, release_id))


@router.get("/analyst/releases/{release_id}/preview", response_class=HTMLResponse)
def preview_page(
    request: Request,
    release_id: RowId,
    division: str | None = None,
    group: str | None = None,
    principal: Principal = Depends(require("reports:read")),
) -> HTMLResponse:
    """The public dashboard drawn from this release's own files, exactly as the public would see it."""
    release = _release(request, release_id)
    root = service.root_of(settings_of(request))
    # What the public page says (or will, once approved): the version it replaces, if any, and why.
    with transaction(sessions_of(request)) as session:
        if release.supersedes_id:
            replaced = service.get(session=session, release_id=release.supersedes_id)
        else:
            current = service.newest(session=session, period=release.period, status=service.PUBLISHED)
            replaced = current if current is not None and current.id != release.id else None
    try:
        shown = publications.load_folder(
            release.path(root),
            release.period,
            release={
                "version": release.version,
                "partial": release.partial,
                "data_to": release.data_to.isoformat(),
                "supersedes": {"version": replaced.version} if replaced else None,
                "reason": release.reason,
            },
        )
    except PublicationNotFound:
        raise HTTPException(404, "the release's files cannot be read") from None
    preview = {
        "version": release.version,
        "back": f"/analyst/releases/{release.id}",
        "files": f"/analyst/reports/{release.period}/files",
        "query": f"?version={release.version}",
    }
    return dashboard_page(request, shown, [shown], division=division, group=group, preview=preview)


@router.post("/analyst/releases/{release_id}/approve")
def approve_release(
    request: Request, release_id: RowId, principal: Principal = Depends(require("reports:publish"))
) -> Response:
    """Publish a draft built by someone else; refused, with the reason, otherwise."""
    return _decide(request, principal, release_id, service.approve, done="approved")


@router.post("/analyst/releases/{release_id}/withdraw")
def withdraw_release(
    request: Request,
    release_id: RowId,
    reason: Annotated[str, Form()] = "",
    principal: Principal = Depends(require("reports:publish")),
) -> Response:
    """Withdraw a release with a reason: off the public pages, kept in the ledger."""
    return _decide(request, principal, release_id, service.withdraw, done="withdrawn", reason=reason)


def _decide(
    request: Request,
    principal: Principal,
    release_id: int,
    decision: Callable[..., object],
    *,
    done: str,
    **fields: str,
) -> Response:
    """Approve or withdraw a release as `principal`: back to its page saying so, or showing the refusal
    (422 for a missing reason, 409 for a release that cannot take the decision)."""
    release = _release(request, release_id)
    try:
        decision(
            sessions=sessions_of(request),
            settings=settings_of(request),
            release_id=release.id,
            actor=principal.username,
            **fields,
        )
    except PublishRefused as refused:
        status = 422 if any(e.field == "reason" for e in refused.errors) else 409
        return _release_page(request, principal, release, error=str(refused), status_code=status)
    return RedirectResponse(f"/analyst/releases/{release.id}?done={done}", status_code=303)
