"""The attacker's bet that counts never shrink between snapshots (issue 10, the leak of 2026-12-02).

Late records only add to a cell, so an attacker who reads a later release beside an earlier one may
assume each cell's count grew or stayed: then the published quarters of a later snapshot cap the
withheld quarter of the earlier one. The check must protect against that attacker, and must not fail
when the figures themselves show a count shrank (a record corrected or destroyed): then the bet is
off for the attacker too.
"""

from __future__ import annotations

import json
from pathlib import Path

from fairengage.reports.disclosure import (
    MODELS,
    Model,
    build_system,
    failing,
    intervals,
    protect_release,
    read_release,
)

from .test_disclosure import THRESHOLD, release

FIRST_DAY = "2026-01-05"
LATER_DAY = "2026-02-02"  # after late records of the year arrived


def _quarters(indigenous: list[int]) -> list[dict[tuple[str, str], int]]:
    return [
        {("D11", "Black"): 40 + n, ("D11", "Indigenous"): count, ("D11", "White"): 50 + 2 * n}
        for n, count in enumerate(indigenous)
    ]


def _worst(folders: list[Path], model: Model) -> list[tuple[str, int, int]]:
    system = build_system(
        [read_release(f) for f in folders], THRESHOLD, link_snapshots=model.link, growth=model.growth
    )
    found = intervals(system)
    assert found is not None, "the figures contradict this model"
    return [
        (system.figures[i][0].locator, v.low, v.high)
        for i, v in found.items()
        if failing(v.low, v.high, system.hidden[i], THRESHOLD)
    ]


def _publish(folders: list[Path], root: Path) -> tuple[list[Path], list[str]]:
    """Each release in turn through the check; the summaries."""
    done: list[Path] = []
    said: list[str] = []
    for folder in folders:
        target = root / folder.name
        target.mkdir(parents=True)
        (target / "report.public.json").write_text((folder / "report.public.json").read_text())
        result = protect_release(target, done, threshold=THRESHOLD)
        assert result.ok, result.summary
        said.append(result.summary)
        done.append(target)
    return done, said


def _sequence(tmp_path: Path, first: list[int], later: list[int]) -> list[Path]:
    """The year's quarters taken on one day, then the year taken after late records arrived."""
    quarters = _quarters(first)
    folders = [
        release(tmp_path / "raw" / f"2025-Q{n}", f"2025-Q{n}", q, as_of=FIRST_DAY)
        for n, q in enumerate(quarters, 1)
    ]
    grown = _quarters(later)
    year = {cell: sum(q[cell] for q in grown) for cell in grown[0]}
    folders.append(release(tmp_path / "raw" / "2025", "2025", year, as_of=LATER_DAY))
    return folders


def test_the_strongest_model_comes_first():
    assert MODELS[0] == Model(link=True, growth=True)
    # The last resort: nothing linked, no growth, and a catch-all area beside the divisions listed.
    assert MODELS[-1] == Model(link=False, growth=False, closed=False)
    assert all(m.closed for m in MODELS[:-1])
    assert len(set(MODELS)) == len(MODELS) == 5


def test_a_later_year_caps_an_earlier_withheld_quarter_only_for_an_attacker_betting_on_growth(tmp_path):
    # Q4 held 3 Indigenous people on the first day; one more Q1 record arrived late.
    folders = _sequence(tmp_path, [12, 11, 10, 3], [13, 11, 10, 3])
    locator = "disproportionality D11 × Indigenous count"
    # Without the bet, the later year says nothing about the first day's Q4.
    assert not [w for w in _worst(folders, Model(True, False)) if w[0] == locator]
    # With it: Q1–Q3 later are at least 12 + 11 + 10, so Q4 later (and before) is at most 37 − 33 = 4.
    narrowed = [w for w in _worst(folders, Model(True, True)) if w[0] == locator]
    assert narrowed and all(high <= 4 for _, _, high in narrowed)


def test_the_check_protects_against_the_growth_bet(tmp_path):
    folders = _sequence(tmp_path, [12, 11, 10, 3], [13, 11, 10, 3])
    done, said = _publish(folders, tmp_path / "protected")
    assert _worst(done, Model(True, True)) == []
    assert _worst(done, Model(True, False)) == []
    # The year paid for it: its Indigenous figure (or what gives it) is withheld.
    year = json.loads((done[-1] / "report.public.json").read_text())
    assert any(row["suppressed"] for row in year["disproportionality"])
    assert "more figure(s) withheld" in said[-1]


def test_a_count_that_shrank_turns_the_bet_off_and_the_release_still_passes(tmp_path):
    # Q2 lost two White records between the days (a perceived race corrected to Black): growth is
    # contradicted by the figures, so the attacker (and the check) drop the bet.
    first = _quarters([12, 11, 10, 3])
    later = _quarters([12, 11, 10, 3])
    later[1][("D11", "White")] -= 2
    later[1][("D11", "Black")] += 2
    folders = [
        release(tmp_path / "raw" / f"2025-Q{n}", f"2025-Q{n}", q, as_of=FIRST_DAY)
        for n, q in enumerate(first, 1)
    ]
    year = {cell: sum(q[cell] for q in later) for cell in later[0]}
    folders.append(release(tmp_path / "raw" / "2025", "2025", year, as_of=LATER_DAY))
    done, _ = _publish(folders, tmp_path / "protected")
    system = build_system([read_release(f) for f in done], THRESHOLD, growth=True)
    # The year's White figure is below the first day's four published White quarters: no growth.
    assert intervals(system) is None
    assert _worst(done, Model(True, False)) == []
