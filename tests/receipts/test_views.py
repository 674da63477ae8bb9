"""The public receipt pages: a genuine code shows the receipt, never the person; others show nothing."""

from __future__ import annotations

from builders import valid_body
from fairengage.receipts import codes


def recorded(client, world) -> dict:
    headers = world.officer_with_token("T700", name="Alex Tremblay")
    r = client.post(
        "/api/v1/engagements", json=valid_body(occurred_at="2025-07-14T15:30:00-04:00"), headers=headers
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_check_page_shows_what_the_rules_require(client, world):
    code = recorded(client, world)["receipt"]["code"]
    page = client.get(f"/r/{code}")
    assert page.status_code == 200
    text = page.text
    for expected in (
        "Alex Tremblay",
        "T700",
        "Queen St W &amp; Spadina Ave",
        "July 14, 2025",
        "3:30",
        "Law Enforcement Complaints Agency",
        code,
        "<svg",
    ):
        assert expected in text, expected
    assert "freedom" in text.lower() or "access" in text.lower()
    # The person's information never appears on a public page.
    for secret in ("Sam Example", "1994-05-02", "1 Example St"):
        assert secret not in text


def test_french_receipt(client, world):
    code = recorded(client, world)["receipt"]["code"]
    page = client.get(f"/r/{code}?lang=fr")
    assert page.status_code == 200
    assert (
        "Reçu d&#39;interaction communautaire" in page.text or "Reçu d'interaction communautaire" in page.text
    )
    assert 'lang="fr"' in page.text
    assert "juillet" in page.text


def test_typed_variants_of_the_code_verify(client, world):
    code = recorded(client, world)["receipt"]["code"]
    sloppy = code.replace("-", "").lower().replace("0", "o").replace("1", "l")
    r = client.get("/r", params={"code": sloppy}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/r/{code}"


def test_forged_and_mistyped_codes_never_verify(client, world, settings):
    code = recorded(client, world)["receipt"]["code"]
    canonical = codes.normalize_code(code)
    swapped = canonical[:-1] + ("A" if canonical[-1] != "A" else "B")
    for bad in (codes.format_code(swapped), codes.issue_code(b"another key"), "not-a-code"):
        page = client.get(f"/r/{bad}")
        assert page.status_code == 404
        assert "could not find" in page.text
    # A well-signed code that no record carries is not found either.
    page = client.get(f"/r/{codes.issue_code(settings.secret)}")
    assert page.status_code == 404


def test_printable_pdf_and_qr(client, world):
    code = recorded(client, world)["receipt"]["code"]
    printable = client.get(f"/r/{code}/print")
    assert (
        printable.status_code == 200 and "Alex Tremblay" in printable.text and "printable" in printable.text
    )
    pdf = client.get(f"/r/{code}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    qr = client.get(f"/r/{code}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert client.get("/r/AAAA-AAAA-AAAA/qr.svg").status_code == 404


def test_pdf_carries_the_receipt_text(client, world):
    from io import BytesIO

    from pypdf import PdfReader

    code = recorded(client, world)["receipt"]["code"]
    text = PdfReader(BytesIO(client.get(f"/r/{code}/receipt.pdf?lang=fr").content)).pages[0].extract_text()
    assert "Alex Tremblay" in text and code in text and "Sam Example" not in text
