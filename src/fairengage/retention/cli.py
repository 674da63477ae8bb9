"""`fairengage retention …`: the restriction schedule, legal holds, approver delegations, legacy reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fairengage.config_file import get_settings
from fairengage.console import parse_date, run_service

# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
app = typer.Typer(help="Restriction, retention and access to restricted records.", no_args_is_help=True)
out = Console()


def _today() -> date:
    return datetime.now(get_settings().tz).date()


@app.command("run")
def run(
    as_of: Annotated[str | None, typer.Option(help="run as of this date, YYYY-MM-DD (default today)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="say what would be done; change nothing")
    ] = False,
) -> None:
    """Restrict every record past the rule set's restriction age and apply any destruction schedule."""
    from fairengage.access.principal import CLI_ACTOR
    from fairengage.retention import service

    day = parse_date(as_of, "--as-of") if as_of else _today()
    report = run_service(
        lambda s: service.run(
            session=s, as_of=day, tz=get_settings().timezone, actor=CLI_ACTOR, dry_run=dry_run
        )
    )
    verb = "would restrict" if dry_run else "restricted"
    out.print(
        f"as of {day.isoformat()}: {verb} {report.restricted_by_age} past the restriction age, "
        f"{report.restricted_legacy} legacy; destroyed {report.destroyed}; {report.held} under legal hold"
        + (" (dry run: nothing changed)" if dry_run else "")
    )


@app.command("hold")
def hold(
    record: str, note: Annotated[str, typer.Option(help="the proceeding that requires the hold")]
) -> None:
    """Place a legal hold on a record: it is never destroyed while held."""
    from fairengage.access.principal import CLI_ACTOR
    from fairengage.retention import service

    run_service(
        lambda s: service.set_legal_hold(
            session=s, engagement_id=record, hold=True, actor=CLI_ACTOR, note=note
        )
    )
    out.print(f"legal hold placed on {record}")


@app.command("release")
def release(
    record: str, note: Annotated[str, typer.Option(help="why the hold ends")] = "hold lifted"
) -> None:
    """Lift a legal hold."""
    from fairengage.access.principal import CLI_ACTOR
    from fairengage.retention import service

    run_service(
        lambda s: service.set_legal_hold(
            session=s, engagement_id=record, hold=False, actor=CLI_ACTOR, note=note
        )
    )
    out.print(f"legal hold lifted from {record}")


@app.command("delegate")
def delegate(
    username: str,
    by: Annotated[str, typer.Option(help="the chief (or designate) granting it")],
    note: str = "",
) -> None:
    """Delegate the chief's power to approve reads of restricted records to a user."""
    from fairengage.retention import service

    run_service(lambda s: service.delegate(session=s, username=username, granted_by=by, note=note))
    out.print(f"{username} may now approve reads of restricted records (granted by {by})")


@app.command("revoke")
def revoke(username: str, by: Annotated[str, typer.Option(help="who withdraws it")]) -> None:
    """Withdraw a delegation."""
    from fairengage.retention import service

    run_service(lambda s: service.revoke(session=s, username=username, revoked_by=by))
    out.print(f"{username} may no longer approve reads of restricted records")


@app.command("legacy-report")
def legacy_report(quarter: Annotated[str, typer.Option(help="the quarter, like 2025-Q3")]) -> None:
    """The quarterly report to the board of every access to legacy (pre-regulation) records."""
    from fairengage.retention import service

    settings = get_settings()

    def build(s):
        start, end = service.quarter_bounds(quarter, settings.timezone)
        return [
            (r.read_at, r.reader, r.engagement_id)
            for r in service.reads_in(session=s, start=start, end=end, legacy=True)
        ]

    rows = run_service(build)
    table = Table(title=f"Access to legacy records, {quarter.upper()}: {len(rows)}")
    for column in ("when (local)", "reader", "record"):
        table.add_column(column)
    for at, reader, record in rows:
        table.add_row(at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M"), reader, record)
    out.print(table)
