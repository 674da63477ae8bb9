"""In Chromium: a supervisor takes unmatched events to their resolution.

One event is sent to its officer ("Record now"); the officer records it, the next reconciliation matches
it and it leaves the list. Another is first refused without a reason, then marked as not an engagement.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from builders import valid_body
from events.event_files import write_events
from events.reconciled import HERE, estate
from fairengage.events import importer, reconcile
from fairengage.events.models import ExternalEvent
from live import live_server

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"


def status_of(sessions, event_id: str) -> str:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return s.scalars(select(ExternalEvent.status).where(ExternalEvent.event_id == event_id)).one()


def test_supervisor_resolves_unmatched_events(browser, app, client, world, sessions, tmp_path):
    built = estate(client, world, sessions, tmp_path)
    # A second unrecorded dispatch event in D14: a traffic call, as the supervisor will find.
    traffic = (built["missed"] - timedelta(minutes=30)).isoformat()
    extra = write_events(tmp_path / "more.csv", [["CAD-5", traffic, "T1", "D14", "", "", "person_stop"]])
    importer.import_events(sessions=sessions, path=extra, actor="cli:test")

    def reconcile_now() -> str:
        return reconcile.reconcile(
            sessions=sessions,
            start=built["today"] - timedelta(days=1),
            end=built["today"] + timedelta(days=1),
            tz="America/Toronto",
            out=tmp_path / "unmatched.csv",
            actor="cli:test",
        ).last_line()

    assert reconcile_now() == "matched 3 of 6 events; unmatched 3 (50.0%)"
    world.officer("S1", "D14")
    world.user("sarge", "supervisor", badge="S1")
    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{base}/login")
        page.locator("#username").fill("sarge")
        page.locator("#password").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main button[type=submit]").click()
        page.get_by_role("link", name="Unrecorded events").click()
        page.wait_for_url("**/events")
        assert page.get_by_text("2 events awaiting action").is_visible()

        cad3 = page.locator("section", has_text="CAD-3")
        cad3.locator("input[value=record]").check()
        with page.expect_navigation():
            cad3.get_by_role("button", name="Save action").click()
        assert page.get_by_text("Action saved.").is_visible()
        assert (
            page.locator("section", has_text="CAD-3")
            .get_by_text("The officer was asked to record it")
            .is_visible()
        )

        cad5 = page.locator("section", has_text="CAD-5")
        cad5.locator("input[value=not_engagement]").check()
        with page.expect_navigation():
            cad5.get_by_role("button", name="Save action").click()
        # Refused without a reason: the page says so beside the field, and nothing changed.
        assert page.get_by_text("give a reason").is_visible()
        assert status_of(sessions, "CAD-5") == "open"
        cad5 = page.locator("section", has_text="CAD-5")
        cad5.locator("input[value=not_engagement]").check()
        cad5.locator("textarea").fill("A traffic call: nobody was asked for identification.")
        with page.expect_navigation():
            cad5.get_by_role("button", name="Save action").click()
        assert page.get_by_text("1 event awaiting action").is_visible()
        assert page.locator("section", has_text="CAD-5").count() == 0

        # The officer records the stop (through their device), and the next reconciliation matches it.
        headers = {"Authorization": f"Bearer {world.token('uT1')}"}
        body = valid_body(
            occurred_at=(built["missed"] + timedelta(minutes=3)).isoformat(),
            location={"lat": HERE[0], "lon": HERE[1] + 0.01, "description": "Queen St W & Bathurst St"},
        )
        assert client.post("/api/v1/engagements", json=body, headers=headers).status_code == 201
        assert reconcile_now() == "matched 4 of 6 events; unmatched 2 (33.3%)"
        page.reload()
        assert page.get_by_text("0 events awaiting action").is_visible()
    assert {e: status_of(sessions, e) for e in ("CAD-3", "CAD-5")} == {
        "CAD-3": "matched",
        "CAD-5": "not_engagement",
    }
