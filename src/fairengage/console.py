"""What every command of the command line shares: its two consoles, its one-line failure, its database
sessions. It sits below `cli.py` and the sub-CLIs so that they import it, not one another."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console

from fairengage.config_file import get_settings

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line to stderr and return the exit to raise."""
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def sessions():
    # Deferred on purpose: SQLAlchemy loads only when a command reaches the database (CLI start-up time).
    from fairengage.db import engine_for, session_factory

    return session_factory(engine_for(get_settings().database_url))


def run_service(fn):
    """Run a service call in one transaction, turning domain errors into one line and exit 1."""
    # Deferred on purpose, as in `sessions`.
    from fairengage.db import transaction
    from fairengage.errors import DomainError

    try:
        with transaction(sessions()) as session:
            return fn(session)
    except DomainError as exc:
        detail = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        raise fail(f"{exc}" + (f" ({detail})" if detail else "")) from None


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None
