"""`fairengage report` and `fairengage publish list|approve|withdraw|verify`: releases from the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairengage.console import err, fail, out
from fairengage.console import sessions as _sessions
from fairengage.progress import shown
from fairengage.reports.cli import Engine

# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
app = typer.Typer(help="The publication ledger: list releases, approve a draft, withdraw a release.")

AS_HELP = "the user acting (must hold reports:publish; never the builder for approval)"


def report_command(
    period: Annotated[str, typer.Option("--period", help="a year (2025) or a quarter (2025-Q3), local time")],
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="with --input: the folder to write the reports and open data into"),
    ] = None,
    input_file: Annotated[
        Path | None, typer.Option("--input", help="the analytic table, .parquet or .csv")
    ] = None,
    benchmark_files: Annotated[
        list[str] | None,
        typer.Option(
            "--benchmark",
            help="with --input: the benchmark CSV (area,group,population), as FILE or NAME=FILE; repeat it "
            "to show the indices under each benchmark side by side in the board report (the first is the "
            "main one)",
        ),
    ] = None,
    governance_file: Annotated[
        Path | None, typer.Option("--governance", help="governance.json: review, exception and access counts")
    ] = None,
    boundaries: Annotated[
        Path | None, typer.Option("--boundaries", help="division boundaries (GeoJSON) for the map")
    ] = None,
    engine: Annotated[Engine, typer.Option(help="duckdb (default) or spark")] = Engine.duckdb,
    from_db: Annotated[
        bool,
        typer.Option(
            "--from-db", help="build a draft release from the database into the publications folder"
        ),
    ] = False,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="with --from-db: what a new version of a published period corrects"),
    ] = None,
    actor: Annotated[str | None, typer.Option("--as", help="with --from-db: who builds the release")] = None,
    threshold_test: Annotated[
        bool,
        typer.Option(
            "--threshold-test", help="with --input: add the threshold test to the board report (slow)"
        ),
    ] = False,
) -> None:
    """Build a period's board report, public report and open data: a draft release, or files from --input."""
    from fairengage.config import get_settings
    from fairengage.reports.cli import build_from_files
    from fairengage.reports.period import PeriodError, parse_period

    settings = get_settings()
    if from_db == (input_file is not None):
        raise fail("give either --input FILE or --from-db")
    if from_db:
        if out_dir is not None or governance_file is not None or benchmark_files:
            raise fail(
                "--out, --governance and --benchmark go with --input only: --from-db builds a draft release "
                f"in the publications folder ({settings.publications_dir})"
            )
        if threshold_test:
            # A release's board report is built by the publishing service, which does not fit the model.
            raise fail("--threshold-test goes with --input only: run it on an extract's analytic table")
        _release_from_database(period=period, reason=reason, actor=actor)
        return
    from fairengage.analytics.engine import AnalyticsInputError
    from fairengage.analytics.population_benchmarks import named_benchmarks
    from fairengage.reports.builder import STEPS, ReportBuildError

    try:
        chosen = parse_period(period, settings.timezone)
    except PeriodError as exc:
        raise fail(f"--period: {exc}") from None
    if out_dir is None:
        raise fail("--out: give the folder to write the reports into")
    if not benchmark_files:
        raise fail("--benchmark: give the benchmark CSV (area,group,population)")
    try:
        named = named_benchmarks(benchmark_files)
    except ValueError as exc:
        raise fail(str(exc)) from None
    assert input_file is not None  # nosec B101 # checked above: exactly one of --input and --from-db
    try:
        with shown("report", err, steps=STEPS) as progress:
            built = build_from_files(
                period=chosen.label,
                out_dir=out_dir,
                input_file=input_file,
                benchmark_file=named[0][1],
                benchmark_name=named[0][0],
                compare_with=named[1:],
                governance_file=governance_file,
                boundaries=boundaries,
                engine=engine,
                settings=settings,
                progress=progress,
                threshold_test=threshold_test,
            )
    except (AnalyticsInputError, ReportBuildError, PeriodError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{getattr(exc, 'filename', None) or out_dir}: {exc.strerror or exc}") from None
    out.print(
        f"wrote the {built.period} reports to {out_dir}: {built.rows:,} engagements, "
        f"{len(built.files)} files; public counts below {built.threshold} withheld",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _release_from_database(*, period: str, reason: str | None, actor: str | None) -> None:
    from fairengage.access.principal import CLI_ACTOR
    from fairengage.config import get_settings
    from fairengage.db import engine_for, session_factory
    from fairengage.errors import DomainError
    from fairengage.publishing import service
    from fairengage.reports.builder import ReportBuildError

    settings = get_settings()
    sessions = session_factory(engine_for(settings.database_url))
    builder = actor or CLI_ACTOR
    if actor is not None:
        _check_user(sessions, actor, "reports:run", "--as")
    try:
        # The extract's phase, then the build's steps: no fixed count to show as "step N of M".
        with shown("report", err) as progress:
            made = service.build_release(
                sessions=sessions,
                settings=settings,
                period=period,
                actor=builder,
                reason=reason,
                progress=progress,
            )
    except (DomainError, ReportBuildError) as exc:
        field = exc.errors[0].field if isinstance(exc, DomainError) and exc.errors else "period"
        raise fail(f"--{field}: {exc}") from None
    verdict = "passed" if made.disclosure_ok else "BLOCKS approval"
    partial = f"; partial period, data to {made.data_to.isoformat()}" if made.partial else ""
    out.print(
        f"built draft release {made.id}: {made.period} version {made.version} in "
        f"{service.root_of(settings) / made.folder}{partial}; disclosure check {verdict}: "
        f"{service.blocking_text(made)}. A second person publishes it with "
        f"`fairengage publish approve {made.id} --as USERNAME`",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _check_user(sessions, username: str, permission: str, option: str) -> None:
    """Refuse unless `username` is an active user whose role holds `permission`."""
    from fairengage.access import service as access
    from fairengage.access.permissions import allowed
    from fairengage.db import transaction

    with transaction(sessions) as session:
        user = access.get(session=session, username=username)
        role, active = (user.role, user.active) if user is not None else (None, False)
    if not active:
        raise fail(f"{option}: no active user {username!r}")
    if not allowed(role, permission):
        raise fail(f"{option}: {username} ({role}) does not hold {permission}")


@app.command("list")
def list_command(
    period: Annotated[str | None, typer.Option("--period", help="only this period")] = None,
) -> None:
    """Every release, newest first: period, version, state, who built and who approved it."""
    from fairengage.db import transaction
    from fairengage.publishing import service

    with transaction(_sessions()) as session:
        releases = service.list_releases(session=session, period=period)
    if not releases:
        out.print("no releases")
        return
    for r in releases:
        flags = " partial" if r.partial else ""
        check = "ok" if r.disclosure_ok else "BLOCKED"
        out.print(
            f"{r.id}  {r.period}  v{r.version}  {r.status}{flags}  built by {r.built_by}  "
            f"approved by {r.approved_by or '-'}  disclosure {check}",
            markup=False,
            highlight=False,
        )


@app.command("approve")
def approve_command(
    release_id: Annotated[int, typer.Argument(help="the release's number (see `publish list`)")],
    actor: Annotated[str, typer.Option("--as", help=AS_HELP)],
) -> None:
    """Publish a draft release: a second person, never its builder."""
    from fairengage.config import get_settings
    from fairengage.errors import DomainError
    from fairengage.publishing import service

    sessions = _sessions()
    _check_user(sessions, actor, "reports:publish", "--as")
    try:
        made = service.approve(sessions=sessions, settings=get_settings(), release_id=release_id, actor=actor)
    except DomainError as exc:
        raise fail(f"release {release_id}: {exc}") from None
    out.print(f"published {made.period} version {made.version} (release {made.id})", markup=False)


@app.command("withdraw")
def withdraw_command(
    release_id: Annotated[int, typer.Argument(help="the release's number (see `publish list`)")],
    actor: Annotated[str, typer.Option("--as", help=AS_HELP)],
    reason: Annotated[str, typer.Option("--reason", help="why it is withdrawn (shown in the ledger)")],
) -> None:
    """Withdraw a release with a reason: it leaves the public pages and stays in the ledger."""
    from fairengage.config import get_settings
    from fairengage.errors import DomainError
    from fairengage.publishing import service

    sessions = _sessions()
    _check_user(sessions, actor, "reports:publish", "--as")
    try:
        made = service.withdraw(
            sessions=sessions, settings=get_settings(), release_id=release_id, actor=actor, reason=reason
        )
    except DomainError as exc:
        raise fail(f"release {release_id}: {exc}") from None
    out.print(f"withdrew {made.period} version {made.version} (release {made.id})", markup=False)


@app.command("verify")
def verify_command() -> None:
    """Check every release: its files against the ledger, the ledger against the audit log, releases.json.

    Exit status 1 when anything differs. Run `fairengage audit verify` too: it proves the audit log,
    whose build entries this command trusts, was not rewritten.
    """
    from fairengage.config import get_settings
    from fairengage.publishing import service

    checks = service.verify_releases(sessions=_sessions(), root=service.root_of(get_settings()))
    if not checks:
        out.print("no releases")
        return
    for check in checks:
        verdict = "ok" if not check.problems else "; ".join(check.problems)
        out.print(
            f"{check.release_id}  {check.name}  {check.status}  {verdict}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    bad = sum(1 for c in checks if c.problems)
    if bad:
        differ = f"releases that differ from what was built and recorded: {bad} of {len(checks)}"
        err.print(differ, markup=False)
        raise typer.Exit(1)
    out.print(f"every release matches the ledger and the audit log ({len(checks)} checked)", markup=False)
