"""axe-core in Chromium on the unrecorded-events pages, phone and desktop (as tests/web/test_axe.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from events.reconciled import estate
from fairengage.events.models import ExternalEvent
from live import live_server
from web.test_axe import BLOCKING, VIEWPORTS, axe_violations, describe

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"


def sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_no_serious_or_critical_violation_on_the_events_pages(
    browser, app, client, world, sessions, tmp_path, viewport
):
    estate(client, world, sessions, tmp_path)
    world.officer("S1", "D14")
    world.user("sarge", "supervisor", badge="S1")
    world.user("o1", "officer", badge="T1")
    with sessions.begin() as s:
        # One event already sent to its officer, so that the officer's page lists it.
        s.scalars(
            select(ExternalEvent).where(ExternalEvent.event_id == "CAD-3")
        ).one().status = "record_requested"
    found: dict[str, list[dict]] = {}
    too_wide: list[str] = []
    with live_server(app) as base:
        for who, paths in (("sarge", ["/events"]), ("o1", ["/events/mine"])):
            context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
            page = context.new_page()
            sign_in(page, base, who)
            for path in paths:
                page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle")
                assert "CAD-3" in page.content()
                if who == "sarge":
                    # The page again with a refused action: the reason's error beside its field.
                    page.locator("section", has_text="CAD-3").locator("input[value=escalate]").check()
                    with page.expect_navigation():
                        page.locator("section", has_text="CAD-3").get_by_role("button").click()
                    assert page.get_by_text("give a reason").is_visible()
                else:
                    # The recording form as "Record now" opens it.
                    page.get_by_role("link", name="Record now").click()
                    page.wait_for_load_state("networkidle")
                    assert "/engagements/new?" in page.url
                blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
                if blocking:
                    found[f"{who} {path}"] = blocking
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > VIEWPORTS[viewport]["width"]:
                    too_wide.append(f"{who} {path}: {width}px")
            context.close()
    assert not found, "axe found serious or critical violations:\n" + describe(found)
    assert not too_wide, f"pages wider than the {viewport} screen: {too_wide}"
