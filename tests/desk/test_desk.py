"""Each role lands on its desk; the queue puts flagged records first and filters; the sample is drawn in
the browser; the officers page is searchable and paginated."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from access.estate import csrf_of, sign_in
from builders import valid_body
from fairengage.review.models import ReviewSample

PASSWORD = "a-long-enough-password"
# A reason the rule sets flag (walking away from the police is not a ground): the record is kept, flagged.
FLAGGED = "Trying car door handles along the lane, then walked away when I approached."


@pytest.fixture
def staff(world):  # type: ignore[no-untyped-def]
    recent = date.today() - timedelta(days=30)
    world.officer("T1", "D14", trained_on=recent)
    world.officer("S1", "D14", trained_on=recent, name="Sergeant Okafor")
    world.user("officer", "officer", badge="T1", password=PASSWORD)
    world.user("sup", "supervisor", badge="S1", password=PASSWORD)
    for role in ("analyst", "auditor", "admin"):
        world.user(role, role, password=PASSWORD)


def browser(app, who: str) -> TestClient:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    signed = sign_in(client, who)
    assert signed.status_code == 303
    return client


@pytest.mark.parametrize(
    ("who", "lands", "shows"),
    [
        ("officer", "/engagements/new", None),
        ("sup", "/desk", "open intervention cases"),
        ("analyst", "/desk", "Recent report runs"),
        ("auditor", "/desk", "Verify the audit log"),
        ("admin", "/desk", "active users"),
    ],
)
def test_each_role_lands_on_its_own_work(app, staff, who, lands, shows):
    client = TestClient(app)
    assert sign_in(client, who).headers["location"] == lands
    if shows:
        page = client.get("/desk")
        assert page.status_code == 200 and shows in page.text
    else:
        assert client.get("/desk", follow_redirects=False).headers["location"] == "/engagements/new"


def test_the_admin_desk_counts_users_and_officers(app, staff):
    desk = browser(app, "admin").get("/desk").text
    assert "5 active users" in desk and "2 officers" in desk


def test_the_queue_puts_flagged_records_first_and_filters_by_finding_and_rule(app, client, world, staff):
    headers = {"Authorization": f"Bearer {world.token('officer')}"}
    made = {}
    for name, reason in (("clean1", None), ("flagged", FLAGGED), ("clean2", None)):
        body = valid_body() if reason is None else valid_body(reason=reason)
        r = client.post("/api/v1/engagements", json=body, headers=headers)
        assert r.status_code == 201, r.text
        made[name] = r.json()
    failed = sorted({f["rule"] for f in made["flagged"]["findings"] if f["verdict"] == "fail"})
    assert failed, "the flagged reason no longer fails a rule"
    sup = browser(app, "sup")
    queue = sup.get("/review").text
    positions = {name: queue.index(f"/review/{m['id']}") for name, m in made.items()}
    assert positions["flagged"] < positions["clean1"] and positions["flagged"] < positions["clean2"]
    only_flagged = sup.get("/review?finding=flagged").text
    assert made["flagged"]["id"] in only_flagged and made["clean1"]["id"] not in only_flagged
    met = sup.get("/review?finding=met").text
    assert made["flagged"]["id"] not in met and made["clean2"]["id"] in met
    by_rule = sup.get(f"/review?rule={failed[0]}").text
    assert made["flagged"]["id"] in by_rule and made["clean1"]["id"] not in by_rule
    assert f'<option value="{failed[0]}" selected>' in by_rule
    assert made["flagged"]["id"] not in sup.get("/review?rule=NO-SUCH-RULE").text
    desk = sup.get("/desk").text
    assert "3 records awaiting review" in desk and "1 flagged records" in desk


def test_an_auditor_draws_the_sample_in_the_browser_as_the_command_would(app, client, world, staff, sessions):
    headers = {"Authorization": f"Bearer {world.token('officer')}"}
    for _ in range(3):
        assert client.post("/api/v1/engagements", json=valid_body(), headers=headers).status_code == 201
    auditor = browser(app, "auditor")
    page = auditor.get("/review/samples")
    assert 'id="draw-sample"' in page.text
    year = str(date.today().year)
    refused = auditor.post(
        "/review/samples", data={"csrftoken": csrf_of(page.text), "year": "9999", "size": "0", "seed": "x"}
    )
    assert refused.status_code == 422
    assert all(f'href="#{field}"' in refused.text for field in ("year", "size", "seed"))
    with sessions() as s:
        assert s.scalars(select(ReviewSample)).first() is None
    drawn = auditor.post(
        "/review/samples",
        data={"csrftoken": csrf_of(page.text), "year": year, "size": "2", "seed": "42"},
        follow_redirects=False,
    )
    assert drawn.status_code == 303
    with sessions() as s:
        (sample,) = s.scalars(select(ReviewSample)).all()
        assert (sample.year, sample.size, sample.seed, sample.drawn_by) == (int(year), 2, 42, "auditor")
    # A supervisor records findings but does not draw.
    sup = browser(app, "sup")
    assert 'id="draw-sample"' not in sup.get("/review/samples").text
    refused = sup.post("/review/samples", data={"csrftoken": csrf_of(page.text), "year": year})
    assert refused.status_code == 403


def test_the_officers_page_is_searchable_and_paginated(app, world, staff):
    for i in range(60):
        world.officer(f"P{i:03d}", "D14" if i % 2 else "D51", trained_on=None, name=f"Constable Number {i}")
    world.officer("C900", "D14", trained_on=None, name="Élise Côté")
    admin = browser(app, "admin")
    first = admin.get("/admin/officers").text
    assert "63 officers." in first and "Page 1 of 3." in first
    assert first.count('<li class="record') == 25
    assert first.index('id="add"') < first.index('id="roster"')  # the form to add one comes first
    third = admin.get("/admin/officers?page=3").text
    assert "Page 3 of 3." in third and 'page=2">' in third
    found = admin.get("/admin/officers?q=cote").text
    assert "1 of 63 officers match." in found and "Élise Côté" in found and "P001" not in found
    assert "No officer matches this search." in admin.get("/admin/officers?q=nobody").text
    # Past the last page, the last page.
    assert "Page 3 of 3." in admin.get("/admin/officers?page=99").text
