"""Complaint filing: a limit per receipt code and per client address, refused with 429 and nothing stored."""

from __future__ import annotations

from fastapi.testclient import TestClient

from complaints.conftest import complaint_form, csrf_of, form_key_of, stored, submit
from fairengage.app import create_app


def test_one_code_takes_only_so_many_complaints(settings, sessions, receipt):
    app = create_app(settings.model_copy(update={"complaint_code_limit": 3, "complaint_client_limit": 0}))
    answers = []
    # From fifteen different addresses, as the tester sent them: the code's limit holds whoever sends.
    for number in range(15):
        with TestClient(app, client=(f"192.0.2.{number + 1}", 40000)) as client:
            answers.append(submit(client, receipt).status_code)
    assert answers == [303] * 3 + [429] * 12
    assert len(stored(sessions)) == 3


def test_one_address_files_only_so_many(settings, sessions, record):
    app = create_app(settings.model_copy(update={"complaint_code_limit": 0, "complaint_client_limit": 2}))
    receipts = [record()["receipt"]["code"] for _ in range(3)]
    with TestClient(app, client=("198.51.100.20", 40000)) as client:
        answers = [submit(client, code).status_code for code in receipts]
        refused = submit(client, receipts[2])
    assert answers == [303, 303, 429]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many requests" in refused.text
    assert len(stored(sessions)) == 2


def test_a_resent_form_and_a_form_with_mistakes_do_not_count(settings, sessions, receipt):
    app = create_app(settings.model_copy(update={"complaint_code_limit": 1, "complaint_client_limit": 0}))
    with TestClient(app) as client:
        assert submit(client, receipt, description="").status_code == 422
        page = client.get(f"/r/{receipt}/complaint")
        data = {"csrftoken": csrf_of(page.text), "form_key": form_key_of(page.text), **complaint_form()}
        first = client.post(f"/r/{receipt}/complaint", data=data, follow_redirects=False)
        # The same form sent again (a double tap) answers with the same reference, not a refusal.
        again = client.post(f"/r/{receipt}/complaint", data=data, follow_redirects=False)
        assert (first.status_code, again.status_code) == (303, 303)
        assert submit(client, receipt).status_code == 429
    assert len(stored(sessions)) == 1
