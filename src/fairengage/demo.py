"""`fairengage demo`: a fresh SQLite database with synthetic engagements and one user per role."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, update

from fairengage import migrate
from fairengage.access import service as access
from fairengage.access import transparency
from fairengage.config import Settings
from fairengage.db import engine_for, session_factory, transaction
from fairengage.engagements import bulk
from fairengage.engagements.models import Engagement
from fairengage.ingest import synth
from fairengage.officers import service as officers
from fairengage.progress import NO_PROGRESS, Progress
from fairengage.publishing import service as publishing
from fairengage.retention import service as retention
from fairengage.retention.models import Restriction
from fairengage.review.models import ReviewDecision

DEMO_DB = Path("fairengage-demo.db")
KEY_FILE = Path(".fairengage-demo-key")
# The demo's audit-checkpoint signing key (kept across demos, like the secret key) and its checkpoint
# folder, which goes with each fresh database: a new, shorter log must not meet an old one's checkpoints.
AUDIT_KEY_FILE = Path(".fairengage-demo-audit-key.pem")
CHECKPOINT_DIR = Path("fairengage-demo-checkpoints")
# The demo's settings file, so that every command run in this folder afterwards uses the demo database and
# keys (README's tour). A fairengage.toml of the person's own (without this first line) is never replaced.
CONFIG_FILE = Path("fairengage.toml")
CONFIG_MARK = "# Written by `fairengage demo`"
DEMO_BADGE = "T0101"
SUPERVISOR_BADGE = "S0201"


@dataclass(frozen=True)
class DemoUser:
    """A demo sign-in, printed for the person trying the system."""

    username: str
    role: str
    password: str
    note: str


def demo_secret() -> str:
    """The demo's secret key, kept in a file so receipts stay valid across restarts."""
    if KEY_FILE.exists():
        # A key file an older version left readable to others is restricted before it is used again.
        KEY_FILE.chmod(0o600)
        return KEY_FILE.read_text().strip()
    key = secrets.token_urlsafe(48)
    # Created owner-only in one step: written first and restricted after, it would be readable between.
    fd = os.open(KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def demo_audit_key() -> Path:
    """The demo's checkpoint signing key file, made on first use (mode 0600)."""
    if not AUDIT_KEY_FILE.exists():
        transparency.keygen(AUDIT_KEY_FILE)
    return AUDIT_KEY_FILE


def build(
    *, settings: Settings, records: int, seed: int = 2024, progress: Progress = NO_PROGRESS
) -> list[DemoUser]:
    """Migrate, add the demo's officers and users, and load synthetic engagements."""
    migrate.upgrade(settings.database_url)
    sessions = session_factory(engine_for(settings.database_url))
    today = datetime.now(settings.tz).date()
    users = [
        DemoUser("officer", "officer", secrets.token_urlsafe(12), f"badge {DEMO_BADGE}, 14 Division"),
        DemoUser(
            "supervisor",
            "supervisor",
            secrets.token_urlsafe(12),
            f"badge {SUPERVISOR_BADGE}, reviews 14 Division",
        ),
        DemoUser("analyst", "analyst", secrets.token_urlsafe(12), "reports: builds releases"),
        # Publishing takes two people: the analyst builds a release, the publisher approves it.
        DemoUser("publisher", "analyst", secrets.token_urlsafe(12), "reports: approves releases"),
        DemoUser("auditor", "auditor", secrets.token_urlsafe(12), "audit log"),
        DemoUser("admin", "admin", secrets.token_urlsafe(12), "users, officers, rule sets"),
        # The chief's designate: never the administrator, who could make an account to ask with and
        # then approve its request (separation of duties, docs/governance.md).
        DemoUser(
            "approver", "auditor", secrets.token_urlsafe(12), "approves restricted reads (chief's delegation)"
        ),
    ]
    with transaction(sessions) as session:
        officers.add(
            session=session,
            badge=DEMO_BADGE,
            name="Constable Alex Tremblay",
            division="D14",
            trained_on=today - timedelta(days=200),
            actor="demo",
        )
        # Reviewers are officers too: the training gate applies to them (s.11).
        officers.add(
            session=session,
            badge=SUPERVISOR_BADGE,
            name="Sergeant Priya Raman",
            division="D14",
            trained_on=today - timedelta(days=400),
            actor="demo",
        )
        badges = {"officer": DEMO_BADGE, "supervisor": SUPERVISOR_BADGE}
        for user in users:
            access.add_user(
                session=session,
                username=user.username,
                role=user.role,
                password=user.password,
                badge=badges.get(user.role),
                actor="demo",
                # The printed demo passwords are for trying the system straight away, not to be changed.
                temporary=False,
            )
        retention.delegate(
            session=session, username="approver", granted_by="Chief of Police (demo)", note="demo delegation"
        )
    if records:
        progress.phase(f"drawing {records:,} synthetic engagements")
        frame = synth.generate(
            records,
            seed=seed,
            start=date(2024, 4, 1),
            end=today - timedelta(days=1),
            lat=settings.latitude,
            lon=settings.longitude,
            with_details=True,
        )
        # Every roster officer trained before the data starts and again three years on, as s.11 asks.
        trained = (date(2023, 9, 1), date(2026, 8, 15))
        roster = [
            bulk.RosterEntry(o.badge, o.name, o.division, trained) for o in synth.officers_roster(400, seed)
        ]
        progress.phase(f"loading {records:,} engagements")
        with transaction(sessions) as session:
            known = bulk.ensure_officers(session=session, roster=roster)
            bulk.load_frame(session=session, frame=frame, officers=known, settings=settings, actor="demo")
        progress.phase("settling the reviews")
        with transaction(sessions) as session:
            settle_reviews(session=session, settings=settings, today=today)
        progress.phase(f"publishing the {today.year - 1} report")
        publish_report(settings=settings, sessions=sessions, period=str(today.year - 1))
    if settings.audit_signing_key_file is not None:
        # A first checkpoint, so that /transparency/audit has a history from the first visit.
        transparency.bind(engine_for(settings.database_url), settings)
        transparency.write_checkpoint(sessions, settings)
    return users


def settle_reviews(*, session, settings: Settings, today: date) -> None:
    """Make the demo look like a service in its stride: records past their deadline were reviewed.

    Compliant ones were approved and non-compliant ones found so and restricted; the last few weeks
    still wait in the queue, a few of them overdue, so every page has something to show.
    """
    # Synthetic records were entered a day after they happened.
    moments = session.execute(select(Engagement.id, Engagement.occurred_at)).all()
    session.execute(
        update(Engagement), [{"id": rid, "entered_at": at + timedelta(days=1)} for rid, at in moments]
    )
    settled_before = datetime.combine(today - timedelta(days=35), datetime.min.time(), tzinfo=settings.tz)
    rows = session.execute(
        select(Engagement.id, Engagement.compliant, Engagement.entered_at).where(
            Engagement.entered_at < settled_before
        )
    ).all()
    decided_ids: dict[bool, list[str]] = {True: [], False: []}
    decisions = []
    for rid, compliant, entered in rows:
        decided_ids[bool(compliant)].append(rid)
        decisions.append(
            {
                "engagement_id": rid,
                "version": 1,
                "decision": "approved" if compliant else "non_compliant",
                "reason": "" if compliant else "a duty was not met and no exception was given",
                "reviewer": "demo-reviewer",
                "decided_at": entered + timedelta(days=7),
            }
        )
    for chunk in range(0, len(decisions), 2000):
        session.execute(insert(ReviewDecision), decisions[chunk : chunk + 2000])
    for compliant, ids in decided_ids.items():
        for chunk in range(0, len(ids), 900):
            part = ids[chunk : chunk + 900]
            session.execute(
                update(Engagement)
                .where(Engagement.id.in_(part))
                .values(status="approved" if compliant else "non_compliant", restricted=not compliant)
            )
    restricted = [
        {
            "engagement_id": rid,
            "reason": "non_compliant",
            "restricted_at": datetime.now(UTC),
            "restricted_by": "demo",
        }
        for rid in decided_ids[False]
    ]
    if restricted:
        session.execute(insert(Restriction), restricted)
    retention.run(session=session, as_of=today, tz=settings.timezone, actor="demo")


def publish_report(*, settings: Settings, sessions, period: str) -> Path | None:
    """Publish last year's reports, so the public dashboard has figures from the first visit.

    Through the one publishing path, as a service would: the analyst builds the release, the publisher
    (a second person) publishes it. A release the disclosure check cannot prove safe stays a draft, as
    it would for a service (the analyst's Reports page says which figures block it); the demo goes on.
    """
    built = publishing.build_release(sessions=sessions, settings=settings, period=period, actor="analyst")
    if not built.disclosure_ok:
        return None
    published = publishing.approve(
        sessions=sessions, settings=settings, release_id=built.id, actor="publisher"
    )
    return published.path(publishing.root_of(settings))


def write_config(settings: Settings, *, key_file: bool, path: Path = CONFIG_FILE) -> bool:
    """Write the demo's settings file; False (and nothing written) when the file there is someone else's."""
    if path.exists() and not path.read_text(encoding="utf-8").startswith(CONFIG_MARK):
        return False
    values: dict[str, object] = {
        "database_url": settings.database_url,
        "public_url": settings.public_url,
        "audit_signing_key_file": settings.audit_signing_key_file,
        "audit_checkpoint_dir": settings.audit_checkpoint_dir,
        "publications_dir": settings.publications_dir,
        "boundaries": settings.boundaries,
    }
    if key_file:
        values["secret_key_file"] = KEY_FILE
    lines = [
        f"{CONFIG_MARK}: the demo's settings, for every command run in this folder.",
        "# FAIRENGAGE_* environment variables override these; docs/administrator.md lists every setting.",
    ]
    # JSON strings are TOML basic strings: quotes and backslashes come out escaped.
    lines += [f"{name} = {json.dumps(str(value))}" for name, value in values.items() if value is not None]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return True


def fresh_database(path: Path = DEMO_DB) -> str:
    """Remove an earlier demo database and return the URL of a new one."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(CHECKPOINT_DIR, ignore_errors=True)
    return f"sqlite:///./{path}"
