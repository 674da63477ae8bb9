"""The cross-release disclosure check a release must pass before it may be published.

This is a placeholder with the agreed interface: it checks only that the candidate's own public files
exist. The real check (differencing across every release ever made downloadable) replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REQUIRED = ("report.public.json",)


@dataclass(frozen=True)
class BlockingFigure:
    """A figure an attacker could pin down from everything published, and what they could prove about it."""

    release: str  # the candidate's folder name or period
    file: str  # e.g. "report.public.json" or "open-data/trends_by_period_and_group.csv"
    figure: str  # a human-readable locator, e.g. "disproportionality D31 × White count"
    low: int
    high: int


@dataclass(frozen=True)
class DisclosureResult:
    """The check's verdict: ok, or the figures that block the release."""

    ok: bool  # False: fail closed, do not publish
    blocking: tuple[BlockingFigure, ...]
    further_suppressed: int  # figures protect_release hid in the candidate
    summary: str  # one plain sentence for the analyst


def protect_release(candidate: Path, published: Sequence[Path], *, threshold: int) -> DisclosureResult:
    """Check a candidate release against every earlier one (here: only that its own files exist)."""
    missing = [name for name in REQUIRED if not (Path(candidate) / name).is_file()]
    if missing:
        blocking = tuple(
            BlockingFigure(release=Path(candidate).name, file=name, figure="the file itself", low=0, high=0)
            for name in missing
        )
        return DisclosureResult(False, blocking, 0, f"the candidate has no {', '.join(missing)}")
    return DisclosureResult(True, (), 0, "cross-release check not yet installed")
