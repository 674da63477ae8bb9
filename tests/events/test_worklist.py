"""The supervisor's worklist: the division's unmatched events, three actions, each audited."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from sqlalchemy import select

from access.estate import principal_of
from events.reconciled import estate
from fairengage.access.models import AuditEntry
from fairengage.events import service
from fairengage.events.models import ExternalEvent

PASSWORD = "correct horse battery staple"


def csrf_of(html: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)


def sign_in(client, username: str) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrftoken": token})


def event_row(sessions, event_id: str) -> ExternalEvent:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return s.scalars(select(ExternalEvent).where(ExternalEvent.event_id == event_id)).one()


def supervisor(world) -> None:  # type: ignore[no-untyped-def]
    world.officer("S1", "D14")
    world.user("sarge", "supervisor", badge="S1")


def test_the_worklist_shows_the_divisions_unmatched_events_only(client, world, sessions, tmp_path):
    estate(client, world, sessions, tmp_path)
    supervisor(world)
    sign_in(client, "sarge")
    page = client.get("/events")
    assert page.status_code == 200
    assert "CAD-3" in page.text and "1 event awaiting action" in page.text
    assert "CAD-4" not in page.text  # another division's
    assert "CAD-1" not in page.text  # matched


def test_actions_are_stored_audited_and_need_a_reason(client, world, sessions, tmp_path):
    estate(client, world, sessions, tmp_path)
    supervisor(world)
    sign_in(client, "sarge")
    page = client.get("/events")
    token = csrf_of(page.text)
    cad3 = event_row(sessions, "CAD-3").id
    refused = client.post(
        f"/events/{cad3}/resolve", data={"action": "not_engagement", "reason": "", "csrftoken": token}
    )
    assert refused.status_code == 422 and "give a reason" in refused.text
    assert event_row(sessions, "CAD-3").status == "open"
    done = client.post(
        f"/events/{cad3}/resolve",
        data={"action": "escalate", "reason": "Third unrecorded stop this month.", "csrftoken": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    row = event_row(sessions, "CAD-3")
    assert (row.status, row.resolution_reason) == ("escalated", "Third unrecorded stop this month.")
    assert "Escalated" in client.get("/events").text  # an escalated event stays on the list, marked
    client.post(
        f"/events/{cad3}/resolve",
        data={
            "action": "not_engagement",
            "reason": "A traffic call, no one was stopped.",
            "csrftoken": token,
        },
    )
    assert event_row(sessions, "CAD-3").status == "not_engagement"
    assert "CAD-3" not in client.get("/events").text
    with sessions() as s:
        actions = s.scalars(
            select(AuditEntry.action).where(
                AuditEntry.entity == "external_events", AuditEntry.entity_id == str(cad3)
            )
        ).all()
    assert actions == ["events.escalate", "events.not_engagement"]
    # Nothing is left to do on a dismissed event.
    again = client.post(f"/events/{cad3}/resolve", data={"action": "record", "csrftoken": token})
    assert again.status_code == 409


def test_another_divisions_event_cannot_be_acted_on(client, world, sessions, tmp_path):
    estate(client, world, sessions, tmp_path)
    supervisor(world)
    sign_in(client, "sarge")
    token = csrf_of(client.get("/events").text)
    cad4 = event_row(sessions, "CAD-4").id
    answer = client.post(f"/events/{cad4}/resolve", data={"action": "record", "csrftoken": token})
    assert answer.status_code == 404
    assert event_row(sessions, "CAD-4").status == "open"


def test_record_now_puts_the_event_before_its_officer_with_the_form_filled_in(
    client, world, sessions, tmp_path
):
    built = estate(client, world, sessions, tmp_path)
    supervisor(world)
    sign_in(client, "sarge")
    token = csrf_of(client.get("/events").text)
    cad3 = event_row(sessions, "CAD-3").id
    client.post(f"/events/{cad3}/resolve", data={"action": "record", "csrftoken": token})
    assert event_row(sessions, "CAD-3").status == "record_requested"
    client.cookies.clear()
    world.user("o1", "officer", badge="T1")
    sign_in(client, "o1")
    mine = client.get("/events/mine")
    assert mine.status_code == 200
    link = re.search(r'href="(/engagements/new\?[^"]+)"', mine.text).group(1).replace("&amp;", "&")
    query = parse_qs(urlparse(link).query)
    assert query["division"] == ["D14"]
    assert float(query["lon"][0]) == event_row(sessions, "CAD-3").lon
    form = client.get(link)
    assert form.status_code == 200
    local = built["missed"].astimezone(ZoneInfo("America/Toronto"))
    assert f'value="{local.strftime("%Y-%m-%dT%H:%M")}"' in form.text
    assert f'name="lon" value="{query["lon"][0]}"' in form.text


def test_unmatched_count_for_a_desk(client, world, sessions, tmp_path):
    estate(client, world, sessions, tmp_path)
    supervisor(world)
    world.user("aud", "auditor")
    world.user("ana", "analyst")
    who = {name: principal_of(sessions, name) for name in ("sarge", "aud", "ana")}
    with sessions() as s:
        assert service.unmatched_count_for(s, who["sarge"]) == 1
        assert service.unmatched_count_for(s, who["aud"]) == 2
        assert service.unmatched_count_for(s, who["ana"]) is None


def test_the_reviewer_sees_the_camera_video_id(client, world, sessions, tmp_path):
    built = estate(client, world, sessions, tmp_path)
    supervisor(world)
    sign_in(client, "sarge")
    page = client.get(f"/review/{built['ids'][0]}")
    assert "Body-worn camera video" in page.text and "AXON-0001" in page.text
