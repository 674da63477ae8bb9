"""`fairengage backup` and `fairengage restore`: whole-database backups and verified restores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fairengage.config_file import get_settings
from fairengage.console import err, fail, out

# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
if TYPE_CHECKING:
    from fairengage.backups.service import Manifest


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _print_contents(manifest: Manifest) -> None:
    facts = manifest.facts
    width = max(len(name) for name in facts.tables)
    for name, rows in sorted(facts.tables.items()):
        out.print(f"  {name:<{width}}  {rows:>12,}", highlight=False)
    out.print(
        f"audit log: head entry {facts.head_seq:,}, digest {facts.head_digest}",
        highlight=False,
        soft_wrap=True,
    )


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """A refused backup or restore, or a file-system failure, as one `error:` line and exit 1."""
    from fairengage.backups.service import BackupError

    try:
        yield
    except BackupError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{exc.filename or 'file system'}: {exc.strerror or exc}") from None


def backup_command(
    out_file: Annotated[
        Path, typer.Option("--out", help="the backup file to write; an existing file is never overwritten")
    ],
) -> None:
    """Back up the whole database to one file with a manifest: SQLite online, PostgreSQL with pg_dump."""
    from contextlib import suppress

    from sqlalchemy.exc import SQLAlchemyError

    from fairengage.access.principal import CLI_ACTOR
    from fairengage.backups import service

    url = get_settings().database_url
    # An unreachable or foreign database is not logged or sealed: the backup itself says what is wrong.
    with suppress(SQLAlchemyError):
        service.record_backup(url, out_file, CLI_ACTOR)
    with _one_line_errors():
        result = service.backup(database_url=url, out=out_file)
    manifest = result.manifest
    out.print(
        f"backed up the {manifest.engine} database to {result.path} ({_size(result.bytes_written)}, "
        f"{result.seconds:.1f} s); schema {', '.join(manifest.facts.revision)}",
        highlight=False,
        soft_wrap=True,
    )
    _print_contents(manifest)
    if result.warnings:
        for warning in result.warnings:
            err.print(f"error: {warning}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def restore_command(
    backup_file: Annotated[Path, typer.Argument(help="a file written by `fairengage backup`")],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="replace a database that holds records (a backup of it is kept beside FILE first)"
        ),
    ] = False,
) -> None:
    """Check a backup completely, then make it the database (stop the service first)."""
    from fairengage.access.principal import CLI_ACTOR
    from fairengage.backups import service

    with _one_line_errors():
        result = service.restore(
            database_url=get_settings().database_url, backup_file=backup_file, force=force
        )
        service.record_restore(get_settings().database_url, result, backup_file, CLI_ACTOR)
    manifest = result.manifest
    out.print(
        f"restored {backup_file} (taken {manifest.created_at}) into {result.target} "
        f"in {result.seconds:.1f} s; verified: {', '.join(result.checked)}",
        highlight=False,
        soft_wrap=True,
    )
    _print_contents(manifest)
    if result.kept:
        out.print(f"the database it replaced is kept in {result.kept}", highlight=False, soft_wrap=True)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False, soft_wrap=True)
