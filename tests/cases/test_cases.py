"""Flags become intervention cases: opened from report.json, re-tested by the next run, read and acted on."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from access.estate import csrf_of, principal_of, sign_in
from builders import valid_body
from cases.reports import report
from conftest import SECRET
from fairengage import cli
from fairengage.access.models import AuditEntry, AuditPending
from fairengage.cases import service
from fairengage.cases.models import InterventionCase
from fairengage.config import get_settings
from fairengage.errors import Forbidden, NotFound, RecordRefused

PASSWORD = "a-long-enough-password"
FIRST, LAST = "2024-01-01T00:00:00+00:00", "2030-12-31T00:00:00+00:00"


@pytest.fixture
def people(world):  # type: ignore[no-untyped-def]
    for badge, division in (("T1", "D14"), ("T2", "D14"), ("T3", "D51"), ("S1", "D14"), ("S5", "D51")):
        world.officer(badge, division, name=f"Constable {badge}")
    world.user("sup14", "supervisor", badge="S1", password=PASSWORD)
    world.user("sup51", "supervisor", badge="S5", password=PASSWORD)
    world.user("aud", "auditor", password=PASSWORD)
    world.user("ana", "analyst", password=PASSWORD)


def run(sessions, settings, rows, **kw):  # type: ignore[no-untyped-def]
    with sessions.begin() as s:
        made = report(rows, secret=settings.secret, first=FIRST, last=LAST)
        return service.open_from_report(session=s, report=made, secret=settings.secret, actor="cli", **kw)


def actions(sessions, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return [
            e.entity_id
            for model in (AuditEntry, AuditPending)
            for e in s.scalars(select(model).where(model.action == name))
        ]


def test_a_flag_opens_one_case_and_the_next_run_retests_it(people, sessions, settings):
    first = run(sessions, settings, [("T1", True), ("T2", False), ("NOBODY", True)])
    assert (first.opened, first.retested, first.resolved, first.unknown_keys) == (1, 0, 0, 1)
    with sessions() as s:
        (case,) = s.scalars(select(InterventionCase)).all()
        assert case.officer_id and case.division_code == "D14" and case.measure == "officers:Black"
        assert service.persists(case) is None  # nothing to compare with yet
    again = run(sessions, settings, [("T1", True)])
    assert (again.opened, again.retested) == (0, 1)
    with sessions() as s:
        (case,) = s.scalars(select(InterventionCase)).all()
        assert [t.flagged for t in case.tests] == [True, True] and service.persists(case) is True
    settled = run(sessions, settings, [("T1", False)])
    assert (settled.retested, settled.resolved) == (1, 1)
    with sessions() as s:
        (case,) = s.scalars(select(InterventionCase)).all()
        assert case.status == "resolved" and service.persists(case) is False
    # A fresh flag after the case was resolved opens a new case.
    assert run(sessions, settings, [("T1", True)]).opened == 1


def test_a_report_without_the_officer_benchmark_is_refused(people, sessions, settings):
    with sessions.begin() as s, pytest.raises(service.ReportUnusable, match="officer benchmark"):
        service.open_from_report(
            session=s, report={"officers": None, "meta": {}}, secret=settings.secret, actor="t"
        )


def test_only_the_officers_supervisor_and_auditors_read_a_case_and_each_read_is_logged(
    people, sessions, settings
):
    run(sessions, settings, [("T1", True), ("T3", True)])
    with sessions() as s:
        ids = {c.division_code: c.id for c in s.scalars(select(InterventionCase))}
    sup, ana, aud = (principal_of(sessions, who) for who in ("sup14", "ana", "aud"))
    with sessions.begin() as s:
        _, officer = service.get(session=s, principal=sup, case_id=ids["D14"])
        assert officer.badge == "T1"
        with pytest.raises(NotFound):
            service.get(session=s, principal=sup, case_id=ids["D51"])
        with pytest.raises(Forbidden):
            service.get(session=s, principal=ana, case_id=ids["D14"])
        seen = service.cases(session=s, principal=aud)
        assert {row.case.id for row in seen} == set(ids.values())
    assert str(ids["D14"]) in actions(sessions, "case.read")
    assert actions(sessions, "case.list")


def test_an_action_needs_a_view_a_reason_and_what_was_done(people, sessions, settings):
    run(sessions, settings, [("T1", True)])
    sup = principal_of(sessions, "sup14")
    with sessions() as s:
        case_id = s.scalars(select(InterventionCase.id)).one()
    today = date.today()
    with sessions.begin() as s, pytest.raises(RecordRefused) as refused:
        service.act(session=s, principal=sup, case_id=case_id, agrees="", reason=" ", action="coffee",
                    follow_up_on=today - timedelta(days=1), today=today)  # fmt: skip
    assert {e.field for e in refused.value.errors} == {"agrees", "reason", "action", "follow_up_on"}
    aud = principal_of(sessions, "aud")
    with sessions.begin() as s, pytest.raises(Forbidden):
        service.act(session=s, principal=aud, case_id=case_id, agrees="agree",
                    reason="x", action="training", follow_up_on=None, today=today)  # fmt: skip
    with sessions.begin() as s:
        service.act(session=s, principal=sup, case_id=case_id, agrees="disagree",
                    reason="Assigned to the Black-community liaison unit all quarter.", action="no_action",
                    follow_up_on=today + timedelta(days=90), today=today)  # fmt: skip
    with sessions() as s:
        case = s.get(InterventionCase, case_id)
        (done,) = case.actions
        assert (done.agrees, done.action, done.actor) == (False, "no_action", "sup14")
        assert case.follow_up_on == today + timedelta(days=90)


def test_the_case_page_shows_the_comparison_the_records_and_refuses_an_incomplete_action(
    people, sessions, settings, client, world
):
    world.user("t1", "officer", badge="T1")
    headers = {"Authorization": f"Bearer {world.token('t1')}"}
    made = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
    assert made.status_code == 201, made.text
    run(sessions, settings, [("T1", True)])
    with sessions() as s:
        case_id = s.scalars(select(InterventionCase.id)).one()
    assert sign_in(client, "sup14").headers["location"] == "/desk"
    desk = client.get("/desk").text
    assert "1 open intervention cases" in desk
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert "Constable T1" in page.text and made.json()["id"] in page.text and "20.5" in page.text
    refused = client.post(
        f"/cases/{case_id}/actions",
        data={"csrftoken": csrf_of(page.text), "agrees": "agree", "reason": "", "action": "training"},
    )
    assert refused.status_code == 422 and 'href="#reason"' in refused.text
    done = client.post(
        f"/cases/{case_id}/actions",
        data={
            "csrftoken": csrf_of(page.text),
            "agrees": "agree",
            "reason": "Talked it through.",
            "action": "conversation",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Talked it through." in client.get(f"/cases/{case_id}").text
    # A supervisor of another division is told there is no such case.
    other = client.__class__(client.app)
    sign_in(other, "sup51")
    assert other.get(f"/cases/{case_id}").status_code == 404


def test_the_board_counts_cases_actions_and_outcomes_without_names(people, sessions, settings):
    run(sessions, settings, [("T1", True), ("T2", True)])
    sup = principal_of(sessions, "sup14")
    with sessions() as s:
        ids = sorted(s.scalars(select(InterventionCase.id)))
    with sessions.begin() as s:
        service.act(session=s, principal=sup, case_id=ids[0], agrees="agree", reason="r", action="training",
                    follow_up_on=None, today=date.today())  # fmt: skip
    run(sessions, settings, [("T1", False), ("T2", True)])
    with sessions() as s:
        counts = service.board_counts(
            session=s, start=datetime.now(UTC) - timedelta(days=1), end=datetime.now(UTC) + timedelta(days=1)
        )
    assert counts["opened"] == 2 and counts["actions"]["training"] == 1 and counts["agreed"] == 1
    assert counts["outcomes"] == {"awaiting_retest": 0, "persists": 1, "no_longer": 1}
    text = json.dumps(counts)
    assert "T1" not in text and "Constable" not in text and "D14" not in text


@pytest.fixture
def runner(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_command_opens_cases_and_prints_counts_only(people, runner, settings, sessions, tmp_path):
    path = tmp_path / "report.json"
    path.write_text(
        json.dumps(report([("T1", True), ("T2", False)], secret=settings.secret, first=FIRST, last=LAST))
    )
    result = runner.invoke(cli.app, ["cases", "open", "--from-report", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 cases opened" in result.output and "T1" not in result.output
    with sessions() as s:
        assert len(s.scalars(select(InterventionCase)).all()) == 1
    path.write_text("{not json")
    broken = runner.invoke(cli.app, ["cases", "open", "--from-report", str(path)])
    assert (
        broken.exit_code == 1 and str(path) in broken.output and len(broken.output.strip().splitlines()) == 1
    )


def test_the_governance_summary_carries_the_case_counts(people, sessions, settings, tmp_path):
    from fairengage.governance.summary import write_governance_summary

    run(sessions, settings, [("T1", True)])
    summary = write_governance_summary(
        sessions=sessions,
        period_start=datetime(2025, 1, 1, tzinfo=UTC),
        period_end=datetime(2026, 1, 1, tzinfo=UTC),
        tz="America/Toronto",
        out=tmp_path / "governance.json",
    )
    assert summary["intervention_cases"]["opened"] == 1
    assert summary["intervention_cases"]["outcomes"]["awaiting_retest"] == 1
    # A period the raising run did not cover counts none of its cases.
    earlier = write_governance_summary(
        sessions=sessions,
        period_start=datetime(2020, 1, 1, tzinfo=UTC),
        period_end=datetime(2021, 1, 1, tzinfo=UTC),
        tz="America/Toronto",
        out=tmp_path / "earlier.json",
    )
    assert earlier["intervention_cases"]["opened"] == 0


def test_the_board_report_counts_cases_and_the_public_one_does_not():
    from fairengage.reports.builder import Pages

    counts = {
        "opened": 3,
        "agreed": 2,
        "disagreed": 1,
        "actions": {"conversation": 2, "training": 0, "records_review": 1, "no_action": 0},
        "outcomes": {"awaiting_retest": 1, "persists": 1, "no_longer": 1},
    }
    report = {"officers": [], "meta": {}, "annual": {}, "governance": {"intervention_cases": counts}}

    def tables(board: bool) -> list[list[list[str]]]:
        section = Pages(report, board=board, boundaries=None, map_group="Black", lang="en").officers()
        return [[[cell.text for cell in row] for row in b.rows] for b in section.blocks if b.kind == "table"]

    (board,) = tables(board=True)
    assert ["Intervention cases opened", "3"] in board and ["Action: audit of records", "1"] in board
    assert ["Re-test: no longer flagged", "1"] in board
    assert tables(board=False) == []


def test_no_page_ranks_officers_by_count(people, sessions, settings, client):
    """No quotas: cases are listed newest first, whatever the officers' counts, and the list shows none."""
    with sessions.begin() as s:
        busy = report([("T1", True)], secret=settings.secret, first=FIRST, last=LAST)
        busy["officers"][0].update(n=987, observed=654)
        service.open_from_report(
            session=s, report=busy, secret=settings.secret, actor="cli", now=datetime(2026, 1, 1, tzinfo=UTC)
        )
        quiet = report([("T2", True)], secret=settings.secret, first=FIRST, last=LAST)
        quiet["officers"][0].update(n=51, observed=12)
        service.open_from_report(
            session=s, report=quiet, secret=settings.secret, actor="cli", now=datetime(2026, 2, 1, tzinfo=UTC)
        )
    sign_in(client, "sup14", PASSWORD)
    page = client.get("/cases").text
    listing = page[page.index("<table") : page.index("</table>")]
    assert listing.index("Constable T2") < listing.index("Constable T1")  # the newer case first
    for figure in ("987", "654", ">51<", ">12<"):
        assert figure not in listing, figure
    desk = client.get("/desk").text
    work = desk[desk.index('id="desk-work"') : desk.index("</ul>", desk.index('id="desk-work"'))]
    assert "987" not in work and "654" not in work and "2 open intervention cases" in work
