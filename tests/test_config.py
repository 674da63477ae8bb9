"""Configuration that refuses to be weak: the secret key at start, and owner-only files for secrets."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from fairengage import cli, demo, migrate
from fairengage.app import create_app
from fairengage.config import (
    INSECURE_DEFAULT_KEY,
    MIN_SECRET_KEY_LENGTH,
    Settings,
    WeakSecretKey,
    get_settings,
)
from fairengage.config_file import ConfigFileError
from fairengage.db import make_engine, private_sqlite_file
from fairengage.engagements import extract

TEST_KEY = "test-secret-key-0123456789abcdef"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask():
    """The common 022 umask, under which SQLite would leave files readable by every local account."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


# --- the secret key ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "key,said",
    [
        (INSECURE_DEFAULT_KEY, "not set"),
        ("k", "too short (1 characters)"),
        ("x" * (MIN_SECRET_KEY_LENGTH - 1), "too short (31 characters)"),
        (" " * 40, "too short (0 characters)"),
        ("  " + "y" * 30 + "  ", "too short (30 characters)"),
    ],
)
def test_start_refuses_a_weak_key_in_every_mode(key, said, debug):
    settings = Settings(database_url="sqlite://", secret_key=key, debug=debug)
    with pytest.raises(WeakSecretKey, match="FAIRENGAGE_SECRET_KEY") as refused:
        create_app(settings)
    assert said in str(refused.value)


def test_start_accepts_the_test_suite_key_and_longer_ones():
    assert len(TEST_KEY) == MIN_SECRET_KEY_LENGTH
    for key in (TEST_KEY, "z" * 200):
        create_app(Settings(database_url="sqlite://", secret_key=key))


def test_the_default_settings_do_not_start(monkeypatch):
    monkeypatch.delenv("FAIRENGAGE_SECRET_KEY", raising=False)
    monkeypatch.setenv("FAIRENGAGE_DEBUG", "true")
    with pytest.raises(WeakSecretKey, match="FAIRENGAGE_SECRET_KEY is not set"):
        create_app(Settings(database_url="sqlite://"))


@pytest.mark.parametrize("command", [["serve"], ["demo", "--records", "10", "--no-serve"]])
def test_commands_that_start_say_why_in_one_line(command, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", "short-key")
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, command)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: FAIRENGAGE_SECRET_KEY is too short"), result.output
    assert "short-key" not in result.output  # the key itself is never echoed


def test_extract_refuses_a_short_key_because_officer_keys_would_be_guessable(settings, sessions, tmp_path):
    short = Settings(database_url=settings.database_url, secret_key="s" * (MIN_SECRET_KEY_LENGTH - 1))
    with pytest.raises(extract.ExtractRefused, match="FAIRENGAGE_SECRET_KEY is too short"):
        extract.write_extract(sessions=sessions, out=tmp_path / "a.csv", settings=short, actor="t")
    assert not (tmp_path / "a.csv").exists()


# --- files that hold secrets ------------------------------------------------------------------------------


def test_a_new_sqlite_database_and_its_wal_files_are_owner_only(tmp_path, loose_umask):
    path = tmp_path / "new.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        conn.execute(text("INSERT INTO t VALUES ('a person''s address')"))
        wal, shm = path.with_name("new.db-wal"), path.with_name("new.db-shm")
        assert wal.exists() and shm.exists()
        assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    engine.dispose()
    assert mode(path) == 0o600


def test_db_upgrade_creates_an_owner_only_database(tmp_path, loose_umask):
    path = tmp_path / "migrated.db"
    migrate.upgrade(f"sqlite:///{path}")
    assert mode(path) == 0o600
    for companion in (path.with_name("migrated.db-wal"), path.with_name("migrated.db-shm")):
        assert not companion.exists() or mode(companion) == 0o600


def test_a_readable_database_left_by_an_older_version_is_tightened(tmp_path, loose_umask):
    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
    engine.dispose()
    for companion in tmp_path.iterdir():
        companion.chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert {p.name: mode(p) for p in tmp_path.iterdir()} == dict.fromkeys(
        (p.name for p in tmp_path.iterdir()), 0o600
    )


def test_memory_and_missing_folders_are_left_to_sqlite(tmp_path):
    assert private_sqlite_file("sqlite://") is None
    assert private_sqlite_file("sqlite:///:memory:") is None
    missing = tmp_path / "no" / "such.db"
    private_sqlite_file(f"sqlite:///{missing}")
    assert not missing.parent.exists()


def test_the_demo_key_file_is_created_owner_only(tmp_path, monkeypatch, loose_umask):
    monkeypatch.chdir(tmp_path)
    key = demo.demo_secret()
    assert len(key) >= MIN_SECRET_KEY_LENGTH
    assert mode(tmp_path / demo.KEY_FILE) == 0o600
    (tmp_path / demo.KEY_FILE).chmod(0o644)
    assert demo.demo_secret() == key  # kept across restarts, and tightened when found readable
    assert mode(tmp_path / demo.KEY_FILE) == 0o600


def test_import_rejects_are_written_owner_only(tmp_path, loose_umask):
    from fairengage.ingest.importer import Reject, write_rejects

    fresh, reused = tmp_path / "rejects.csv", tmp_path / "old-rejects.csv"
    reused.write_text("left by an earlier run\n")
    reused.chmod(0o644)
    for path in (fresh, reused):
        write_rejects(path, [Reject(3, "stop_date", "not a date")])
        assert mode(path) == 0o600, path
        assert "stop_date" in path.read_text() and "earlier run" not in path.read_text()


def test_audit_exports_are_written_owner_only(tmp_path, loose_umask, sessions):
    from zoneinfo import ZoneInfo

    from fairengage.access.export import write_export

    out = tmp_path / "audit.jsonl"
    write_export(sessions, out, tz=ZoneInfo("America/Toronto"), first=None, last=None)
    assert out.is_file() and mode(out) == 0o600


# --- the settings file ------------------------------------------------------------------------------------

KEY = "k" * MIN_SECRET_KEY_LENGTH


@pytest.fixture
def in_folder(tmp_path, monkeypatch):
    """A working folder with no FAIRENGAGE_* settings in the environment, and no settings file named."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("FAIRENGAGE_")]:
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_fairengage_toml_in_the_working_folder_is_read(in_folder):
    (in_folder / "fairengage.toml").write_text('database_url = "sqlite:///./mine.db"\ntimezone = "UTC"\n')
    settings = Settings()
    assert settings.database_url == "sqlite:///./mine.db"
    assert settings.timezone == "UTC"


def test_the_environment_wins_over_the_file(in_folder, monkeypatch):
    (in_folder / "fairengage.toml").write_text('database_url = "sqlite:///./file.db"\n')
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", "sqlite:///./env.db")
    assert Settings().database_url == "sqlite:///./env.db"


def test_the_key_can_live_in_its_own_file_and_a_key_set_directly_wins(in_folder, monkeypatch):
    (in_folder / "key").write_text(KEY + "\n")
    (in_folder / "fairengage.toml").write_text('secret_key_file = "key"\n')
    assert Settings().secret_key.get_secret_value() == KEY
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", "e" * 40)
    assert Settings().secret_key.get_secret_value() == "e" * 40


def test_a_missing_key_file_is_named(in_folder):
    (in_folder / "fairengage.toml").write_text('secret_key_file = "gone"\n')
    with pytest.raises(ValueError, match="FAIRENGAGE_SECRET_KEY_FILE: gone"):
        Settings()


@pytest.mark.parametrize(
    "content,said",
    [
        ('databse_url = "sqlite://"\n', "unknown setting 'databse_url'"),
        ("database_url = \n", "not a TOML file"),
    ],
)
def test_a_bad_settings_file_stops_any_command_in_one_line(in_folder, content, said):
    (in_folder / "fairengage.toml").write_text(content)
    env = {**os.environ, "PYTHONPATH": str(Path(cli.__file__).parents[1])}
    run = subprocess.run(
        [sys.executable, "-m", "fairengage.cli", "officers", "expiring"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: fairengage.toml: ") and said in lines[0], lines
    with pytest.raises(ConfigFileError, match=said):
        Settings()


def test_config_names_another_file_and_reaches_the_command(in_folder, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_CONFIG", "")  # restored after the test: --config sets it
    elsewhere = in_folder / "etc"
    elsewhere.mkdir()
    url = f"sqlite:///{in_folder / 'other.db'}"
    (elsewhere / "site.toml").write_text(f'database_url = "{url}"\nsecret_key = "{KEY}"\n')
    (in_folder / "fairengage.toml").write_text('database_url = "sqlite:///./not-this.db"\n')
    result = CliRunner().invoke(cli.app, ["--config", "etc/site.toml", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (in_folder / "other.db").exists() and not (in_folder / "not-this.db").exists()
    assert os.environ["FAIRENGAGE_CONFIG"] == str(elsewhere / "site.toml")


def test_a_missing_config_file_is_one_line(in_folder, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_CONFIG", "")
    result = CliRunner().invoke(cli.app, ["--config", "nowhere.toml", "officers", "expiring"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: --config: nowhere.toml: no such file"


def test_the_demo_never_replaces_a_settings_file_of_your_own(in_folder):
    own = in_folder / "fairengage.toml"
    own.write_text('database_url = "postgresql://prod/fairengage"\n')
    settings = Settings(database_url="sqlite:///./fairengage-demo.db", secret_key=KEY)
    assert demo.write_config(settings, key_file=True) is False
    assert own.read_text() == 'database_url = "postgresql://prod/fairengage"\n'
    own.unlink()
    assert demo.write_config(settings, key_file=True) is True
    # What it wrote is a settings file these settings read back, and it can be rewritten by the next demo.
    (in_folder / ".fairengage-demo-key").write_text(KEY)
    again = Settings()
    assert again.database_url == "sqlite:///./fairengage-demo.db"
    assert again.secret_key.get_secret_value() == KEY
    assert demo.write_config(settings, key_file=True) is True
