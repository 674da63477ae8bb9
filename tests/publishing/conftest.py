"""Fixtures for publishing: a database with synthetic records, and a publications folder per test."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest

from fairengage.db import transaction
from fairengage.engagements import bulk
from fairengage.ingest import synth

ROSTER = 12
SEED = 7


@pytest.fixture
def root(settings, tmp_path: Path) -> Path:
    """This test's publications folder, configured in the settings."""
    settings.publications_dir = tmp_path / "publications"
    return settings.publications_dir


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch) -> Path:
    """The system's temporary folder for this test, so what a build leaves there can be seen."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def loaded(sessions, settings):
    """Records from May 2024 to June 2025, loaded through the bulk loader as the demo loads them."""
    frame = synth.generate(300, seed=SEED, officers=ROSTER, start=date(2024, 5, 1), end=date(2025, 6, 30),
                           with_details=True)  # fmt: skip
    roster = [bulk.RosterEntry(o.badge, o.name, o.division, (date(2023, 9, 1),))
              for o in synth.officers_roster(ROSTER, SEED)]  # fmt: skip
    with transaction(sessions) as session:
        officers = bulk.ensure_officers(session=session, roster=roster)
        bulk.load_frame(session=session, frame=frame, officers=officers, settings=settings, actor="test")
    return frame


@pytest.fixture
def check_passes(monkeypatch) -> list[tuple[Path, list[Path]]]:
    """The disclosure check answering "safe", for tests of the workflow around it; the calls it got.

    Three hundred synthetic records are too few for the real check to prove a release safe (it fails
    closed, as it must: tests/publishing/test_publishing_service.py shows a blocked release); the check
    itself is tested in tests/reports/test_disclosure.py. Only the check is replaced: the build is real.
    """
    from fairengage.reports import disclosure

    calls: list[tuple[Path, list[Path]]] = []

    def safe(candidate: Path, published: list[Path], *, threshold: int) -> disclosure.DisclosureResult:
        calls.append((Path(candidate), list(published)))
        return disclosure.DisclosureResult(ok=True, blocking=(), further_suppressed=0, summary="checked")

    monkeypatch.setattr(disclosure, "protect_release", safe)
    return calls
