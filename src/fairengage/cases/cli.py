"""`fairengage cases open`: turn one analysis run's flagged officers into intervention cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fairengage.config_file import get_settings
from fairengage.console import fail, out, run_service

# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
app = typer.Typer(help="Intervention cases opened from the analyses' officer flags.", no_args_is_help=True)


@app.command("open")
def open_cases(
    from_report: Annotated[
        Path, typer.Option("--from-report", help="report.json written by `fairengage analyze`")
    ],
) -> None:
    """Open a case for each flagged officer and re-test open cases; prints counts only."""
    # Deferred on purpose: the services load SQLAlchemy and pyarrow, kept out of the CLI's start-up.
    from fairengage.access.principal import CLI_ACTOR
    from fairengage.cases import service
    from fairengage.config import WeakSecretKey

    try:
        report = json.loads(from_report.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"{from_report}: not a readable report.json ({exc})") from None
    if not isinstance(report, dict):
        raise fail(f"{from_report}: not a report.json (no object at the top)")
    settings = get_settings()
    try:
        settings.require_strong_secret_key()
    except WeakSecretKey as exc:
        # The officer keys of the report were made under the deployment's key; a default key matches nothing.
        raise fail(f"{exc}; officer keys cannot be resolved") from None
    try:
        result = run_service(
            lambda s: service.open_from_report(
                session=s, report=report, secret=settings.secret, actor=CLI_ACTOR
            )
        )
    except service.ReportUnusable as exc:
        raise fail(f"{from_report}: {exc}") from None
    out.print(
        f"{result.measure}: {result.tested} officers tested; {result.opened} cases opened, "
        f"{result.retested} re-tested, {result.resolved} no longer flagged",
        markup=False,
        highlight=False,
    )
    if result.unknown_keys:
        out.print(
            f"{result.unknown_keys} flagged keys match no officer of this database "
            "(another deployment's key, or officers since removed)",
            markup=False,
            highlight=False,
        )
