"""Staff pages: the list oldest open first, the detail with its history, changes and contact reads audited."""

from __future__ import annotations

from datetime import UTC, datetime

from fairengage.complaints import service
from fairengage.complaints.schemas import IntakeIn


def file_at(sessions, settings, receipt: str, when: datetime, kind: str = "complaint") -> str:
    intake = IntakeIn(kind=kind, description="It happened.", email="a@example.org", consent=True)
    filed = service.file_request(
        sessions=sessions, settings=settings, code_text=receipt, intake=intake, form_key=None, now=when
    )
    assert filed is not None
    return filed.reference


def post(browser, kit, path: str, **data):
    return browser.post(path, data={"csrftoken": kit.page_csrf(browser), **data}, follow_redirects=False)


def test_list_is_oldest_open_first_and_filters(receipt, sessions, settings, signed_in, kit):
    newest = file_at(sessions, settings, receipt, datetime(2025, 9, 3, tzinfo=UTC))
    oldest = file_at(sessions, settings, receipt, datetime(2025, 8, 1, tzinfo=UTC), kind="own_record")
    middle = file_at(sessions, settings, receipt, datetime(2025, 8, 20, tzinfo=UTC))
    ancient = file_at(sessions, settings, receipt, datetime(2025, 7, 20, tzinfo=UTC))
    assert oldest.startswith("R-2025-") and newest.startswith("C-2025-")
    browser = signed_in("supervisor")
    ids = {c.reference: c.id for c in kit.stored(sessions)}
    closed = post(
        browser, kit, f"/staff/complaints/{ids[ancient]}", status="closed", note="Resolved by apology."
    )
    assert closed.status_code == 303
    page = browser.get("/staff/complaints").text
    # The closed one goes last even though it is the oldest.
    assert page.index(oldest) < page.index(middle) < page.index(newest) < page.index(ancient)
    only_closed = browser.get("/staff/complaints?status=closed").text
    assert ancient in only_closed and newest not in only_closed
    open_only = browser.get("/staff/complaints?status=open").text
    assert ancient not in open_only and oldest in open_only
    requests = browser.get("/staff/complaints?kind=own_record").text
    assert oldest in requests and newest not in requests and middle not in requests


def test_status_moves_forward_with_history_and_audit(client, receipt, sessions, signed_in, kit):
    assert kit.submit(client, receipt).status_code == 303
    [complaint] = kit.stored(sessions)
    path = f"/staff/complaints/{complaint.id}"
    browser = signed_in("supervisor")
    detail = browser.get(path)
    assert detail.status_code == 200 and complaint.reference in detail.text
    assert "twenty minutes" in detail.text  # the account is for the people handling it
    # The contact details are not on the page until asked for with a purpose.
    assert "robin@example.org" not in detail.text and "416-555-0199" not in detail.text

    assert post(browser, kit, path, status="acknowledged", note="Letter sent.").status_code == 303
    assert post(browser, kit, path, status="investigating", assignee="sup14").status_code == 303
    # Backwards, closing without the outcome, and another division's supervisor as assignee: refused.
    backwards = post(browser, kit, path, status="received")
    assert backwards.status_code == 422 and 'href="#status"' in backwards.text
    no_outcome = post(browser, kit, path, status="closed", note="  ")
    assert no_outcome.status_code == 422 and 'href="#note"' in no_outcome.text
    signed_in("other_supervisor")  # creates sup52 in D52
    wrong_person = post(browser, kit, path, assignee="sup52")
    assert wrong_person.status_code == 422 and 'href="#assignee"' in wrong_person.text
    assert post(browser, kit, path, status="closed", note="Officer given advice.").status_code == 303

    [complaint] = kit.stored(sessions)
    assert complaint.status == "closed" and complaint.outcome == "Officer given advice."
    assert complaint.closed_at is not None
    page = browser.get(path).text
    for seen in ("Letter sent.", "Officer given advice.", "Acknowledged", "Investigating", "sup14"):
        assert seen in page, seen
    updates = kit.audit_entries(sessions, "complaint.update")
    assert [(e.details["from"], e.details["to"]) for e in updates] == [
        ("received", "acknowledged"),
        ("acknowledged", "investigating"),
        ("investigating", "closed"),
    ]
    assert all(e.actor == "sup14" and e.entity_id == complaint.reference for e in updates)
    assert updates[1].details["assigned_to"] == "sup14"
    # A closed complaint no longer changes.
    assert post(browser, kit, path, note="one more thing").status_code == 409
    assert len(kit.audit_entries(sessions, "complaint.update")) == 3


def test_contact_read_needs_a_purpose_and_is_audited(client, receipt, sessions, signed_in, kit):
    assert kit.submit(client, receipt).status_code == 303
    [complaint] = kit.stored(sessions)
    path = f"/staff/complaints/{complaint.id}/contact"
    browser = signed_in("admin")
    refused = post(browser, kit, path)
    assert refused.status_code == 422 and "robin@example.org" not in refused.text
    assert post(browser, kit, path, purpose="curiosity").status_code == 422
    assert kit.audit_entries(sessions, "complaint_contact.read") == []

    shown = post(browser, kit, path, purpose="outcome")
    assert shown.status_code == 200
    for detail in ("Robin Complainant", "robin@example.org", "416-555-0199"):
        assert detail in shown.text
    assert shown.headers["cache-control"] == "no-store"
    [entry] = kit.audit_entries(sessions, "complaint_contact.read")
    assert entry.actor == "adm" and entry.entity_id == complaint.reference
    assert entry.purpose == service.CONTACT_PURPOSES["outcome"]
    assert entry.details["purpose"] == "outcome"
    # The read shows in the complaint's history too, but the details do not stay on the page.
    page = browser.get(f"/staff/complaints/{complaint.id}").text
    assert "Contact details read" in page and "robin@example.org" not in page
