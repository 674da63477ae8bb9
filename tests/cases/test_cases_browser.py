"""In Chromium: a supervisor takes a case from the flag to an action, and sees the next run's re-test."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from builders import valid_body
from cases.reports import report
from fairengage.cases import service
from fairengage.cases.models import InterventionCase
from live import live_server

pytestmark = pytest.mark.browser

PASSWORD = "reviewing-all-day"
PERIOD = {"first": "2024-01-01T00:00:00+00:00", "last": "2100-01-01T00:00:00+00:00"}


def run(sessions, settings, flagged: bool) -> None:  # type: ignore[no-untyped-def]
    """One analysis run's report read into the cases, as `fairengage cases open` does."""
    with sessions.begin() as s:
        service.open_from_report(
            session=s,
            report=report([("T77", flagged)], secret=settings.secret, **PERIOD),
            secret=settings.secret,
            actor="cli",
        )


def test_a_supervisor_takes_a_case_from_flag_to_action_to_retest(
    browser, app, client, world, sessions, settings
):
    headers = world.officer_with_token("T77", "D14")
    made = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    assert made.status_code == 201, made.text
    record = made.json()["id"]
    world.officer("S77", "D14", trained_on=date.today() - timedelta(days=30), name="Sergeant Kim")
    world.user("kim", "supervisor", badge="S77", password=PASSWORD)
    run(sessions, settings, flagged=True)
    with sessions() as s:
        case_id = s.scalars(select(InterventionCase.id)).one()

    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        page.locator("#username").fill("kim")
        page.locator("#password").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main button[type=submit]").click()
        # Signed in, the supervisor lands on their desk, which counts the case.
        page.wait_for_url(f"{base}/desk")
        assert page.locator("#desk-cases").inner_text().startswith("1 open intervention cases")
        page.locator("#desk-cases").click()
        page.wait_for_url(f"{base}/cases")
        page.get_by_role("link", name=f"Open case {case_id}").click()
        page.wait_for_url(f"{base}/cases/{case_id}")
        assert "Officer T77" in page.content()
        assert "not yet re-tested" in page.locator("#case-state").inner_text()
        # The comparison that raised it, and the record behind it, linked to its review page.
        assert page.locator("#case-tests tbody tr").count() == 1
        assert page.locator(f"#case-records a[href='/review/{record}']").count() == 1

        # Saved without a reason: refused, the reason named.
        page.locator("input[name=agrees][value=agree]").check()
        page.locator("#action").select_option("conversation")
        with page.expect_navigation():
            page.get_by_role("button", name="Save the action").click()
        assert page.locator("#error-summary a[href='#reason']").is_visible()

        follow_up = (date.today() + timedelta(days=60)).isoformat()
        page.locator("input[name=agrees][value=agree]").check()
        page.locator("#reason").fill("Stops cluster on one beat; we went through them together.")
        page.locator("#action").select_option("conversation")
        page.locator("#follow_up_on").fill(follow_up)
        with page.expect_navigation():
            page.get_by_role("button", name="Save the action").click()
        assert page.get_by_text("Action saved.").is_visible()
        actions = page.locator("#case-actions").inner_text()
        assert "kim" in actions and "we went through them together" in actions and follow_up in actions

        # The next period's run re-tests the officer: no longer flagged, and the case says so.
        run(sessions, settings, flagged=False)
        page.reload()
        assert "No longer flagged" in page.locator("#case-state").inner_text()
        assert page.locator("#case-tests tbody tr").count() == 2
        page.goto(f"{base}/cases?status=resolved")
        assert page.get_by_role("link", name=f"Open case {case_id}").is_visible()
