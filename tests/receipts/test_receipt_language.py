"""The person's receipt language is chosen per receipt and never switches the officer's own pages."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pypdf

from builders import valid_body
from fairengage.receipts.render import LABELS


def squeezed(text: str) -> str:
    return "".join(text.split())


def pdf_text(data: bytes) -> str:
    return squeezed("".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages))


def officer_with_record(client, world, settings) -> tuple[str, str]:
    """A signed-in officer (English) and one record of theirs: its id and receipt code."""
    world.officer(
        "R1", "D14", trained_on=datetime.now(settings.tz).date() - timedelta(days=5), name="Ria Lang"
    )
    world.user("oria", "officer", badge="R1", password="a-long-password")
    headers = {"Authorization": f"Bearer {world.token('oria')}"}
    body = client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "oria", "password": "a-long-password", "csrftoken": token})
    return body["id"], body["receipt"]["code"]


def test_recorded_page_offers_the_receipt_in_each_language(client, world, settings):
    engagement_id, code = officer_with_record(client, world, settings)
    page = client.get(f"/engagements/{engagement_id}/receipt").text
    assert '<html lang="en">' in page
    for path in ("print?lang=en", "print?lang=fr", "receipt.pdf?lang=en", "receipt.pdf?lang=fr"):
        assert f'href="/r/{code}/{path}"' in page, path
    # Inside the page's main content, once, and no link left that would take the language from a cookie.
    assert page.index('<main id="main"') < page.index('id="receipt-language"') < page.index("</main>")
    assert page.count('id="receipt-language"') == 1
    assert f'href="/r/{code}/print"' not in page and f'href="/r/{code}/receipt.pdf"' not in page


def test_french_receipt_does_not_switch_the_officer_to_french(client, world, settings):
    engagement_id, code = officer_with_record(client, world, settings)
    for path in (f"/r/{code}?lang=fr", f"/r/{code}/print?lang=fr", f"/r/{code}/receipt.pdf?lang=fr"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "lang=" not in r.headers.get("set-cookie", ""), path
        assert "lang" not in client.cookies, path
    assert '<html lang="fr">' in client.get(f"/r/{code}/print?lang=fr").text
    # The officer's next pages are still English.
    for path in ("/engagements", f"/engagements/{engagement_id}/receipt", "/engagements/new"):
        assert '<html lang="en">' in client.get(path).text, path


def test_receipt_pdf_follows_the_chosen_language(client, world, settings):
    _, code = officer_with_record(client, world, settings)
    english = client.get(f"/r/{code}/receipt.pdf?lang=en").content
    french = client.get(f"/r/{code}/receipt.pdf?lang=fr").content
    assert english.startswith(b"%PDF") and french.startswith(b"%PDF")
    assert squeezed(LABELS["en"]["heading"]) in pdf_text(english)
    assert squeezed(LABELS["fr"]["heading"]) in pdf_text(french)


def test_an_unknown_receipt_in_french_sets_no_cookie_either(client):
    r = client.get("/r/ABCD-EFGH-JKLM?lang=fr")
    assert r.status_code in (400, 404)
    assert "lang=" not in r.headers.get("set-cookie", "")


def test_the_officers_own_language_choice_is_still_remembered(client, world, settings):
    officer_with_record(client, world, settings)
    r = client.get("/engagements?lang=fr")
    assert "lang=fr" in r.headers.get("set-cookie", "")
    assert '<html lang="fr">' in client.get("/engagements").text
