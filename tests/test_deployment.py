"""The deployment guide, tested: its settings table, where settings come from, its commands, serving."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer.main
from fastapi.testclient import TestClient
from pydantic import Field
from typer.testing import CliRunner

from fairengage import cli, settings_table
from fairengage.app import create_app
from fairengage.config import Settings, get_settings
from fairengage.config_file import ConfigFileError
from live import free_port

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "deployment.md"
KEY = "deployment-test-key-0123456789abcdef"


# --- the settings table ---


def test_every_setting_has_a_description():
    undescribed = [
        name for name, info in Settings.model_fields.items() if not (info.description or "").strip()
    ]
    assert undescribed == []


def test_the_guide_holds_the_current_settings_table():
    # Stale when a setting was added, removed, or its type, default or description changed: rewrite it with
    # `fairengage settings --markdown --into docs/deployment.md`.
    assert settings_table.table_in(GUIDE.read_text(encoding="utf-8")) == settings_table.markdown()


def test_a_new_setting_changes_the_table(monkeypatch):
    class Grown(Settings):
        brand_new: int = Field(default=7, ge=1, description="a setting added after the guide was written")

    monkeypatch.setattr(settings_table, "Settings", Grown)
    table = settings_table.markdown()
    assert (
        "| `FAIRENGAGE_BRAND_NEW` | integer, ≥ 1 | `7` | a setting added after the guide was written |"
        in table
    )
    assert settings_table.table_in(GUIDE.read_text(encoding="utf-8")) != table


def test_the_table_shows_types_defaults_and_refuses_nothing_silently():
    by_name = {row[0]: row for row in settings_table.rows()}
    assert by_name["`FAIRENGAGE_SECRET_KEY`"][1:3] == ("secret text", "none: required")
    assert by_name["`FAIRENGAGE_PARTIAL_PERIODS`"][1] == "`label` or `refuse`"
    assert by_name["`FAIRENGAGE_PASSWORD_MIN_LENGTH`"][1] == "integer, ≥ 12, ≤ 200"
    assert by_name["`FAIRENGAGE_AUDIT_SIGNING_KEY_FILE`"][1:3] == ("path (optional)", "unset")
    assert len(by_name) == len(Settings.model_fields)


def test_settings_markdown_into_rewrites_only_between_the_markers(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        f"# Title\n\nbefore\n\n{settings_table.BEGIN}\nold table\n{settings_table.END}\n\nafter\n"
    )
    result = CliRunner().invoke(cli.app, ["settings", "--markdown", "--into", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith(f"{settings_table.END}\n\nafter\n")
    assert "old table" not in text and settings_table.table_in(text) == settings_table.markdown()
    printed = CliRunner().invoke(cli.app, ["settings", "--markdown"])
    assert printed.output == settings_table.markdown()


def test_settings_into_a_page_without_markers_says_so_in_one_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# no markers here\n")
    result = CliRunner().invoke(cli.app, ["settings", "--markdown", "--into", str(page)])
    assert result.exit_code == 1
    assert f"{page}: no lines" in result.output
    assert page.read_text() == "# no markers here\n"


def test_settings_in_force_hide_the_keys_and_the_database_password(monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", KEY)
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", "postgresql://fairengage:hunter2-db-pass@db.internal/fe")
    monkeypatch.setenv("FAIRENGAGE_OIDC_CLIENT_SECRET", "client-secret-value")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["settings"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "FAIRENGAGE_SECRET_KEY=(hidden)" in result.output
    assert "FAIRENGAGE_DATABASE_URL=postgresql://fairengage:***@db.internal/fe" in result.output
    for secret in (KEY, "hunter2-db-pass", "client-secret-value"):
        assert secret not in result.output
    assert len(result.output.splitlines()) == len(Settings.model_fields)


# --- where settings come from: environment, then .env, then the TOML file, then defaults ---


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A deployment folder with a settings file and a .env beside it, named as --config names it."""
    (tmp_path / "fairengage.toml").write_text(
        'service_name = "from toml"\ntimezone = "UTC"\nboundary_code = "TOML"\n', encoding="utf-8"
    )
    (tmp_path / ".env").write_text(
        "FAIRENGAGE_SERVICE_NAME='from dotenv'\nFAIRENGAGE_TIMEZONE=Europe/Paris\nOTHER_TOOL_SETTING=1\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FAIRENGAGE_CONFIG", str(tmp_path / "fairengage.toml"))
    for name in ("SERVICE_NAME", "TIMEZONE", "BOUNDARY_CODE", "LOGIN_WINDOW"):
        monkeypatch.delenv(f"FAIRENGAGE_{name}", raising=False)
    return tmp_path


def test_environment_wins_then_dotenv_then_toml_then_defaults(folder, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_TIMEZONE", "America/Vancouver")
    settings = Settings()
    assert settings.timezone == "America/Vancouver"  # environment over .env and toml
    assert settings.service_name == "from dotenv"  # .env over toml
    assert settings.boundary_code == "TOML"  # toml over the default
    assert settings.login_window == Settings.model_fields["login_window"].default  # default


def test_dotenv_in_the_working_folder_when_no_settings_file_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("FAIRENGAGE_CONFIG", raising=False)
    monkeypatch.delenv("FAIRENGAGE_SERVICE_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().service_name == Settings.model_fields["service_name"].default
    (tmp_path / ".env").write_text("FAIRENGAGE_SERVICE_NAME=Halton Regional Police\n", encoding="utf-8")
    assert Settings().service_name == "Halton Regional Police"


def test_a_misspelt_name_in_dotenv_stops_with_the_file_and_the_name(folder):
    with (folder / ".env").open("a", encoding="utf-8") as handle:
        handle.write("FAIRENGAGE_TIMEZON=UTC\n")
    with pytest.raises(ConfigFileError, match=r"\.env: unknown setting 'FAIRENGAGE_TIMEZON'"):
        Settings()


def test_the_command_line_reads_dotenv_beside_its_config_file(folder, monkeypatch):
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["--config", str(folder / "fairengage.toml"), "settings"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "FAIRENGAGE_SERVICE_NAME=from dotenv" in result.output
    assert "FAIRENGAGE_BOUNDARY_CODE=TOML" in result.output


# --- the guide's commands and endpoints exist ---


def guide_commands() -> list[list[str]]:
    """Every `fairengage …` command in the guide's shell blocks, and in its inline code."""
    text = GUIDE.read_text(encoding="utf-8")
    lines = [
        line for block in re.findall(r"```(?:sh|ini)\n(.*?)```", text, re.S) for line in block.splitlines()
    ]
    lines += re.findall(r"`(fairengage [^`]+)`", text)
    found = []
    for line in lines:
        # `fairengage …`, `/opt/fairengage/bin/fairengage …`, or a systemd unit's ExecStart= line.
        match = re.match(r"(?:\S*/)?fairengage\s+(.*)", line.strip().removeprefix("ExecStart="))
        if match:
            words = shlex.split(match.group(1).split("#")[0])
            if words[:1] == ["--config"]:  # the global option, before the command
                words = words[2:]
            if words:
                found.append(words)
    return found


def test_every_command_in_the_guide_exists_with_its_options():
    commands = guide_commands()
    assert any(c[:1] == ["serve"] and "--workers" in c for c in commands)
    assert any(c[:2] == ["db", "upgrade"] for c in commands)
    group = typer.main.get_group(cli.app)
    for words in commands:
        command, rest = group, list(words)
        while rest and hasattr(command, "commands") and rest[0] in command.commands:
            command = command.commands[rest.pop(0)]
        assert not hasattr(command, "commands"), f"`fairengage {' '.join(words)}` names no command"
        known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in known, f"`fairengage {' '.join(words)}`: no option {word}"


def test_the_guide_names_the_health_endpoints_the_app_serves(client):
    named = re.findall(r"`GET (/\w+)`", GUIDE.read_text(encoding="utf-8"))
    assert {"/healthz", "/readyz"} <= set(named)
    for path in named:
        answer = client.get(path)  # no sign-in, as a load balancer asks
        assert answer.status_code == 200 and answer.json() == {"status": "ok"}, path


def test_readiness_fails_while_the_database_is_unreachable_and_liveness_does_not(tmp_path):
    # A database that does not answer: a SQLite file in a folder that does not exist.
    gone = Settings(database_url=f"sqlite:///{tmp_path}/missing/fairengage.db", secret_key=KEY)
    client = TestClient(create_app(gone))
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"


# --- `fairengage serve --workers 2` behind a proxy on loopback, as the guide runs it ---


@pytest.fixture
def served(tmp_path, database_url):  # type: ignore[no-untyped-def]
    """`fairengage serve --workers 2` in its own process; yields (base URL, process)."""
    port = free_port()
    env = {
        **os.environ,
        "FAIRENGAGE_CONFIG": os.devnull,
        "FAIRENGAGE_DATABASE_URL": database_url,
        "FAIRENGAGE_SECRET_KEY": KEY,
        "FAIRENGAGE_PUBLIC_URL": "https://engage.example.org",
        "FAIRENGAGE_FORWARDED_ALLOW_IPS": "127.0.0.1",
        "FAIRENGAGE_AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    env.pop("FORWARDED_ALLOW_IPS", None)
    args = [sys.executable, "-m", "fairengage.cli", "serve", "--port", str(port), "--workers", "2"]
    process = subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.3)
        yield base, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow  # A server process with two workers.
def test_serve_with_workers_behind_a_trusted_proxy(served):
    base, process = served
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base}/readyz").json() == {"status": "ok"}
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    # Several requests, so that both worker processes are likely to answer some: each must believe the proxy.
    for _ in range(6):
        through = httpx.get(f"{base}/login", headers=proxied)
        assert through.status_code == 200
        assert "strict-transport-security" in through.headers
        cookies = through.headers.get_list("set-cookie")
        assert cookies and all("secure" in c.lower() for c in cookies), cookies
        direct = httpx.get(f"{base}/login")
        assert "strict-transport-security" not in direct.headers
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert output.count("Started server process") == 2, output


def test_absolute_links_use_the_public_address():
    from fairengage.access import oidc

    public = Settings(public_url="https://engage.example.org", secret_key=KEY)
    assert oidc.redirect_uri(public).startswith("https://engage.example.org/")


def test_serve_believes_the_setting_not_any_address(settings, monkeypatch):
    import uvicorn

    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", KEY)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    runner = CliRunner()
    get_settings.cache_clear()
    try:
        monkeypatch.setenv("FAIRENGAGE_FORWARDED_ALLOW_IPS", "10.20.0.5")
        assert runner.invoke(cli.app, ["serve", "--workers", "2"]).exit_code == 0
        # The option wins over the setting, as everywhere.
        assert runner.invoke(cli.app, ["serve", "--forwarded-allow-ips", "10.20.0.6"]).exit_code == 0
    finally:
        get_settings.cache_clear()
    assert [(c["forwarded_allow_ips"], c["workers"]) for c in calls] == [("10.20.0.5", 2), ("10.20.0.6", 1)]
