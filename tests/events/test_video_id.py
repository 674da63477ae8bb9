"""The body-worn camera video id: optional on the API and the form, kept on the record."""

from __future__ import annotations

import re

from sqlalchemy import select

from builders import valid_body
from fairengage.engagements.models import Engagement


def test_the_api_keeps_a_video_id_and_refuses_a_bad_one(client, world, sessions):
    headers = world.officer_with_token("T1", "D14")
    kept = client.post("/api/v1/engagements", json=valid_body(bwc_video_id="X1-2025-0042"), headers=headers)
    assert kept.status_code == 201
    none = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    assert none.status_code == 201
    for bad in ("", "a" * 81, "tab\there", 42):
        refused = client.post("/api/v1/engagements", json=valid_body(bwc_video_id=bad), headers=headers)
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"] == "bwc_video_id" for e in refused.json()["errors"]), refused.json()
    with sessions() as s:
        got = {e.id: e.bwc_video_id for e in s.scalars(select(Engagement))}
    assert got == {kept.json()["id"]: "X1-2025-0042", none.json()["id"]: None}
    read = client.get(f"/api/v1/engagements/{kept.json()['id']}", headers=headers)
    assert read.status_code == 200 and read.json()["bwc_video_id"] == "X1-2025-0042"


def test_the_form_keeps_a_video_id(client, world, sessions):
    world.officer("T800", "D52")
    world.user("oT800", "officer", badge="T800", password="a-long-password")
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "oT800", "password": "a-long-password", "csrftoken": token})
    page = client.get("/engagements/new")
    assert 'id="bwc_video_id"' in page.text
    csrf = re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)
    form = {
        "csrftoken": csrf, "form_key": "k-1", "scope": "none", "purpose": "suspicious_activities",
        "occurred_at": "2025-05-05T21:10", "division": "D52", "place": "Yonge St & Dundas St",
        "reason_grounds": ["behaviour"],
        "reason": "He was looking into parked cars with a flashlight and trying the door handles one by one.",
        "informed": "yes", "informed_why": "yes", "receipt_offered": "yes", "perceived_race": "South Asian",
        "perceived_gender": "man", "perceived_age": "24", "identifying_info_collected": "no",
        "searched": "no", "outcome": "none", "bwc_video_id": "CAM7-000913",
    }  # fmt: skip
    answer = client.post("/engagements/new", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
    with sessions() as s:
        assert s.scalars(select(Engagement.bwc_video_id)).one() == "CAM7-000913"
