"""In Chromium: an officer given a temporary password must choose their own before recording anything."""

from __future__ import annotations

import pytest

from fairengage.access import service as access
from fairengage.db import transaction
from live import live_server

pytestmark = pytest.mark.browser


def test_temporary_password_is_replaced_at_first_sign_in(browser, world, sessions, settings):
    from fairengage.app import create_app

    world.officer("T5151", "D14", name="Constable Sam Lee")
    with transaction(sessions) as s:
        access.add_user(
            session=s,
            username="slee",
            role="officer",
            badge="T5151",
            password="handed-over-by-admin",
            actor="t",
        )
    with live_server(create_app(settings.model_copy())) as base:
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/login")
        page.get_by_label("Username").fill("slee")
        page.get_by_label("Password").fill("handed-over-by-admin")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/account/password")
        # Any other page sends the officer back here until the password is theirs.
        page.goto(f"{base}/engagements/new")
        page.wait_for_url(f"{base}/account/password")
        assert "set by someone else" in page.content()

        page.get_by_label("Current password").fill("handed-over-by-admin")
        page.locator("#password").fill("password1234")
        page.locator("#confirm").fill("password1234")
        page.get_by_role("button", name="Change password").click()
        assert page.locator("#error-summary").is_visible()
        assert page.locator("#password[aria-invalid=true]").count() == 1

        page.get_by_label("Current password").fill("handed-over-by-admin")
        page.locator("#password").fill("rivers bend under quiet bridges")
        page.locator("#confirm").fill("rivers bend under quiet bridges")
        page.get_by_role("button", name="Change password").click()
        page.wait_for_url(f"{base}/account/password")
        assert "Your password was changed" in page.content()
        page.goto(f"{base}/engagements/new")
        page.wait_for_url(f"{base}/engagements/new")
        assert "Record a community engagement" in page.content()
        context.close()
