"""`fairengage drill load` and `drill crash`: officers recording at once, and a server killed mid-shift."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fairengage.console import err, fail
from fairengage.console import out as console
from fairengage.progress import Lines

# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
app = typer.Typer(help="Load and crash drills against a real server on this machine.", no_args_is_help=True)

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

Officers = Annotated[int, typer.Option(min=1, max=500, help="officers recording at once")]
Seconds = Annotated[float, typer.Option(min=1, max=600, help="how long they record")]
Workers = Annotated[int, typer.Option(min=1, max=16, help="server processes")]
Postgres = Annotated[
    str,
    typer.Option(help="PostgreSQL server on which a throw-away database is made (and dropped after)"),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="use this empty database instead (sqlite:///… or postgresql://…)"),
]
Out = Annotated[Path | None, typer.Option("--out", help="also write the figures as JSON here")]


@app.command("load")
def load_command(
    officers: Officers = 50,
    seconds: Seconds = 60,
    workers: Workers = 2,
    rate: Annotated[
        float | None,
        typer.Option(min=1, help="records per second due across all officers (open loop); none: flat out"),
    ] = None,
    repeat: Annotated[int, typer.Option(min=1, max=9, help="drills in a row; the table adds the median")] = 1,
    baseline_seconds: Annotated[
        float, typer.Option(min=0, max=60, help="seconds of GET /healthz first, the HTTP path's ceiling")
    ] = 5,
    postgres: Postgres = DEFAULT_SERVER,
    database_url: DatabaseUrl = None,
    out: Out = None,
) -> None:
    """Officers record engagements at once: throughput, p50/p99 latency, errors, and the ledger."""
    results = [
        _one_drill(
            officers=officers,
            seconds=seconds,
            workers=workers,
            postgres=postgres,
            database_url=database_url,
            baseline_seconds=baseline_seconds,
            crash=None,
            rate=rate,
            seed=run,
        )
        for run in range(repeat)
    ]
    pace = f"{rate:g} records/s due" if rate else "as fast as answered"
    title = f"Load drill: {officers} officers, {pace}, {seconds:g} s, {workers} worker(s)"
    _report(results, out, title=title)


@app.command("crash")
def crash_command(
    officers: Officers = 50,
    seconds: Seconds = 20,
    workers: Workers = 2,
    kill_at: Annotated[float, typer.Option(min=0.5, help="seconds into the drill to SIGKILL the server")] = 8,
    down_for: Annotated[float, typer.Option(min=0, help="seconds before it is started again")] = 1,
    postgres: Postgres = DEFAULT_SERVER,
    database_url: DatabaseUrl = None,
    out: Out = None,
) -> None:
    """Kill the server mid-shift and restart it; officers retry under their keys; check nothing was lost."""
    from fairengage.drills.run import CrashPlan

    if kill_at >= seconds:
        raise fail(f"--kill-at {kill_at:g} must come before the drill ends (--seconds {seconds:g})")
    result = _one_drill(
        officers=officers,
        seconds=seconds,
        workers=workers,
        postgres=postgres,
        database_url=database_url,
        baseline_seconds=0,
        crash=CrashPlan(at=kill_at, down_for=down_for),
        rate=None,
        seed=0,
    )
    _report([result], out, title=f"Crash drill: SIGKILL at {kill_at:g} s, restarted {down_for:g} s later")


def _one_drill(
    *,
    officers: int,
    seconds: float,
    workers: int,
    postgres: str,
    database_url: str | None,
    baseline_seconds: float,
    crash: Any,
    rate: float | None,
    seed: int,
) -> dict[str, Any]:
    from sqlalchemy.exc import OperationalError

    from fairengage.db import create_postgres_database, drop_postgres_database
    from fairengage.drills import run

    def say(message: str) -> None:
        err.print(message, markup=False, highlight=False, soft_wrap=True)

    made = None
    try:
        url = database_url
        if url is None:
            url = made = create_postgres_database(postgres, prefix="fairengage_drill")
        result = run.run_drill(
            database_url=url,
            officers=officers,
            seconds=seconds,
            workers=workers,
            crash=crash,
            baseline_seconds=baseline_seconds,
            rate=rate,
            seed=seed,
            progress=Lines(say),
        )
    except OperationalError as exc:
        raise fail(f"cannot reach the database: {str(exc.orig).strip().splitlines()[0]}") from None
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    finally:
        if made is not None:
            drop_postgres_database(postgres, made)
    figures = result.as_json()
    if not result.ledger.exact:
        say(f"LEDGER MISMATCH: {json.dumps(figures)}")
    return figures


def _report(results: list[dict[str, Any]], out: Path | None, *, title: str) -> None:
    table = Table(title=title)
    columns = (
        ("run", "run"),
        ("records", "acknowledged"),
        ("records/s", "records_per_second"),
        ("p50 ms", "p50_ms"),
        ("p99 ms", "p99_ms"),
        ("max ms", "max_ms"),
        ("errors", "errors"),
        ("retries", "retries"),
        ("replayed", "replayed"),
        ("stored", "stored"),
        ("exactly once", "exact"),
        ("audit chain", "audit_intact"),
        ("server CPU ms/record", "server_cpu_ms_per_record"),
    )
    for heading, _ in columns:
        table.add_column(heading, justify="right")
    for number, figures in enumerate(results, start=1):
        row = {**figures, "run": str(number), "errors": str(sum(figures["errors"].values()))}
        table.add_row(*(_cell(row[key]) for _, key in columns))
    if len(results) > 1:
        table.add_row("median", *(_cell(_median(results, key)) for _, key in columns[1:]))
    baselines = [r["baseline"] for r in results if r.get("baseline")]
    # Wide enough for every column when the output is a file or a narrow terminal.
    Console(width=max(console.width, 150)).print(table)
    if baselines:
        ceiling = statistics.median(b["requests_per_second"] for b in baselines)
        rate = statistics.median(r["records_per_second"] for r in results)
        console.print(
            f"baseline GET /healthz, same client and server: {ceiling:,.0f} requests/s "
            f"(p50 {statistics.median(b['p50_ms'] for b in baselines)} ms); "
            f"recording runs at {rate / ceiling:.2f}× that ceiling",
            markup=False,
            highlight=False,
        )
    if out is not None:
        try:
            out.write_text(json.dumps({"runs": results}, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise fail(f"{out}: {exc.strerror or exc}") from None
        console.print(f"wrote {out}", markup=False, highlight=False)
    if not all(r["exact"] for r in results):
        raise fail("the ledger does not match: see LEDGER MISMATCH above")


def _median(results: list[dict[str, Any]], key: str) -> Any:
    values = [r[key] for r in results]
    if key == "errors":
        return str(statistics.median(sum(v.values()) for v in values))
    if all(isinstance(v, bool) for v in values):
        return all(values)
    numbers = [v for v in values if isinstance(v, int | float)]
    return round(statistics.median(numbers), 1) if numbers else None


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
