"""Published reports: the precomputed results the public dashboard serves, and the runs that make them.

Each release of a period lives in its own folder, `<publications_dir>/<period>/v<version>/`, holding at
least `report.public.json`, the suppressed report (SMALL-CELLS). Which releases are published is decided
by the ledger (publishing/) and written to `<publications_dir>/releases.json`; this module reads only that
file and the folders it names, so a draft, a superseded or a withdrawn release is never served. Only the
files in PUBLIC_FILES and under `open-data/` are ever served to the public; the board report is for staff.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fairengage.policy import PolicyError, get_ruleset

log = logging.getLogger(__name__)

PERIOD = re.compile(r"^(?P<year>\d{4})(?:-Q(?P<quarter>[1-4]))?$")
PUBLIC_REPORT = "report.public.json"
# The published releases, one per period (written by publishing/service.py after each step).
RELEASES_INDEX = "releases.json"
INDEX = "index.json"
# The files anyone may download; everything else in a publication (the board report, report.json,
# officer-level results) is for staff holding `reports:read`.
# report.css is the public report's stylesheet, linked from public.html.
PUBLIC_FILES = frozenset({"public.html", "public.pdf", PUBLIC_REPORT, "report.css"})
OPEN_DATA = "open-data"
DEFAULT_THRESHOLD = 10
REFERENCE_GROUP = "White"
ALL_AREAS = "ALL"
# Fields of a row that count people: a value below the threshold is never shown, whatever the file says.
_COUNT_KEYS = {
    "disproportionality": ("count", "total"),
    "outcome_test": ("searches", "hits"),
    "compliance": ("count", "total"),
}
# Fields that could reveal a suppressed count and are therefore blanked with it.
_FIGURE_KEYS = ("count", "total", "index", "ci_low", "ci_high", "rate", "hit_rate", "searches", "hits")
JOBS_FILE = ".report-jobs.json"


class PublicationNotFound(LookupError):
    """No publication for that period (or its public report cannot be read)."""


class JobBusy(RuntimeError):
    """A report is already being built; one runs at a time."""

    def __init__(self, job: ReportJob) -> None:
        super().__init__(f"the report for {job.period} is still being built")
        self.job = job


def is_period(value: str) -> bool:
    """Whether `value` names a period: a year (`2025`) or a quarter (`2025-Q3`)."""
    return PERIOD.fullmatch(value) is not None


def period_bounds(period: str) -> tuple[date, date]:
    """The first and the last local day of a period, both included."""
    match = PERIOD.fullmatch(period)
    if match is None:
        raise ValueError(f"not a period: {period!r} (use a year like 2025 or a quarter like 2025-Q3)")
    year = int(match["year"])
    if match["quarter"] is None:
        return date(year, 1, 1), date(year, 12, 31)
    quarter = int(match["quarter"])
    first = date(year, 3 * quarter - 2, 1)
    after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, date.fromordinal(after.toordinal() - 1)


def period_order(period: str) -> tuple[int, int, int]:
    # Newest first by the period's last day; a year sorts before its own fourth quarter (same last day).
    match = PERIOD.fullmatch(period)
    if match is None:
        raise ValueError(f"not a period: {period!r}")
    quarter = match["quarter"]
    return int(match["year"]), int(quarter) if quarter else 4, 0 if quarter else 1


@dataclass
class Publication:
    """One period's published results, read once from disk and kept while its files are unchanged."""

    period: str
    path: Path
    report: dict[str, Any]
    index: dict[str, Any]
    threshold: int
    public_files: tuple[str, ...]
    # The release's entry in releases.json: version, partial, data_to, supersedes, reason.
    release: dict[str, Any] = field(default_factory=dict)
    # Rendered charts and maps for this publication, keyed by the page's filters (see dashboard.py).
    rendered: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def generated_at(self) -> str | None:
        """When the report was made, as written in it (ISO 8601), if it says."""
        meta = self.report.get("meta") or {}
        return self.index.get("generated_at") or meta.get("generated_at")

    @property
    def version(self) -> int | None:
        """The release's version (1 for the first, higher for corrections)."""
        version = self.release.get("version")
        return version if isinstance(version, int) else None

    @property
    def partial(self) -> bool:
        """Whether the period had not closed when the data were taken."""
        period = (self.report.get("meta") or {}).get("period") or {}
        return bool(self.release.get("partial", period.get("partial") if isinstance(period, dict) else False))

    @property
    def data_to(self) -> str | None:
        """The last day the release's data cover (YYYY-MM-DD)."""
        period = (self.report.get("meta") or {}).get("period") or {}
        found = self.release.get("data_to") or (period.get("last_date") if isinstance(period, dict) else None)
        return str(found) if found else None

    @property
    def areas(self) -> list[str]:
        """`ALL` first, then every division with figures, in order."""
        found = {row.get("area") for row in self._rows("disproportionality") + self._rows("compliance")}
        divisions = sorted(a for a in found if isinstance(a, str) and a != ALL_AREAS)
        return [ALL_AREAS, *divisions]

    @property
    def groups(self) -> list[str]:
        """The perceived-race groups with a disproportionality row, in order."""
        rows = self._rows("disproportionality")
        return sorted({r["group"] for r in rows if isinstance(r.get("group"), str)})

    @property
    def reference_group(self) -> str:
        """The group rates are compared with (White unless the report says otherwise)."""
        return str((self.report.get("meta") or {}).get("reference_group") or REFERENCE_GROUP)

    def _rows(self, section: str) -> list[dict[str, Any]]:
        rows = self.report.get(section)
        return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []

    @property
    def disclosure(self) -> dict[str, Any]:
        """How the release protects people: `method` is "cellkey" or "suppress" (disclosure-control.md)."""
        found = (self.report.get("meta") or {}).get("disclosure")
        return found if isinstance(found, dict) and found.get("method") else {"method": "suppress"}

    @property
    def cellkey(self) -> bool:
        """Whether the release's counts carry small fixed random changes (the cell-key method)."""
        return self.disclosure.get("method") == "cellkey"

    def rows(self, section: str) -> list[dict[str, Any]]:
        """A section's rows, with every row that counts fewer people than the threshold suppressed.

        Under the cell-key method the ptable never publishes a 1 or 2 (a 0 is a true 0, a 3 or 4 may
        stand for 1 to 7): the guard blanks a 1 or 2 that slipped through, and nothing else.
        """
        keys = _COUNT_KEYS.get(section, ())
        if self.cellkey:
            return [_guarded_cellkey(row, keys) for row in self._rows(section)]
        return [_guarded(row, keys, self.threshold) for row in self._rows(section)]


def _guarded_cellkey(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    if not any(row.get(k) in (1, 2) for k in keys):
        return {**row, "suppressed": bool(row.get("suppressed"))}
    blanked = {k: None for k in _FIGURE_KEYS if k in row}
    return {**row, **blanked, "suppressed": True, "suppressed_reason": "small"}


def _guarded(row: dict[str, Any], keys: tuple[str, ...], threshold: int) -> dict[str, Any]:
    # Defence in depth: the public report should already be suppressed, but a count under the threshold
    # that slipped through is blanked here too, so the dashboard can never show one (SMALL-CELLS).
    small = any(isinstance(row.get(k), int | float) and row[k] < threshold for k in keys)
    if not small:
        # A row the suppression hid keeps what it left (a total published elsewhere), and its reason.
        return {**row, "suppressed": bool(row.get("suppressed"))}
    blanked = {k: None for k in _FIGURE_KEYS if k in row}
    return {**row, **blanked, "suppressed": True, "suppressed_reason": "small"}


def _threshold(report: dict[str, Any], index: dict[str, Any]) -> int:
    """The suppression threshold the publication was made with."""
    meta = report.get("meta") or {}
    for holder in (index, meta, meta.get("suppression") or {}, report.get("suppression") or {}):
        if not isinstance(holder, dict):
            continue
        for key in ("suppression_threshold", "threshold"):
            value = holder.get(key)
            if isinstance(value, int) and value > 0:
                return value
    ruleset_id = (meta.get("ruleset") or {}).get("id")
    if ruleset_id:
        try:
            return int(get_ruleset(ruleset_id).param("suppression_threshold"))
        except (PolicyError, KeyError, LookupError):
            pass
    return DEFAULT_THRESHOLD


def public_files(folder: Path) -> tuple[str, ...]:
    """The publication's files anyone may download, as paths relative to its folder."""
    found = [name for name in sorted(PUBLIC_FILES) if (folder / name).is_file()]
    open_data = folder / OPEN_DATA
    if open_data.is_dir():
        found += sorted(
            p.relative_to(folder).as_posix()
            for p in open_data.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )
    return tuple(found)


def all_files(folder: Path) -> tuple[str, ...]:
    """Every file of a publication (board report included), relative to its folder; hidden files left out."""
    return tuple(
        sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )
    )


def resolve_file(root: Path, period: str, relative: str, *, public_only: bool) -> Path | None:
    """The file `relative` of a period's published release, or None when it is not one that may be served.

    Public callers get only PUBLIC_FILES and `open-data/**`; staff get any file but hidden ones. A path
    with `..`, an empty or hidden part, a backslash, or a link leading out of the folder is refused.
    """
    if not is_period(period):
        return None
    parts = relative.split("/")
    if any(
        part in ("", ".", "..") or part.startswith(".") or "\\" in part or "\x00" in part for part in parts
    ):
        return None
    relative = "/".join(parts)
    if public_only and not (relative in PUBLIC_FILES or (parts[0] == OPEN_DATA and len(parts) > 1)):
        return None
    entry = published_index(root).get(period)
    if entry is None:
        return None
    folder = (Path(root) / entry["folder"]).resolve()
    allowed_under = folder / OPEN_DATA if public_only and parts[0] == OPEN_DATA else folder
    target = (folder / relative).resolve()
    if not target.is_relative_to(allowed_under) or not target.is_file():
        return None
    # Only what was published, as it was published: the ledger's SHA-256 (copied into releases.json)
    # vouches for each public file. The board's files are not public and are not in it.
    recorded = _recorded(entry)
    if relative in recorded:
        if digest_of(target) != recorded[relative]:
            log.warning("%s of the %s release differs from the ledger; not served", relative, period)
            return None
    elif public_only:
        return None
    return target


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, in hex."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_digests: dict[Path, tuple[tuple[int, ...], str]] = {}


def digest_of(path: Path) -> str | None:
    """A file's SHA-256 (None when it is gone), remembered while the file is untouched.

    The change time is in the key: a rewrite that restores the size and the modification time still
    moves it, so a remembered digest never vouches for new contents.
    """
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    with _cache_lock:
        known = _digests.get(path)
    if known is not None and known[0] == key:
        return known[1]
    try:
        value = sha256_of(path)
    except OSError:
        return None
    with _cache_lock:
        _digests[path] = (key, value)
    return value


def altered(folder: Path, files: dict[str, str]) -> list[str]:
    """The recorded files of a release whose contents differ from their SHA-256 (or that are gone)."""
    return [name for name, digest in sorted(files.items()) if digest_of(Path(folder) / name) != digest]


def _recorded(entry: dict[str, Any]) -> dict[str, str]:
    files = entry.get("files")
    return files if isinstance(files, dict) else {}


_cache: dict[Path, tuple[tuple[int, ...], Publication]] = {}
_cache_lock = threading.Lock()


def _signature(folder: Path) -> tuple[int, ...]:
    # Any rewrite of the report, the index or the list of files changes one of these.
    parts: list[int] = []
    for path in (folder / PUBLIC_REPORT, folder / INDEX, folder, folder / OPEN_DATA):
        try:
            stat = path.stat()
        except FileNotFoundError:
            parts += [-1, -1, -1]
        else:
            parts += [stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size]
    return tuple(parts)


def published_index(root: Path) -> dict[str, dict[str, Any]]:
    """The published release of each period, from releases.json; empty when nothing is published."""
    try:
        data = json.loads((Path(root) / RELEASES_INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for entry in (data.get("releases") if isinstance(data, dict) else None) or []:
        folder = entry.get("folder") if isinstance(entry, dict) else None
        period = entry.get("period") if isinstance(entry, dict) else None
        # Only `<period>/v<n>` folders: the index can never point a visitor elsewhere.
        if (
            isinstance(period, str)
            and is_period(period)
            and isinstance(folder, str)
            and re.fullmatch(rf"{re.escape(period)}/v\d+", folder)
        ):
            found[period] = entry
    return found


def load(root: Path, period: str) -> Publication:
    """One period's published release, read from disk only when its files changed since the last read."""
    if not is_period(period):
        raise PublicationNotFound(period)
    entry = published_index(root).get(period)
    # A release is served only with the SHA-256 of its files, which the publishing service always writes.
    if entry is None or not _recorded(entry):
        raise PublicationNotFound(period)
    return load_folder(Path(root) / entry["folder"], period, release=entry)


def load_folder(folder: Path, period: str, *, release: dict[str, Any] | None = None) -> Publication:
    """The release in `folder` (published, or a draft in preview), cached while its files stay the same."""
    folder = Path(folder).resolve()
    signature = _signature(folder)
    with _cache_lock:
        cached = _cache.get(folder)
        if cached is not None and cached[0] == signature and cached[1].release == (release or {}):
            return cached[1]
    if signature[0] == -1:
        raise PublicationNotFound(period)
    changed = altered(folder, _recorded(release or {}))
    if changed:
        # Figures the public never downloaded are not shown as if published: fail closed, and say so to
        # the administrator (the release's page lists the same files).
        log.warning("%s release: %s differ from the ledger; not served", period, ", ".join(changed))
        raise PublicationNotFound(period)
    try:
        report = json.loads((folder / PUBLIC_REPORT).read_text(encoding="utf-8"))
        index_path = folder / INDEX
        index = json.loads(index_path.read_text(encoding="utf-8")) if index_path.is_file() else {}
    except (OSError, ValueError) as exc:
        # A report still being written, or a damaged one, is not served.
        raise PublicationNotFound(period) from exc
    if not isinstance(report, dict):
        raise PublicationNotFound(period)
    index = index if isinstance(index, dict) else {}
    publication = Publication(
        period=period,
        path=folder,
        report=report,
        index=index,
        threshold=_threshold(report, index),
        public_files=public_files(folder),
        release=dict(release or {}),
    )
    with _cache_lock:
        _cache[folder] = (signature, publication)
    return publication


def list_publications(root: Path) -> list[Publication]:
    """Every published release under `root` (one per period, its newest version), newest period first."""
    found = []
    for period in published_index(root):
        try:
            found.append(load(root, period))
        except PublicationNotFound:
            log.warning("published release of %s cannot be read; not listed", period)
    return sorted(found, key=lambda p: period_order(p.period), reverse=True)


def latest(root: Path) -> Publication | None:
    """The newest publication, or None when nothing is published."""
    publications = list_publications(root)
    return publications[0] if publications else None


def _one(rows: list[dict[str, Any]], **match: str) -> dict[str, Any] | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def _reason(row: dict[str, Any] | None, key: str) -> str | None:
    """Why a figure of a row is hidden (`small` or `protects`), where the publication says."""
    if row is None:
        return None
    return row.get(f"{key}_suppressed_reason") or row.get("suppressed_reason")


def headline(publication: Publication, *, division: str | None = None, group: str | None = None) -> dict:
    """The figures the dashboard shows for one area (a division, or all) and one perceived-race group.

    Every row is passed through the threshold guard: a suppressed figure is None with `suppressed` set.
    """
    area = division if division in publication.areas else ALL_AREAS
    groups = publication.groups
    if group not in groups:
        group = "Black" if "Black" in groups else (groups[0] if groups else None)
    disproportionality = publication.rows("disproportionality")
    compliance = [r for r in publication.rows("compliance") if r.get("area") == area]
    outcome = publication.rows("outcome_test")
    # Every measure's row carries the area's engagements; a hidden row may keep them (suppression.py).
    totals = [r for r in compliance if r.get("total") is not None] or compliance
    engagements = totals[0] if totals else None
    return {
        "period": publication.period,
        "area": area,
        "group": group,
        "threshold": publication.threshold,
        "reference_group": publication.reference_group,
        "engagements": {
            "value": engagements.get("total") if engagements else None,
            "suppressed": bool(engagements and engagements.get("total") is None),
            "reason": _reason(engagements, "total"),
            "available": engagements is not None,
        },
        "compliance": sorted(compliance, key=lambda r: str(r.get("measure"))),
        "disproportionality": _one(disproportionality, area=area, group=group) if group else None,
        "by_group": sorted(
            (r for r in disproportionality if r.get("area") == area), key=lambda r: str(r.get("group"))
        ),
        "by_division": sorted(
            (r for r in disproportionality if r.get("group") == group and r.get("area") != ALL_AREAS),
            key=lambda r: str(r.get("area")),
        ),
        "outcome": _one(outcome, area=area, group=group) if group else None,
        "outcome_reference": _one(outcome, area=area, group=publication.reference_group),
    }


# --- report runs ------------------------------------------------------------------------------------

# A build makes a draft release of one period, reporting to the progress; it returns the release's id.
BuildFn = Callable[["JobProgress"], object]
ACTIVE = ("queued", "running")


@dataclass
class ReportJob:
    """One report run: its period, state (queued, running, done, failed), progress and outputs."""

    id: str
    period: str
    requested_by: str
    state: str = "queued"
    phase: str = ""
    done: int = 0
    total: int | None = None
    error: str | None = None
    outputs: list[str] = field(default_factory=list)
    release_id: int | None = None
    history: list[str] = field(default_factory=lambda: ["queued"])
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    finished_at: str | None = None

    @property
    def active(self) -> bool:
        """Still queued or running."""
        return self.state in ACTIVE


class JobProgress:
    """A report run's progress (fairengage.progress's protocol), kept on the job for its web page: the
    current phase's name, and how far it is when its size is known."""

    def __init__(self, jobs: ReportJobs, job: ReportJob) -> None:
        self._jobs = jobs
        self._job = job

    def phase(self, description: str, total: int | None = None) -> None:
        """Start a phase, of `total` steps when known."""
        with self._jobs.lock:
            self._job.phase, self._job.total, self._job.done = str(description), total, 0

    def advance(self, steps: int = 1) -> None:
        """Steps done in the current phase."""
        with self._jobs.lock:
            self._job.done += int(steps)


class ReportJobs:
    """Report runs for one publications folder: one at a time, in a thread, state kept in memory and in
    a small status file beside the publications (so a restart shows what happened)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.lock = threading.RLock()
        self._jobs: dict[str, ReportJob] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._read_status()

    def _read_status(self) -> None:
        try:
            saved = json.loads((self.root / JOBS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        for item in saved if isinstance(saved, list) else []:
            try:
                job = ReportJob(**item)
            except TypeError:
                continue
            if job.active:
                # Its thread died with the previous process: say so rather than show it running for ever.
                job.state, job.error = "failed", "interrupted: the service stopped while it ran"
                job.history.append("failed")
            self._jobs[job.id] = job

    def _write_status(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        recent = sorted(self._jobs.values(), key=lambda j: j.created_at)[-20:]
        partial = self.root / f".{JOBS_FILE}.partial"
        partial.write_text(json.dumps([asdict(j) for j in recent], indent=1), encoding="utf-8")
        partial.replace(self.root / JOBS_FILE)

    def get(self, job_id: str) -> ReportJob | None:
        """A job by id, or None."""
        with self.lock:
            return self._jobs.get(job_id)

    def recent(self) -> list[ReportJob]:
        """Jobs newest first."""
        with self.lock:
            return sorted(self._jobs.values(), key=lambda j: (j.created_at, j.id), reverse=True)

    def active(self) -> ReportJob | None:
        """The job queued or running, if any."""
        with self.lock:
            return next((j for j in self._jobs.values() if j.active), None)

    def start(self, *, period: str, build: BuildFn, requested_by: str) -> ReportJob:
        """Queue a run for a period and start it in a thread; JobBusy while another run is active."""
        if not is_period(period):
            raise ValueError(f"not a period: {period!r}")
        with self.lock:
            busy = self.active()
            if busy is not None:
                raise JobBusy(busy)
            job = ReportJob(id=uuid.uuid4().hex[:16], period=period, requested_by=requested_by)
            self._jobs[job.id] = job
            self._write_status()
            thread = threading.Thread(
                target=self._run, args=(job, build), name=f"report-{job.id}", daemon=True
            )
            self._threads[job.id] = thread
        thread.start()
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> ReportJob | None:
        """Wait for a job's thread to end (for the command line and tests); the job as it then stands."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(job_id)

    def _set_state(self, job: ReportJob, state: str, **changes: Any) -> None:
        with self.lock:
            job.state = state
            job.history.append(state)
            for key, value in changes.items():
                setattr(job, key, value)
            self._write_status()

    def _run(self, job: ReportJob, build: BuildFn) -> None:
        self._set_state(job, "running")
        try:
            # The build records a draft release in the ledger (publishing/service.py) and returns its id.
            release_id = build(JobProgress(self, job))
        except Exception as exc:  # any failure of the build is shown on the job's page
            log.exception("report run %s for %s failed", job.id, job.period)
            self._set_state(job, "failed", error=f"{type(exc).__name__}: {exc}", finished_at=_now())
            return
        made = release_id if isinstance(release_id, int) else None
        self._set_state(job, "done", release_id=made, finished_at=_now(), phase="done")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_runners: dict[Path, ReportJobs] = {}
_runners_lock = threading.Lock()


def jobs_for(root: Path) -> ReportJobs:
    """The one job runner of a publications folder in this process."""
    key = Path(root).resolve()
    with _runners_lock:
        if key not in _runners:
            _runners[key] = ReportJobs(key)
        return _runners[key]
