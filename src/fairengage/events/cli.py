"""`fairengage events import FILE` and `fairengage reconcile`: parse the options, call the service, print."""

from __future__ import annotations

import getpass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from fairengage.config_file import get_settings
from fairengage.console import fail, parse_date, sessions

# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
app = typer.Typer(help="Dispatch (CAD) and body-worn camera events.", no_args_is_help=True)


def _actor() -> str:
    """Who ran the command, for the audit log: the command line and the system user."""
    # deferred: heavy library, keeps --help fast (the access models import sqlalchemy)
    from fairengage.access.principal import CLI_ACTOR

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{CLI_ACTOR}:{user}"[:80]


@app.command("import")
def import_events(
    file: Annotated[
        Path,
        typer.Argument(help="CSV with columns event_id, occurred_at, badge, division, lat, lon, kind"),
    ],
) -> None:
    """Load dispatch and camera events: all or nothing; an event_id already stored is left as it is."""
    # deferred: heavy library, keeps --help fast (sqlalchemy)
    from sqlalchemy.exc import SQLAlchemyError

    from fairengage.events import importer

    if not file.is_file():
        raise fail(f"{file}: no such file")
    try:
        result = importer.import_events(sessions=sessions(), path=file, actor=_actor())
    except importer.EventsRefused as refused:
        # Exactly one line, FILE:ROW:COLUMN: reason, as the engagement importer prints it.
        typer.echo(str(refused), err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        raise fail(f"{exc.filename or file}: {exc.strerror or exc}") from None
    except SQLAlchemyError as exc:
        raise fail(f"database: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}") from None
    typer.echo(result.summary())


def reconcile_command(
    date_from: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD (local time)")],
    date_to: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD (local time), included")],
    out: Annotated[Path, typer.Option("--out", help="CSV of the unmatched events and their nearest record")],
    window: Annotated[
        float, typer.Option(min=0, max=24 * 60, help="minutes either side of the event an engagement may be")
    ] = 20.0,
    radius: Annotated[
        float, typer.Option(min=0, max=100_000, help="metres between the event and the engagement at most")
    ] = 250.0,
) -> None:
    """Match events to engagements (same officer, time, place); list the events nobody recorded."""
    # deferred: heavy library, keeps --help fast (sqlalchemy)
    from sqlalchemy.exc import SQLAlchemyError

    from fairengage.events import reconcile

    start, end = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    if end < start:
        raise fail(f"--to: {end} is before --from {start}")
    try:
        result = reconcile.reconcile(
            sessions=sessions(),
            start=start,
            end=end,
            tz=get_settings().timezone,
            out=out,
            actor=_actor(),
            window=timedelta(minutes=window),
            radius_m=radius,
        )
    except OSError as exc:
        raise fail(f"{exc.filename or out}: {exc.strerror or exc}") from None
    except SQLAlchemyError as exc:
        raise fail(f"database: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}") from None
    typer.echo(f"unmatched events written to {out}")
    typer.echo(result.last_line())
