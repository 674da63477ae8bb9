"""In Chromium on a phone: a second person previews a draft, approves it, and the public sees it."""

from __future__ import annotations

import pytest

from live import live_server
from publishing.ledger_rows import write_release

pytestmark = pytest.mark.browser


def fits(page) -> bool:
    """Whether the page needs no sideways scrolling."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_preview_then_approve_on_a_phone(browser, app, world, sessions, settings, tmp_path):
    settings.publications_dir = tmp_path / "publications"
    draft = write_release(sessions=sessions, root=settings.publications_dir, period="2024", built_by="ana")
    world.user("bob", "analyst", password="approving-all-day")
    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{base}/login")
        page.locator("#username").fill("bob")
        page.locator("#password").fill("approving-all-day")
        with page.expect_navigation():
            page.locator("main button[type=submit]").click()

        page.goto(f"{base}/analyst/reports")
        assert fits(page)
        page.locator(f"a[href='/analyst/releases/{draft.id}']").click()
        page.wait_for_url(f"**/analyst/releases/{draft.id}")
        assert page.locator("#release-state").get_attribute("data-state") == "draft"
        assert fits(page)

        page.get_by_role("link", name="Preview the public pages of this release").click()
        page.wait_for_url("**/preview")
        assert page.locator("#preview-banner").is_visible()
        assert fits(page)
        page.get_by_role("link", name="Back to the release").click()

        with page.expect_navigation():
            page.get_by_role("button", name="Approve and publish").click()
        assert page.locator("#release-state").get_attribute("data-state") == "published"

        page.goto(f"{base}/public")
        assert page.locator("#preview-banner").count() == 0
        assert page.locator("#period option[selected]").get_attribute("value") == "2024"
