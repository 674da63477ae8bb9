"""Training said up front: the form gives way to a notice, the API names the rule first, supervisors see
who is about to lapse."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from builders import valid_body
from fairengage import cli
from fairengage.config import get_settings
from fairengage.engagements.models import Engagement
from fairengage.officers import training
from fairengage.policy.checks import training_valid_until

CONTACT = "Sgt. Rivera, Training Unit, 416-555-0199"


def today(settings) -> date:
    return datetime.now(settings.tz).date()


def sign_in(client, world, username: str, role: str, badge: str) -> None:
    world.user(username, role, badge=badge, password="a-long-password")
    token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": username, "password": "a-long-password", "csrftoken": token})


def stored(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Engagement))


def test_standing_counts_only_training_on_or_before_the_day():
    day = date(2026, 6, 1)
    assert training.standing([], day, 36).missing
    later_only = training.standing([date(2026, 6, 2)], day, 36)
    assert later_only.missing and not later_only.in_date
    last_day = training.standing([date(2023, 6, 1)], day, 36)
    assert last_day.in_date and last_day.valid_until == day and last_day.lapsed_since is None
    lapsed = training.standing([date(2023, 5, 31), date(2020, 1, 1)], day, 36)
    assert not lapsed.in_date
    assert lapsed.last_completed == date(2023, 5, 31) and lapsed.lapsed_since == date(2026, 6, 1)


def test_officer_never_trained_sees_the_notice_not_the_form(client, world, settings):
    settings.training_contact = CONTACT
    world.officer("N1", "D14", trained_on=None, name="Nova Never")
    sign_in(client, world, "onever", "officer", "N1")
    r = client.get("/engagements/new")
    assert r.status_code == 403
    assert "Training needed before you record" in r.text
    assert "No completion of the community-engagement training is on file" in r.text
    assert CONTACT.replace("'", "&#39;") in r.text
    assert 'name="form_key"' not in r.text and "Is this a community engagement?" not in r.text


def test_lapsed_training_shows_the_dates_and_who_to_call_in_french_too(client, world, settings):
    settings.training_contact = CONTACT
    months = training.training_months(today(settings))
    trained = today(settings) - timedelta(days=40 * 31)  # more than 36 months ago
    until = training_valid_until(trained, months)
    world.officer("L1", "D14", trained_on=trained, name="Lee Lapsed")
    sign_in(client, world, "olapsed", "officer", "L1")
    r = client.get("/engagements/new")
    assert r.status_code == 403
    assert f"lapsed on {until + timedelta(days=1)}" in r.text
    assert f"last completed it on {trained}" in r.text
    assert "TRAINING-36M" in r.text and CONTACT in r.text
    client.cookies.set("lang", "fr")
    fr = client.get("/engagements/new")
    assert "Formation requise avant d&#39;enregistrer" in fr.text
    assert f"échue depuis le {until + timedelta(days=1)}" in fr.text


def test_officer_in_date_gets_the_form(client, world, settings):
    world.officer("G1", "D14", trained_on=today(settings) - timedelta(days=30), name="Gina Good")
    sign_in(client, world, "ogood", "officer", "G1")
    r = client.get("/engagements/new")
    assert r.status_code == 200 and 'name="form_key"' in r.text
    assert "Training needed" not in r.text


def test_api_names_only_the_training_rule_with_dates_and_contact(client, world, settings, sessions):
    settings.training_contact = CONTACT
    trained = today(settings) - timedelta(days=40 * 31)
    headers = world.officer_with_token("L2", "D14", trained_on=trained)
    # Other problems too: the training answer comes first and alone, so the officer is not sent to fix
    # a form they may not submit at all.
    body = valid_body(purpose="not_a_purpose", informed=False)
    r = client.post("/api/v1/engagements", json=body, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("officer", "TRAINING-36M")]
    message = problem["errors"][0]["message"]
    assert f"completed on {trained}" in message and CONTACT in message
    assert stored(sessions) == 0


def test_api_refuses_an_officer_never_trained(client, world, sessions):
    headers = world.officer_with_token("N2", "D14", trained_on=None)
    r = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    assert r.status_code == 422
    assert [e["rule"] for e in r.json()["errors"]] == ["TRAINING-36M"]
    assert "no completion" in r.json()["errors"][0]["message"]
    assert stored(sessions) == 0


def test_back_dated_record_is_judged_on_its_own_day(client, world, settings, sessions):
    """Training renewed today does not cover an engagement from before the first completion."""
    headers = world.officer_with_token("B1", "D14", trained_on=today(settings) - timedelta(days=2))
    old = (datetime.now(settings.tz) - timedelta(days=10)).isoformat()
    r = client.post("/api/v1/engagements", json=valid_body(occurred_at=old), headers=headers)
    assert r.status_code == 422 and [e["rule"] for e in r.json()["errors"]] == ["TRAINING-36M"]
    ok = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    assert ok.status_code == 201, ok.text


def _team(world, settings):
    months = training.training_months(today(settings))

    # Trained so that the training lapses in 10 days, in 59 days, in 90 days; one lapsed; one never.
    def trained_for(days_left: int) -> date:
        day = today(settings) + timedelta(days=days_left)
        # walk back `months` months from the last valid day, then check the arithmetic holds
        for back in range(months * 31 + 5, months * 28 - 5, -1):
            candidate = day - timedelta(days=back)
            if training_valid_until(candidate, months) == day:
                return candidate
        raise AssertionError("no training date gives that expiry")

    world.officer("S9", "D14", trained_on=today(settings) - timedelta(days=10), name="Sgt Nine")
    world.officer("E10", "D14", trained_on=trained_for(10), name="Ed Ten")
    world.officer("E59", "D14", trained_on=trained_for(59), name="Eve Fiftynine")
    world.officer("E90", "D14", trained_on=trained_for(90), name="Ned Ninety")
    world.officer("EX", "D14", trained_on=trained_for(-5), name="Al Lapsed")
    world.officer("E0", "D14", trained_on=None, name="Una Untrained")
    world.officer("O10", "D52", trained_on=trained_for(10), name="Other Division")
    return trained_for


def test_supervisor_desk_lists_training_expiring_within_60_days(client, world, settings):
    trained_for = _team(world, settings)
    sign_in(client, world, "sup9", "supervisor", "S9")
    page = client.get("/review").text
    section = page[page.index('id="expiring-training"') :]
    for name in ("Ed Ten", "Eve Fiftynine", "Al Lapsed", "Una Untrained"):
        assert name in section, name
    for name in ("Ned Ninety", "Other Division", "Sgt Nine"):
        assert name not in section, name
    assert section.index("Al Lapsed") < section.index("Ed Ten") < section.index("Eve Fiftynine")
    assert str(training_valid_until(trained_for(10), 36)) in section
    row = section[section.index("Al Lapsed") : section.index("Ed Ten")]
    assert "lapsed" in row


def test_officers_do_not_see_the_expiry_list(client, world, settings):
    _team(world, settings)
    sign_in(client, world, "o9", "officer", "S9")
    assert "expiring-training" not in client.get("/review").text


def test_cli_lists_expiring_training(world, settings, monkeypatch):
    _team(world, settings)
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", settings.secret_key.get_secret_value())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["officers", "expiring", "--division", "D14"])
        wide = CliRunner().invoke(cli.app, ["officers", "expiring", "--days", "100"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split("\t")[0] for line in lines[:-1]] == ["EX", "E10", "E59", "E0"]
    assert lines[0].endswith("\tlapsed") and "never trained" in lines[3]
    assert lines[-1] == "4 officers with training lapsing within 60 days"
    assert {"E90", "O10"} <= {line.split("\t")[0] for line in wide.output.splitlines()}


def test_a_returned_record_is_not_opened_for_correction_once_training_has_lapsed(
    client, world, settings, sessions
):
    from sqlalchemy import update

    from fairengage.engagements.models import Engagement as Record
    from fairengage.officers.models import Officer, TrainingRecord

    headers = world.officer_with_token("C1", "D14", trained_on=today(settings) - timedelta(days=3))
    record = client.post("/api/v1/engagements", json=valid_body(), headers=headers).json()["id"]
    with sessions.begin() as s:
        s.execute(update(Record).where(Record.id == record).values(status="returned"))
    sign_in(client, world, "oc1", "officer", "C1")
    assert 'name="form_key"' in client.get(f"/engagements/{record}/correct").text
    with sessions.begin() as s:
        officer = s.scalars(select(Officer).where(Officer.badge == "C1")).one()
        s.execute(
            update(TrainingRecord)
            .where(TrainingRecord.officer_id == officer.id)
            .values(completed_on=today(settings) - timedelta(days=40 * 31))
        )
    r = client.get(f"/engagements/{record}/correct")
    assert r.status_code == 403 and "Training needed before you record" in r.text
    assert 'name="form_key"' not in r.text


def test_a_record_from_a_day_the_training_covered_can_still_be_corrected(client, world, settings, sessions):
    """The notice judges a correction on the record's own day, as TRAINING-36M will."""
    from sqlalchemy import update

    from fairengage.engagements.models import Engagement as Record
    from fairengage.officers.models import Officer, TrainingRecord

    headers = world.officer_with_token("C2", "D14", trained_on=today(settings) - timedelta(days=3))
    when = (datetime.now(settings.tz) - timedelta(days=10)).replace(hour=12)
    body = valid_body(occurred_at=when.isoformat())
    with sessions.begin() as s:
        officer = s.scalars(select(Officer).where(Officer.badge == "C2")).one()
        # Trained so that the training covered the record's day and lapsed four days ago.
        months = training.training_months(today(settings))
        trained = next(
            today(settings) - timedelta(days=back)
            for back in range(months * 28, months * 32)
            if training_valid_until(today(settings) - timedelta(days=back), months)
            == today(settings) - timedelta(days=5)
        )
        s.execute(
            update(TrainingRecord).where(TrainingRecord.officer_id == officer.id).values(completed_on=trained)
        )
    record = client.post("/api/v1/engagements", json=body, headers=headers)
    assert record.status_code == 201, record.text
    with sessions.begin() as s:
        s.execute(update(Record).where(Record.id == record.json()["id"]).values(status="returned"))
    sign_in(client, world, "oc2", "officer", "C2")
    assert client.get("/engagements/new").status_code == 403  # a new record today: not covered
    page = client.get(f"/engagements/{record.json()['id']}/correct")
    assert page.status_code == 200 and 'name="form_key"' in page.text
