"""Analyst pages: who may see and run reports, and a run going queued → running → done (a fake build)."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fairengage.reports import analyst_views, publications

PASSWORD = "a-long-enough-password"
ROLES = ("anonymous", "officer", "supervisor", "analyst", "auditor", "admin")


def minimal_report(count: int) -> dict:
    """A suppressed report with one figure, enough for the dashboard to show."""
    return {
        "disproportionality": [
            {"area": "ALL", "group": "Black", "count": count, "total": count * 4, "population": 10,
             "population_total": 100, "index": 2.5, "ci_low": 2.0, "ci_high": 3.0, "suppressed": False}
        ],
        "compliance": [
            {"area": "ALL", "measure": "compliant", "count": count, "total": count * 4, "rate": 0.25}
        ],
        "meta": {"suppression": {"threshold": 10}},
    }


class FakeBuild:
    """Stands in for the database build: writes a publication's files, optionally waiting to be released."""

    def __init__(self, *, hold: bool = False, fail: str | None = None, count: int = 40) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        if not hold:
            self.release.set()
        self.fail = fail
        self.count = count
        self.calls: list[dict] = []

    def __call__(self, *, period, out_dir, progress, settings, sessions, actor) -> None:
        self.calls.append({"period": period, "actor": actor, "out_dir": out_dir})
        progress.phase("writing the analytic table", 200)
        progress.advance(50)
        self.started.set()
        assert self.release.wait(10)
        if self.fail:
            raise RuntimeError(self.fail)
        progress("building the board report")
        (out_dir / "open-data").mkdir()
        (out_dir / "report.public.json").write_text(json.dumps(minimal_report(self.count)))
        (out_dir / "report.json").write_text("{}")
        (out_dir / "board.pdf").write_bytes(b"%PDF board")
        (out_dir / "public.pdf").write_bytes(b"%PDF public")
        (out_dir / "open-data" / "engagements.csv").write_text("area,count\nALL,40\n")


@pytest.fixture
def root(settings, tmp_path: Path) -> Path:
    """This test's publications folder, configured in the app's settings."""
    settings.publications_dir = tmp_path / "publications"
    return settings.publications_dir


@pytest.fixture
def staff(world):
    """One user per role (the officer linked to a badge)."""
    world.officer("T1", "D14")
    world.user("officer", "officer", badge="T1", password=PASSWORD)
    world.user("supervisor", "supervisor", division="D14", password=PASSWORD)
    for role in ("analyst", "auditor", "admin"):
        world.user(role, role, password=PASSWORD)


def csrf(html: str) -> str:
    """The CSRF token of a page."""
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)


def signed_in(app, who: str) -> TestClient:
    """A browser signed in as `who` (or not signed in), holding a CSRF cookie either way."""
    client = TestClient(app)
    token = csrf(client.get("/login").text)
    if who != "anonymous":
        r = client.post("/login", data={"username": who, "password": PASSWORD, "csrftoken": token},
                        follow_redirects=False)
        assert r.status_code == 303, who
    return client


def start(client: TestClient, year: str = "2025", quarter: str = "") -> object:
    """POST the run form with the page's CSRF token; the response, not followed."""
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    data = {"year": year, "quarter": quarter, "csrftoken": token}
    return client.post("/analyst/reports", data=data, follow_redirects=False)


def test_every_role_against_the_matrix(app, root, staff):
    build = FakeBuild()
    app.dependency_overrides[analyst_views.report_builder] = lambda: build
    job = publications.jobs_for(root).start(
        period="2024", build=lambda out, progress: build(period="2024", out_dir=out, progress=progress,
                                                         settings=None, sessions=None, actor="setup"),
        requested_by="setup",
    )
    assert publications.jobs_for(root).wait(job.id, 10).state == "done"
    # anonymous, officer, supervisor, analyst, auditor, admin
    expected = {
        "list": (303, 403, 200, 200, 200, 200),
        "run": (303, 403, 403, 303, 403, 303),
        "job": (303, 403, 200, 200, 200, 200),
        "board": (303, 403, 200, 200, 200, 200),
    }
    for i, role in enumerate(ROLES):
        client = signed_in(app, role)
        got = {
            "list": client.get("/analyst/reports", follow_redirects=False),
            "job": client.get(f"/analyst/reports/{job.id}", follow_redirects=False),
            "board": client.get("/analyst/reports/2024/files/board.pdf", follow_redirects=False),
            "run": start(client),
        }
        for page, response in got.items():
            assert response.status_code == expected[page][i], (role, page, response.status_code)
            if response.status_code == 303 and role == "anonymous":
                assert response.headers["location"].startswith("/login")
        if got["run"].status_code == 303 and role != "anonymous":
            started = got["run"].headers["location"].rsplit("/", 1)[1]
            assert publications.jobs_for(root).wait(started, 10).state == "done"
        if got["list"].status_code == 200:
            # Only holders of reports:run see the form.
            assert ('action="/analyst/reports"' in got["list"].text) == (role in ("analyst", "admin")), role
    assert [c["actor"] for c in build.calls] == ["setup", "analyst", "admin"]


def test_a_run_goes_queued_running_done_and_lists_its_outputs(app, root, world):
    world.user("analyst", "analyst", password=PASSWORD)
    build = FakeBuild(hold=True)
    app.dependency_overrides[analyst_views.report_builder] = lambda: build
    client = signed_in(app, "analyst")
    r = start(client, "2025", "3")
    assert r.status_code == 303
    job_id = r.headers["location"].rsplit("/", 1)[1]
    assert build.started.wait(10)

    running = client.get(f"/analyst/reports/{job_id}").text
    assert '<meta http-equiv="refresh" content="2">' in running
    assert 'data-state="running"' in running and "writing the analytic table" in running
    assert '<progress id="job-progress" max="100" value="25">' in running
    assert "<script" not in running
    # One run at a time: a second is refused while this one runs, with a link to follow it.
    busy = start(client, "2024")
    assert busy.status_code == 409 and f'href="/analyst/reports/{job_id}"' in busy.text

    build.release.set()
    job = publications.jobs_for(root).wait(job_id, 10)
    assert job.history == ["queued", "running", "done"]
    assert build.calls[0]["period"] == "2025-Q3"
    done = client.get(f"/analyst/reports/{job_id}").text
    assert "http-equiv" not in done and 'data-state="done"' in done
    outputs = re.findall(r'href="(/analyst/reports/2025-Q3/files/[^"]+)"', done)
    assert set(outputs) == {
        "/analyst/reports/2025-Q3/files/" + name
        for name in ("board.pdf", "open-data/engagements.csv", "public.pdf", "report.json",
                     "report.public.json")
    }
    assert client.get("/analyst/reports/2025-Q3/files/board.pdf").content == b"%PDF board"
    # The status file keeps the run for the next start of the service.
    saved = json.loads((root / publications.JOBS_FILE).read_text())
    assert [(j["id"], j["state"]) for j in saved] == [(job_id, "done")]
    # Published: the dashboard serves it, and the staging folder is gone.
    assert 'value="2025-Q3" selected' in TestClient(app).get("/public").text
    assert [p.name for p in root.iterdir() if p.name.startswith(".staging")] == []


def test_a_new_run_replaces_a_period_whole_and_a_failed_one_changes_nothing(app, root, world):
    world.user("admin", "admin", password=PASSWORD)
    client = signed_in(app, "admin")
    app.dependency_overrides[analyst_views.report_builder] = lambda: FakeBuild(count=40)
    first = start(client).headers["location"].rsplit("/", 1)[1]
    publications.jobs_for(root).wait(first, 10)
    app.dependency_overrides[analyst_views.report_builder] = lambda: FakeBuild(count=80)
    second = start(client).headers["location"].rsplit("/", 1)[1]
    publications.jobs_for(root).wait(second, 10)
    assert publications.load(root, "2025").report["disproportionality"][0]["count"] == 80

    broken = FakeBuild(fail="benchmark file unreadable")
    app.dependency_overrides[analyst_views.report_builder] = lambda: broken
    failed = start(client).headers["location"].rsplit("/", 1)[1]
    job = publications.jobs_for(root).wait(failed, 10)
    assert job.state == "failed" and job.history == ["queued", "running", "failed"]
    page = client.get(f"/analyst/reports/{failed}").text
    assert "benchmark file unreadable" in page and "http-equiv" not in page
    assert publications.load(root, "2025").report["disproportionality"][0]["count"] == 80
    assert sorted(p.name for p in root.iterdir()) == [publications.JOBS_FILE, "2025"]


def test_a_build_that_writes_no_public_report_fails(tmp_path):
    jobs = publications.ReportJobs(tmp_path)
    job = jobs.start(period="2025", build=lambda out, progress: (out / "board.pdf").write_bytes(b"x"),
                     requested_by="analyst")
    assert jobs.wait(job.id, 10).state == "failed"
    assert "report.public.json" in job.error
    assert not (tmp_path / "2025").exists()


def test_a_run_cut_short_by_a_restart_shows_as_failed(tmp_path):
    jobs = publications.ReportJobs(tmp_path)
    release = threading.Event()
    job = jobs.start(period="2025", build=lambda out, progress: release.wait(10), requested_by="analyst")
    reopened = publications.ReportJobs(tmp_path)  # as a new process would read the status file
    again = reopened.get(job.id)
    assert again.state == "failed" and "interrupted" in again.error
    assert reopened.active() is None
    release.set()
    jobs.wait(job.id, 10)


def test_the_form_names_a_wrong_period(app, root, world):
    world.user("analyst", "analyst", password=PASSWORD)
    build = FakeBuild()
    app.dependency_overrides[analyst_views.report_builder] = lambda: build
    client = signed_in(app, "analyst")
    r = start(client, "20x5", "5")
    assert r.status_code == 422
    assert "Enter a year of four digits" in r.text and "Choose the whole year or one quarter" in r.text
    assert 'aria-invalid="true"' in r.text
    assert build.calls == []
    assert analyst_views.parse_period_form("2025", "") == ("2025", {})
    assert analyst_views.parse_period_form(" 2024 ", "4") == ("2024-Q4", {})


def test_staff_files_refuse_traversal(app, root, world, tmp_path):
    world.user("auditor", "auditor", password=PASSWORD)
    (root / "2025").mkdir(parents=True)
    (root / "2025" / "report.public.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("secret")
    (root / publications.JOBS_FILE).write_text("[]")
    client = signed_in(app, "auditor")
    assert client.get("/analyst/reports/2025/files/report.public.json").status_code == 200
    for path in ("%2e%2e/%2e%2e/secret.txt", "%2e%2e/.report-jobs.json", "missing.pdf"):
        assert client.get(f"/analyst/reports/2025/files/{path}").status_code == 404, path
    assert client.get("/analyst/reports/%2e%2e/files/secret.txt").status_code == 404
    assert client.get("/analyst/reports/0123456789abcdef").status_code == 404
    assert client.get("/analyst/reports/not-a-job").status_code == 404
