"""The JSON Lines export of the audit log, and checking an export with nothing but the file."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from fairengage import cli
from fairengage.access import audit, export
from fairengage.access.models import AuditEntry
from fairengage.config import get_settings
from fairengage.db import transaction

PASSWORD = "correct horse battery staple"
TORONTO = ZoneInfo("America/Toronto")


@pytest.fixture
def runner(settings, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def fill(sessions, times: list[datetime] | None = None, n: int = 6) -> None:
    """Entries with accents, nested details and empty record ids, at the given times."""
    times = times or [None] * n
    with transaction(sessions) as s:
        for i, at in enumerate(times):
            audit.append(
                s,
                actor=f"user{i % 2}",
                action="test.write",
                entity="thing",
                entity_id=str(i) if i % 3 else None,
                purpose="vérification « test »",
                details={"i": i, "nested": {"b": [1, 2.5, None], "a": "é"}, "flag": i % 2 == 0},
                at=at,
            )


def run_export(runner, path, *args: str):
    return runner.invoke(cli.app, ["audit", "export", "--out", str(path), *args])


def entry_lines(path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if "seq" in json.loads(line)]


def test_cli_export_verifies_and_matches_the_database(runner, sessions, tmp_path):
    fill(sessions)
    out = tmp_path / "audit.jsonl"
    r = run_export(runner, out)
    assert r.exit_code == 0, r.output
    lines = out.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines[:-1]]
    trailer = json.loads(lines[-1])
    # Six entries, then the export's own log entry (written before the file), in seq order.
    assert [rec["seq"] for rec in records] == list(range(1, 8))
    assert records[-1]["action"] == "audit.export"
    assert set(records[0]) == set(export.ENTRY_FIELDS)
    with sessions() as s:
        chain = audit.verify(s)
        stored = {e.seq: e for e in s.scalars(select(AuditEntry))}
    assert trailer["head"] == {"seq": chain.checked, "digest": chain.head_digest}
    assert trailer["entries"] == 7 and trailer["first_seq"] == 1 and trailer["last_seq"] == 7
    for rec in records:
        assert rec["digest"] == stored[rec["seq"]].digest
        assert rec["prev_digest"] == stored[rec["seq"]].prev_digest
    report = export.verify_export(out.read_bytes().splitlines())
    assert report.ok and report.complete and report.checked == 7
    assert report.head_digest == chain.head_digest
    assert chain.head_digest in r.output


def test_standalone_digest_is_the_chain_digest(sessions):
    fill(sessions)
    with sessions() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    for entry in entries:
        record = export.entry_record(entry)
        # Through a JSON round trip, as a reviewer reading the file would have it.
        again = json.loads(json.dumps(record, ensure_ascii=False))
        assert export.record_digest(entry.prev_digest, again) == audit.entry_digest(entry.prev_digest, entry)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", record["at"])


@pytest.mark.parametrize("seq", [1, 3, 7])
def test_altering_one_line_names_its_seq(runner, sessions, tmp_path, seq):
    fill(sessions)
    out = tmp_path / "audit.jsonl"
    assert run_export(runner, out).exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[seq - 1])
    record["purpose"] = record["purpose"] + " (edited)"
    lines[seq - 1] = json.dumps(record, ensure_ascii=False)
    report = export.verify_export(lines)
    assert not report.ok and report.first_bad_seq == seq and "altered" in report.problem
    assert report.checked == seq - 1


def test_altered_details_or_time_is_caught(runner, sessions, tmp_path):
    fill(sessions)
    out = tmp_path / "audit.jsonl"
    assert run_export(runner, out).exit_code == 0
    for field, value in (("details", {"i": 99}), ("at", "2020-01-01T00:00:00.000000+00:00")):
        lines = out.read_text(encoding="utf-8").splitlines()
        record = json.loads(lines[1])
        record[field] = value
        lines[1] = json.dumps(record)
        assert export.verify_export(lines).first_bad_seq == 2, field


def test_removed_inserted_and_cut_short_files_fail(runner, sessions, tmp_path):
    fill(sessions)
    out = tmp_path / "audit.jsonl"
    assert run_export(runner, out).exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()

    removed = lines[:2] + lines[3:]
    report = export.verify_export(removed)
    assert not report.ok and report.first_bad_seq == 3 and "missing" in report.problem

    relinked = json.loads(lines[3])
    relinked["prev_digest"] = "f" * 64
    report = export.verify_export([*lines[:3], json.dumps(relinked), *lines[4:]])
    assert not report.ok and report.first_bad_seq == 4 and "link" in report.problem

    report = export.verify_export(lines[:-1])
    assert not report.ok and "cut short" in report.problem

    report = export.verify_export(lines[:-2] + lines[-1:])
    assert not report.ok

    report = export.verify_export([*lines, lines[0]])
    assert not report.ok and "after the head" in report.problem

    report = export.verify_export([*lines[:2], "not json", *lines[2:]])
    assert not report.ok and report.first_bad_seq == 3 and "JSON" in report.problem


def test_a_rewritten_chain_still_differs_from_the_head_published_before(runner, sessions, tmp_path):
    # Someone who edits an entry and recomputes every digest after it gets a file that checks on
    # its own, but its last digest is not the head that was published: that is what anchors it.
    fill(sessions)
    out = tmp_path / "audit.jsonl"
    assert run_export(runner, out).exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    published = json.loads(lines[-1])["head"]["digest"]
    records = [json.loads(line) for line in lines[:-1]]
    records[2]["purpose"] = "rewritten"
    prev = export.GENESIS
    for rec in records:
        rec["prev_digest"] = prev
        rec["digest"] = prev = export.record_digest(prev, rec)
    trailer = json.loads(lines[-1])
    trailer["head"]["digest"] = prev
    report = export.verify_export([*(json.dumps(r) for r in records), json.dumps(trailer)])
    assert report.ok and report.head_digest != published


def test_export_of_local_dates_is_a_contiguous_verifiable_run(runner, sessions, tmp_path):
    times = [
        datetime(2026, 3, 8, 12, 0, tzinfo=UTC),
        # 03:30 UTC on the 10th is still the 9th in Toronto (UTC-4 after 8 March 2026).
        datetime(2026, 3, 10, 3, 30, tzinfo=UTC),
        datetime(2026, 3, 10, 4, 30, tzinfo=UTC),  # 00:30 on the 10th, local
        datetime(2026, 3, 11, 15, 0, tzinfo=UTC),
        datetime(2026, 3, 12, 15, 0, tzinfo=UTC),
    ]
    fill(sessions, times)
    out = tmp_path / "part.jsonl"
    r = run_export(runner, out, "--from", "2026-03-10", "--to", "2026-03-11")
    assert r.exit_code == 0, r.output
    seqs = [json.loads(line)["seq"] for line in entry_lines(out)]
    assert seqs == [3, 4]
    report = export.verify_export(out.read_text(encoding="utf-8").splitlines())
    assert report.ok and not report.complete and (report.first_seq, report.last_seq) == (3, 4)
    trailer = json.loads(out.read_text(encoding="utf-8").splitlines()[-1])
    assert (trailer["from"], trailer["to"]) == ("2026-03-10", "2026-03-11")
    # The day before, in local time, holds the entry whose UTC date is the 10th.
    day_before = tmp_path / "day.jsonl"
    assert run_export(runner, day_before, "--from", "2026-03-09", "--to", "2026-03-09").exit_code == 0
    assert [json.loads(line)["seq"] for line in entry_lines(day_before)] == [2]
    # A partial file's first link is the previous entry's digest in a full export.
    full = tmp_path / "full.jsonl"
    assert run_export(runner, full).exit_code == 0
    by_seq = {json.loads(line)["seq"]: json.loads(line) for line in entry_lines(full)}
    assert json.loads(entry_lines(out)[0])["prev_digest"] == by_seq[2]["digest"]


def test_export_with_no_entries_in_range(runner, sessions, tmp_path):
    fill(sessions, n=2)
    out = tmp_path / "none.jsonl"
    assert run_export(runner, out, "--from", "1999-01-01", "--to", "1999-01-02").exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["entries"] == 0
    assert export.verify_export(lines).ok


def test_cli_export_errors_are_one_line(runner, tmp_path):
    r = run_export(runner, tmp_path / "x.jsonl", "--from", "soon")
    assert r.exit_code == 1 and "--from" in r.output
    r = run_export(runner, tmp_path / "x.jsonl", "--from", "2026-02-02", "--to", "2026-02-01")
    assert r.exit_code == 1 and "after" in r.output
    r = run_export(runner, tmp_path / "missing-dir" / "x.jsonl")
    assert r.exit_code == 1 and "x.jsonl" in r.output
    assert not (tmp_path / "x.jsonl").exists()


def test_standalone_check_command(runner, sessions, tmp_path, capsys):
    fill(sessions, n=3)
    out = tmp_path / "audit.jsonl"
    assert run_export(runner, out).exit_code == 0
    assert export.main([str(out)]) == 0
    assert "export intact: 4 entries" in capsys.readouterr().out
    lines = out.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("user1", "user9")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert export.main([str(out)]) == 1
    assert "entry 2" in capsys.readouterr().err


def csrf_of(page: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)


def sign_in(client, username: str) -> None:
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrftoken": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_web_export_streams_a_verifiable_file_and_is_logged(client, world, sessions):
    fill(sessions, n=3)
    world.user("auditor1", "auditor")
    sign_in(client, "auditor1")
    r = client.get("/audit/export.jsonl")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/jsonl")
    assert "attachment" in r.headers["content-disposition"]
    lines = r.text.splitlines()
    report = export.verify_export(lines)
    assert report.ok and report.complete
    actions = [json.loads(line).get("action") for line in lines[:-1]]
    assert actions[-1] == "audit.export" and json.loads(lines[-2])["actor"] == "auditor1"
    today = datetime.now(TORONTO).date()
    r = client.get(f"/audit/export.jsonl?from={today.isoformat()}&to={today.isoformat()}")
    assert r.status_code == 200 and export.verify_export(r.text.splitlines()).ok


def test_web_export_refuses_bad_dates(client, world):
    world.user("auditor1", "auditor")
    sign_in(client, "auditor1")
    r = client.get("/audit/export.jsonl?from=yesterday")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "from"
    r = client.get("/audit/export.jsonl?from=2026-02-02&to=2026-02-01")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to"


def test_local_bounds_follow_the_time_zone():
    start, end = export.local_bounds(date(2026, 7, 1), date(2026, 7, 1), TORONTO)
    assert start == datetime(2026, 7, 1, 4, 0, tzinfo=UTC)
    assert end == datetime(2026, 7, 2, 4, 0, tzinfo=UTC)
    start, end = export.local_bounds(date(2026, 1, 15), None, TORONTO)
    assert start == datetime(2026, 1, 15, 5, 0, tzinfo=UTC) and end is None
