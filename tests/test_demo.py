"""`fairengage demo --no-serve` builds a database where every role has something to do."""

from __future__ import annotations

import os
import subprocess
import sys

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from access.estate import csrf_of
from fairengage.access.permissions import ROLES
from fairengage.app import create_app
from fairengage.config import Settings


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
        # The printed passwords are for trying the system at once: none is temporary.
        assert conn.execute(text("SELECT count(*) FROM users WHERE password_temporary")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM approver_delegations")).scalar() == 1
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM engagements GROUP BY status")).all())
        assert statuses.get("approved", 0) > 0 and statuses.get("pending_review", 0) > 0
    # Last year's reports are published, so the public dashboard has figures from the first visit.
    published = list((tmp_path / "publications").glob("*/report.public.json"))
    assert len(published) == 1 and (published[0].parent / "public.pdf").exists()

    # Each printed user signs in straight into their work, not onto the change-password page.
    lines = [line for line in run.stdout.splitlines() if "│" in line]
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines]
    printed = {row[0]: row[1] for row in rows if len(row) == 4 and row[2] in ROLES}
    assert set(printed) == set(ROLES)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'fairengage-demo.db'}",
        secret_key="demo-test-key-0123456789",
        publications_dir=str(tmp_path / "publications"),
    )
    for username, password in printed.items():
        client = TestClient(create_app(settings))
        token = csrf_of(client.get("/login").text)
        r = client.post(
            "/login",
            data={"username": username, "password": password, "csrftoken": token},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] != "/account/password", username
        assert client.get(r.headers["location"], follow_redirects=False).status_code == 200, username
