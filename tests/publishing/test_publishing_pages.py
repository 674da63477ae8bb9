"""The analyst's pages: a run builds a draft through the one service; preview, approve by a second person,
logged downloads of known files only, withdrawal; all on the real database build."""

from __future__ import annotations

import re
import threading
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fairengage.access.models import AuditEntry
from fairengage.db import transaction
from fairengage.publishing import service, views
from fairengage.reports import publications
from publishing.ledger_rows import write_release

PASSWORD = "a-long-enough-password"


def csrf(html: str) -> str:
    """The CSRF token of a page."""
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)


def signed_in(app, who: str) -> TestClient:
    """A browser signed in as `who`, holding a CSRF cookie."""
    client = TestClient(app)
    token = csrf(client.get("/login").text)
    r = client.post(
        "/login", data={"username": who, "password": PASSWORD, "csrftoken": token}, follow_redirects=False
    )
    assert r.status_code == 303, who
    return client


def post(client: TestClient, url: str, **data: str):
    """POST a form with the CSRF token, not following the redirect."""
    token = csrf(client.get("/login").text)
    return client.post(url, data={**data, "csrftoken": token}, follow_redirects=False)


def downloads_logged(sessions) -> list[tuple[str, str]]:
    """(actor, file) of every logged staff download."""
    with transaction(sessions) as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == "publication.download")).all()
        return [(r.actor, r.details["file"]) for r in rows]


@pytest.mark.slow  # Builds a whole release, HTML and PDF.
def test_make_preview_approve_download_withdraw(app, sessions, root, world, loaded, check_passes):
    world.user("ana", "analyst", password=PASSWORD)
    world.user("bob", "analyst", password=PASSWORD)
    world.user("sue", "supervisor", division="D14", password=PASSWORD)
    ana, bob, sue = signed_in(app, "ana"), signed_in(app, "bob"), signed_in(app, "sue")

    started = post(ana, "/analyst/reports", year="2024", quarter="")
    assert started.status_code == 303
    job_id = started.headers["location"].rsplit("/", 1)[1]
    job = publications.jobs_for(root).wait(job_id, 300)
    assert job.state == "done", job.error
    done = ana.get(f"/analyst/reports/{job_id}").text
    release = job.release_id
    assert f'href="/analyst/releases/{release}"' in done
    # A draft is not public.
    assert "No report has been published yet" in TestClient(app).get("/public").text

    page = ana.get(f"/analyst/releases/{release}").text
    assert 'data-state="draft"' in page and 'id="disclosure" data-ok="true"' in page
    assert "You built this release, so you cannot approve it" in page
    preview = ana.get(f"/analyst/releases/{release}/preview").text
    assert 'id="preview-banner"' in preview and "Preview of version 1" in preview
    assert 'value="2024" selected' in preview
    assert "/analyst/reports/2024/files/report.public.json?version=1" in preview

    refused = post(ana, f"/analyst/releases/{release}/approve")
    assert refused.status_code == 409 and "ana built 2024 version 1 and may not approve it" in refused.text
    # A supervisor may read the release but does not hold reports:publish.
    assert sue.get(f"/analyst/releases/{release}").status_code == 200
    assert post(sue, f"/analyst/releases/{release}/approve").status_code == 403
    approved = post(bob, f"/analyst/releases/{release}/approve")
    assert approved.status_code == 303
    assert 'data-state="published"' in bob.get(approved.headers["location"]).text
    public = TestClient(app).get("/public").text
    assert 'value="2024" selected' in public and 'id="preview-banner"' not in public
    assert TestClient(app).get("/public/files/2024/report.public.json").status_code == 200

    # Staff download only the known report files, each one logged; row-level and odd names are refused.
    for name in ("engagements.parquet", "governance.json", "../releases.json", "open-data/nothing.csv",
                 ".report-jobs.json", "%2e%2e/releases.json", "report.json/x"):  # fmt: skip
        assert sue.get(f"/analyst/reports/2024/files/{name}").status_code == 404, name
    assert sue.get("/analyst/reports/2024/files/board.pdf").content.startswith(b"%PDF")
    assert (
        ana.get("/analyst/reports/2024/files/open-data/disproportionality.csv?version=1").status_code == 200
    )
    assert downloads_logged(sessions) == [("sue", "board.pdf"), ("ana", "open-data/disproportionality.csv")]

    missing = post(bob, f"/analyst/releases/{release}/withdraw", reason=" ")
    assert missing.status_code == 422 and "say why" in missing.text
    withdrawn = post(bob, f"/analyst/releases/{release}/withdraw", reason="a division was miscoded")
    assert withdrawn.status_code == 303
    assert "No report has been published yet" in TestClient(app).get("/public").text
    assert TestClient(app).get("/public/files/2024/report.public.json").status_code == 404
    listing = ana.get("/analyst/reports").text
    assert f'id="release-{release}"' in listing and "Withdrawn" in listing
    assert not {p.name for p in Path(root).rglob("*")} & {"engagements.parquet", "governance.json"}


def test_a_blocked_release_names_the_figures(app, sessions, root, world):
    world.user("bob", "analyst", password=PASSWORD)
    blocked = write_release(sessions=sessions, root=root, period="2024", built_by="ana", disclosure_ok=False)
    bob = signed_in(app, "bob")
    page = bob.get(f"/analyst/releases/{blocked.id}").text
    assert 'data-ok="false"' in page and "disproportionality D31 × White count (3–3)" in page
    refused = post(bob, f"/analyst/releases/{blocked.id}/approve")
    assert refused.status_code == 409 and "disproportionality D31 × White count" in refused.text
    assert publications.list_publications(root) == []


def test_a_published_release_edited_on_disk_says_what_follows(app, sessions, root, world, client):
    world.user("bob", "analyst", password=PASSWORD)
    published = write_release(sessions=sessions, root=root, period="2024", status="published")
    draft = write_release(sessions=sessions, root=root, period="2025", built_by="ana")
    assert "No report has been published yet" not in client.get("/public", params={"period": "2024"}).text
    for release in (published, draft):
        target = root / release.folder / "report.public.json"
        target.write_text(target.read_text().replace("40", "41"))
    bob = signed_in(app, "bob")
    page = bob.get(f"/analyst/releases/{published.id}").text
    said = re.search(r'<p class="notice bad" id="changed">([^<]*)</p>', page).group(1)
    assert said.startswith("These files differ from what was built: report.public.json.")
    assert "public pages do not show this release" in said and "cannot be approved" not in said
    # What the page promises holds: the public dashboard no longer shows 2024.
    assert 'id="not-shown"' in client.get("/public").text
    assert 'id="not-shown"' in client.get("/public", params={"period": "2024"}).text
    said = re.search(r'id="changed">([^<]*)<', bob.get(f"/analyst/releases/{draft.id}").text).group(1)
    assert said.startswith("These files changed after the build and the release cannot be approved: report")


def test_the_form_names_a_wrong_period(app, root, world):
    world.user("ana", "analyst", password=PASSWORD)
    r = post(signed_in(app, "ana"), "/analyst/reports", year="20x5", quarter="5")
    assert r.status_code == 422
    assert "Enter a year of four digits" in r.text and "Choose the whole year or one quarter" in r.text
    assert publications.jobs_for(root).recent() == []
    assert views.parse_period_form("2025", "") == ("2025", {})
    assert views.parse_period_form(" 2024 ", "4") == ("2024-Q4", {})


def test_a_run_cut_short_by_a_restart_shows_as_failed(tmp_path):
    jobs = publications.ReportJobs(tmp_path)
    release = threading.Event()
    job = jobs.start(period="2025", build=lambda progress: release.wait(10), requested_by="analyst")
    reopened = publications.ReportJobs(tmp_path)  # as a new process would read the status file
    again = reopened.get(job.id)
    assert again.state == "failed" and "interrupted" in again.error
    assert reopened.active() is None
    release.set()
    jobs.wait(job.id, 10)


def test_the_dashboard_says_a_correction_replaces_a_version_and_marks_a_partial_period(
    app, sessions, settings, root
):
    write_release(sessions=sessions, root=root, period="2025", status="published", count=40)
    fix = write_release(
        sessions=sessions, root=root, period="2025", version=2, built_by="ana", count=44,
        reason="late records from D14", data_to=date(2025, 11, 30),
    )  # fmt: skip
    service.approve(sessions=sessions, settings=settings, release_id=fix.id, actor="bob")
    page = TestClient(app).get("/public").text
    assert "Version 2 of these figures replaces version 1. Why: late records from D14" in page
    assert "Partial year: data to 2025-11-30." in page
    assert "(partial, data to 2025-11-30)" in page  # in the period list too
    # The figures are version 2's.
    assert publications.load(root, "2025").report["disproportionality"][0]["count"] == 44


def test_the_preview_of_a_correction_says_what_it_will_replace(app, sessions, root, world):
    world.user("bob", "analyst", password=PASSWORD)
    write_release(sessions=sessions, root=root, period="2025", status="published")
    fix = write_release(
        sessions=sessions, root=root, period="2025", version=2, built_by="ana", reason="late records"
    )
    preview = signed_in(app, "bob").get(f"/analyst/releases/{fix.id}/preview").text
    assert "Version 2 of these figures replaces version 1. Why: late records" in preview
    assert "Preview of version 2" in preview
