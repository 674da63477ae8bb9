"""Every route and command that can return or copy personal information writes an audit entry.

Both lists are read from the app and from the command line itself, so a route or command nobody
classified fails the first tests. Each one classified as returning personal information is then called
with real records (the estate of the route matrix), and must have written an entry naming who, why and
which record, without the personal values themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer.main
from httpx import Response
from sqlalchemy import select
from typer.testing import CliRunner

from access.estate import PERIOD, Estate, app_routes, csrf_of
from components import POSTGRES_URL, create_postgres_database, drop_postgres_database
from conftest import SECRET
from fairengage import cli
from fairengage.access.models import AuditEntry, AuditPending
from fairengage.backups.service import read_archive
from fairengage.config import get_settings
from fairengage.db import engine_for, session_factory

# Values the estate stores about people (the engagement's person, the requester's contact details):
# they may be shown to an allowed caller, never written into the audit log.
PERSONAL_VALUES = ("Sam Example", "1994-05-02", "1 Example St", "Robin Requester", "robin@example.org")

Call = Callable[[Any, Estate], Response]


def _api(who: str) -> Callable[[Any, Estate, str], Response]:
    def call(browsers: Any, e: Estate, path: str) -> Response:
        return browsers("anonymous").get(path, headers={"Authorization": f"Bearer {e.tokens[who]}"})

    return call


def _post(browsers: Any, who: str, path: str, data: dict[str, str]) -> Response:
    client = browsers(who)
    token = csrf_of(client.get("/login").text)
    return client.post(path, data={"csrftoken": token, **data}, follow_redirects=False)


# Routes that return personal information (or the audit log, which names who read it): who calls, how,
# the audit action they must write, and a piece of what the answer must carry to show it was a real read.
PERSONAL_ROUTES: dict[tuple[str, str], tuple[Call, str, str]] = {
    ("GET", "/api/v1/engagements/{engagement_id}"): (
        lambda b, e: _api("supervisor")(b, e, f"/api/v1/engagements/{e.record}?purpose=follow-up"),
        "person.read",
        "Sam Example",
    ),
    ("GET", "/restricted/requests/{request_id}/record"): (
        lambda b, e: b("supervisor").get(f"/restricted/requests/{e.approved_requests['supervisor']}/record"),
        "restricted.read",
        "Sam Example",
    ),
    ("POST", "/staff/complaints/{complaint_id}/contact"): (
        lambda b, e: _post(
            b, "supervisor", f"/staff/complaints/{e.complaint}/contact", {"purpose": "acknowledge"}
        ),
        "complaint_contact.read",
        "robin@example.org",
    ),
    ("POST", "/staff/complaints/{complaint_id}/export"): (
        lambda b, e: _post(b, "admin", f"/staff/complaints/{e.confirmed}/export", {"format": "json"}),
        "own_record.export",
        "Sam Example",
    ),
    # A case names the officer and links their records: each read and each list is logged.
    ("GET", "/cases"): (lambda b, e: b("supervisor").get("/cases"), "case.list", "Constable Tremblay"),
    ("GET", "/cases/{case_id}"): (
        lambda b, e: b("supervisor").get(f"/cases/{e.case}"),
        "case.read",
        "Constable Tremblay",
    ),
    ("GET", "/audit"): (lambda b, e: b("auditor").get("/audit"), "audit.read", "restricted.approved"),
    ("GET", "/audit/export.jsonl"): (
        lambda b, e: b("auditor").get("/audit/export.jsonl"),
        "audit.export",
        "restricted.approved",
    ),
    ("GET", "/analyst/reports/{period}/files/{path:path}"): (
        lambda b, e: b("analyst").get(f"/analyst/reports/{PERIOD}/files/board.pdf"),
        "publication.download",
        "%PDF board",
    ),
}

# Every other route, and why it returns no personal information.
NO_PERSONAL_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/"): "the home page",
    ("GET", "/healthz"): "service health",
    ("GET", "/desk"): "counts and links; the queue's first records without the person",
    ("POST", "/cases/{case_id}/actions"): "records an action (logged as case.act); a refused one shows the "
    "case page again, through the same logged read",
    ("POST", "/review/samples"): "draws a sample of record ids",
    ("GET", "/readyz"): "service health",
    ("GET", "/openapi.json"): "the API's description",
    ("GET", "/static"): "style sheets and scripts",
    ("GET", "/login"): "the sign-in form",
    ("POST", "/login"): "signs in; logged as login",
    ("POST", "/logout"): "signs out; logged as logout",
    ("GET", "/login/sso"): "sends the browser to the identity provider",
    ("GET", "/login/sso/callback"): "signs in through the identity provider; logged as login",
    ("GET", "/login/code"): "the second-factor step of sign-in",
    ("POST", "/login/code"): "checks the second factor and signs in; logged as login",
    ("POST", "/api/v1/engagements"): "answers the new record's id, findings and receipt code only",
    ("POST", "/api/v1/engagements/check"): "answers the findings on the body just sent; nothing stored",
    ("GET", "/api/v1/engagements"): "lists records without the person (engagements/api.py)",
    ("POST", "/api/v1/encounters"): "answers each new record's id, findings and receipt code only",
    (
        "GET",
        "/api/v1/encounters/{encounter_id}",
    ): "the encounter's records without the person (encounters/api.py)",
    ("GET", "/api/v1/rulesets"): "published rules",
    ("GET", "/api/v1/rulesets/current"): "published rules",
    ("GET", "/api/v1/rulesets/{ruleset_id}"): "published rules",
    ("GET", "/engagements/new"): "an empty form",
    ("GET", "/engagements/device-key"): "the officer's own key for their phone; no record is read",
    ("GET", "/engagements/session"): "the officer's own owner tag and a CSRF token; no record is read",
    ("GET", "/sw.js"): "the service worker's code",
    ("GET", "/manifest.webmanifest"): "the web app manifest",
    ("POST", "/engagements/new"): "a refused form echoes only what the officer just typed",
    ("POST", "/engagements/check"): "answers the findings on the answers just sent; nothing stored",
    ("GET", "/engagements/division-at"): "a division code for a point the officer's phone gave",
    ("GET", "/engagements"): "lists records without the person",
    ("GET", "/engagements/{engagement_id}/receipt"): "the receipt never names the person",
    ("GET", "/engagements/{engagement_id}/correct"): "the returned record's answers, without the person",
    ("POST", "/engagements/{engagement_id}/correct"): "echoes only what the officer just typed",
    ("GET", "/engagements/{engagement_id}/another-person"): "the shared answers only, never a person's",
    ("POST", "/engagements/{engagement_id}/another-person"): "echoes only what the officer just typed",
    ("GET", "/r"): "public receipt check: never the person",
    ("GET", "/r/{code}"): "public receipt check: never the person",
    ("GET", "/r/{code}/print"): "public receipt: never the person",
    ("GET", "/r/{code}/receipt.pdf"): "public receipt: never the person",
    ("GET", "/r/{code}/qr.svg"): "the receipt's link as a QR code",
    ("GET", "/r/{code}/complaint"): "an empty complaint form",
    ("POST", "/r/{code}/complaint"): "files a complaint; nothing typed is echoed back",
    ("GET", "/r/{code}/complaint/filed"): "the reference number only",
    ("GET", "/public"): "suppressed public figures",
    ("GET", "/public/method"): "how published figures are protected: no figure at all",
    ("GET", "/public/files/{period}/{path:path}"): "the public publication, suppressed",
    ("GET", "/review"): "the review queue, without the person",
    ("GET", "/review/escalations"): "overdue reviews, without the person",
    ("GET", "/events"): "dispatch and camera events: officers, times and places, never a person's details",
    ("POST", "/events/{event_id}/resolve"): "records an action on an event; logged as events.<action>",
    ("GET", "/events/mine"): "the officer's own dispatch events, never a person's details",
    ("GET", "/review/summary"): "counts",
    ("GET", "/review/samples"): "sample lists",
    ("GET", "/review/samples/{sample_id}"): "sampled records, without the person",
    ("POST", "/review/samples/{sample_id}/items/{item_id}"): "records a finding",
    ("GET", "/review/{engagement_id}"): "the record for review, without the person (review/service.py)",
    ("POST", "/review/{engagement_id}/decision"): "records a decision",
    ("POST", "/api/v1/review/{engagement_id}/decision"): "answers the decision only",
    ("GET", "/api/v1/officers/expiring"): "officers' names and training dates; no member of the public",
    ("GET", "/restricted"): "requests and their purposes, never a record's contents",
    ("POST", "/restricted/requests"): "files a request",
    ("POST", "/restricted/requests/{request_id}/decision"): "records a decision",
    ("GET", "/staff/complaints"): "complaints without contact details (complaints/models.py)",
    ("GET", "/staff/complaints/{complaint_id}"): "contact details only through the logged POST …/contact",
    ("POST", "/staff/complaints/{complaint_id}"): "records a status change",
    ("POST", "/staff/complaints/{complaint_id}/identity"): "records the identity check",
    ("GET", "/audit/verify"): "the chain's verdict and head digest",
    ("GET", "/admin/users"): "staff accounts",
    ("POST", "/admin/users"): "adds a staff account",
    ("POST", "/admin/users/{username}/role"): "changes a staff account",
    ("POST", "/admin/users/{username}/active"): "changes a staff account",
    ("GET", "/admin/officers"): "officers and their training",
    ("POST", "/admin/officers"): "adds an officer",
    ("POST", "/admin/officers/{badge}/training"): "records training",
    ("GET", "/admin/rulesets"): "published rules",
    ("GET", "/analyst/reports"): "the list of publications",
    ("POST", "/analyst/reports"): "starts a run, which reads the database only through the logged extract",
    ("GET", "/analyst/reports/{job_id}"): "a run's progress",
    ("GET", "/analyst/releases/{release_id}"): "the ledger row: who built and approved, no records",
    ("GET", "/analyst/releases/{release_id}/preview"): "the release's public files, already suppressed",
    ("POST", "/analyst/releases/{release_id}/approve"): "records an approval",
    ("POST", "/analyst/releases/{release_id}/withdraw"): "records a withdrawal",
    ("GET", "/account/password"): "one's own password form",
    ("POST", "/account/password"): "changes one's own password",
    ("GET", "/account/second-factor"): "sets up one's own second factor",
    ("POST", "/account/second-factor"): "confirms one's own second factor; logged as totp.enrol",
    ("POST", "/admin/users/{username}/second-factor"): "removes a user's second factor; logged as totp.reset",
    ("POST", "/admin/users/{username}/password"): "a staff account's new temporary password, shown once",
    ("GET", "/transparency/audit"): "signed checkpoints of the audit log: sizes and hashes",
    ("GET", "/transparency/audit/checkpoint"): "a signed tree size and root hash",
    ("GET", "/transparency/audit/checkpoints.json"): "signed checkpoints: sizes and hashes",
    ("GET", "/transparency/audit/consistency"): "interior hashes of the tree",
    ("GET", "/transparency/audit/key"): "the public key",
}


def cli_commands() -> set[str]:
    """Every command of the `fairengage` command line, by its words (`audit export`)."""

    def walk(command: Any, words: tuple[str, ...]) -> set[str]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            return {" ".join(words)}
        return set().union(*(walk(sub, (*words, name)) for name, sub in subcommands.items()))

    return walk(typer.main.get_command(cli.app), ())


# Commands that copy personal information out of the database: how to run one (given a folder for its
# output) and the audit action it must write.
PERSONAL_COMMANDS: dict[str, tuple[Callable[[Path], list[str]], str]] = {
    "extract": (lambda d: ["extract", "--out", str(d / "table.parquet")], "engagement.extract"),
    "audit export": (lambda d: ["audit", "export", "--out", str(d / "audit.jsonl")], "audit.export"),
    "backup": (lambda d: ["backup", "--out", str(d / "all.backup")], "backup.create"),
    # Restores a backup of the estate taken just before into a new database.
    "restore": (lambda d: ["restore", str(d / "all.backup")], "backup.restore"),
    "report": (
        lambda d: ["report", "--from-db", "--period", str(date.today().year)],
        "engagement.extract",
    ),
}

NO_PERSONAL_COMMANDS: dict[str, str] = {
    "analyze": "reads an analytic table file, which holds no personal information",
    "bench": "synthetic data",
    "benchmark build-toronto": "census figures",
    "benchmark show": "census figures",
    "db downgrade": "schema",
    "db upgrade": "schema",
    "demo": "builds a synthetic database",
    "drill crash": "synthetic load",
    "drill load": "synthetic load",
    "import": "writes records from a file; logged as import.batch",
    "events import": "writes dispatch and camera events from a file; logged as events.import",
    "settings": "prints the settings and their documentation; keys and the database password are hidden",
    "reconcile": "lists unmatched events with officers' badges and record ids, no person's details; "
    "logged as events.reconcile",
    "officers add": "adds an officer",
    "officers train": "records training",
    "officers expiring": "officers' names, badges and training dates: staff, never a member of the public",
    "retention delegate": "grants a delegation",
    "retention revoke": "withdraws a delegation",
    "retention hold": "places a hold",
    "retention release": "lifts a hold",
    "retention run": "restricts records; prints counts",
    "retention legacy-report": "who read which legacy record: staff names and record ids",
    "review sample": "draws a sample of record ids",
    "cases open": "opens cases from report.json's officer keys; prints counts only; logged as case.open",
    "serve": "runs the service, whose routes are classified above",
    "synth": "synthetic data",
    "tokens create": "a staff token",
    "users add": "a staff account",
    "audit verify": "the chain's verdict and head digest",
    "audit bench": "a throw-away database of synthetic entries",
    "audit check-proof": "checks a proof file offline, without the database",
    "audit checkpoint": "a signed tree size and root hash",
    "audit keygen": "writes a signing key",
    "audit prove": "an entry's hashes: entries hold ids, never personal values",
    "publish approve": "records an approval",
    "publish list": "the ledger of releases",
    "publish withdraw": "records a withdrawal",
    "publish verify": "digests of release files, the ledger and the audit log's build entries: no person",
    "tokens list": "token prefixes and expiry dates",
    "tokens rotate": "a staff token",
    "users reset-password": "a staff account's new temporary password",
}


def test_every_route_is_classified(app):
    routes = app_routes(app)
    assert not set(PERSONAL_ROUTES) & set(NO_PERSONAL_ROUTES)
    classified = set(PERSONAL_ROUTES) | set(NO_PERSONAL_ROUTES)
    unclassified = sorted(routes - classified)
    assert not unclassified, f"say whether these return personal information: {unclassified}"
    assert not sorted(classified - routes), f"these routes no longer exist: {classified - routes}"


def test_every_command_is_classified():
    commands = cli_commands()
    assert {"backup", "audit export", "extract"} <= commands
    assert not set(PERSONAL_COMMANDS) & set(NO_PERSONAL_COMMANDS)
    classified = set(PERSONAL_COMMANDS) | set(NO_PERSONAL_COMMANDS)
    unclassified = sorted(commands - classified)
    assert not unclassified, f"say whether these copy personal information: {unclassified}"
    assert not sorted(classified - commands), f"these commands no longer exist: {classified - commands}"


def entries(sessions, action: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every entry with this action, chained or still in the journal."""
    found = []
    with sessions() as s:
        for model in (AuditEntry, AuditPending):
            for row in s.scalars(select(model).where(model.action == action)):
                found.append(
                    {
                        "seq": getattr(row, "seq", None),
                        "actor": row.actor,
                        "entity": row.entity,
                        "entity_id": row.entity_id,
                        "purpose": row.purpose,
                        "details": row.details,
                    }
                )
    return found


def assert_logged_without_values(
    before: list[dict[str, Any]], after: list[dict[str, Any]], what: str
) -> None:
    new = [entry for entry in after if entry not in before]
    assert new, f"{what} wrote no audit entry"
    for entry in new:
        assert entry["actor"] and entry["purpose"], f"{what}: an entry needs an actor and a purpose: {entry}"
        text = json.dumps(entry, default=str)
        leaked = [value for value in PERSONAL_VALUES if value in text]
        assert not leaked, f"{what} wrote personal values into the audit log: {leaked}"


@pytest.mark.parametrize("route", sorted(PERSONAL_ROUTES))
def test_each_personal_read_by_route_is_logged(route, estate, browser_for, sessions):
    call, action, shown = PERSONAL_ROUTES[route]
    before = entries(sessions, action)
    response = call(browser_for, estate)
    assert response.status_code == 200, f"{route}: {response.status_code} {response.text[:300]}"
    # The call really returned personal information (or the log), so the entry is for a real read.
    assert shown in response.text or shown.encode() in response.content
    assert_logged_without_values(before, entries(sessions, action), f"{route[0]} {route[1]}")


@pytest.fixture
def runner(settings, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", SECRET)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "command",
    # `report` builds a whole release (extract, analysis, HTML and PDF reports): tens of seconds, so slow.
    [pytest.param(c, marks=pytest.mark.slow) if c == "report" else c for c in sorted(PERSONAL_COMMANDS)],
)
def test_each_personal_copy_by_command_is_logged(command, estate, runner, sessions, tmp_path, monkeypatch):
    arguments, action = PERSONAL_COMMANDS[command]
    if command == "restore":
        made = runner.invoke(cli.app, ["backup", "--out", str(tmp_path / "all.backup")])
        assert made.exit_code == 0, made.output
        # Into a database of its own, as onto a replacement server: the service's is still open here.
        fresh = f"sqlite:///{tmp_path / 'new.db'}"
        target = create_postgres_database(POSTGRES_URL) if POSTGRES_URL else fresh
        monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", target)
        get_settings.cache_clear()
        sessions = session_factory(engine_for(target))
    # Releases go to a folder of the test's own, never the working folder.
    monkeypatch.setenv("FAIRENGAGE_PUBLICATIONS_DIR", str(tmp_path / "publications"))
    get_settings.cache_clear()
    before = [] if command == "restore" else entries(sessions, action)
    result = runner.invoke(cli.app, arguments(tmp_path))
    assert result.exit_code == 0, result.output
    after = entries(sessions, action)
    if command == "restore":
        assert entries(sessions, "backup.create"), "the restored database is the backup's"
        engine_for(target).dispose()
        if POSTGRES_URL:
            drop_postgres_database(POSTGRES_URL, target)
    assert_logged_without_values(before, after, f"fairengage {command}")
    if command == "backup":
        # The backup seals the journal after logging itself, so its own entry is chained and inside it.
        (entry,) = [e for e in after if e not in before]
        assert entry["seq"] is not None, "the backup's entry is still in the journal, outside the backup"
        manifest, _ = read_archive(tmp_path / "all.backup", tmp_path)
        assert manifest.facts.head_seq >= entry["seq"]
        assert manifest.facts.tables["persons"] >= 3
