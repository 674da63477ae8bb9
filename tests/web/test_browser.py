"""In Chromium: an officer signs in, records an engagement through the form, and opens its receipt."""

from __future__ import annotations

import pytest

from builders import fill_form_first_half, fill_form_second_half
from live import live_server

pytestmark = pytest.mark.browser


def test_officer_records_and_opens_receipt(browser, world, settings):
    from fairengage.app import create_app

    world.officer("T4242", "D14", name="Constable Robin Okafor")
    world.user("robin", "officer", badge="T4242", password="phone-at-the-roadside")
    settings_live = settings.model_copy()
    with live_server(create_app(settings_live)) as base:
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(f"{base}/engagements/new")
        assert "/login" in page.url
        page.get_by_label("Username").fill("robin")
        page.get_by_label("Password").fill("phone-at-the-roadside")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/engagements/new")

        fill_form_first_half(page, "Bloor St W & Ossington Ave")
        # Submit once with the informing answer missing: the problem is shown in place and nothing stored.
        page.get_by_role("button", name="Check and save").click()
        summary = page.locator("#error-summary")
        # The form's script keeps the record on the phone before sending it: the answer comes a moment later.
        summary.wait_for()
        assert summary.is_visible()
        assert page.locator("#informed[aria-invalid=true]").count() == 1

        fill_form_second_half(page)
        page.get_by_role("button", name="Check and save").click()
        page.wait_for_url("**/receipt")
        assert "Offer the receipt" in page.content()
        code = page.locator(".code").inner_text().strip()

        page.get_by_role("link", name="Open the check page").click()
        # The link carries the page's language (?lang=en), so that the check page opens in it.
        page.wait_for_url(f"**/r/{code}*")
        text = page.locator("main").inner_text()
        assert "Constable Robin Okafor" in text and "T4242" in text and "Bloor St W & Ossington Ave" in text
        assert "genuine" in text
        context.close()


def test_form_is_usable_by_keyboard(browser, world, settings):
    """Tab order starts at the skip link, every control is reachable, and the error summary takes focus."""
    from fairengage.app import create_app

    world.officer("T4343", "D14")
    world.user("kbd", "officer", badge="T4343", password="keyboard-only-user")
    with live_server(create_app(settings)) as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{base}/")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.goto(f"{base}/login")
        # The sign-in page puts the cursor in the username field straight away.
        page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
        page.locator("#username").fill("kbd")
        page.locator("#password").fill("keyboard-only-user")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/engagements/new")
        seen = set()
        for _ in range(400):
            page.keyboard.press("Tab")
            seen.add(page.evaluate("document.activeElement.name || document.activeElement.id"))
        for name in (
            "scope",
            "purpose",
            "occurred_at",
            "division",
            "place",
            "reason",
            "informed",
            "receipt_offered",
            "perceived_race",
            "perceived_gender",
            "perceived_age",
            "outcome",
        ):
            assert name in seen, name
        with page.expect_navigation():
            page.locator("main button[type=submit]").press("Enter")
        # autofocus applies once the page has loaded; wait for it rather than race it.
        page.wait_for_function("document.activeElement && document.activeElement.id === 'error-summary'")
