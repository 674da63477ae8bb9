"""Where settings come from besides the environment: the settings file, found without importing pydantic.

The command line imports this, not `fairengage.config`, at start: pydantic-settings takes a large share of
a second to import, and `fairengage --help` needs no settings at all.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fairengage.config import Settings

# The settings file (docs/administrator.md#the-settings-file): named by FAIRENGAGE_CONFIG (which `--config`
# sets), else fairengage.toml in the working folder when there is one. The environment overrides it.
CONFIG_ENV = "FAIRENGAGE_CONFIG"
DEFAULT_CONFIG_FILE = Path("fairengage.toml")
# KEY=value lines (docs/deployment.md#where-settings-come-from): beside the settings file named by
# FAIRENGAGE_CONFIG, else in the working folder. The environment wins over it, and it over the TOML file.
DEFAULT_ENV_FILE = Path(".env")


class ConfigFileError(Exception):
    """The settings file is missing, is not TOML, or names a setting that does not exist."""


def config_file() -> Path | None:
    """The settings file in force, or None."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def env_file() -> Path | None:
    """The .env file in force, or None: the one beside the settings file, else .env in the working folder."""
    named = os.environ.get(CONFIG_ENV)
    candidate = Path(named).parent / DEFAULT_ENV_FILE if named else DEFAULT_ENV_FILE
    return candidate if candidate.is_file() else None


def check_env_file(path: Path, known: Collection[str]) -> None:
    """Refuse a .env file naming a FAIRENGAGE_ setting that does not exist, as the settings file does.

    Other names are left alone: a .env is often shared with other tools of the same deployment.
    """
    # deferred: only a command that reads settings needs it, keeps --help fast
    from dotenv import dotenv_values

    try:
        names = dotenv_values(path, encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"{path}: not a text file ({exc})") from None
    prefix = "FAIRENGAGE_"
    for name in names:
        if name.upper().startswith(prefix) and name[len(prefix) :].lower() not in {*known, "config"}:
            raise ConfigFileError(
                f"{path}: unknown setting {name!r} (settings are FAIRENGAGE_ and a name from "
                "docs/deployment.md#settings)"
            )


def read_config_file(path: Path, known: Collection[str]) -> dict[str, Any]:
    """The file's settings, refusing a file that cannot be used with a one-line reason."""
    import tomllib  # deferred: only a command that reads settings needs it, keeps --help fast

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"{path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: not a TOML file ({exc})") from None
    # A misspelt setting silently ignored would leave the default in force: refuse it, naming it.
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigFileError(
            f"{path}: unknown setting {unknown[0]!r} (settings are named as in FAIRENGAGE_*, "
            "lower case, without the prefix)"
        )
    return data


def get_settings() -> Settings:
    """The settings, read once per process (fairengage.config.get_settings), for the command line."""
    # deferred: heavy library (pydantic-settings), keeps --help fast
    from fairengage.config import get_settings as read_settings

    return read_settings()
