"""One drill end to end: a fresh database, a roster, the server, the officers, and the ledger."""

from __future__ import annotations

import asyncio
import functools
import secrets
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fairengage import migrate
from fairengage.db import engine_for, session_factory
from fairengage.drills import drill
from fairengage.drills.server import ServerProcess, free_port
from fairengage.progress import NO_PROGRESS, Progress


@dataclass(frozen=True)
class CrashPlan:
    """Kill the server `at` seconds into the drill and start it again `down_for` seconds later."""

    at: float
    down_for: float = 1.0


@dataclass(frozen=True)
class DrillResult:
    """A drill's figures and its ledger."""

    database: str
    officers: int
    workers: int
    seconds: float
    rate: float | None
    wall: float
    tally: drill.Tally
    ledger: drill.Ledger
    server_cpu: float | None
    baseline: tuple[int, float, list[float]] | None
    crashed_at: float | None
    downtime: float | None
    acknowledged_after_restart: int | None

    @property
    def records_per_second(self) -> float:
        """Acknowledged records per second of wall time."""
        return len(self.tally.acknowledged) / self.wall if self.wall else 0.0

    @property
    def errors(self) -> int:
        """Answers that were neither an acknowledgement nor a retry that later succeeded."""
        return sum(self.tally.errors.values())

    def as_json(self) -> dict[str, Any]:
        """The figures as JSON, latencies in milliseconds."""
        ms = 1000.0
        lat = self.tally.latencies
        baseline = None
        if self.baseline is not None:
            count, wall, latencies = self.baseline
            baseline = {
                "path": "GET /healthz",
                "requests": count,
                "requests_per_second": round(count / wall, 1) if wall else None,
                "p50_ms": _ms(drill.median(latencies)),
                "p99_ms": _ms(drill.percentile(latencies, 0.99)),
            }
        return {
            "database": self.database,
            "officers": self.officers,
            "workers": self.workers,
            "seconds": self.seconds,
            "rate": self.rate,
            "wall_seconds": round(self.wall, 2),
            "acknowledged": len(self.tally.acknowledged),
            "records_per_second": round(self.records_per_second, 1),
            "p50_ms": _ms(drill.median(lat)),
            "p99_ms": _ms(drill.percentile(lat, 0.99)),
            "max_ms": round(max(lat) * ms, 1) if lat else None,
            "errors": dict(self.tally.errors),
            "retries": self.tally.retries,
            "replayed": self.tally.replayed,
            "server_cpu_ms_per_record": round(self.server_cpu * ms / len(self.tally.acknowledged), 2)
            if self.server_cpu is not None and self.tally.acknowledged
            else None,
            "stored": self.ledger.stored,
            "missing": self.ledger.missing,
            "unacknowledged": self.ledger.unacknowledged,
            "without_findings": self.ledger.without_findings,
            "without_audit": self.ledger.without_audit,
            "audit_intact": self.ledger.audit_ok,
            "audit_entries": self.ledger.audit_entries,
            "exact": self.ledger.exact,
            "crashed_at": self.crashed_at,
            "downtime_seconds": round(self.downtime, 2) if self.downtime is not None else None,
            "acknowledged_after_restart": self.acknowledged_after_restart,
            "baseline": baseline,
        }


def _ms(value: float | None) -> float | None:
    return round(value * 1000.0, 1) if value is not None else None


def run_event_loop(main: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine on uvloop when it is installed (it is, with uvicorn[standard])."""
    # A real optional: uvicorn[standard] brings uvloop everywhere but on Windows, Cygwin and PyPy.
    try:
        import uvloop
    except ImportError:  # pragma: no cover - only where uvloop does not exist
        return asyncio.run(main)
    return uvloop.run(main)


def run_drill(
    *,
    database_url: str,
    officers: int,
    seconds: float,
    workers: int = 2,
    crash: CrashPlan | None = None,
    baseline_seconds: float = 0.0,
    rate: float | None = None,
    seed: int = 0,
    log_dir: Path | None = None,
    progress: Progress = NO_PROGRESS,
) -> DrillResult:
    """Migrate an empty database, add a roster, serve, record for `seconds`, and check the ledger."""
    migrate.upgrade(database_url)
    sessions = session_factory(engine_for(database_url))
    tokens = drill.make_roster(sessions, officers)
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="fairengage-drill-"))
    server = ServerProcess(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        workers=workers,
        port=free_port(),
        log=log_dir / "server.log",
    )
    progress.phase(f"serving with {workers} worker(s) on 127.0.0.1:{server.port}; log {server.log}")
    server.start()
    crash_times: dict[str, float] = {}
    try:
        baseline = None
        if baseline_seconds > 0:
            progress.phase(f"baseline: GET /healthz from {officers} clients for {baseline_seconds:g} s")
            baseline = run_event_loop(
                drill.baseline_requests(port=server.port, clients=officers, seconds=baseline_seconds)
            )
        cpu_before = server.cpu_seconds()

        async def kill_and_restart(plan: CrashPlan) -> None:
            await asyncio.sleep(plan.at)
            await asyncio.to_thread(server.kill)
            crash_times["killed"] = time.monotonic()
            progress.phase(f"killed the server (SIGKILL) {plan.at:g} s in; restarting in {plan.down_for:g} s")
            await asyncio.sleep(plan.down_for)
            await asyncio.to_thread(server.start)
            crash_times["ready"] = time.monotonic()

        progress.phase(f"{officers} officers recording for {seconds:g} s")
        tally, wall = run_event_loop(
            drill.run_shifts(
                port=server.port,
                tokens=tokens,
                seconds=seconds,
                seed=seed,
                rate=rate,
                during=functools.partial(kill_and_restart, crash) if crash else None,
            )
        )
        server_cpu = None if crash else server.cpu_seconds() - cpu_before
    finally:
        server.stop()
    ledger = drill.check_ledger(sessions, tally.acknowledged)
    downtime = after_restart = None
    if "ready" in crash_times:
        downtime = crash_times["ready"] - crash_times["killed"]
        # Counted from the kill, not from when the restart was seen to be ready: a killed server answers
        # nothing, so every later acknowledgement came from the restarted one, and officers retrying
        # while it started may be answered before the readiness poll returns.
        after_restart = sum(1 for moment in tally.acknowledged_at if moment > crash_times["killed"])
    return DrillResult(
        database=database_url.split(":", 1)[0].split("+", 1)[0],
        officers=officers,
        workers=workers,
        seconds=seconds,
        rate=rate,
        wall=wall,
        tally=tally,
        ledger=ledger,
        server_cpu=server_cpu,
        baseline=baseline,
        crashed_at=crash.at if crash else None,
        downtime=downtime,
        acknowledged_after_restart=after_restart,
    )
