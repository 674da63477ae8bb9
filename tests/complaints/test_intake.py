"""The public form: filed from a genuine receipt only, once per form, contact details stored apart."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from fairengage.complaints.models import Complaint, ComplaintContact
from fairengage.receipts import codes

PERSON = ("Sam Example", "1994-05-02", "1 Example St")
REQUESTER = ("Robin Complainant", "robin@example.org", "416-555-0199", "twenty minutes")


def contacts(sessions) -> list[ComplaintContact]:
    with sessions() as s:
        return list(s.scalars(select(ComplaintContact)).all())


def test_receipt_page_links_to_the_form(client, receipt):
    page = client.get(f"/r/{receipt}")
    assert f'href="/r/{receipt}/complaint?lang=en"' in page.text


def test_form_names_the_independent_body_and_says_the_service_tracks_it(client, receipt):
    page = client.get(f"/r/{receipt}/complaint")
    assert page.status_code == 200
    assert "Law Enforcement Complaints Agency" in page.text
    assert "https://www.leca.ca" in page.text and "1-877-411-4773" in page.text
    assert "will track your complaint" in page.text
    # What the receipt shows may appear; the person's information never does.
    assert "Alex Tremblay" in page.text and receipt in page.text
    for secret in PERSON:
        assert secret not in page.text
    # Every input has a label.
    for input_id in re.findall(r'<(?:input|textarea|select)[^>]* id="([^"]+)"', page.text):
        assert f'for="{input_id}"' in page.text or input_id == "consent", input_id
    assert "<script" not in page.text


def test_valid_code_files_a_complaint_with_a_reference(client, receipt, sessions, kit):
    r = kit.submit(client, receipt)
    assert r.status_code == 303
    done = client.get(r.headers["location"])
    assert done.status_code == 200
    reference = re.search(r'class="code">([A-Z]-\d{4}-\d{6})<', done.text).group(1)
    assert reference.startswith("C-2")
    # Nothing the person typed, and nothing about the person stopped, is echoed on the public page.
    for secret in PERSON + REQUESTER:
        assert secret not in done.text
    assert "Law Enforcement Complaints Agency" in done.text
    [complaint] = kit.stored(sessions)
    assert (complaint.reference, complaint.kind, complaint.status) == (reference, "complaint", "received")
    assert complaint.division_code == "D14"
    assert "twenty minutes" in complaint.description
    [contact] = contacts(sessions)
    assert (contact.complaint_id, contact.name, contact.email, contact.phone) == (
        complaint.id,
        "Robin Complainant",
        "robin@example.org",
        "416-555-0199",
    )
    # The complaint's own table has no contact columns at all.
    assert not {"name", "email", "phone"} & set(Complaint.__table__.columns.keys())
    [entry] = kit.audit_entries(sessions, "complaint.create")
    assert entry.entity_id == reference and entry.actor == "public"
    assert "robin" not in str(entry.details).lower()


def test_own_record_request_needs_no_account_and_gets_its_own_prefix(client, receipt, sessions, kit):
    r = kit.submit(client, receipt, kind="own_record", description="", name="", phone="")
    assert r.status_code == 303
    done = client.get(r.headers["location"])
    assert re.search(r'class="code">R-\d{4}-\d{6}<', done.text)
    assert "confirm who you are" in done.text
    [complaint] = kit.stored(sessions)
    assert complaint.kind == "own_record" and complaint.description is None
    assert contacts(sessions)[0].email == "robin@example.org"


def test_missing_answers_are_shown_in_place_and_nothing_stored(client, receipt, sessions, kit):
    r = kit.submit(client, receipt, description="  ", email="", phone="", consent="")
    assert r.status_code == 422
    assert 'id="error-summary"' in r.text
    for anchor in ("#description", "#email", "#consent"):
        assert f'href="{anchor}"' in r.text, anchor
    assert 'aria-invalid="true"' in r.text
    assert 'value="Robin Complainant"' in r.text  # what was typed is kept
    assert kit.stored(sessions) == []


def test_bad_email_and_phone_are_refused(client, receipt, sessions, kit):
    r = kit.submit(client, receipt, email="robin-at-example", phone="12")
    assert r.status_code == 422
    assert 'href="#email"' in r.text and 'href="#phone"' in r.text
    assert kit.stored(sessions) == []


def test_forged_and_mistyped_codes_store_nothing(client, receipt, settings, sessions, kit):
    canonical = codes.normalize_code(receipt)
    mistyped = codes.format_code(canonical[:-1] + ("A" if canonical[-1] != "A" else "B"))
    forged = codes.issue_code(b"someone else's key")
    unknown = codes.issue_code(settings.secret)  # well signed, but no record carries it
    token = kit.page_csrf(client)
    for bad in (mistyped, forged, unknown, "not-a-code"):
        page = client.get(f"/r/{bad}/complaint")
        assert page.status_code == 404 and "could not find" in page.text, bad
        r = client.post(
            f"/r/{bad}/complaint",
            data={"csrftoken": token, "form_key": f"k-{bad}", **kit.complaint_form()},
            follow_redirects=False,
        )
        assert r.status_code == 404 and "could not find" in r.text, bad
    assert kit.stored(sessions) == []
    assert kit.audit_entries(sessions, "complaint.create") == []


def test_public_post_requires_the_csrf_token(app, client, receipt, sessions, kit):
    from fastapi.testclient import TestClient

    body = {"form_key": "k-csrf", **kit.complaint_form()}
    # A browser with no cookies at all, posting from elsewhere.
    with TestClient(app) as stranger:
        assert stranger.post(f"/r/{receipt}/complaint", data=body).status_code == 403
    # A browser with a CSRF cookie but the wrong token, and one with no token.
    kit.page_csrf(client)
    assert client.post(f"/r/{receipt}/complaint", data={**body, "csrftoken": "forged"}).status_code == 403
    assert client.post(f"/r/{receipt}/complaint", data=body).status_code == 403
    assert kit.stored(sessions) == []


def test_double_submit_files_one_complaint(client, receipt, sessions, kit):
    page = client.get(f"/r/{receipt}/complaint")
    data = {
        "csrftoken": kit.csrf_of(page.text),
        "form_key": kit.form_key_of(page.text),
        **kit.complaint_form(),
    }
    first = client.post(f"/r/{receipt}/complaint", data=data, follow_redirects=False)
    second = client.post(f"/r/{receipt}/complaint", data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert len(kit.stored(sessions)) == 1
    reference = kit.stored(sessions)[0].reference
    assert reference in client.get(second.headers["location"]).text
    # A new form is a new complaint.
    assert kit.submit(client, receipt).status_code == 303
    assert len(kit.stored(sessions)) == 2


def test_reference_page_is_only_for_the_browser_that_filed(app, client, receipt, kit):
    done = kit.submit(client, receipt).headers["location"]
    from fastapi.testclient import TestClient

    with TestClient(app) as other:
        r = other.get(done, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/r/{receipt}/complaint")


def test_french_form(client, receipt):
    page = client.get(f"/r/{receipt}/complaint?lang=fr")
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    assert "Agence des plaintes contre les forces de l" in page.text
    assert 'action="/r/' + receipt + '/complaint?lang=fr"' in page.text


def test_the_count_of_complaints_matches_the_filings(client, receipt, sessions, kit):
    for kind in ("complaint", "own_record", "complaint"):
        assert kit.submit(client, receipt, kind=kind).status_code == 303
    with sessions() as s:
        kinds = s.execute(select(Complaint.kind, func.count()).group_by(Complaint.kind)).all()
    assert dict(kinds) == {"complaint": 2, "own_record": 1}
    references = [c.reference for c in kit.stored(sessions)]
    assert len(set(references)) == 3
