"""In Chromium on a phone: an encounter with three people gives three records and three receipts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from fairengage.engagements.models import Engagement
from live import live_server

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# Set to a folder to keep each page's screenshot for a look by eye.
SHOTS = os.environ.get("ENCOUNTER_SCREENSHOTS")


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def _person(page, race: str, gender: str, age: str) -> None:  # type: ignore[no-untyped-def]
    page.locator(f"input[name=perceived_race][value='{race}']").check()
    page.locator(f"input[name=perceived_gender][value={gender}]").check()
    page.locator("#perceived_age").fill(age)
    page.locator("input[name=informed][value=yes]").check()
    page.locator("input[name=informed_why][value=yes]").check()
    page.locator("input[name=receipt_offered][value=yes]").check()
    page.locator("input[name=identifying_info_collected][value=no]").check()


def test_an_encounter_of_three_people_gives_three_records_and_receipts(browser, world, settings, sessions):
    from fairengage.app import create_app

    world.officer("T5151", "D14", name="Constable Ama Mensah")
    world.user("ama", "officer", badge="T5151", password="three-people-one-stop")
    with live_server(create_app(settings.model_copy())) as base:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.goto(f"{base}/login")
        page.locator("#username").fill("ama")
        page.locator("#password").fill("three-people-one-stop")
        page.locator("form button[type=submit]").click()
        page.wait_for_url(f"{base}/engagements/new")

        # The first person, with the shared answers, through the main form.
        page.locator("input[name=scope][value=none]").check()
        page.locator("input[name=purpose][value=suspicious_activities]").check()
        page.locator("#place").fill("Bloor St W & Ossington Ave")
        page.locator("input[name=reason_grounds][value=behaviour]").check()
        page.locator("#reason").fill(
            "Three people were pulling on the handles of parked car doors along the street, one by one."
        )
        _person(page, "White", "man", "35")
        page.get_by_role("button", name="Check and save").click()
        page.wait_for_url("**/receipt")
        codes = [page.locator(".code").inner_text().strip()]

        # Two more people, each on the short page, each with their own receipt.
        for number, (race, gender, age) in enumerate(
            (("Black", "woman", "29"), ("South Asian", "man", "41")), 2
        ):
            page.get_by_role("link", name="Another person in this encounter").click()
            page.wait_for_url("**/another-person")
            assert f"Person {number} in this encounter" in page.locator("h1").inner_text()
            shared = page.locator("section.shared").inner_text()
            assert "Bloor St W & Ossington Ave" in shared and "D14" in shared
            if number == 2:
                # A missing answer is shown in place, and nothing is stored.
                page.get_by_role("button", name="Check and save this person").click()
                assert page.locator("#error-summary").is_visible()
                _shot(page, "person-2-problems")
            _person(page, race, gender, age)
            _shot(page, f"person-{number}")
            page.get_by_role("button", name="Check and save this person").click()
            page.wait_for_url("**/receipt")
            _shot(page, f"receipt-{number}")
            codes.append(page.locator(".code").inner_text().strip())

        assert len(set(codes)) == 3
        # Each receipt opens on the public check page.
        for code in codes:
            page.goto(f"{base}/r/{code}")
            text = page.locator("main").inner_text()
            assert "genuine" in text and "Bloor St W & Ossington Ave" in text
        _shot(page, "check-page")
        context.close()

    with sessions() as s:
        rows = s.scalars(select(Engagement).order_by(Engagement.entered_at)).all()
    assert len(rows) == 3
    assert [e.perceived_race for e in rows] == ["White", "Black", "South Asian"]
    assert {e.encounter_id for e in rows} == {rows[0].id}
    assert len({e.receipt_code for e in rows}) == 3
