"""`fairengage demo --no-serve` builds a database where every role has something to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from access.estate import csrf_of
from fairengage.access.permissions import ROLES
from fairengage.app import create_app
from fairengage.config import Settings


@pytest.mark.slow  # Builds the demo database in a process of its own.
def test_demo_builds_a_working_database(tmp_path):
    env = {**os.environ, "FAIRENGAGE_SECRET_KEY": "demo-test-key-0123456789abcdefgh", "COLUMNS": "200"}
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
        # The reviewer is an officer with training in date; the chief's delegation is held by an approver
        # who is not the administrator (user administration and approving are never one person's).
        assert linked["supervisor"] and linked["officer"]
        holders = conn.execute(
            text("SELECT u.username, u.role FROM approver_delegations d JOIN users u ON u.id = d.user_id")
        ).all()
        assert [tuple(h) for h in holders] == [("approver", "auditor")]
        # The printed passwords are for trying the system at once: none is temporary.
        assert conn.execute(text("SELECT count(*) FROM users WHERE password_temporary")).scalar() == 0
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM engagements GROUP BY status")).all())
        assert statuses.get("approved", 0) > 0 and statuses.get("pending_review", 0) > 0
    # Last year's reports are published through the one publishing path: built by the analyst, approved by
    # a second person, recorded in the ledger, with no row-level file anywhere under the publications.
    publications = tmp_path / "publications"
    published = list(publications.glob("*/v*/report.public.json"))
    assert len(published) == 1 and (published[0].parent / "public.pdf").exists()
    assert published[0].parent.relative_to(publications).as_posix() == f"{date.today().year - 1}/v1"
    names = {p.name for p in publications.rglob("*")}
    assert not names & {"engagements.parquet", "governance.json"}, names
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT status, built_by, approved_by FROM publication_releases")).all()
    assert [tuple(r) for r in rows] == [("published", "analyst", "publisher")]
    index = json.loads((publications / "releases.json").read_text())
    assert [e["folder"] for e in index["releases"]] == [f"{date.today().year - 1}/v1"]
    assert "publisher" in run.stdout and "approver" in run.stdout

    # Each printed user signs in straight into their work, not onto the change-password page.
    lines = [line for line in run.stdout.splitlines() if "│" in line]
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines]
    printed = {row[0]: row[1] for row in rows if len(row) == 4 and row[2] in ROLES}
    assert set(ROLES) <= set(printed)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'fairengage-demo.db'}",
        secret_key=env["FAIRENGAGE_SECRET_KEY"],
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
