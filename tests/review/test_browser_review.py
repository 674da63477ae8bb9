"""In Chromium: a supervisor works through the queue — approves one, returns one, finds one non-compliant."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from builders import valid_body
from fairengage.engagements.models import Engagement
from live import live_server

pytestmark = pytest.mark.browser


def test_supervisor_approves_returns_and_restricts(browser, app, client, world, sessions):
    headers = world.officer_with_token("T77", "D14")
    reasons = ["first", "second", "third"]
    ids = []
    for word in reasons:
        body = valid_body(reason=f"The {word} person tried the door handles of parked cars along the street.")
        ids.append(client.post("/api/v1/engagements", json=body, headers=headers).json()["id"])
    world.officer("S77", "D14", trained_on=date(2025, 3, 1), name="Sergeant Kim")
    world.user("kim", "supervisor", badge="S77", password="reviewing-all-day")
    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{base}/login")
        page.locator("#username").fill("kim")
        page.locator("#password").fill("reviewing-all-day")
        with page.expect_navigation():
            page.locator("main button[type=submit]").click()
        page.goto(f"{base}/review")
        assert page.get_by_text("3 records awaiting review").is_visible()

        for rid, decision, reason in (
            (ids[0], "approved", ""),
            (ids[1], "returned", "Say what you saw first."),
            (ids[2], "non_compliant", "No reason beyond presence in the area."),
        ):
            page.goto(f"{base}/review")
            page.locator(f"a[href='/review/{rid}']").click()
            page.wait_for_url(f"**/review/{rid}")
            page.locator(f"input[name=decision][value={decision}]").check()
            if reason:
                page.locator("#reason").fill(reason)
            with page.expect_navigation():
                page.get_by_role("button", name="Save decision").click()
            assert "Decision saved" in page.content()

        assert page.get_by_text("0 records awaiting review").is_visible()
    with sessions() as s:
        got = {e.id: (e.status, e.restricted) for e in s.scalars(select(Engagement))}
    assert got == {ids[0]: ("approved", False), ids[1]: ("returned", False), ids[2]: ("non_compliant", True)}
