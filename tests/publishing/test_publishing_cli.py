"""`fairengage report --from-db` makes a draft release through the one service; `publish` approves it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fairengage import cli
from fairengage.config import get_settings
from fairengage.reports import publications
from publishing.ledger_rows import write_release

PASSWORD = "a-long-enough-password"


@pytest.fixture
def run(settings, root, monkeypatch):
    """Run a command against the test database and publications folder."""
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("FAIRENGAGE_PUBLICATIONS_DIR", str(root))

    def invoke(*args: str):
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli.app, list(args))
        finally:
            get_settings.cache_clear()

    return invoke


@pytest.mark.slow  # Builds a whole release, HTML and PDF.
def test_report_then_publish_from_the_command_line(run, root, world, loaded, tmp_path, check_passes):
    world.user("ana", "analyst", password=PASSWORD)
    world.user("bob", "admin", password=PASSWORD)
    world.user("sue", "supervisor", division="D14", password=PASSWORD)

    # --out with --from-db would have put the extract beside the reports: refused, nothing built.
    refused = run("report", "--from-db", "--period", "2024", "--out", str(tmp_path / "out"))
    assert (
        refused.exit_code == 1
        and "--out, --governance and --benchmark go with --input only" in refused.stderr
    )
    assert not (tmp_path / "out").exists()
    assert run("report", "--from-db", "--period", "2024", "--as", "sue").stderr.startswith(
        "error: --as: sue (supervisor) does not hold reports:run"
    )

    built = run("report", "--from-db", "--period", "2024", "--as", "ana")
    assert built.exit_code == 0, built.output
    assert built.stdout.startswith("built draft release 1: 2024 version 1 in ")
    assert "disclosure check passed" in built.stdout and "publish approve 1 --as USERNAME" in built.stdout
    assert publications.list_publications(root) == []

    listed = run("publish", "list")
    assert listed.stdout.split()[:4] == ["1", "2024", "v1", "draft"]
    own = run("publish", "approve", "1", "--as", "ana")
    assert own.exit_code == 1 and "ana built 2024 version 1 and may not approve it" in own.stderr
    assert run("publish", "approve", "1", "--as", "sue").stderr.startswith(
        "error: --as: sue (supervisor) does not hold reports:publish"
    )
    assert run("publish", "approve", "1", "--as", "nobody").exit_code == 1
    approved = run("publish", "approve", "1", "--as", "bob")
    assert approved.exit_code == 0 and approved.stdout.strip() == "published 2024 version 1 (release 1)"
    assert [p.period for p in publications.list_publications(root)] == ["2024"]

    again = run("report", "--from-db", "--period", "2024", "--as", "ana")
    assert again.exit_code == 1 and "--reason:" in again.stderr and "say what it corrects" in again.stderr
    withdrawn = run("publish", "withdraw", "1", "--as", "bob", "--reason", "miscoded division")
    assert withdrawn.exit_code == 0
    assert publications.list_publications(root) == []
    assert "withdrawn" in run("publish", "list", "--period", "2024").stdout
    # The auditor's check finds the real build's audit entry agreeing with the ledger and the files.
    verified = run("publish", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.split("\n")[0].split() == ["1", "2024", "version", "1", "withdrawn", "ok"]
    assert "every release matches the ledger and the audit log (1 checked)" in verified.stdout
    assert not {p.name for p in root.rglob("*")} & {"engagements.parquet", "governance.json"}


def test_verify_exits_1_naming_the_edited_file(run, sessions, root):
    release = write_release(sessions=sessions, root=root, period="2023", status="published", logged=True)
    assert run("publish", "verify").exit_code == 0
    target = root / release.folder / "open-data" / "disproportionality.csv"
    target.write_text(target.read_text().replace("40", "4"))
    found = run("publish", "verify")
    assert found.exit_code == 1
    assert found.stdout.split() == [
        str(release.id), "2023", "version", "1", "published",
        "open-data/disproportionality.csv", "differs", "from", "the", "ledger", "(or", "is", "gone)",
    ]  # fmt: skip
    assert found.stderr.strip() == "releases that differ from what was built and recorded: 1 of 1"
