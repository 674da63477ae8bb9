"""A signing key, a checkpoint folder and the environment the CLI reads, for the transparency tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from fairengage.access import audit, transparency
from fairengage.config import Settings, get_settings
from fairengage.db import engine_for


@dataclass
class Signing:
    """The test's key file, checkpoint folder and settings, and a way to run `fairengage`."""

    key_file: Path
    folder: Path
    settings: Settings

    def cli(self, *args: str) -> Result:
        """Run the real command line, as `fairengage ARGS`, on the test database."""
        from fairengage import cli

        get_settings.cache_clear()
        return CliRunner().invoke(cli.app, list(args))

    @property
    def signer(self) -> transparency.Signer:
        """The service's signer."""
        signer = transparency.signer_for(self.settings)
        assert signer is not None
        return signer


@pytest.fixture
def signing(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Signing]:
    """A key file and a checkpoint folder set both on the test's settings and in the CLI's environment."""
    key_file = tmp_path / "audit-signing.pem"
    transparency.keygen(key_file)
    folder = tmp_path / "checkpoints"
    settings.audit_signing_key_file = key_file
    settings.audit_checkpoint_dir = folder
    for name, value in {
        "FAIRENGAGE_DATABASE_URL": settings.database_url,
        "FAIRENGAGE_SECRET_KEY": settings.secret_key.get_secret_value(),
        "FAIRENGAGE_PUBLIC_URL": settings.public_url,
        "FAIRENGAGE_AUDIT_SIGNING_KEY_FILE": str(key_file),
        "FAIRENGAGE_AUDIT_CHECKPOINT_DIR": str(folder),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    transparency.bind(engine_for(settings.database_url), settings)
    yield Signing(key_file, folder, settings)
    get_settings.cache_clear()
    # The engine outlives the test (on PostgreSQL the next test shares it): drop this test's floor.
    audit.set_guard(engine_for(settings.database_url), audit.Guard(audit.journal_mac_key(settings.secret)))
