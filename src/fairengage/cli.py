"""The `fairengage` command line (DESIGN.md, interface contract). Commands parse, call a service, print."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fairengage.config import get_settings

app = typer.Typer(
    help="FairEngage: community engagements under a bias-free-policing policy.", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
users_app = typer.Typer(help="Users and roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
officers_app = typer.Typer(help="Officers and training.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(officers_app, name="officers")
app.add_typer(audit_app, name="audit")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line to stderr and return the exit to raise."""
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _sessions():  # type: ignore[no-untyped-def]
    from fairengage.db import engine_for, session_factory

    return session_factory(engine_for(get_settings().database_url))


@db_app.command("upgrade")
def db_upgrade(revision: str = "heads") -> None:
    """Run migrations up to head (or a revision)."""
    from fairengage import migrate

    migrate.upgrade(get_settings().database_url, revision)
    out.print(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Run migrations down to a revision (`base` for an empty database)."""
    from fairengage import migrate

    migrate.downgrade(get_settings().database_url, revision)
    out.print(f"database at {revision}")


def _run_cli_service(fn):  # type: ignore[no-untyped-def]
    """Run a service call in one transaction, turning domain errors into one line and exit 1."""
    from fairengage.db import transaction
    from fairengage.errors import DomainError

    try:
        with transaction(_sessions()) as session:
            return fn(session)
    except DomainError as exc:
        detail = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        raise fail(f"{exc}" + (f" ({detail})" if detail else "")) from None


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="officer, supervisor, analyst, auditor or admin")],
    badge: Annotated[
        str | None, typer.Option(help="the officer's badge (officers; supervisors optional)")
    ] = None,
    division: Annotated[str | None, typer.Option(help="the supervisor's division, e.g. D14")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
) -> None:
    """Add a user. Without --password-stdin the user can only use API tokens."""
    from fairengage.access import service as access
    from fairengage.access.principal import CLI_ACTOR

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not password:
        raise fail("no password on stdin")
    _run_cli_service(
        lambda s: access.add_user(
            session=s,
            username=name,
            role=role,
            password=password,
            badge=badge,
            division=division,
            actor=CLI_ACTOR,
            min_length=get_settings().password_min_length,
        )
    )
    note = " (temporary password: to be changed at first sign-in)" if password else ""
    out.print(f"added {role} {name}{note}")


@users_app.command("reset-password")
def users_reset_password(name: str) -> None:
    """Give a user a new temporary password (printed once) and end their signed-in sessions."""
    from fairengage.access import service as access
    from fairengage.access.principal import CLI_ACTOR

    password = _run_cli_service(lambda s: access.reset_password(session=s, username=name, actor=CLI_ACTOR))
    out.print(f"temporary password for {name}: {password}", markup=False, highlight=False, soft_wrap=True)
    out.print("it is shown only once; they must choose their own at their next sign-in", markup=False)


@tokens_app.command("create")
def tokens_create(name: str) -> None:
    """Print a new API token for the user (shown once; send as `Authorization: Bearer …`)."""
    from fairengage.access import service as access
    from fairengage.access.principal import CLI_ACTOR

    token = _run_cli_service(lambda s: access.create_token(session=s, username=name, actor=CLI_ACTOR))
    print(token)


@officers_app.command("add")
def officers_add(
    badge: str,
    name: Annotated[str, typer.Option(help="the officer's full name, as printed on receipts")],
    division: Annotated[str, typer.Option(help="division code, e.g. D14")],
    trained_on: Annotated[
        str | None, typer.Option(help="date of the prescribed training, YYYY-MM-DD")
    ] = None,
) -> None:
    """Add an officer."""
    from fairengage.access.principal import CLI_ACTOR
    from fairengage.officers import service as officers

    day = _parse_date(trained_on, "--trained-on") if trained_on else None
    _run_cli_service(
        lambda s: officers.add(
            session=s, badge=badge, name=name, division=division, trained_on=day, actor=CLI_ACTOR
        )
    )
    out.print(f"added officer {badge} ({name}, {division})")


@officers_app.command("train")
def officers_train(
    badge: str, on: Annotated[str, typer.Option(help="date the training was completed, YYYY-MM-DD")]
) -> None:
    """Record a completion of the prescribed training."""
    from fairengage.access.principal import CLI_ACTOR
    from fairengage.officers import service as officers

    day = _parse_date(on, "--on")
    _run_cli_service(lambda s: officers.record_training(session=s, badge=badge, on=day, actor=CLI_ACTOR))
    out.print(f"recorded training for {badge} on {day.isoformat()}")


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 naming the first bad entry if anything was altered."""
    from fairengage.access import audit

    audit.seal_all(_sessions())
    with _sessions()() as session:
        report = audit.verify(session)
    if not report.ok:
        raise fail(
            f"audit log entry {report.first_bad_seq}: {report.problem} "
            f"({report.checked} entries before it verified)"
        )
    out.print(f"audit log intact: {report.checked} entries; head digest {report.head_digest}")


@audit_app.command("export")
def audit_export(
    out_file: Annotated[Path, typer.Option("--out", help="the JSON Lines file to write")],
    from_day: Annotated[str | None, typer.Option("--from", help="first local date, YYYY-MM-DD")] = None,
    to_day: Annotated[str | None, typer.Option("--to", help="last local date, YYYY-MM-DD")] = None,
) -> None:
    """Write the audit log (or the entries of some local dates) as JSON Lines, ending with its head."""
    from fairengage.access import export
    from fairengage.access.principal import CLI_ACTOR

    first = _parse_date(from_day, "--from") if from_day else None
    last = _parse_date(to_day, "--to") if to_day else None
    if first and last and first > last:
        raise fail(f"--from {first.isoformat()} is after --to {last.isoformat()}")
    # The export is itself logged, before it is taken, so the file records its own making.
    _run_cli_service(lambda s: export.record_export(session=s, actor=CLI_ACTOR, first=first, last=last))
    try:
        trailer = export.write_export(_sessions(), out_file, tz=get_settings().tz, first=first, last=last)
    except OSError as exc:
        raise fail(f"{out_file}: {exc.strerror or exc}") from None
    out.print(
        f"wrote {trailer['entries']} audit entries to {out_file}; "
        f"head {trailer['head']['seq']} digest {trailer['head']['digest']}"
    )


@app.command()
def demo(
    records: Annotated[int, typer.Option(help="synthetic engagements to load")] = 20_000,
    port: Annotated[int, typer.Option(envvar="PORT", help="port to serve on")] = 8000,
    host: str = "127.0.0.1",
    no_serve: Annotated[bool, typer.Option("--no-serve", help="build the database and stop")] = False,
) -> None:
    """Make a demo database with synthetic engagements and demo users (printed), then serve."""
    import os

    from rich.table import Table

    from fairengage import demo as demo_build
    from fairengage.config import Settings

    url = os.environ.get("FAIRENGAGE_DATABASE_URL") or demo_build.fresh_database()
    public_url = os.environ.get("FAIRENGAGE_PUBLIC_URL") or f"http://{host}:{port}"
    settings = Settings(
        database_url=url,
        secret_key=os.environ.get("FAIRENGAGE_SECRET_KEY") or demo_build.demo_secret(),
        public_url=public_url,
    )
    with out.status(f"building the demo database with {records:,} synthetic engagements…"):
        users = demo_build.build(settings=settings, records=records)
    table = Table(title="Demo users (sign in at /login)")
    for column in ("username", "password", "role", "what to try"):
        table.add_column(column)
    for user in users:
        table.add_row(user.username, user.password, user.role, user.note)
    out.print(table)
    out.print(f"database: {url}   records: {records:,}")
    out.print(f"open {public_url}/ — officer form {public_url}/engagements/new — public {public_url}/public")
    if no_serve:
        return
    import uvicorn

    from fairengage.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port)


@app.command()
def synth(
    records: Annotated[int, typer.Option(help="number of engagements")],
    out_file: Annotated[Path, typer.Option("--out", help="output file, .parquet or .csv")],
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same table")] = 0,
    officers: Annotated[int, typer.Option(help="officers in the roster")] = 400,
    over_represent: Annotated[
        list[str] | None,
        typer.Option(
            "--over-represent", help="GROUP=MULT: multiply a group's odds of being engaged (repeatable)"
        ),
    ] = None,
    biased_officers: Annotated[int, typer.Option(help="officers who over-engage --biased-group")] = 0,
    biased_group: str = "Black",
    biased_multiplier: float = 3.0,
    daylight_effect: Annotated[
        float, typer.Option(help="odds multiplier for --daylight-group while it is light (visibility)")
    ] = 1.0,
    daylight_group: str = "Black",
    hit_rate: Annotated[
        list[str] | None,
        typer.Option("--hit-rate", help="GROUP=RATE: contraband hit rate when searched (repeatable)"),
    ] = None,
    start: str = "2024-04-01",
    end: str = "2025-12-31",
) -> None:
    """Write a synthetic analytic table (DESIGN.md) with effects you can plant."""
    from fairengage.ingest import synth as synthetic

    effects = synthetic.PlantedEffects(
        over_representation=_pairs(over_represent, "--over-represent"),
        biased_officers=biased_officers,
        biased_group=biased_group,
        biased_multiplier=biased_multiplier,
        daylight_effect=daylight_effect,
        daylight_group=daylight_group,
        hit_rate=_pairs(hit_rate, "--hit-rate"),
    )
    try:
        frame = synthetic.generate(
            records,
            seed=seed,
            officers=officers,
            effects=effects,
            start=_parse_date(start, "--start"),
            end=_parse_date(end, "--end"),
        )
        synthetic.write_table(frame, out_file)
    except ValueError as exc:
        raise fail(str(exc)) from None
    out.print(f"wrote {len(frame):,} engagements to {out_file}")


def _pairs(values: list[str] | None, option: str) -> dict[str, float]:
    result: dict[str, float] = {}
    for value in values or []:
        group, sep, number = value.rpartition("=")
        try:
            result[group] = float(number)
        except ValueError:
            raise fail(f"{option}: {value!r} is not GROUP=NUMBER") from None
        if not sep or not group:
            raise fail(f"{option}: {value!r} is not GROUP=NUMBER")
    return result


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    proxy_headers: Annotated[
        bool, typer.Option(help="trust X-Forwarded-Proto/-For from the addresses below (TLS proxy)")
    ] = True,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            envvar="FORWARDED_ALLOW_IPS",
            help="comma-separated addresses or networks of the TLS-terminating proxy whose forwarded "
            "headers are believed; never '*' unless nothing but the proxy can reach this port",
        ),
    ] = "127.0.0.1",
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="server processes; one per core (docs/load-and-recovery.md)")
    ] = 1,
    access_log: Annotated[bool, typer.Option(help="log one line per request (paths are redacted)")] = True,
) -> None:
    """Serve the web app and API (see docs/security.md for running behind a TLS proxy)."""
    import uvicorn

    from fairengage.app import create_app

    # Built once here even with several workers: a bad setting stops the command with its message
    # before any process starts.
    app = create_app()
    uvicorn.run(
        # Several processes each build their own app from the same environment.
        "fairengage.app:create_app" if workers > 1 else app,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        access_log=access_log,
    )


# Capabilities with commands of their own keep them in `<capability>/cli.py` as a Typer app named `app`,
# registered here under its command name.
SUBCOMMANDS: dict[str, str] = {
    "benchmark": "fairengage.analytics.benchmarks.cli",
    "review": "fairengage.review.cli",
    "retention": "fairengage.retention.cli",
    "drill": "fairengage.load.cli",
}
# Single commands that live with their capability: name -> "module:function".
COMMANDS: dict[str, str] = {
    "import": "fairengage.ingest.cli:import_command",
    "extract": "fairengage.ingest.cli:extract_command",
    "analyze": "fairengage.analytics.cli:analyze",
    "bench": "fairengage.analytics.bench:bench_command",
    "report": "fairengage.reports.cli:report_command",
    "backup": "fairengage.backups.cli:backup_command",
    "restore": "fairengage.backups.cli:restore_command",
}


def _register_subcommands() -> None:
    import importlib

    for name, module in SUBCOMMANDS.items():
        app.add_typer(importlib.import_module(module).app, name=name)
    for name, target in COMMANDS.items():
        module, _, function = target.partition(":")
        app.command(name)(getattr(importlib.import_module(module), function))


_register_subcommands()


def main() -> None:
    """Entry point."""
    app()


if __name__ == "__main__":
    main()
