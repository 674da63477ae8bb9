"""`fairengage import` and `fairengage extract`: parse the options, call the service, print the counts."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fairengage.config_file import get_settings
from fairengage.console import err
from fairengage.progress import shown

# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
if TYPE_CHECKING:
    from sqlalchemy.exc import SQLAlchemyError


def import_command(
    file: Annotated[Path, typer.Argument(help="the file to import (.csv, or .parquet for fairengage)")],
    file_format: Annotated[
        str,
        typer.Option("--format", help="fairengage (our analytic or detailed table) or opp (Open Policing)"),
    ],
    skip_invalid: Annotated[
        Path | None,
        typer.Option(
            "--skip-invalid",
            metavar="REJECTS.csv",
            help="store the good rows and list the bad ones (row, column, reason) in this file",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="the records' local time zone, e.g. America/New_York (default FAIRENGAGE_TIMEZONE)"
        ),
    ] = None,
) -> None:
    """Load engagements from a file into the database: all or nothing, and never the same row twice."""
    # deferred: heavy library, keeps --help fast (sqlalchemy, pandas, pyarrow)
    from sqlalchemy.exc import SQLAlchemyError

    from fairengage.db import engine_for, session_factory
    from fairengage.ingest import importer

    if file_format not in importer.FORMATS:
        raise _fail(f"--format: {file_format!r} is not one of {', '.join(importer.FORMATS)}")
    if not file.is_file():
        raise _fail(f"{file}: no such file")
    if skip_invalid is not None and skip_invalid.resolve() == file.resolve():
        raise _fail(f"--skip-invalid: {skip_invalid} is the file being imported")
    try:
        importer.check_timezone(timezone or get_settings().timezone)
    except ValueError as exc:
        raise _fail(f"--timezone: {exc}") from None
    settings = get_settings()
    try:
        with shown("import", err) as bar:
            result = importer.import_file(
                sessions=session_factory(engine_for(settings.database_url)),
                path=file,
                fmt=file_format,
                settings=settings,
                actor=_actor(),
                rejects_path=skip_invalid,
                timezone=timezone,
                progress=bar,
            )
    except importer.ImportRefused as refused:
        # Exactly one line, FILE:ROW:COLUMN: reason, for people and for editors that jump to the row.
        raise _fail(str(refused), prefix="") from None
    except OSError as exc:
        raise _fail(f"{exc.filename or file}: {exc.strerror or exc}") from None
    except SQLAlchemyError as exc:
        raise _fail(_database_problem(exc)) from None
    typer.echo(result.summary())
    if skip_invalid is not None:
        typer.echo(f"rejected rows listed in {skip_invalid}")


def extract_command(
    out: Annotated[Path, typer.Option("--out", help="output file, .parquet or .csv")],
    include_legacy: Annotated[
        bool,
        typer.Option("--include-legacy", help="include records made before the regulation (legacy data)"),
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="rows read and written at a time")] = 50_000,
) -> None:
    """Write the analytic table (no personal information; officers as keyed hashes) from the database."""
    # deferred: heavy library, keeps --help fast (sqlalchemy, pyarrow)
    from sqlalchemy.exc import SQLAlchemyError

    from fairengage.db import engine_for, session_factory
    from fairengage.engagements import extract

    settings = get_settings()
    try:
        with shown("extract", err) as bar:
            result = extract.write_extract(
                sessions=session_factory(engine_for(settings.database_url)),
                out=out,
                settings=settings,
                actor=_actor(),
                include_legacy=include_legacy,
                batch=batch_size,
                progress=bar,
            )
    except extract.ExtractRefused as exc:
        raise _fail(f"{out}: {exc}") from None
    except OSError as exc:
        raise _fail(f"{exc.filename or out}: {exc.strerror or exc}") from None
    except SQLAlchemyError as exc:
        raise _fail(_database_problem(exc)) from None
    legacy = f" ({result.legacy_rows:,} legacy)" if include_legacy else ""
    typer.echo(f"wrote {result.rows:,} engagements{legacy} to {out}")


def _actor() -> str:
    """Who ran the command, for the audit log: the command line and the system user."""
    # deferred: heavy library, keeps --help fast (the access models import sqlalchemy)
    from fairengage.access.principal import CLI_ACTOR

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{CLI_ACTOR}:{user}"[:80]


def _database_problem(exc: SQLAlchemyError) -> str:
    """One line about a database error (nothing was stored: the transaction was rolled back)."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = detail[0] if detail else type(exc).__name__
    return f"database: {first} (is it migrated? `fairengage db upgrade`)"


def _fail(message: str, prefix: str = "error: ") -> typer.Exit:
    # typer.echo, not a rich console: a console wraps long lines, and the contract is one line.
    typer.echo(f"{prefix}{message}", err=True)
    return typer.Exit(1)
