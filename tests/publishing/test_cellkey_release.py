"""A cell-key release end to end through publishing/service.py (FAIRENGAGE_DISCLOSURE_METHOD=cellkey)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from fairengage.analytics.counts import CITY
from fairengage.db import transaction
from fairengage.engagements import bulk
from fairengage.ingest import synth
from fairengage.publishing import service
from fairengage.reports import cellkey_release, publications
from publishing.conftest import ROSTER, SEED

SECTION_COUNTS = {
    "disproportionality": ("count", "total"),
    "disparity": ("count", "total"),
    "outcome_test": ("searches", "hits"),
    "compliance": ("count", "total"),
}


def _key(section: str, row: dict) -> tuple:
    return (row["area"], row.get("group"), row.get("measure"))


def _published_counts(folder: Path) -> list[tuple[str, int]]:
    """Every count of report.public.json's tables, annual figures and trend, and of every open-data CSV."""
    public = json.loads((folder / "report.public.json").read_text())
    found: list[tuple[str, int]] = []
    for section, keys in SECTION_COUNTS.items():
        for row in public[section]:
            found += [(f"{section} {_key(section, row)} {k}", row[k]) for k in keys if row.get(k) is not None]
    annual = public["annual"]
    for name in ("attempts", "collected", "not_collected"):
        found.append((f"annual {name}", annual[name]))
    for name in ("by_age", "by_gender", "by_race", "by_division"):
        found += [(f"annual {name} {k}", v) for k, v in annual[name].items()]
    found += [
        (f"quality {f['field']}", f["count"])
        for f in public["data_quality"]["fields"]
        if f["count"] is not None
    ]
    found += [(f"trend attempts {i}", v) for i, v in enumerate(public["trends"]["attempts"])]
    for path in sorted((folder / "open-data").glob("*.csv")):
        frame = pd.read_csv(path)
        for column in frame.columns:
            if column in ("count", "total", "searches", "hits"):
                found += [(f"{path.name} {column}", int(v)) for v in frame[column].dropna()]
    return found


@pytest.fixture
def cellkey_settings(settings, root):
    settings.disclosure_method = "cellkey"
    return settings


def _build_and_publish(sessions, settings, period: str, reason: str | None = None) -> service.Release:
    draft = service.build_release(
        sessions=sessions, settings=settings, period=period, actor="ana", reason=reason
    )
    assert draft.disclosure_ok, draft.disclosure
    return service.approve(sessions=sessions, settings=settings, release_id=draft.id, actor="bob")


def _late_records(sessions, settings, division: str) -> pd.DataFrame:
    """Late records of 2024, all in one division, loaded as the first ones were."""
    frame = synth.generate(60, seed=SEED + 1, officers=ROSTER, start=date(2024, 6, 1), end=date(2024, 11, 30),
                           with_details=True)  # fmt: skip
    frame = frame[frame["division"] == division]
    assert len(frame) >= 1
    roster = [bulk.RosterEntry(o.badge, o.name, o.division, (date(2023, 9, 1),))
              for o in synth.officers_roster(ROSTER, SEED + 1)]  # fmt: skip
    with transaction(sessions) as session:
        officers = bulk.ensure_officers(session=session, roster=roster)
        bulk.load_frame(session=session, frame=frame, officers=officers, settings=settings, actor="test")
    return frame


@pytest.mark.slow  # Builds a whole release, board and public, HTML and PDF.
def test_a_cellkey_release_perturbs_every_public_count_and_keeps_the_board_exact(
    sessions, cellkey_settings, root, loaded
):
    settings = cellkey_settings
    first = _build_and_publish(sessions, settings, "2024")
    folder = root / first.folder
    public = json.loads((folder / "report.public.json").read_text())
    board = json.loads((folder / "report.json").read_text())

    # The ledger and the release state the method, its table and its error.
    assert first.disclosure["method"] == "cellkey"
    assert first.disclosure["ptable_sha256"] == cellkey_release.ptable_sha256()
    assert first.disclosure["max_noise"] == 3 and 0 < first.disclosure["expected_absolute_error"] < 1
    stated = public["meta"]["disclosure"]
    assert (stated["method"], stated["max_noise"]) == ("cellkey", 3)
    manifest = json.loads((folder / "open-data" / "manifest.json").read_text())
    assert manifest["disclosure"]["ptable_sha256"] == stated["ptable_sha256"]
    assert manifest["rule"] == "CELL-KEY"

    # No published count is 1 or 2, and none is withheld.
    counts = _published_counts(folder)
    assert len(counts) > 500
    assert [c for c in counts if c[1] in (1, 2)] == []
    assert all(not row["suppressed"] for s in SECTION_COUNTS for row in public[s])

    # Every count within ±3 of the board's exact one, and some actually moved.
    moved = 0
    for section, keys in SECTION_COUNTS.items():
        exact = {_key(section, r): r for r in board[section]}
        for row in public[section]:
            for k in keys:
                truth = exact[_key(section, row)][k]
                assert abs(row[k] - truth) <= 3, (section, row, k, truth)
                assert truth != 0 or row[k] == 0
                moved += row[k] != truth
    for name in ("by_race", "by_division", "by_age", "by_gender"):
        for k, v in public["annual"][name].items():
            assert abs(v - board["annual"][name][k]) <= 3
    assert moved > 50

    # The board's version is exact: its city counts are the loaded records of 2024 by group.
    year = loaded[pd.to_datetime(loaded["occurred_at"], utc=True).dt.tz_convert(settings.tz).dt.year == 2024]
    exact_by_group = year.groupby("perceived_race").size().to_dict()
    for row in board["disproportionality"]:
        if row["area"] == CITY:
            assert row["count"] == exact_by_group.get(row["group"], 0)
    assert board["meta"]["rows"] == len(year)

    # The same cell is the same value in every table that shows it.
    dispro = {(r["area"], r["group"]): r for r in public["disproportionality"]}
    for row in public["disparity"]:
        if (row["area"], row["group"]) in dispro:
            assert row["total"] == dispro[(row["area"], row["group"])]["count"]
    compliance = {(r["area"], r["measure"]): r for r in public["compliance"]}
    for area, n in public["annual"]["by_division"].items():
        assert compliance[(area, "compliant")]["total"] == n
    attempts = public["annual"]["attempts"]
    assert attempts == compliance[(CITY, "compliant")]["total"] == public["meta"]["rows"]
    assert public["annual"]["collected"] == compliance[(CITY, "identifying_info_collected")]["count"]
    for group, n in public["annual"]["by_race"].items():
        if (CITY, group) in dispro:
            assert dispro[(CITY, group)]["count"] == n
    csv = pd.read_csv(folder / "open-data" / "disparity.csv")
    for row in csv.itertuples():
        match = next(
            r
            for r in public["disparity"]
            if (r["area"], r["group"], r["measure"]) == (row.area, row.group, row.measure)
        )
        assert (row.count, row.total) == (match["count"], match["total"])

    # Rates, shares and indexes are worked out from the published counts.
    for row in public["disparity"]:
        if row["total"]:
            assert row["rate"] == pytest.approx(row["count"] / row["total"], abs=1e-3)
        assert row["ci_low"] is None and row["ci_high"] is None
    for row in public["compliance"]:
        assert row["rate"] == pytest.approx(min(row["count"] / row["total"], 1), abs=1e-3)
    for row in public["disproportionality"]:
        if row["total"] and row["population"]:
            share = row["population"] / row["population_total"]
            assert row["index"] == pytest.approx(row["count"] / row["total"] / share, rel=1e-2, abs=1e-3)
    # The dashboard's figures are the file's: no guard blanks a published 0, 3 or 4.
    shown = publications.load(root, "2024")
    assert shown.rows("disproportionality") == [
        {**r, "suppressed": False} for r in public["disproportionality"]
    ]


@pytest.mark.slow  # a release built, checked and published end to end
def test_a_rerun_with_late_records_keeps_every_untouched_cell_and_the_trend_agrees(
    sessions, cellkey_settings, root, loaded
):
    settings = cellkey_settings
    first = _build_and_publish(sessions, settings, "2024")
    late = _late_records(sessions, settings, "D14")
    second = _build_and_publish(sessions, settings, "2024", reason="late records from D14")
    one = json.loads((root / first.folder / "report.public.json").read_text())
    two = json.loads((root / second.folder / "report.public.json").read_text())
    board_one = json.loads((root / first.folder / "report.json").read_text())
    board_two = json.loads((root / second.folder / "report.json").read_text())
    assert board_two["meta"]["rows"] == board_one["meta"]["rows"] + len(late)
    # A division the late records did not touch: the same engagements, so the same published figures.
    untouched = 0
    for section in SECTION_COUNTS:
        before = {_key(section, r): r for r in one[section]}
        for row in two[section]:
            if row["area"] not in ("D14", CITY):
                assert {k: row[k] for k in SECTION_COUNTS[section]} == {
                    k: before[_key(section, row)][k] for k in SECTION_COUNTS[section]
                }
                untouched += 1
    assert untouched > 100
    # Differencing the two releases where the late records went does not give their exact numbers.
    exact_one = {(r["area"], r["group"]): r["count"] for r in board_one["disproportionality"]}
    exact_two = {(r["area"], r["group"]): r["count"] for r in board_two["disproportionality"]}
    shown_one = {(r["area"], r["group"]): r["count"] for r in one["disproportionality"]}
    shown_two = {(r["area"], r["group"]): r["count"] for r in two["disproportionality"]}
    changed = [c for c in exact_two if c[0] == "D14" and exact_two[c] != exact_one[c]]
    assert changed
    guesses = [shown_two[c] - shown_one[c] == exact_two[c] - exact_one[c] for c in changed]
    assert not all(guesses), "every difference of published counts gave the exact number of late records"

    # The next year's release shows 2024 in its trend: the same cells as 2024's own (latest) release.
    third = _build_and_publish(sessions, settings, "2025")
    folder = root / third.folder
    trend = pd.read_csv(folder / "open-data" / "trends_by_period_and_group.csv", dtype={"period": str})
    of_2024 = trend[trend["period"] == "2024"].set_index("perceived_race")["count"]
    for group, n in two["annual"]["by_race"].items():
        if group in of_2024.index:
            assert of_2024[group] == n, group
    assert of_2024[CITY] == two["annual"]["attempts"]
    public = json.loads((folder / "report.public.json").read_text())
    assert public["trends"]["attempts"][0] == two["annual"]["attempts"]
    assert [c for c in _published_counts(folder) if c[1] in (1, 2)] == []


@pytest.mark.slow  # a release built, checked and published end to end
def test_a_release_that_does_not_use_the_method_is_blocked(
    sessions, cellkey_settings, root, loaded, tmp_path, monkeypatch
):
    settings = cellkey_settings
    draft = service.build_release(sessions=sessions, settings=settings, period="2024", actor="ana")
    folder = root / draft.folder
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in publications.public_files(folder):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes((folder / name).read_bytes())
    assert cellkey_release.check_release(copy)[0]
    # A 2 slipped into open data: the check names it.
    path = copy / "open-data" / "compliance.csv"
    frame = pd.read_csv(path)
    frame.loc[0, "count"] = 2
    frame.to_csv(path, index=False)
    ok, summary, _ = cellkey_release.check_release(copy)
    assert not ok and "1 or 2" in summary
    # A release stating another table is not approvable.
    public = json.loads((copy / "report.public.json").read_text())
    public["meta"]["disclosure"]["ptable_sha256"] = "0" * 64
    (copy / "report.public.json").write_text(json.dumps(public))
    assert not cellkey_release.check_release(copy)[0]
    # The gate: a draft whose build named a table other than this software's is not approved.
    with monkeypatch.context() as patched:
        patched.setattr(cellkey_release, "ptable_sha256", lambda: "f" * 64)
        with pytest.raises(service.PublishRefused, match="cell-key table other than this software's"):
            service.approve(sessions=sessions, settings=settings, release_id=draft.id, actor="bob")
    assert service.approve(sessions=sessions, settings=settings, release_id=draft.id, actor="bob").status == (
        "published"
    )
