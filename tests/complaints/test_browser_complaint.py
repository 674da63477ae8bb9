"""In Chromium: a member of the public goes from a receipt code to a filed complaint."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from builders import valid_body
from components import missing
from fairengage.complaints.models import Complaint
from live import CHROMIUM_ARGS, chromium_path, live_server

pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    path = chromium_path()
    if path is None:
        missing("Chromium", "install Debian's chromium package (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_receipt_code_to_filed_complaint(browser, app, client, world, sessions):
    headers = world.officer_with_token("T55", "D14", name="Constable Lee")
    code = client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()["receipt"]["code"]
    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{base}/r")
        page.get_by_label("Reference code").fill(code.replace("-", "").lower())
        with page.expect_navigation():
            page.get_by_role("button", name="Check").click()
        assert "Constable Lee" in page.content()
        page.get_by_role("link", name="Complain or ask for your record").click()
        page.wait_for_url(f"**/r/{code}/complaint*")
        page.locator("input[name=kind][value=complaint]").check()
        page.locator("textarea").first.fill("The officer would not say why I was stopped.")
        page.locator("input[type=email]").fill("resident@example.org")
        page.locator("input[type=checkbox]").last.check()
        with page.expect_navigation():
            page.get_by_role("button", name="Send").click()
        text = page.locator("main").inner_text()
        assert "We have received your complaint" in text
        assert "resident@example.org" not in text
    with sessions() as s:
        complaint = s.scalars(select(Complaint)).one()
    assert complaint.kind == "complaint" and complaint.reference in text
