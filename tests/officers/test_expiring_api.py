"""GET /api/v1/officers/expiring: the supervisor's panel and `fairengage officers expiring`, as JSON."""

from __future__ import annotations

import pytest

from fairengage.policy.checks import training_valid_until
from officers.test_training_up_front import _team, sign_in


def _badges(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [o["badge"] for o in answer.json()["items"]]


def test_a_supervisor_gets_their_divisions_list_in_the_panels_order(client, world, settings):
    trained_for = _team(world, settings)
    headers = world.user_with_token("sup9", "supervisor", badge="S9")
    answer = client.get("/api/v1/officers/expiring?days=60", headers=headers)
    assert _badges(answer) == ["EX", "E10", "E59", "E0"]
    body = answer.json()
    assert body["days"] == 60
    first, untrained = body["items"][0], body["items"][-1]
    assert first["lapsed"] is True and first["name"] == "Al Lapsed" and first["division"] == "D14"
    assert untrained["valid_until"] is None and untrained["lapsed"] is True
    assert body["items"][1]["valid_until"] == str(training_valid_until(trained_for(10), 36))
    # The default window is the panel's 60 days; a wider one reaches further.
    assert _badges(client.get("/api/v1/officers/expiring", headers=headers)) == _badges(answer)
    assert "E90" in _badges(client.get("/api/v1/officers/expiring?days=100", headers=headers))


def test_the_api_and_the_review_panel_list_the_same_officers(client, world, settings):
    _team(world, settings)
    world.user("sup9", "supervisor", badge="S9")
    listed = _badges(
        client.get("/api/v1/officers/expiring", headers={"Authorization": f"Bearer {world.token('sup9')}"})
    )
    sign_in(client, world, "sup9b", "supervisor", "S9")
    section = client.get("/review").text.split('id="expiring-training"', 1)[1]
    names = {"EX": "Al Lapsed", "E10": "Ed Ten", "E59": "Eve Fiftynine", "E0": "Una Untrained"}
    positions = [section.index(names[badge]) for badge in listed]
    assert positions == sorted(positions)


def test_an_administrator_sees_every_division(client, world, settings):
    _team(world, settings)
    world.user("root", "admin")
    badges = _badges(
        client.get("/api/v1/officers/expiring", headers={"Authorization": f"Bearer {world.token('root')}"})
    )
    assert "O10" in badges and "EX" in badges and "E90" not in badges


def test_an_officer_is_refused(client, world, settings):
    _team(world, settings)
    world.user("o9", "officer", badge="S9")
    answer = client.get("/api/v1/officers/expiring", headers={"Authorization": f"Bearer {world.token('o9')}"})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("days", ["-1", "3651", "sixty", "1e3", "99999999999999999999"])
def test_a_bad_days_is_a_problem_naming_the_field(client, world, settings, days):
    world.user("sup9", "supervisor", division="D14")
    answer = client.get(
        f"/api/v1/officers/expiring?days={days}", headers={"Authorization": f"Bearer {world.token('sup9')}"}
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    errors = answer.json()["errors"]
    assert [e["field"] for e in errors] == ["days"] and errors[0]["rule"]
