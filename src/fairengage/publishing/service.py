"""The one path from the database to a public release: build a draft, approve it (a second person), withdraw.

This is where the records meet the report builder. The analytic table and the governance counts are
extracted into a private temporary folder (mode 0700, outside the publications folder) and deleted after
the build, so no row-level file ever sits where releases are kept. Each release gets its own folder,
`<publications_dir>/<period>/v<version>/`, written once and never rewritten: a correction is a new version
that names what it replaces and why. Every step is a row of the ledger (models.py) and an audit entry;
the public dashboard reads only `releases.json`, the list of published releases written after each step.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fairengage.access import audit
from fairengage.access.models import AuditEntry
from fairengage.config import Settings
from fairengage.db import transaction
from fairengage.errors import DomainError, FieldError, NotFound
from fairengage.progress import NO_PROGRESS, Progress
from fairengage.publishing.models import PublicationRelease
from fairengage.reports import publications
from fairengage.reports.period import PeriodError, parse_period

DRAFT, PUBLISHED, SUPERSEDED, WITHDRAWN = "draft", "published", "superseded", "withdrawn"
# Releases whose files anyone could ever have downloaded: the disclosure check weighs them all.
EVER_PUBLIC = (PUBLISHED, SUPERSEDED, WITHDRAWN)
# Row-level inputs of a build; the build fails rather than leave one in a release folder.
ROW_LEVEL = frozenset({"engagements.parquet", "engagements.csv", "governance.json"})
# Staff files of a release besides its public ones: the only other names the staff route serves.
STAFF_FILES = ("board.html", "board.pdf", "report.json", "index.json")
MAX_REASON = 2000
ENTITY = "publication_release"


class PublishRefused(DomainError):
    """A build, approval or withdrawal the workflow does not allow; nothing was changed."""

    status = 409
    title = "The publishing step was refused"
    slug = "publish-refused"


@dataclass(frozen=True)
class Release:
    """One row of the ledger, detached from its session."""

    id: int
    period: str
    version: int
    status: str
    folder: str
    supersedes_id: int | None
    built_at: datetime
    built_by: str
    approved_at: datetime | None
    approved_by: str | None
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    reason: str | None
    withdrawn_reason: str | None
    partial: bool
    as_of: date
    data_to: date
    threshold: int
    disclosure_ok: bool
    disclosure: dict[str, Any]
    files: dict[str, str]

    @classmethod
    def of(cls, row: PublicationRelease) -> Release:
        """A snapshot of a ledger row."""
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

    def path(self, root: Path) -> Path:
        """The release's folder under the publications folder."""
        return Path(root) / self.folder


def root_of(settings: Settings) -> Path:
    """The publications folder (FAIRENGAGE_PUBLICATIONS_DIR)."""
    return Path(settings.publications_dir)


# --- reading the ledger -------------------------------------------------------------------------------


def get(*, session: Session, release_id: int) -> Release | None:
    """A release by id, or None."""
    row = session.get(PublicationRelease, release_id)
    return Release.of(row) if row is not None else None


def get_or_raise(*, session: Session, release_id: int) -> Release:
    """A release by id; NotFound otherwise."""
    found = get(session=session, release_id=release_id)
    if found is None:
        raise NotFound(f"no release {release_id}")
    return found


def list_releases(*, session: Session, period: str | None = None) -> list[Release]:
    """Every release (of one period, if given), newest period and version first."""
    query = select(PublicationRelease)
    if period is not None:
        query = query.where(PublicationRelease.period == period)
    rows = session.scalars(query).all()
    releases = [Release.of(r) for r in rows]
    return sorted(releases, key=lambda r: (publications.period_order(r.period), r.version), reverse=True)


def newest(*, session: Session, period: str, status: str | None = None) -> Release | None:
    """The highest version of a period (with that status, if given), or None."""
    found = [r for r in list_releases(session=session, period=period) if status in (None, r.status)]
    return found[0] if found else None


# --- building -----------------------------------------------------------------------------------------


def build_release(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    period: str,
    actor: str,
    reason: str | None = None,
    progress: Progress = NO_PROGRESS,
    now: datetime | None = None,
) -> Release:
    """Extract, build every report of a period into a new release folder, check it, and record a draft."""
    # Imported here: the builder pulls in the analytics engines, which the web app need not load to start.
    from fairengage.analytics.population_benchmarks import default_benchmark_path
    from fairengage.engagements.extract import ExtractRefused, write_extract
    from fairengage.governance.summary import write_governance_summary
    from fairengage.reports.builder import build_reports

    now = (now or datetime.now(UTC)).astimezone(UTC)
    try:
        chosen = parse_period(period, settings.timezone)
    except PeriodError as exc:
        raise _refused("period", "PERIOD", str(exc)) from None
    reason = _clean_reason(reason)
    today = now.astimezone(settings.tz).date()
    first_day, last_day = chosen.start.date(), (chosen.end - timedelta(days=1)).date()
    if today < first_day:
        raise _refused(
            "period", "PERIOD-STARTED", f"{chosen.label} has not begun; there is nothing to report"
        )
    if today <= last_day and settings.partial_periods == "refuse":
        opens = (last_day + timedelta(days=1)).isoformat()
        raise _refused(
            "period",
            "PARTIAL-PERIOD",
            f"{chosen.label} has not closed (it ends on {last_day.isoformat()}) and "
            f"FAIRENGAGE_PARTIAL_PERIODS=refuse: build it on or after {opens}",
        )
    with transaction(sessions) as session:
        _check_can_build(session, chosen.label, reason)
        _check_same_method(session, chosen.label, settings.disclosure_method)
        public = [r for r in list_releases(session=session) if r.status in EVER_PUBLIC]
    root = root_of(settings)
    _check_earlier_intact(root, public)
    earlier = [r.path(root) for r in public]
    root.mkdir(parents=True, exist_ok=True)
    # Staged beside the releases so the finished folder is moved in with one rename.
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    target: Path | None = None
    try:
        build = staging / "build"
        # mkdtemp makes the folder readable by its owner only (0700): the extract holds every row.
        private = Path(tempfile.mkdtemp(prefix="fairengage-extract-"))
        try:
            os.chmod(private, 0o700)
            table, governance = private / "engagements.parquet", private / "governance.json"
            try:
                write_extract(
                    sessions=sessions,
                    out=table,
                    settings=settings,
                    actor=actor,
                    progress=progress,
                )
            except ExtractRefused as exc:
                raise _refused("period", "EXTRACT", str(exc)) from None
            write_governance_summary(
                sessions=sessions,
                period_start=chosen.start,
                period_end=chosen.end,
                tz=settings.timezone,
                out=governance,
                today=today,
            )
            checked: list[Any] = []

            def check(folder: Path, threshold: int) -> bool:
                # Run before the public pages are drawn, so they are drawn once, from the checked files.
                checked.append(_protect(folder, staging / "candidate", earlier, threshold, settings))
                return bool(checked[-1].further_suppressed)

            built = build_reports(
                table_path=table,
                benchmark_path=default_benchmark_path(),
                period=chosen.label,
                out_dir=build,
                settings=settings,
                governance=governance,
                boundaries=settings.boundaries,
                progress=progress,
                generated_at=now,
                check=None if settings.disclosure_method == "cellkey" else check,
            )
        finally:
            shutil.rmtree(private, ignore_errors=True)
        _refuse_row_level(build)
        # A cell-key release is checked once built: the check reads what the build stated.
        result = checked[0] if checked else _cellkey_checked(build)
        files = {name: publications.sha256_of(build / name) for name in publications.public_files(build)}
        meta_period = _public_period(build)
        with transaction(sessions) as session:
            # Checked again: another build of this period may have finished while this one ran.
            _check_can_build(session, chosen.label, reason)
            _check_same_method(session, chosen.label, settings.disclosure_method)
            version = (
                session.scalar(
                    select(func.max(PublicationRelease.version)).where(
                        PublicationRelease.period == chosen.label
                    )
                )
                or 0
            ) + 1
            folder = f"{chosen.label}/v{version}"
            target = root / folder
            target.parent.mkdir(parents=True, exist_ok=True)
            build.rename(target)  # fails if the folder exists: two builds never share one
            _read_only(target)
            row = PublicationRelease(
                period=chosen.label,
                version=version,
                status=DRAFT,
                folder=folder,
                built_at=now,
                built_by=actor,
                reason=reason,
                partial=bool(meta_period.get("partial", today <= last_day)),
                as_of=date.fromisoformat(meta_period.get("as_of") or today.isoformat()),
                data_to=date.fromisoformat(meta_period.get("last_date") or min(today, last_day).isoformat()),
                threshold=built.threshold,
                disclosure_ok=result.ok,
                disclosure=_disclosure_dict(result),
                files=files,
            )
            session.add(row)
            session.flush()
            audit.append(
                session,
                actor=actor,
                action="publication.build",
                entity=ENTITY,
                entity_id=str(row.id),
                purpose="build a release of the period's reports for approval",
                details={
                    "period": row.period,
                    "version": version,
                    "partial": row.partial,
                    "disclosure_ok": result.ok,
                    "files": files,
                },
            )
            made = Release.of(row)
    except BaseException:
        if target is not None and target.exists():
            _writable(target)
            shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return made


def _check_earlier_intact(root: Path, public: Sequence[Release]) -> None:
    """Refuse a build while a release the public could download no longer holds what it published.

    The check proves a release safe against what the public already holds; read from altered or
    missing files, it would prove it against something nobody downloaded. The ledger's SHA-256 of
    each file says what was published.
    """
    altered = [
        f"{r.period} version {r.version} ({', '.join(c)})" for r in public if (c := changed_files(root, r))
    ]
    if altered:
        raise _refused(
            "period",
            "EARLIER-CHANGED",
            "the files of earlier releases no longer match the ledger: "
            f"{'; '.join(altered)}. The disclosure check must read what the public downloaded: "
            "restore those files from a backup (their SHA-256 are in the ledger) and build again",
        )


def _check_can_build(session: Session, period: str, reason: str | None) -> None:
    waiting = newest(session=session, period=period, status=DRAFT)
    if waiting is not None:
        raise _refused(
            "period",
            "ONE-DRAFT",
            f"version {waiting.version} of {period} awaits approval: approve or withdraw it first",
        )
    if newest(session=session, period=period, status=PUBLISHED) is not None and not reason:
        raise _refused(
            "reason",
            "CORRECTION-REASON",
            f"{period} is already published: a new version is a correction, say what it corrects",
        )


def method_of(release: Release | PublicationRelease) -> str:
    """The disclosure method a release was built with (releases from before the setting: suppress)."""
    return str((release.disclosure or {}).get("method") or "suppress")


def overlaps(one: str, other: str) -> bool:
    """Whether two periods share a day (a year overlaps each of its quarters)."""
    first, last = publications.period_bounds(one)
    other_first, other_last = publications.period_bounds(other)
    return first <= other_last and other_first <= last


def _check_same_method(session: Session, period: str, method: str) -> None:
    """Refuse a period, or one overlapping it, under a method other than its public releases used.

    A suppressed release beside a cell-key release of the same records shows exact and changed figures
    of the same cells side by side: the difference is each cell's change, and the changes give the
    hidden counts away. Only withdrawing the earlier releases (with a reason) lifts the refusal.
    """
    for other in list_releases(session=session):
        if other.status not in (PUBLISHED, SUPERSEDED) or not overlaps(period, other.period):
            continue
        if method_of(other) != method:
            name = f"{other.period} version {other.version}"
            message = (
                f"{name} ({other.status}) was published with FAIRENGAGE_DISCLOSURE_METHOD="
                f"{method_of(other)}, and {period} overlaps it: publishing it with {method} would show "
                f"exact and changed figures of the same records side by side. Set the method back to "
                f"{method_of(other)}, or withdraw {name} first"
            )
            raise _refused("period", "SAME-METHOD", message)


def _protect(
    build: Path, candidate: Path, earlier: Sequence[Path], threshold: int, settings: Settings
) -> Any:
    """Run the disclosure check on the public files alone, then take back whatever it further hid.

    A cell-key release (FAIRENGAGE_DISCLOSURE_METHOD=cellkey) is not protected by the cross-release
    check, which proves bounds on exact counts: its check is that the build used the method (the ptable
    stated, no published 1 or 2), and the result says the method so the gate can tell.
    """
    # Deferred on purpose: the cross-release check loads scipy, which the web app need not load to start.
    from fairengage.reports import disclosure

    if settings.disclosure_method == "cellkey":
        return _cellkey_checked(build)

    names = publications.public_files(build)
    for name in names:
        (candidate / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(build / name, candidate / name)
    try:
        result = disclosure.protect_release(candidate, list(earlier), threshold=threshold)
    except disclosure.DisclosureInputError as exc:
        # Files the ledger vouches for but this software cannot read: fail closed, naming the file.
        raise _refused("period", "EARLIER-UNREADABLE", f"the disclosure check cannot run: {exc}") from None
    for name in names:
        if (candidate / name).is_file():
            shutil.copyfile(candidate / name, build / name)
    return result


@dataclass(frozen=True)
class _CellKeyResult:
    ok: bool
    summary: str
    method: str = "cellkey"
    further_suppressed: int = 0
    blocking: tuple[Any, ...] = ()
    details: dict[str, Any] | None = None


def _cellkey_checked(build: Path) -> _CellKeyResult:
    # Deferred on purpose: the cell-key release loads the analytics stack (pandas, ibis).
    from fairengage.reports import cellkey_release

    ok, summary, checked = cellkey_release.check_release(build)
    report = json.loads((build / publications.PUBLIC_REPORT).read_text(encoding="utf-8"))
    stated = (report.get("meta") or {}).get("disclosure") or {}
    details = {
        k: stated.get(k) for k in ("ptable_version", "ptable_sha256", "max_noise", "expected_absolute_error")
    }
    return _CellKeyResult(ok=ok, summary=summary, details={**details, "counts_checked": checked})


def _public_period(build: Path) -> dict[str, Any]:
    try:
        report = json.loads((build / publications.PUBLIC_REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    period = (report.get("meta") or {}).get("period")
    return period if isinstance(period, dict) else {}


def _refuse_row_level(folder: Path) -> None:
    found = [p for p in folder.rglob("*") if p.name in ROW_LEVEL]
    if found:
        raise PublishRefused(
            f"the build left a row-level file in the release: {found[0].relative_to(folder)}"
        )


def _read_only(folder: Path) -> None:
    # A release's files are never rewritten; read-only makes an accidental write fail loudly.
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(0o444)


def _writable(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(0o644)


def _disclosure_dict(result: Any) -> dict[str, Any]:
    return {
        "ok": bool(result.ok),
        "method": getattr(result, "method", "suppress"),
        **(getattr(result, "details", None) or {}),
        "summary": str(result.summary),
        "further_suppressed": int(result.further_suppressed),
        "blocking": [
            {"release": b.release, "file": b.file, "figure": b.figure, "low": b.low, "high": b.high}
            for b in result.blocking
        ],
    }


# --- approving and withdrawing ------------------------------------------------------------------------


def approve(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    release_id: int,
    actor: str,
    now: datetime | None = None,
) -> Release:
    """Publish a draft: a second person (never its builder), its disclosure check passed, its files intact."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    root = root_of(settings)
    with transaction(sessions) as session:
        row = _locked(session, release_id)
        if row.status != DRAFT:
            raise _refused(
                "release", "DRAFT-ONLY", f"{_name(row)} is {row.status}; only a draft can be approved"
            )
        if actor == row.built_by:
            raise _refused(
                "release",
                "TWO-PERSON",
                f"{actor} built {_name(row)} and may not approve it: "
                "a second person holding reports:publish must",
            )
        if not row.disclosure_ok:
            raise _refused(
                "release", "DISCLOSURE", f"the disclosure check blocks {_name(row)}: {blocking_text(row)}"
            )
        if (row.disclosure or {}).get("method") == "cellkey" and not _same_ptable(row.disclosure):
            raise _refused(
                "release",
                "DISCLOSURE",
                f"{_name(row)} was built with a cell-key table other than this software's: build it again",
            )
        # Another period's release may have been published with the other method since this build.
        _check_same_method(session, row.period, method_of(row))
        today = now.astimezone(settings.tz).date()
        if settings.partial_periods == "refuse" and row.partial and today <= _last_day(row.period):
            raise _refused(
                "release",
                "PARTIAL-PERIOD",
                f"{row.period} has not closed (FAIRENGAGE_PARTIAL_PERIODS=refuse)",
            )
        changed = changed_files(root, Release.of(row))
        if changed:
            raise _refused(
                "release",
                "FILES-CHANGED",
                f"files of {_name(row)} changed since the build: {', '.join(changed)}",
            )
        previous = session.scalars(
            select(PublicationRelease).where(
                PublicationRelease.period == row.period, PublicationRelease.status == PUBLISHED
            )
        ).all()
        for old in previous:
            old.status = SUPERSEDED
        if previous:
            row.supersedes_id = max(previous, key=lambda r: r.version).id
        row.status, row.approved_by, row.approved_at = PUBLISHED, actor, now
        audit.append(
            session,
            actor=actor,
            action="publication.approve",
            entity=ENTITY,
            entity_id=str(row.id),
            purpose="publish a release built and checked by another person",
            details={
                "period": row.period,
                "version": row.version,
                "built_by": row.built_by,
                "supersedes": [old.version for old in previous],
                "reason": row.reason,
            },
        )
        approved = Release.of(row)
    write_public_index(sessions=sessions, root=root)
    return approved


def withdraw(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    release_id: int,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> Release:
    """Withdraw a release with a reason: it leaves the public pages and stays in the ledger."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    cleaned = _clean_reason(reason)
    if not cleaned:
        raise _refused("reason", "WITHDRAW-REASON", "say why the release is withdrawn")
    with transaction(sessions) as session:
        row = _locked(session, release_id)
        if row.status == WITHDRAWN:
            raise _refused("release", "WITHDRAWN", f"{_name(row)} is already withdrawn")
        was = row.status
        row.status, row.withdrawn_by, row.withdrawn_at, row.withdrawn_reason = WITHDRAWN, actor, now, cleaned
        audit.append(
            session,
            actor=actor,
            action="publication.withdraw",
            entity=ENTITY,
            entity_id=str(row.id),
            purpose="withdraw a release from the public pages",
            details={"period": row.period, "version": row.version, "was": was, "reason": cleaned},
        )
        withdrawn = Release.of(row)
    write_public_index(sessions=sessions, root=root_of(settings))
    return withdrawn


def record_download(*, session: Session, release: Release, name: str, actor: str) -> None:
    """Log a staff download of one of a release's files."""
    audit.append(
        session,
        actor=actor,
        action="publication.download",
        entity=ENTITY,
        entity_id=str(release.id),
        purpose="staff download of a report file",
        details={"period": release.period, "version": release.version, "file": name},
    )


def staff_file(root: Path, release: Release, name: str) -> Path | None:
    """A file of a release that staff may download: its recorded public files and the board report."""
    if name not in release.files and name not in STAFF_FILES:
        return None
    folder = release.path(root).resolve()
    target = (folder / name).resolve()
    if not target.is_relative_to(folder) or not target.is_file():
        return None
    return target


def changed_files(root: Path, release: Release) -> list[str]:
    """The public files of a release whose contents no longer match the ledger (or that are gone)."""
    return publications.altered(release.path(root), release.files)


@dataclass(frozen=True)
class ReleaseCheck:
    """One release as an auditor checks it: its files against the ledger, the ledger against the log."""

    release_id: int
    name: str  # "2025 version 2", or the audit log's words for a release the ledger lost
    status: str
    problems: tuple[str, ...]


def verify_releases(*, sessions: sessionmaker[Session], root: Path) -> list[ReleaseCheck]:
    """Every release checked three ways, newest first: what is on disk, the ledger, the audit log.

    The audit log's `publication.build` entry recorded each file's SHA-256 when the release was built,
    and signed checkpoints cover the log (`fairengage audit verify`): a ledger row or a file rewritten
    afterwards, or a published line of releases.json that says otherwise, is reported.
    """
    with transaction(sessions) as session:
        releases = list_releases(session=session)
        built = {
            entity_id: details
            for entity_id, details in session.execute(
                select(AuditEntry.entity_id, AuditEntry.details)
                .where(AuditEntry.entity == ENTITY, AuditEntry.action == "publication.build")
                .order_by(AuditEntry.seq)
            )
        }
    index = publications.published_index(root)
    found = []
    for release in releases:
        problems = [f"{name} differs from the ledger (or is gone)" for name in changed_files(root, release)]
        logged = built.pop(str(release.id), None)
        if not isinstance(logged, dict):
            problems.append("the audit log has no build entry for it")
        else:
            if logged.get("files") != release.files:
                problems.append(
                    "the ledger's file digests differ from those the audit log recorded at the build"
                )
            if (logged.get("period"), logged.get("version")) != (release.period, release.version):
                problems.append(
                    f"the audit log recorded it as {logged.get('period')} version {logged.get('version')}"
                )
        listed = index.get(release.period)
        if listed is not None and listed.get("folder") == release.folder:
            if release.status != PUBLISHED:
                problems.append(f"releases.json serves it, but the ledger says {release.status}")
            elif listed.get("files") != release.files:
                problems.append("releases.json's file digests differ from the ledger's")
        elif release.status == PUBLISHED:
            problems.append("published in the ledger, but releases.json does not serve it")
        found.append(ReleaseCheck(release.id, _name(release), release.status, tuple(problems)))
    for entity_id, details in built.items():
        said = details if isinstance(details, dict) else {}
        name = f"{said.get('period')} version {said.get('version')}"
        found.append(
            ReleaseCheck(int(entity_id or 0), name, "missing", ("built (audit log), but not in the ledger",))
        )
    return found


def blocking_text(release: Release | PublicationRelease) -> str:
    """The disclosure check's summary and the figures that block a release, in one line."""
    found = release.disclosure or {}
    figures = [
        f"{b.get('file')}: {b.get('figure')} ({b.get('low')}–{b.get('high')})"
        for b in found.get("blocking", [])
    ]
    return "; ".join([str(found.get("summary") or ""), *figures]).strip("; ")


def write_public_index(*, sessions: sessionmaker[Session], root: Path) -> Path:
    """Write `releases.json`, the published releases the dashboard serves, from the ledger (atomically)."""
    with transaction(sessions) as session:
        releases = list_releases(session=session)
    by_id = {r.id: r for r in releases}
    entries = []
    for release in releases:
        if release.status != PUBLISHED:
            continue
        replaced = by_id.get(release.supersedes_id) if release.supersedes_id else None
        entries.append(
            {
                "period": release.period,
                "version": release.version,
                "folder": release.folder,
                "published_on": release.approved_at.date().isoformat() if release.approved_at else None,
                "partial": release.partial,
                "data_to": release.data_to.isoformat(),
                "as_of": release.as_of.isoformat(),
                "supersedes": {"version": replaced.version} if replaced else None,
                "reason": release.reason if replaced else None,
                "files": release.files,
            }
        )
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f".{publications.RELEASES_INDEX}.partial"
    partial.write_text(json.dumps({"releases": entries}, indent=1, ensure_ascii=False), encoding="utf-8")
    partial.replace(root / publications.RELEASES_INDEX)
    return root / publications.RELEASES_INDEX


# --- helpers ------------------------------------------------------------------------------------------


def _locked(session: Session, release_id: int) -> PublicationRelease:
    # Row lock on PostgreSQL: two approvers of one draft are served one after the other.
    row = session.get(PublicationRelease, release_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no release {release_id}")
    return row


def _same_ptable(found: dict[str, Any]) -> bool:
    # Deferred on purpose, as in `_cellkey_checked`.
    from fairengage.reports.cellkey_release import ptable_sha256

    return found.get("ptable_sha256") == ptable_sha256()


def _name(row: PublicationRelease | Release) -> str:
    return f"{row.period} version {row.version}"


def _last_day(period: str) -> date:
    return publications.period_bounds(period)[1]


def _clean_reason(reason: str | None) -> str | None:
    text = " ".join((reason or "").split())
    if len(text) > MAX_REASON:
        raise _refused("reason", "REASON-LENGTH", f"the reason is longer than {MAX_REASON} characters")
    return text or None


def _refused(field: str, rule: str, message: str) -> PublishRefused:
    return PublishRefused(message, [FieldError(field, rule, message)])
