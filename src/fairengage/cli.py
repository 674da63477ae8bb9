"""The `fairengage` command line (docs/architecture.md). Commands parse, call a service, print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fairengage.config_file import CONFIG_ENV, ConfigFileError, get_settings
from fairengage.console import err, fail, out
from fairengage.console import parse_date as _parse_date
from fairengage.console import run_service as _run_cli_service
from fairengage.console import sessions as _sessions

# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
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


@app.callback()
def _options(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="settings file (TOML); default: fairengage.toml in this folder. FAIRENGAGE_* variables win.",
        ),
    ] = None,
) -> None:
    """FairEngage: community engagements under a bias-free-policing policy."""
    import os

    if config is not None:
        if not config.is_file():
            raise fail(f"--config: {config}: no such file")
        # Through the environment, so that processes a command starts (server workers, drills) read it too.
        os.environ[CONFIG_ENV] = str(config.resolve())
        from fairengage import config as settings_module

        settings_module.get_settings.cache_clear()
    # The file itself is read with the settings, by the commands that need them: a file that cannot be
    # used stops them in one line (main), and `--help` stays free of pydantic.


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
def tokens_create(
    name: str,
    days: Annotated[
        int | None, typer.Option(help="days the token lives (default: FAIRENGAGE_TOKEN_LIFETIME_DAYS)")
    ] = None,
) -> None:
    """Print a new API token for the user (shown once; send as `Authorization: Bearer …`)."""
    from fairengage.access import service as access
    from fairengage.access.principal import CLI_ACTOR

    lifetime = days if days is not None else get_settings().token_lifetime_days
    token = _run_cli_service(
        lambda s: access.create_token(session=s, username=name, actor=CLI_ACTOR, days=lifetime)
    )
    # The expiry goes to stderr, so that `$(fairengage tokens create …)` captures the token alone.
    err.print(f"expires in {lifetime} days", markup=False, highlight=False)
    print(token)


@tokens_app.command("list")
def tokens_list(name: str) -> None:
    """List the user's tokens by prefix: created, expires, and whether each still works."""
    from datetime import UTC, datetime

    from rich.table import Table

    from fairengage.access import service as access

    rows = _run_cli_service(lambda s: access.list_tokens(session=s, username=name))
    now = datetime.now(UTC)
    table = Table(title=f"API tokens of {name}")
    for column in ("prefix", "created", "expires", "state"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            f"{row.prefix}…",
            row.created_at.isoformat(timespec="minutes"),
            row.expires_at.isoformat(timespec="minutes"),
            access.token_state(row, now),
        )
    out.print(table)


@tokens_app.command("rotate")
def tokens_rotate(
    name: str,
    days: Annotated[
        int | None, typer.Option(help="days the new token lives (default: FAIRENGAGE_TOKEN_LIFETIME_DAYS)")
    ] = None,
    grace_hours: Annotated[
        float, typer.Option(help="hours the old tokens keep working, to switch a deployment over")
    ] = 0,
) -> None:
    """Print a new API token for the user and revoke their current ones, now or after --grace-hours."""
    from fairengage.access import service as access
    from fairengage.access.principal import CLI_ACTOR

    lifetime = days if days is not None else get_settings().token_lifetime_days
    token, old = _run_cli_service(
        lambda s: access.rotate_token(
            session=s, username=name, actor=CLI_ACTOR, days=lifetime, grace_hours=grace_hours
        )
    )
    when = "now" if grace_hours == 0 else f"in {grace_hours:g} hours"
    err.print(
        f"expires in {lifetime} days; {len(old)} old token(s) revoked {when}: "
        + (", ".join(f"{row.prefix}…" for row in old) or "none"),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
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


@officers_app.command("expiring")
def officers_expiring(
    division: Annotated[str | None, typer.Option(help="only this division's officers")] = None,
    days: Annotated[int, typer.Option(min=0, max=3650, help="how many days ahead to look")] = 60,
) -> None:
    """List officers whose training lapses within DAYS (or already has), soonest first."""
    from datetime import datetime

    from fairengage.officers import training

    today = datetime.now(get_settings().tz).date()
    found = _run_cli_service(
        lambda s: training.expiring(session=s, today=today, division=division, within_days=days)
    )
    for o in found:
        until = o.valid_until.isoformat() if o.valid_until else "never trained"
        state = "\tlapsed" if o.lapsed else ""
        typer.echo(f"{o.badge}\t{o.name}\t{o.division}\t{until}{state}")  # tab-separated, for scripts
    out.print(f"{len(found)} officers with training lapsing within {days} days", markup=False)


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option("--checkpoint", help="a signed checkpoint kept earlier, that the log must extend"),
    ] = None,
    key: Annotated[
        Path | None, typer.Option(help="the log's public key (PEM); default: the signing key file's")
    ] = None,
) -> None:
    """Check the audit log's chain and Merkle tree, and that it extends every checkpoint given and every
    one in the checkpoint folder; exit 1 naming what is wrong."""
    from fairengage.access import audit, transparency

    settings = get_settings()
    sessions = _audit_sessions()
    public = _public_key(settings, key)
    named: list[tuple[str, transparency.Checkpoint]] = []
    problems: list[str] = []
    for path in checkpoint or []:
        try:
            named.append((str(path), transparency.open_checkpoint(path.read_text(encoding="utf-8"), public)))
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
        except transparency.CheckpointError as exc:
            problems.append(f"checkpoint {path}: {exc}")
    folder = transparency.folder_of(settings)
    if public is not None:
        for path, opened in folder.opened(public):
            if isinstance(opened, transparency.CheckpointError):
                problems.append(f"checkpoint {path}: {opened}")
            else:
                named.append((str(path), opened))
    try:
        audit_seal(sessions)
    except (audit.AuditRolledBack, RuntimeError) as exc:  # a refused seal is itself a finding
        problems.append(str(exc))
    with sessions() as session:
        check = transparency.check_log(session, named)
    problems += check.problems
    for seq in check.report.forgeries:
        err.print(
            f"attention: audit log entry {seq} records a journalled row that the service did not write "
            "(refused at sealing: its MAC was missing or wrong)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if problems:
        for problem in problems[:-1]:
            err.print(f"error: {problem}", markup=False, highlight=False, soft_wrap=True)
        raise fail(problems[-1])
    out.print(
        f"audit log intact: {check.report.checked} entries; head digest {check.report.head_digest}; "
        f"root {transparency.b64(check.report.root)}; extends {len(named)} checkpoint(s)",
        soft_wrap=True,
    )


def audit_seal(sessions):
    """Seal the journal before a check, so that what the service wrote is all in the chain."""
    from fairengage.access import audit

    return audit.seal_all(sessions)


def _audit_sessions():
    """Sessions on the service's database, with its audit guard (journal MAC key, checkpoint floor)."""
    from fairengage.access import transparency

    sessions = _sessions()
    try:
        transparency.bind(sessions.kw["bind"], get_settings())
    except transparency.CheckpointError as exc:
        raise fail(str(exc)) from None
    return sessions


def _public_key(settings, key: Path | None):
    from fairengage.access import transparency

    try:
        if key is not None:
            return transparency.load_public_key(key)
        signer = transparency.signer_for(settings)
    except transparency.CheckpointError as exc:
        raise fail(str(exc)) from None
    return None if signer is None or signer.ephemeral else signer.public


@audit_app.command("keygen")
def audit_keygen(
    out_file: Annotated[Path, typer.Option("--out", help="the PEM file to create (mode 0600)")],
) -> None:
    """Make the Ed25519 key that signs audit checkpoints; print its public key to publish."""
    from fairengage.access import transparency

    try:
        key = transparency.keygen(out_file)
    except FileExistsError:
        raise fail(f"{out_file}: already exists; a signing key is never overwritten") from None
    except OSError as exc:
        raise fail(f"{out_file}: {exc.strerror or exc}") from None
    signer = transparency.Signer(transparency.origin_of(get_settings().public_url), key)
    out.print(f"wrote {out_file}; set FAIRENGAGE_AUDIT_SIGNING_KEY_FILE={out_file}", soft_wrap=True)
    # Plain writes: a console would wrap the long lines, and these are meant to be copied whole.
    typer.echo(signer.public_pem, nl=False)
    typer.echo(signer.vkey)


@audit_app.command("checkpoint")
def audit_checkpoint(
    out_file: Annotated[
        Path | None, typer.Option("--out", help="also write the signed checkpoint to this file")
    ] = None,
) -> None:
    """Sign the audit log's current Merkle root and keep it in the checkpoint folder (and --out FILE)."""
    from fairengage.access import audit, transparency

    settings = get_settings()
    sessions = _audit_sessions()
    try:
        checkpoint, note, path = transparency.write_checkpoint(sessions, settings)
    except (transparency.CheckpointError, audit.AuditRolledBack) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{settings.audit_checkpoint_dir}: {exc.strerror or exc}") from None
    if out_file is not None:
        try:
            out_file.write_text(note, encoding="utf-8")
        except OSError as exc:
            raise fail(f"{out_file}: {exc.strerror or exc}") from None
    where = ", ".join(str(p) for p in (path, out_file) if p is not None) or "nowhere (ephemeral key)"
    out.print(f"checkpoint of {checkpoint.size} entries written to {where}", soft_wrap=True)
    typer.echo(note, nl=False)


@audit_app.command("prove")
def audit_prove(
    entry: Annotated[int, typer.Argument(help="the entry's sequence number")],
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="prove against this checkpoint (default: the latest)")
    ] = None,
) -> None:
    """Print, as JSON, entry ENTRY with its inclusion proof against a signed checkpoint, to check offline."""
    import json

    from fairengage.access import transparency

    settings = get_settings()
    sessions = _audit_sessions()
    audit_seal(sessions)
    signer = _signer(settings)
    try:
        if checkpoint is not None:
            note = checkpoint.read_text(encoding="utf-8")
            transparency.open_checkpoint(note, signer.public)
        else:
            with sessions() as session:
                note = transparency.current_checkpoint(session, signer)[1]
        with sessions() as session:
            proof = transparency.entry_proof(session, entry, note, signer.public)
    except OSError as exc:
        raise fail(f"{checkpoint}: {exc.strerror or exc}") from None
    except transparency.CheckpointError as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps(proof, indent=2, ensure_ascii=False))


@audit_app.command("check-proof")
def audit_check_proof(
    proof_file: Annotated[Path, typer.Argument(help="the JSON that `audit prove` printed")],
    key: Annotated[Path, typer.Option(help="the log's public key (PEM), as /transparency/audit/key gives")],
) -> None:
    """Check an inclusion proof offline: no database, only the proof file and the public key."""
    import json

    from fairengage.access import transparency

    try:
        proof = json.loads(proof_file.read_text(encoding="utf-8"))
        public = transparency.load_public_key(key)
        checkpoint = transparency.check_entry_proof(proof, public)
    except OSError as exc:
        raise fail(f"{proof_file}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise fail(f"{proof_file}: {exc}") from None
    out.print(
        f"entry {proof['entry']['seq']} is in the log of {checkpoint.size} entries signed at "
        f"{checkpoint.time.isoformat()} by {checkpoint.origin}",
        soft_wrap=True,
    )


@audit_app.command("bench")
def audit_bench(
    entries: Annotated[int, typer.Option(help="audit entries to journal, seal and verify")] = 1_000_000,
    repeats: Annotated[int, typer.Option(help="times to verify the whole log (the median is reported)")] = 3,
    database_url: Annotated[
        str | None, typer.Option(help="an empty database to use (default: a temporary SQLite file)")
    ] = None,
) -> None:
    """Measure sealing (entries/s), verifying the whole log against a checkpoint, and one inclusion proof."""
    import json

    from fairengage.access import audit_bench

    if entries < 1 or repeats < 1:
        raise fail("--entries and --repeats must be 1 or more")
    figures = audit_bench.run(entries, database_url=database_url, repeats=repeats)
    typer.echo(json.dumps(figures.as_dict(), indent=2))


def _signer(settings):
    from fairengage.access import transparency

    try:
        signer = transparency.signer_for(settings)
    except transparency.CheckpointError as exc:
        raise fail(str(exc)) from None
    if signer is None:
        raise fail("FAIRENGAGE_AUDIT_SIGNING_KEY_FILE is not set (make one with `fairengage audit keygen`)")
    return signer


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
    from fairengage.config import Settings, WeakSecretKey
    from fairengage.progress import shown

    url = os.environ.get("FAIRENGAGE_DATABASE_URL") or demo_build.fresh_database()
    public_url = os.environ.get("FAIRENGAGE_PUBLIC_URL") or f"http://{host}:{port}"
    settings = Settings(
        database_url=url,
        secret_key=os.environ.get("FAIRENGAGE_SECRET_KEY") or demo_build.demo_secret(),
        public_url=public_url,
        audit_signing_key_file=(
            os.environ.get("FAIRENGAGE_AUDIT_SIGNING_KEY_FILE") or demo_build.demo_audit_key()
        ),
        audit_checkpoint_dir=os.environ.get("FAIRENGAGE_AUDIT_CHECKPOINT_DIR") or demo_build.CHECKPOINT_DIR,
    )
    try:
        # The demo serves receipts and sign-in too: a weak FAIRENGAGE_SECRET_KEY is refused here as well.
        settings.require_strong_secret_key()
    except WeakSecretKey as exc:
        raise fail(str(exc)) from None
    with shown("demo", out) as progress:
        progress.phase(f"building the demo database with {records:,} synthetic engagements")
        users = demo_build.build(settings=settings, records=records, progress=progress)
    table = Table(title="Demo users (sign in at /login)")
    for column in ("username", "password", "role", "what to try"):
        table.add_column(column)
    for user in users:
        table.add_row(user.username, user.password, user.role, user.note)
    out.print(table)
    out.print(f"database: {url}   records: {records:,}")
    if demo_build.write_config(settings, key_file=not os.environ.get("FAIRENGAGE_SECRET_KEY")):
        out.print(f"settings: {demo_build.CONFIG_FILE} (every command in this folder uses the demo)")
    else:
        out.print(f"settings: {demo_build.CONFIG_FILE} is your own and was left alone", markup=False)
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
    plant_thresholds: Annotated[
        bool,
        typer.Option(
            "--plant-thresholds",
            help="decide searches by a threshold on each person's risk (the threshold test's model); "
            "--hit-rate is then not used",
        ),
    ] = False,
    threshold: Annotated[
        list[str] | None,
        typer.Option("--threshold", help="GROUP=T: the group's search threshold, 0-1 (repeatable)"),
    ] = None,
    risk: Annotated[
        list[str] | None,
        typer.Option(
            "--risk", help="GROUP=PHI:DELTA: share carrying contraband and how visible it is (repeatable)"
        ),
    ] = None,
    start: str = "2024-04-01",
    end: str = "2025-12-31",
    events: Annotated[
        Path | None,
        typer.Option(
            "--events",
            metavar="EVENTS.csv",
            help="also write dispatch and camera events for the engagements (docs/events.md); --out then "
            "holds the detailed table, without the engagements left unrecorded",
        ),
    ] = None,
    unrecorded: Annotated[
        float, typer.Option(min=0, max=0.99, help="with --events: share of encounters left unrecorded")
    ] = 0.10,
) -> None:
    """Write a synthetic analytic table (docs/architecture.md) with effects you can plant."""
    # deferred: heavy library, keeps --help fast (numpy, pandas)
    from fairengage.events import synthetic as synthetic_events
    from fairengage.ingest import synth as synthetic
    from fairengage.progress import shown

    settings = get_settings()
    effects = synthetic.PlantedEffects(
        over_representation=_pairs(over_represent, "--over-represent"),
        biased_officers=biased_officers,
        biased_group=biased_group,
        biased_multiplier=biased_multiplier,
        daylight_effect=daylight_effect,
        daylight_group=daylight_group,
        hit_rate=_pairs(hit_rate, "--hit-rate"),
        plant_thresholds=plant_thresholds,
        thresholds=_pairs(threshold, "--threshold"),
        risk=_risks(risk),
    )
    first, last = _parse_date(start, "--start"), _parse_date(end, "--end")
    try:
        with shown("synth", err) as progress:
            progress.phase(f"drawing {records:,} engagements")
            frame = synthetic.generate(
                records,
                seed=seed,
                officers=officers,
                effects=effects,
                start=first,
                end=last,
                lat=settings.latitude,
                lon=settings.longitude,
                with_details=events is not None,
            )
            if events is not None:
                progress.phase(f"planting events in {events.name}")
                frame, planted, truth = synthetic_events.plant(frame, unrecorded=unrecorded, seed=seed)
                planted.to_csv(events, index=False)
                truth.to_csv(synthetic_events.truth_path(events), index=False)
            progress.phase(f"writing {out_file.name}")
            synthetic.write_table(frame, out_file)
    except ValueError as exc:
        raise fail(str(exc)) from None
    out.print(f"wrote {len(frame):,} engagements to {out_file}")
    if events is not None:
        unrecorded_events = int(truth["unrecorded"].sum())
        out.print(
            f"wrote {len(planted):,} events to {events}, {unrecorded_events:,} of them unrecorded "
            f"(listed in {synthetic_events.truth_path(events)})"
        )


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


def _risks(values: list[str] | None) -> dict[str, tuple[float, float]]:
    result: dict[str, tuple[float, float]] = {}
    for value in values or []:
        group, sep, numbers = value.rpartition("=")
        phi, colon, delta = numbers.partition(":")
        try:
            result[group] = (float(phi), float(delta))
        except ValueError:
            raise fail(f"--risk: {value!r} is not GROUP=PHI:DELTA") from None
        if not sep or not group or not colon:
            raise fail(f"--risk: {value!r} is not GROUP=PHI:DELTA")
    return result


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    proxy_headers: Annotated[
        bool, typer.Option(help="trust X-Forwarded-Proto/-For from the addresses below (TLS proxy)")
    ] = True,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            envvar="FORWARDED_ALLOW_IPS",
            help="comma-separated addresses or networks of the TLS-terminating proxy whose forwarded "
            "headers are believed; never '*' unless nothing but the proxy can reach this port "
            "[default: FAIRENGAGE_FORWARDED_ALLOW_IPS, 127.0.0.1]",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="server processes; one per core (docs/deployment.md)")
    ] = 1,
    access_log: Annotated[bool, typer.Option(help="log one line per request (paths are redacted)")] = True,
) -> None:
    """Serve the web app and API (docs/deployment.md: workers, a TLS proxy, health checks)."""
    import uvicorn

    from fairengage.app import create_app
    from fairengage.config import WeakSecretKey

    # Built once here even with several workers: a bad setting stops the command with its message
    # before any process starts.
    try:
        app = create_app()
    except WeakSecretKey as exc:
        raise fail(str(exc)) from None
    uvicorn.run(
        # Several processes each build their own app from the same environment.
        "fairengage.app:create_app" if workers > 1 else app,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        proxy_headers=proxy_headers,
        # The option (or uvicorn's own FORWARDED_ALLOW_IPS) wins over the setting, as on every command.
        forwarded_allow_ips=forwarded_allow_ips or get_settings().forwarded_allow_ips,
        access_log=access_log,
    )


@app.command("settings")
def settings_command(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="print the table of every setting (docs/deployment.md)")
    ] = False,
    into: Annotated[
        Path | None,
        typer.Option(help="with --markdown: rewrite the table between the markers of this Markdown page"),
    ] = None,
) -> None:
    """Show the settings in force (secrets hidden), or with --markdown the table of every setting."""
    # deferred: heavy library (pydantic), keeps --help fast
    from fairengage import settings_table

    if into is not None and not markdown:
        raise fail("--into: give --markdown too")
    if markdown:
        table = settings_table.markdown()
        if into is None:
            typer.echo(table, nl=False)
            return
        try:
            into.write_text(settings_table.with_table(into.read_text(encoding="utf-8")), encoding="utf-8")
        except OSError as exc:
            raise fail(f"{into}: {exc.strerror or exc}") from None
        except settings_table.MissingMarkers as exc:
            raise fail(f"{into}: {exc}") from None
        out.print(f"wrote the table of {len(settings_table.rows())} settings into {into}", markup=False)
        return
    for name, value in settings_table.in_force(get_settings()):
        typer.echo(f"FAIRENGAGE_{name.upper()}={value}")  # KEY=value lines, as a .env file has them


# Capabilities with commands of their own keep them in `<capability>/cli.py` as a Typer app named `app`,
# registered here under its command name.
SUBCOMMANDS: dict[str, str] = {
    "benchmark": "fairengage.analytics.population_benchmarks.cli",
    "review": "fairengage.review.cli",
    "retention": "fairengage.retention.cli",
    "drill": "fairengage.drills.cli",
    "publish": "fairengage.publishing.cli",
    "events": "fairengage.events.cli",
    "cases": "fairengage.cases.cli",
}
# Single commands that live with their capability: name -> "module:function".
COMMANDS: dict[str, str] = {
    "import": "fairengage.ingest.cli:import_command",
    "extract": "fairengage.ingest.cli:extract_command",
    "analyze": "fairengage.analytics.cli:analyze",
    "bench": "fairengage.analytics.speed_bench:bench_command",
    "report": "fairengage.publishing.cli:report_command",
    "backup": "fairengage.backups.cli:backup_command",
    "restore": "fairengage.backups.cli:restore_command",
    "reconcile": "fairengage.events.cli:reconcile_command",
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
    try:
        app()
    except ConfigFileError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
