"""Own-record exports: refused until identity is confirmed, then the requester's records and no one else's."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from fairengage.engagements.models import Person


def rename(sessions, engagement_id: str, name: str) -> None:
    """Change a stored person's name as it was typed, spaces and capitals included."""
    with sessions.begin() as s:
        s.scalars(select(Person).where(Person.engagement_id == engagement_id)).one().name = name


def post(browser, kit, path: str, **data):
    return browser.post(path, data={"csrftoken": kit.page_csrf(browser), **data}, follow_redirects=False)


def test_export_waits_for_identity_then_holds_exactly_the_matching_records(
    client, record, sessions, signed_in, kit
):
    sam = {"name": "Sam Example", "date_of_birth": "1994-05-02", "address": "1 Example St"}
    on_receipt = record(person=sam)
    same_person = record(person={**sam, "address": "9 Other Ave"})
    rename(sessions, same_person["id"], "  sam EXAMPLE ")
    other_birthday = record(person={**sam, "date_of_birth": "1994-05-03"})
    other_name = record(person={**sam, "name": "Samuel Example"})
    no_person = record(person=None)
    assert kit.submit(client, on_receipt["receipt"]["code"], kind="own_record").status_code == 303
    [request] = kit.stored(sessions)
    base = f"/staff/complaints/{request.id}"
    admin = signed_in("admin")

    refused = post(admin, kit, f"{base}/export", format="json")
    assert refused.status_code == 409 and "not been confirmed" in refused.text
    assert kit.audit_entries(sessions, "own_record.export") == []
    assert "No export can be made" in admin.get(base).text

    assert post(admin, kit, f"{base}/identity", identity_note=" ").status_code == 422
    assert (
        post(admin, kit, f"{base}/identity", identity_note="Photo ID seen at 14 Division").status_code == 303
    )
    [confirmed] = kit.audit_entries(sessions, "own_record.identity_confirmed")
    assert confirmed.entity_id == request.reference and confirmed.actor == "adm"
    assert post(admin, kit, f"{base}/identity", identity_note="again").status_code == 409

    exported = post(admin, kit, f"{base}/export", format="json")
    assert exported.status_code == 200
    assert (
        exported.headers["content-disposition"]
        == f'attachment; filename="own-record-{request.reference}.json"'
    )
    body = json.loads(exported.content)
    assert body["request"] == request.reference
    assert "same name" in body["matching"] and "ignoring letter case" in body["matching"]
    got = {r["engagement_id"]: r["matched_by"] for r in body["records"]}
    assert got == {on_receipt["id"]: "receipt", same_person["id"]: "name_and_date_of_birth"}
    for excluded in (other_birthday, other_name, no_person):
        assert excluded["id"] not in exported.text
    assert "Samuel" not in exported.text and "1994-05-03" not in exported.text
    first = body["records"][0]
    assert first["person"] == {
        "name": "Sam Example",
        "date_of_birth": "1994-05-02",
        "address": "1 Example St",
    }
    assert first["officer"] == {"name": "Alex Tremblay", "badge": "T100"}
    assert first["reason"].startswith("Person was trying door handles")
    assert {f["rule"] for f in first["findings"]} >= {"REASON-REQUIRED", "RECEIPT-OFFER"}
    [entry] = kit.audit_entries(sessions, "own_record.export")
    assert entry.details["reference"] == request.reference and entry.purpose.endswith(request.reference)
    assert sorted(entry.details["engagements"]) == sorted(got)

    as_csv = post(admin, kit, f"{base}/export", format="csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert {row["engagement_id"] for row in rows} == set(got)
    assert {row["person_name"] for row in rows} == {"Sam Example", "  sam EXAMPLE "}
    assert len(kit.audit_entries(sessions, "own_record.export")) == 2


def test_without_a_name_and_birth_date_only_the_receipt_record_is_exported(
    client, record, sessions, signed_in, kit
):
    on_receipt = record(person={"name": "Sam Example"})
    record(person={"name": "Sam Example"})
    assert kit.submit(client, on_receipt["receipt"]["code"], kind="own_record").status_code == 303
    [request] = kit.stored(sessions)
    admin = signed_in("admin")
    base = f"/staff/complaints/{request.id}"
    assert (
        post(admin, kit, f"{base}/identity", identity_note="Called back on the number given").status_code
        == 303
    )
    body = json.loads(post(admin, kit, f"{base}/export").content)
    assert [r["engagement_id"] for r in body["records"]] == [on_receipt["id"]]


def test_a_complaint_is_not_an_own_record_request(client, receipt, sessions, signed_in, kit):
    assert kit.submit(client, receipt, kind="complaint").status_code == 303
    [complaint] = kit.stored(sessions)
    admin = signed_in("admin")
    base = f"/staff/complaints/{complaint.id}"
    assert post(admin, kit, f"{base}/identity", identity_note="seen").status_code == 409
    assert post(admin, kit, f"{base}/export").status_code == 409
    assert kit.audit_entries(sessions, "own_record.export") == []
