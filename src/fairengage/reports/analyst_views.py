"""Analyst pages: the published reports with every output to download, and running a period's report.

A run extracts the analytic table and the governance counts from the database and builds the board
report, the public report and open data into a new publication (publications.py swaps it in whole).
The run is a background thread, one at a time; its page refreshes itself every two seconds while it
runs, so progress shows without JavaScript.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

# Pages check the permission matrix; the reports engine itself reads no access data (DESIGN.md).
from fairengage.access.permissions import allowed
from fairengage.access.principal import Principal
from fairengage.config import Settings
from fairengage.errors import Forbidden
from fairengage.reports import publications
from fairengage.reports.dashboard import file_response, period_label, publications_root
from fairengage.reports.publications import JobBusy, JobProgress, ReportJobs, period_bounds
from fairengage.web.deps import page_principal, sessions_of, settings_of
from fairengage.web.i18n import N_, pick_language, translations
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


def require(permission: str) -> Callable[..., Principal]:
    """A dependency: the signed-in user holding `permission`; others get 403, visitors the sign-in page."""

    def holder(principal: Principal = Depends(page_principal)) -> Principal:
        if not allowed(principal.role, permission):
            raise Forbidden(f"the {principal.role} role does not hold {permission}")
        return principal

    return holder


def build_from_database(
    *,
    period: str,
    out_dir: Path,
    progress: JobProgress,
    settings: Settings,
    sessions: sessionmaker[Session],
    actor: str,
) -> None:
    """Extract the analytic table and the governance counts from the database, then build every report."""
    # Imported here, not at the top: the reports engine never touches personal data; this page is where a
    # permitted user opens the one door to it (the extract, which logs itself), as the CLI does.
    from fairengage.analytics.benchmarks import default_benchmark_path
    from fairengage.engagements.extract import write_extract
    from fairengage.engagements.governance_summary import write_governance_summary

    try:
        from fairengage.reports.builder import build_reports
        from fairengage.reports.disclosure import published_releases
    except ImportError as exc:
        raise RuntimeError("the report builder (fairengage.reports.builder) is not installed") from exc
    first, last = period_bounds(period)
    # The governance counts take the period as local instants, half-open: [first day 00:00, day after last).
    zone = ZoneInfo(settings.timezone)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    with tempfile.TemporaryDirectory(prefix="fairengage-report-") as tmp:
        table = Path(tmp) / "engagements.parquet"
        write_extract(sessions=sessions, out=table, settings=settings, actor=actor, progress=progress)
        governance = Path(tmp) / "governance.json"
        progress.phase("counting review, exceptions and restricted reads", None)
        write_governance_summary(
            sessions=sessions, period_start=start, period_end=end, tz=settings.timezone, out=governance
        )
        boundaries = getattr(settings, "boundaries", None)
        build_reports(
            table_path=table,
            benchmark_path=default_benchmark_path(),
            period=period,
            out_dir=out_dir,
            settings=settings,
            governance=governance,
            boundaries=Path(boundaries) if boundaries else None,
            engine="duckdb",
            progress=progress,
            # Checked against every release beside it, the version it replaces included.
            published=published_releases(out_dir.parent, leave_out=out_dir),
        )


def report_builder() -> Callable[..., None]:
    """Dependency: how a period's reports are built (from the database); tests put a fake in its place."""
    return build_from_database


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
    root = publications_root(settings_of(request))
    lang = pick_language(request)
    listed = publications.list_publications(root)
    found = [{"publication": p, "files": publications.all_files(p.path)} for p in listed]
    return render(
        request,
        "analyst_reports.html",
        {
            "found": found,
            "jobs": jobs_of(request).recent()[:10],
            "may_run": allowed(principal.role, "reports:run"),
            "errors": errors or {},
            "v": values or {"year": str(datetime.now(settings_of(request).tz).year - 1), "quarter": ""},
            "busy": busy,
            "state_label": lambda s: translations(lang).gettext(STATES.get(s, s)),
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
    principal: Principal = Depends(require("reports:run")),
    builder: Callable[..., None] = Depends(report_builder),
) -> Response:
    """Start building a period's reports; the browser goes to the run's page to follow it."""
    period, errors = parse_period_form(year, quarter)
    values = {"year": year, "quarter": quarter}
    if period is None:
        return _page(request, principal, errors=errors, values=values, status_code=422)
    settings, sessions = settings_of(request), sessions_of(request)

    def build(out_dir: Path, progress: JobProgress) -> None:
        builder(
            period=period,
            out_dir=out_dir,
            progress=progress,
            settings=settings,
            sessions=sessions,
            actor=principal.username,
        )

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
    request: Request, period: str, path: str, principal: Principal = Depends(require("reports:read"))
) -> FileResponse:
    """Any output of a publication, the board report included, for staff holding `reports:read`."""
    root = publications_root(settings_of(request))
    target = publications.resolve_file(root, period, path, public_only=False)
    if target is None:
        raise HTTPException(404, "no such file")
    return file_response(target)
