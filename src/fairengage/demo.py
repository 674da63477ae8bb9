"""`fairengage demo`: a fresh SQLite database with synthetic engagements and one user per role."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fairengage import migrate
from fairengage.access import service as access
from fairengage.config import Settings
from fairengage.db import engine_for, session_factory, transaction
from fairengage.engagements import bulk
from fairengage.ingest import synth
from fairengage.officers import service as officers

DEMO_DB = Path("fairengage-demo.db")
KEY_FILE = Path(".fairengage-demo-key")
DEMO_BADGE = "T0101"


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
        return KEY_FILE.read_text().strip()
    key = secrets.token_urlsafe(48)
    KEY_FILE.write_text(key)
    KEY_FILE.chmod(0o600)
    return key


def build(*, settings: Settings, records: int, seed: int = 2024) -> list[DemoUser]:
    """Migrate, add the demo's officers and users, and load synthetic engagements."""
    migrate.upgrade(settings.database_url)
    sessions = session_factory(engine_for(settings.database_url))
    today = datetime.now(settings.tz).date()
    users = [
        DemoUser("officer", "officer", secrets.token_urlsafe(9), f"badge {DEMO_BADGE}, 14 Division"),
        DemoUser("supervisor", "supervisor", secrets.token_urlsafe(9), "reviews 14 Division"),
        DemoUser("analyst", "analyst", secrets.token_urlsafe(9), "reports"),
        DemoUser("auditor", "auditor", secrets.token_urlsafe(9), "audit log"),
        DemoUser("admin", "admin", secrets.token_urlsafe(9), "users, officers"),
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
        for user in users:
            access.add_user(
                session=session,
                username=user.username,
                role=user.role,
                password=user.password,
                badge=DEMO_BADGE if user.role == "officer" else None,
                division="D14" if user.role == "supervisor" else None,
                actor="demo",
            )
    if records:
        frame = synth.generate(
            records, seed=seed, start=date(2024, 4, 1), end=today - timedelta(days=1), with_details=True
        )
        # Every roster officer trained before the data starts and again three years on, as s.11 asks.
        trained = (date(2023, 9, 1), date(2026, 8, 15))
        roster = [
            bulk.RosterEntry(o.badge, o.name, o.division, trained) for o in synth.officers_roster(400, seed)
        ]
        with transaction(sessions) as session:
            known = bulk.ensure_officers(session=session, roster=roster)
            bulk.load_frame(session=session, frame=frame, officers=known, settings=settings, actor="demo")
    return users


def fresh_database(path: Path = DEMO_DB) -> str:
    """Remove an earlier demo database and return the URL of a new one."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///./{path}"


def started_at() -> str:
    """A timestamp for the banner."""
    return datetime.now(UTC).isoformat(timespec="seconds")
