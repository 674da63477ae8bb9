"""In Chromium on a phone: the form checks the reason as the officer types it, before any save."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from fairengage.engagements.models import Engagement
from live import live_server

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def test_the_live_check_shows_a_race_reason_as_the_officer_types(browser, world, settings, sessions):
    from fairengage.app import create_app

    world.officer("T5151", "D14", name="Constable Ada Park")
    world.user("ada", "officer", badge="T5151", password="phone-at-the-roadside")
    with live_server(create_app(settings.model_copy())) as base:
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(f"{base}/engagements/new")
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill("phone-at-the-roadside")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/engagements/new")

        page.get_by_role("checkbox", name="Behaviour", exact=False).first.check()
        page.get_by_label("In your own words").press_sequentially("Black male loitering", delay=20)
        # No submit: the problem appears next to the reason and in the live summary.
        problem = page.locator("#reason-live-0, .live-error.field-error").first
        problem.wait_for(state="visible", timeout=10_000)
        # Ticking the ground checks the form before a word is typed ("write the reason"): wait for the
        # check of the typed reason, which may come back after that one is shown.
        expect(problem).to_contain_text("Race cannot be any part of the reason", timeout=10_000)
        assert "Race cannot be any part of the reason" in problem.inner_text()
        live = page.locator("#live-check")
        assert live.is_visible() and "Race cannot be any part of the reason" in live.inner_text()
        assert page.locator("#reason[aria-invalid=true]").count() == 1
        # Questions not yet answered are not shouted at.
        assert "racialized group as you perceived it" not in live.inner_text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#reason").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "live-check-race.png"))

        # Confirming the word describes something else turns the refusal into a flag for the supervisor.
        page.get_by_label("In your own words").fill("Man in a black jacket trying door handles of cars")
        page.get_by_label("describes something else", exact=False).check()
        flag = page.locator(".live-error.field-flag", has_text="describes something else").first
        flag.wait_for(state="visible", timeout=10_000)
        page.wait_for_function("document.querySelectorAll('.live-error.field-error').length === 0")
        page.screenshot(path=str(SHOTS / "live-check-flag.png"))
        context.close()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Engagement)) == 0
