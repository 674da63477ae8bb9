"""In Chromium: a decided record opens as what was decided, and every error a browser can reach is a page
in the reader's language, never a raw JSON body."""

from __future__ import annotations

from datetime import date

import pytest

from builders import valid_body
from live import live_server

pytestmark = pytest.mark.browser

PASSWORD = "reviewing-all-day"
REASON = "No reason beyond presence in the area."


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main button[type=submit]").click()


def _decide(page, base: str, record: str, decision: str, reason: str = "") -> None:
    page.goto(f"{base}/review/{record}")
    page.locator(f"input[name=decision][value={decision}]").check()
    if reason:
        page.locator("#reason").fill(reason)
    with page.expect_navigation():
        page.get_by_role("button", name="Save decision").click()


def _no_raw_json(page, response) -> None:
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    text = page.locator("body").inner_text().strip()
    assert not text.startswith("{") and '"title"' not in text and '"status"' not in text, text[:200]
    assert page.locator("h1").count() == 1


@pytest.fixture
def records(client, world) -> list[str]:
    headers = world.officer_with_token("T78", "D14")
    ids = []
    for word in ("first", "second", "third"):
        body = valid_body(reason=f"The {word} person tried the door handles of parked cars along the street.")
        ids.append(client.post("/api/v1/engagements", json=body, headers=headers).json()["id"])
    for badge, username in (("S78", "kim"), ("S79", "lee")):
        world.officer(badge, "D14", trained_on=date(2025, 3, 1), name=f"Sergeant {username.title()}")
        world.user(username, "supervisor", badge=badge, password=PASSWORD)
    return ids


def test_a_decided_record_shows_the_decision_reviewer_time_and_reason(browser, app, records):
    with live_server(app) as base:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        _sign_in(page, base, "kim")
        _decide(page, base, records[0], "non_compliant", REASON)
        assert "Decision saved" in page.content()

        # Opened again from the queue's link (the back button, a bookmark): the decision, not an error.
        answer = page.goto(f"{base}/review/{records[0]}")
        assert answer.status == 200
        _no_raw_json(page, answer)
        row = page.locator("table.decisions tbody tr")
        assert row.count() == 1
        cells = row.locator("td").all_inner_texts()
        assert cells[2].lower() == "non-compliant" and cells[3] == "kim" and cells[4] == REASON
        assert cells[0][:4].isdigit()  # a local date and time
        # Restricted: what was recorded is not shown here.
        assert "door handles" not in page.content()

        # An approved record still shows its facts, now with who decided it.
        _decide(page, base, records[1], "approved")
        page.goto(f"{base}/review/{records[1]}")
        said = page.locator("#last-decision").inner_text()
        assert "approved" in said.lower() and "kim" in said

        # Another supervisor had the third record open; kim finds it non-compliant first.
        other = context.browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        _sign_in(other, base, "lee")
        other.goto(f"{base}/review/{records[2]}")
        _decide(page, base, records[2], "non_compliant", REASON)
        other.locator("input[name=decision][value=approved]").check()
        with other.expect_navigation() as sent:
            other.get_by_role("button", name="Save decision").click()
        assert sent.value.status == 409
        _no_raw_json(other, sent.value)
        assert "The decision was not saved" in other.content()
        assert other.locator("table.decisions tbody td").nth(3).inner_text() == "kim"
        other.context.close()
        context.close()


def test_every_error_a_browser_can_reach_is_a_page_in_its_language(browser, app, records):
    def crash() -> None:
        raise RuntimeError("a planted failure, for the error page")

    app.add_api_route("/planted-crash", crash, include_in_schema=False)
    with live_server(app) as base:
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        _sign_in(page, base, "kim")
        _decide(page, base, records[0], "non_compliant", REASON)
        page.goto(f"{base}/review?lang=fr")  # the language is remembered from here on
        cases = [
            (f"{base}/no-such-page", 404, "Page introuvable"),
            (f"{base}/engagements/not-a-record/receipt", 404, "Page introuvable"),
            (f"{base}/review/not-a-record", 404, "Page introuvable"),
            (f"{base}/admin/users", 403, "Vous n'avez pas accès à cette page"),
            (f"{base}/review?offset=many", 422, "Certaines valeurs n'ont pas pu être acceptées"),
            (f"{base}/review/{records[0]}/decision", 405, "Impossible sur cette page"),
            (f"{base}/planted-crash", 500, "Un problème est survenu de notre côté"),
        ]
        for url, status, title in cases:
            answer = page.goto(url)
            assert answer.status == status, url
            _no_raw_json(page, answer)
            assert page.locator("html").get_attribute("lang") == "fr", url
            assert page.locator("h1").inner_text().strip() == title, url
        # The restricted record opens as its decision, in French too.
        answer = page.goto(f"{base}/review/{records[0]}")
        assert answer.status == 200
        _no_raw_json(page, answer)
        assert "non conforme" in page.locator("table.decisions").inner_text().lower()
        context.close()
