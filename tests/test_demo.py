"""`fairengage demo --no-serve` builds a database where every role has something to do."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import create_engine, text


def test_demo_builds_a_working_database(tmp_path):
    env = {**os.environ, "FAIRENGAGE_SECRET_KEY": "demo-test-key-0123456789", "COLUMNS": "200"}
    for name in ("FAIRENGAGE_DATABASE_URL", "FAIRENGAGE_PUBLICATIONS_DIR", "FAIRENGAGE_BOUNDARIES"):
        env.pop(name, None)
    run = subprocess.run(
        [sys.executable, "-m", "fairengage.cli", "demo", "--records", "1500", "--no-serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    # The demo signs audit checkpoints with its own key, private to its owner, and keeps a first one.
    assert (tmp_path / ".fairengage-demo-audit-key.pem").stat().st_mode & 0o777 == 0o600
    assert list((tmp_path / "fairengage-demo-checkpoints").glob("*.checkpoint"))
    for role in ("officer", "supervisor", "analyst", "auditor", "admin"):
        assert role in run.stdout
    engine = create_engine(f"sqlite:///{tmp_path / 'fairengage-demo.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM engagements")).scalar() == 1500
        linked = dict(
            conn.execute(
                text("SELECT u.username, o.badge FROM users u LEFT JOIN officers o ON o.id = u.officer_id")
            ).all()
        )
        # The reviewer is an officer with training in date, and the admin holds the chief's delegation.
        assert linked["supervisor"] and linked["officer"]
        assert conn.execute(text("SELECT count(*) FROM approver_delegations")).scalar() == 1
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM engagements GROUP BY status")).all())
        assert statuses.get("approved", 0) > 0 and statuses.get("pending_review", 0) > 0
    # Last year's reports are published, so the public dashboard has figures from the first visit.
    published = list((tmp_path / "publications").glob("*/report.public.json"))
    assert len(published) == 1 and (published[0].parent / "public.pdf").exists()
