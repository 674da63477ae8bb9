"""In Chromium: a member of the public goes from a receipt code to a filed complaint."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from builders import valid_body
from fairengage.complaints.models import Complaint
from live import live_server

pytestmark = pytest.mark.browser


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
