"""Disclosure control across releases: the tester's attack recovers small counts from today's releases,
and recovers none once every release goes through `protect_release`.

The end-to-end runs use tests/reports/adversary.py's sequence (a year and its quarters, the next year to
June with its quarters, then the first year re-run after 2 % of its records arrived late), three
divisions, all perceived-race groups. Unprotected: seed 1, 800 engagements, the whole sequence. Protected
(in the suite): seed 1, 800 engagements, 2025's quarters, 2025, 2026 and the re-run. Run by hand on
2026-12-02 with the same sequence: seeds 1 and 2 at 800 engagements, both passing (pass share 100 %; no
count below the threshold narrowed, none pinned for seed 2, one figure of 23 pinned for seed 1 that two
published quarters add up to). Property tests draw random tables and release sequences (hypothesis) and
attack them the same way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fairengage.reports import suppression
from fairengage.reports.builder import public_governance
from fairengage.reports.disclosure import (
    DisclosureInputError,
    _bounds_before,
    _sync_counts,
    build_system,
    failing,
    intervals,
    protect_release,
    protection_level,
    read_release,
)
from fairengage.vocabulary import PERCEIVED_RACES, UNKNOWN

from . import adversary

THRESHOLD = 10
GROUPS = ("Black", "Indigenous", "White")


# --- small hand-made releases ---------------------------------------------------------------------


def release(
    folder: Path, period: str, counts: dict[tuple[str, str], int], *, as_of: str = "2026-07-01"
) -> Path:
    """A public release holding one disproportionality table, suppressed as today's reports are."""
    areas = sorted({a for a, _ in counts})
    rows = []
    for area in areas:
        total = sum(v for (a, _), v in counts.items() if a == area)
        rows += [
            {"area": area, "group": g, "count": counts.get((area, g), 0), "total": total, "population": 100}
            for g in GROUPS
        ]
    city_total = sum(counts.values())
    rows += [
        {
            "area": "ALL",
            "group": g,
            "count": sum(v for (_, gg), v in counts.items() if gg == g),
            "total": city_total,
            "population": 100,
        }
        for g in GROUPS
    ]
    exact = {
        "disproportionality": rows,
        "meta": {"report_period": {"label": period}, "generated_at": f"{as_of}T12:00:00+00:00"},
    }
    public = suppression.suppress_report(exact, threshold=THRESHOLD)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.public.json").write_text(json.dumps(public))
    return folder


def worst(folders: list[Path]) -> list[tuple[str, int, int]]:
    """The hidden figures an attacker pins or narrows below the protection rule."""
    system = build_system([read_release(f) for f in folders], THRESHOLD)
    found = intervals(system)
    assert found is not None
    return [
        (system.figures[i][0].locator, v.low, v.high)
        for i, v in found.items()
        if failing(v.low, v.high, system.hidden[i], THRESHOLD)
    ]


def test_a_year_minus_three_quarters_gives_the_fourth(tmp_path):
    quarters = [
        {("D11", "Black"): 40, ("D11", "Indigenous"): 12, ("D11", "White"): 50},
        {("D11", "Black"): 41, ("D11", "Indigenous"): 11, ("D11", "White"): 52},
        {("D11", "Black"): 43, ("D11", "Indigenous"): 10, ("D11", "White"): 49},
        {("D11", "Black"): 39, ("D11", "Indigenous"): 3, ("D11", "White"): 55},
    ]
    year = {k: sum(q[k] for q in quarters) for k in quarters[0]}
    folders = [release(tmp_path / f"2025-Q{n}", f"2025-Q{n}", q) for n, q in enumerate(quarters, 1)]
    folders.append(release(tmp_path / "2025", "2025", year))
    # Today's per-report suppression hides the 3 in Q4, but the year minus Q1–Q3 gives it back.
    assert ("disproportionality D11 × Indigenous count", 3, 3) in worst(folders)

    done = protect_all(folders, tmp_path / "protected")
    assert worst(done) == []
    # The year paid for it with further withheld figures, marked as protecting another.
    year_public = json.loads((tmp_path / "protected" / "2025" / "report.public.json").read_text())
    reasons = {r.get("suppressed_reason") for r in year_public["disproportionality"] if r["suppressed"]}
    assert "protects" in reasons


def test_the_year_first_then_its_quarters_leaves_the_last_quarter_unknown(tmp_path):
    """Year first, then Q1–Q3: Q3 with the rest would give Q4 before it is published; Q3 withholds it."""
    quarters = [{("D11", "Indigenous"): n, ("D11", "White"): 50} for n in (12, 11, 10, 3)]
    year = {k: sum(q[k] for q in quarters) for k in quarters[0]}
    folders = [release(tmp_path / "2025", "2025", year)]
    folders += [release(tmp_path / f"2025-Q{n}", f"2025-Q{n}", q) for n, q in enumerate(quarters[:3], 1)]
    assert any("2025-Q4" in name and low == high for name, low, high in worst(folders))
    done = protect_all(folders, tmp_path / "protected")
    assert worst(done) == []


def test_releases_that_contradict_one_another_fail_closed(tmp_path):
    folder = release(
        tmp_path / "2025", "2025", {("D11", "Black"): 40, ("D11", "Indigenous"): 30, ("D11", "White"): 50}
    )
    public = json.loads((folder / "report.public.json").read_text())
    for row in public["disproportionality"]:
        if row["area"] == "ALL" and row["group"] == "White":
            row["count"] = 20  # the city's figure below its one division's
    (folder / "report.public.json").write_text(json.dumps(public))
    result = protect_release(folder, [], threshold=THRESHOLD)
    assert not result.ok and result.blocking
    assert "contradict" in result.summary


def protect_all(folders: list[Path], root: Path) -> list[Path]:
    """Copy each release and publish it in turn through protect_release; every one must pass."""
    done: list[Path] = []
    for folder in folders:
        target = root / folder.name
        target.mkdir(parents=True)
        (target / "report.public.json").write_text((folder / "report.public.json").read_text())
        result = protect_release(target, done, threshold=THRESHOLD)
        assert result.ok, result.summary
        done.append(target)
    return done


def test_a_release_checked_alone_is_clean_and_untouched(tmp_path):
    folder = release(
        tmp_path / "2025", "2025", {("D11", "Black"): 40, ("D11", "Indigenous"): 30, ("D11", "White"): 50}
    )
    before = (folder / "report.public.json").read_text()
    result = protect_release(folder, [], threshold=THRESHOLD)
    assert result.ok and result.further_suppressed == 0 and result.blocking == ()
    assert (folder / "report.public.json").read_text() == before


def test_a_folder_without_a_public_report_is_refused_by_name(tmp_path):
    with pytest.raises(DisclosureInputError, match=r"report\.public\.json"):
        protect_release(tmp_path, [], threshold=THRESHOLD)


def _rewrite_first_row(row: dict, field: str, value: object) -> None:
    if value is _GONE:
        del row[field]
    else:
        row[field] = value


_GONE = object()


# An administrator, or a tool other than this one, rewrites an earlier release's public file. The check
# must refuse it by file and figure, not round 3.5 to 3, read -2 as a count or stop on a bare traceback,
# and must leave the candidate untouched.
@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("count", "twelve", r"disproportionality D11 × Black count: not a count: 'twelve'"),
        ("count", 3.5, r"disproportionality D11 × Black count: not a count: 3\.5"),
        ("count", -2, r"disproportionality D11 × Black count: not a count: -2"),
        ("count", [40], r"disproportionality D11 × Black count: not a count: \[40\]"),
        ("area", _GONE, r"disproportionality: not as a public report is written \(no 'area'\)"),
    ],
)
def test_a_rewritten_earlier_release_is_refused_by_file_and_figure(tmp_path, field, value, says):
    counts = {("D11", "Black"): 40, ("D11", "Indigenous"): 30, ("D11", "White"): 50}
    earlier = release(tmp_path / "2024", "2024", counts)
    public = json.loads((earlier / "report.public.json").read_text())
    _rewrite_first_row(public["disproportionality"][0], field, value)
    (earlier / "report.public.json").write_text(json.dumps(public))
    candidate = release(tmp_path / "2025", "2025", counts)
    before = (candidate / "report.public.json").read_text()
    with pytest.raises(
        DisclosureInputError, match=str(earlier / "report.public.json").replace(".", r"\.")
    ) as e:
        protect_release(candidate, [earlier], threshold=THRESHOLD)
    assert re.search(says, str(e.value)), str(e.value)
    assert "\n" not in str(e.value)
    assert (candidate / "report.public.json").read_text() == before


def test_a_rewritten_rate_or_meta_is_refused_by_section(tmp_path):
    counts = {("D11", "Black"): 40, ("D11", "Indigenous"): 30, ("D11", "White"): 50}
    folder = release(tmp_path / "2024", "2024", counts)
    public = json.loads((folder / "report.public.json").read_text())
    public["compliance"] = [
        {"area": "ALL", "measure": "compliant", "count": None, "total": 120, "rate": "high"}
    ]
    (folder / "report.public.json").write_text(json.dumps(public))
    with pytest.raises(DisclosureInputError, match=r"compliance: not as a public report is written"):
        read_release(folder)
    public.pop("compliance")
    public["meta"] = ["2024"]
    (folder / "report.public.json").write_text(json.dumps(public))
    with pytest.raises(DisclosureInputError, match=r"report\.public\.json: meta: not as a public report"):
        read_release(folder)


def test_a_rewritten_trend_table_is_refused_by_row_and_column(tmp_path):
    folder = release(tmp_path / "2025", "2025", {("D11", "Black"): 40, ("D11", "White"): 50})
    table = folder / "open-data" / "trends_by_period_and_group.csv"
    table.parent.mkdir()
    table.write_text("period,perceived_race,count\n2025,Black,40\n2025,White,5O\n")
    with pytest.raises(
        DisclosureInputError, match=r"trends_by_period_and_group\.csv: row 3, column count: not a count: '5O'"
    ):
        read_release(folder)


def test_the_protection_level_is_half_the_threshold():
    assert protection_level(10) == 5
    assert failing(3, 3, "protects", 10)  # pinned, whatever its size
    assert failing(0, 4, "small", 10) and not failing(0, 9, "small", 10)
    assert not failing(40, 41, "protects", 10)
    # A count proven to be 0 counts no one; 0 met so far, not proven, may still be 7.
    assert not failing(0, 0, "small", 10) and not failing(0, 0, None, 10)
    assert failing(0, 0, "small", 10, proven=False)
    assert failing(1, 1, "small", 10) and failing(0, 2, "small", 10)


# Derandomised: the same 15 sequences on every run. A random run once found a hidden total of 317 pinned:
# a year's division total withheld (it protects the division's cells) that its four published quarters
# add up to. The rule (docs/open-data.md): a hidden count may end pinned only when the earlier releases
# alone pin it to that value (it is published in all but name); the property checks exactly that.
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=st.lists(
        st.lists(st.integers(min_value=0, max_value=60), min_size=len(GROUPS) * 2, max_size=len(GROUPS) * 2),
        min_size=2,
        max_size=4,
    )
)
def test_property_no_release_sequence_leaves_a_count_pinned(tmp_path_factory, data):
    """Random quarters of two divisions, the year and each quarter published in turn, each protected."""
    root = tmp_path_factory.mktemp("seq")
    cells = [(a, g) for a in ("D11", "D14") for g in GROUPS]
    quarters = [dict(zip(cells, q, strict=True)) for q in data]
    year = {c: sum(q[c] for q in quarters) for c in cells}
    sequence = [(f"2025-Q{n}", q) for n, q in enumerate(quarters, 1)] + [("2025", year)]
    done: list[Path] = []
    for period, counts in sequence:
        folder = release(root / period, period, counts)
        result = protect_release(folder, done, threshold=THRESHOLD)
        if not result.ok:
            # Failing closed is allowed; publishing something that leaks is not.
            assert result.blocking
            continue
        done.append(folder)
    assert [(where, low, high) for where, low, high in worst(done) if low < THRESHOLD] == []
    assert pinned_by_others(done) == []


def pinned_by_others(done: list[Path]) -> list[tuple[str, int, int]]:
    """Hidden counts pinned or narrowed although the releases before their own leave them open."""
    releases = [read_release(f) for f in done]
    system = build_system(releases, THRESHOLD)
    found = intervals(system)
    assert found is not None
    wrong = []
    for i, v in found.items():
        if not failing(v.low, v.high, system.hidden[i], THRESHOLD):
            continue
        first = min(n for n, r in enumerate(releases) for f in system.figures[i] if f.release == r.name)
        before = _bounds_before(releases[:first], [system.keys[i]], THRESHOLD, True).get(system.keys[i])
        if before != (v.low, v.high) or v.low < THRESHOLD:
            wrong.append((system.figures[i][0].locator, v.low, v.high))
    return wrong


def test_a_total_its_published_quarters_add_up_to_may_stay_pinned(tmp_path):
    """The run that found 317: the year withholds its division rows; their totals are the quarters' sum."""
    cells = [(a, g) for a in ("D11", "D14") for g in GROUPS]
    data = [[8, 18, 8, 48, 6, 39], [51, 16, 58, 34, 45, 51], [38, 57, 9, 19, 6, 46], [4, 57, 54, 43, 21, 30]]
    quarters = [dict(zip(cells, q, strict=True)) for q in data]
    year = {c: sum(q[c] for q in quarters) for c in cells}
    folders = [release(tmp_path / f"2025-Q{n}", f"2025-Q{n}", q) for n, q in enumerate(quarters, 1)]
    folders.append(release(tmp_path / "2025", "2025", year))
    done = protect_all(folders[:-1], tmp_path / "protected")
    target = tmp_path / "protected" / "2025"
    target.mkdir()
    (target / "report.public.json").write_text((folders[-1] / "report.public.json").read_text())
    result = protect_release(target, done, threshold=THRESHOLD)
    assert result.ok
    d11 = sum(v for (a, _), v in year.items() if a == "D11")
    rows = json.loads((target / "report.public.json").read_text())["disproportionality"]
    withheld = {r["area"] for r in rows if r["count"] is None}
    assert withheld, "the check withheld division rows of the year"
    # A withheld row keeps its total: shown in the area's other rows (and the quarters' sum anyway), it
    # is never labelled withheld in one row and shown in another.
    for area in withheld:
        assert len({r["total"] for r in rows if r["area"] == area}) == 1
    assert {r["total"] for r in rows if r["area"] == "D11"} == {d11}
    # Every quarter's D11 total is published: the year's is their sum, given away before this release.
    totals = [
        {
            r["area"]: r["total"]
            for r in json.loads((f / "report.public.json").read_text())["disproportionality"]
        }
        for f in done
    ]
    assert all(t["D11"] is not None for t in totals) and sum(t["D11"] for t in totals) == d11
    assert pinned_by_others([*done, target]) == []


# --- the people estimate -----------------------------------------------------------------------------


def test_attempts_minus_people_estimate_never_gives_a_small_count():
    summary = {"attempts": 500, "people": {"estimate": 497, "method": "m"}}
    assert public_governance(summary, THRESHOLD)["people"]["estimate"] is None
    summary["people"]["estimate"] = 450
    assert public_governance(summary, THRESHOLD)["people"]["estimate"] == 450


# --- the tester's sequence, end to end ----------------------------------------------------------------


@pytest.fixture(scope="module")
def unprotected(tmp_path_factory):
    folders, truth = adversary.demo_releases(
        tmp_path_factory.mktemp("plain"), records=800, seed=1, protect=False
    )
    return adversary.attack(folders), truth


@pytest.mark.slow  # Builds several whole releases to attack.
def test_the_attack_recovers_small_counts_from_unprotected_releases(unprotected):
    found, truth = unprotected
    recovered = [r for r in found if r.low == r.high]
    checked = [(r, adversary.truth_at(truth, r.key)) for r in recovered]
    checked = [(r, t) for r, t in checked if t is not None]
    # The adversary is right: every value it pins is the true count in the analytic table.
    assert checked and all(r.low == t for r, t in checked)
    small = [r for r, t in checked if t < THRESHOLD]
    assert len(small) >= 3, [(r.locator, r.low) for r in small]
    # Exact elimination agrees with the programmes wherever it applies.
    assert all(r.exact == r.low for r in found if r.exact is not None)


# The protected sequence publishes 2025's quarters, then 2025, then 2026 (whose trend table holds 2025),
# then 2025 re-run with its late records: every cross-release relation of the tester's attack, in a
# sequence short enough for the suite (each release is checked against all before it).
PROTECTED = ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2025", "2026")


@pytest.mark.slow  # the disclosure check over whole release sequences
@pytest.mark.parametrize(("seed", "records"), [(1, 800)])
def test_with_protection_the_attack_recovers_nothing(tmp_path_factory, seed, records):
    folders, truth = adversary.demo_releases(
        tmp_path_factory.mktemp(f"protected{seed}"), records=records, seed=seed, protect=True, only=PROTECTED
    )
    found = adversary.attack(folders)
    # A withheld count may be pinned only when it is not small and earlier releases already publish it
    # in parts (e.g. a trend total over two quarters, each published): the check cannot take it back.
    # Or when it is 0: a count proven to be 0 counts no one (the protection rule, docs/open-data.md).
    pinned = [(r.locator, r.low, adversary.truth_at(truth, r.key)) for r in found if r.low >= r.high]
    assert all(t is not None and (t >= THRESHOLD or t == 0) and low == t for _, low, t in pinned), pinned
    # Every withheld count below the threshold keeps a range at least half the threshold wide, unless it
    # is proven 0. A count the demo's truth table lacks (a compliance count) is below the threshold
    # unless the attack itself proves it is not (the attack is sound: its ranges hold the true count).
    narrow = [r for r in found if r.high - r.low < protection_level(THRESHOLD) and r.high > 0]
    small = [
        (r.locator, r.low, r.high)
        for r in narrow
        if ((t := adversary.truth_at(truth, r.key)) is not None and t < THRESHOLD)
        or (t is None and r.low < THRESHOLD)
    ]
    assert small == []


# --- soundness: the attacker's system never rules out what is true ------------------------------------

SCENARIO = st.builds(
    adversary.Scenario,
    seed=st.integers(min_value=0, max_value=10_000),
    records=st.integers(min_value=150, max_value=300),
    periods=st.lists(
        st.sampled_from(("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2025")),
        min_size=2,
        max_size=4,
        unique=True,
    ).map(tuple),
    rerun=st.sampled_from(("2025", "2025-Q4", "2026-Q2")),
    same_day=st.booleans(),
    late=st.sampled_from((0.0, 0.03)),
    corrected=st.sampled_from((0.0, 0.05)),
    destroyed=st.sampled_from((0.0, 0.02)),
)
# The register changes between runs in every way it can: late records, a corrected perceived race, a
# record destroyed under retention. The first found a re-run's count outside its range while re-runs
# were modelled as the older records plus late ones (records only ever added).
CORRECTED = adversary.Scenario(3, 250, ("2025-Q4", "2025"), "2025", False, 0.02, 0.05, 0.0)
DESTROYED = adversary.Scenario(4, 250, ("2025-Q3", "2025-Q4", "2025"), "2025-Q4", False, 0.0, 0.0, 0.02)
SAME_DAY = adversary.Scenario(5, 250, ("2025-Q1", "2025"), "2025", True, 0.03, 0.0, 0.0)


@pytest.mark.slow  # the disclosure check over whole release sequences
@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@example(scenario=CORRECTED)
@example(scenario=DESTROYED)
@example(scenario=SAME_DAY)
@given(scenario=SCENARIO)
def test_property_every_true_count_lies_in_its_range(tmp_path_factory, scenario):
    """Random release sequences from synthetic registers: each hidden count's true value is in its range."""
    folders = adversary.scenario_releases(tmp_path_factory.mktemp("sound"), scenario)
    assert adversary.unsound(folders, threshold=THRESHOLD) == []


def test_the_sweep_settles_exactly_the_figures_the_exact_ranges_would(tmp_path):
    """Ranges met by the sweep are inner ones: pass or fail, each figure is judged as its exact range is."""
    from fairengage.reports.disclosure import Solver, family_group

    quarters = [
        {("D11", "Black"): 40, ("D11", "Indigenous"): 12, ("D11", "White"): 50, ("D14", "Black"): 7},
        {("D11", "Black"): 41, ("D11", "Indigenous"): 4, ("D11", "White"): 52, ("D14", "Black"): 30},
        {("D11", "Black"): 3, ("D11", "Indigenous"): 10, ("D11", "White"): 49, ("D14", "White"): 9},
    ]
    folders = [release(tmp_path / f"2025-Q{n}", f"2025-Q{n}", q) for n, q in enumerate(quarters, 1)]
    system = build_system([read_release(f) for f in folders], THRESHOLD)
    found = intervals(system)
    assert found is not None
    solvers: dict[str, Solver] = {}
    judged = 0
    for i, interval in found.items():
        group = family_group(system.keys[i].family)
        solver = solvers.get(group) or solvers.setdefault(group, Solver(system, group))
        low, high, _ = solver.bounds(i)
        assert low <= interval.low <= interval.high <= high, (
            system.figures[i][0].locator,
            interval,
            low,
            high,
        )
        reason = system.hidden[i]
        assert failing(interval.low, interval.high, reason, THRESHOLD) == failing(
            low, high, reason, THRESHOLD
        )
        judged += 1
    assert judged >= 10


def test_the_primal_and_the_dual_simplex_prove_the_same_ranges(tmp_path, monkeypatch):
    # The check solves with the primal simplex for speed (disclosure.SIMPLEX_STRATEGY). A range is a
    # programme's optimum, so the method must not change it: every hidden figure's exact bounds, both ways.
    from fairengage.reports import disclosure
    from fairengage.reports.disclosure import Solver, family_group

    rng = np.random.default_rng(5)
    cells = [(a, g) for a in ("D11", "D14") for g in GROUPS]
    quarters = [
        dict(zip(cells, (int(v) for v in rng.integers(0, 25, len(cells))), strict=True)) for _ in range(3)
    ]
    folders = [release(tmp_path / f"2025-Q{n}", f"2025-Q{n}", q) for n, q in enumerate(quarters, 1)]
    system = build_system([read_release(f) for f in folders], THRESHOLD)

    def exact_bounds() -> dict[int, tuple[int, int]]:
        solvers: dict[str, Solver] = {}
        found = {}
        for i in system.hidden:
            group = family_group(system.keys[i].family)
            solver = solvers.get(group) or solvers.setdefault(group, Solver(system, group))
            bounds = solver.bounds(i)
            assert bounds is not None
            found[i] = bounds[:2]
        return found

    primal = exact_bounds()
    monkeypatch.setattr(disclosure, "SIMPLEX_STRATEGY", 0)
    assert exact_bounds() == primal
    # Some figure is neither free nor pinned, or the comparison says little.
    assert any(0 < high - low < 10**6 for low, high in primal.values())


# --- carrying intervals between rounds of hiding gives what solving afresh gives -------------------------


def _protect_sequence(root: Path, data: list[list[int]], *, carry: bool, monkeypatch) -> list[str]:
    """Publish random quarters of two divisions and their year in turn; every protected file's text."""
    from fairengage.reports import disclosure

    if not carry:
        monkeypatch.setattr(disclosure._Known, "carried", lambda self, system: {})
        monkeypatch.setattr(
            disclosure._Known,
            "before",
            lambda self, earlier, keys, threshold, model: _bounds_before(earlier, keys, threshold, model),
        )
    cells = [(a, g) for a in ("D11", "D14") for g in GROUPS]
    quarters = [dict(zip(cells, q, strict=True)) for q in data]
    year = {c: sum(q[c] for q in quarters) for c in cells}
    sequence = [(f"2025-Q{n}", q) for n, q in enumerate(quarters, 1)] + [("2025", year)]
    done: list[Path] = []
    texts = []
    for period, counts in sequence:
        folder = release(root / period, period, counts)
        result = protect_release(folder, done, threshold=THRESHOLD)
        texts.append(f"{result.ok} {result.further_suppressed} {[b.figure for b in result.blocking]}")
        texts.append((folder / "report.public.json").read_text())
        if result.ok:
            done.append(folder)
    return texts


@pytest.mark.parametrize("seed", [3, 11, 19])
def test_carrying_intervals_between_rounds_changes_nothing(tmp_path, monkeypatch, seed):
    import numpy as np

    from fairengage.reports import disclosure

    rng = np.random.default_rng(seed)
    # Many small cells, so the year needs several rounds of further suppression.
    data = [[int(v) for v in rng.integers(0, 25, size=len(GROUPS) * 2)] for _ in range(4)]
    carried: list[int] = []
    real = disclosure.intervals

    def counting(system, **kwargs):  # type: ignore[no-untyped-def]
        carried.append(len(kwargs.get("known") or {}))
        return real(system, **kwargs)

    monkeypatch.setattr(disclosure, "intervals", counting)
    with_carry = _protect_sequence(tmp_path / "carry", data, carry=True, monkeypatch=monkeypatch)
    assert any(carried), "no round carried an interval: the case tests nothing"
    with monkeypatch.context() as fresh:
        afresh = _protect_sequence(tmp_path / "afresh", data, carry=False, monkeypatch=fresh)
    assert with_carry == afresh


def test_the_check_writes_nothing_to_standard_output(tmp_path, capfd):
    # A publishing command's output is read by people and scripts; the solver's banner and log (HiGHS
    # prints them from C, past Python's sys.stdout) must not reach it.
    quarters = [{("D11", "Indigenous"): n, ("D11", "White"): 50} for n in (12, 3)]
    folders = [release(tmp_path / f"2025-Q{n}", f"2025-Q{n}", q) for n, q in enumerate(quarters, 1)]
    year = release(tmp_path / "2025", "2025", {k: sum(q[k] for q in quarters) for k in quarters[0]})
    capfd.readouterr()
    result = protect_release(year, folders, threshold=THRESHOLD)
    assert result.ok and result.further_suppressed > 0
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_the_governance_summary_repeats_no_count_the_check_withheld():
    # Found on 2026-12-04 by the independent attacker: the check withheld the city's "collected" count
    # in the annual and compliance tables, the governance section still said 310, and 427 - 310 gave
    # "not collected" too.
    withheld = {
        "annual": {"attempts": None, "collected": None, "not_collected": None},
        "governance": {"attempts": 427, "attempts_collected": 310, "reviews": {"records": 427}},
    }
    _sync_counts(withheld)
    blank = {"attempts": None, "attempts_collected": None, "reviews": {"records": None}}
    assert withheld["governance"] == blank
    # What the annual table shows, the governance section may repeat.
    shown = {
        "annual": {"attempts": 427, "collected": None, "not_collected": None},
        "governance": {"attempts": 427, "attempts_collected": 310, "reviews": {"records": 427}},
    }
    _sync_counts(shown)
    assert shown["governance"] == {"attempts": 427, "attempts_collected": None, "reviews": {"records": 427}}


def _governance_release(folder: Path, governance: dict, annual: dict | None) -> Path:
    report: dict = {
        "meta": {"report_period": {"label": "2025"}, "generated_at": "2026-02-01T12:00:00+00:00"},
        "governance": governance,
    }
    if annual is not None:
        report["annual"] = annual
    folder.mkdir(parents=True)
    (folder / "report.public.json").write_text(json.dumps(report))
    return folder


def test_the_check_reads_the_governance_section_as_the_figures_it_repeats(tmp_path):
    # The same leak as above, caught by the check's own system rather than by the rewrite after it:
    # the annual table withholds "collected" and "not collected", the governance section shows 310.
    annual = {"attempts": 427, "collected": None, "not_collected": None}
    governance = {"attempts": 427, "attempts_collected": 310, "reviews": {"records": 430}}
    folder = _governance_release(tmp_path / "2025", governance, annual)
    system = build_system([read_release(folder)], THRESHOLD)
    found = intervals(system)
    assert found is not None
    pinned = {system.figures[i][0].locator for i, v in found.items() if v.low == v.high}
    assert pinned == {"annual not_collected"}

    result = protect_release(folder, [], threshold=THRESHOLD)
    assert result.ok and result.further_suppressed == 1
    public = json.loads((folder / "report.public.json").read_text())
    assert public["governance"]["attempts_collected"] is None
    # The attempts stay: the annual table shows them, and they give away nothing hidden.
    assert public["governance"]["attempts"] == 427 and public["annual"]["attempts"] == 427
    assert worst([folder]) == []


def test_a_governance_section_alone_does_not_claim_everyone_was_asked(tmp_path):
    # Without the annual table, "collected" is one side of a closed pair: the system must not read it
    # as every engagement (that would pin "not collected" at 0, or call the release contradictory).
    governance = {"attempts": 427, "attempts_collected": 310}
    folder = _governance_release(tmp_path / "2025", governance, None)
    system = build_system([read_release(folder)], THRESHOLD)
    assert not system.conflicting
    assert intervals(system) is not None
    assert protect_release(folder, [], threshold=THRESHOLD).ok


# --- data-quality counts (found on 2026-12-05) ------------------------------------------------------


def _quality_release(folder: Path, period: str, counts: dict[str, int | None]) -> Path:
    """A release showing only its data-quality table: each field's count, None where withheld."""
    report = {
        "meta": {"report_period": {"label": period}, "generated_at": "2026-07-01T12:00:00+00:00"},
        "data_quality": {
            "rows": None,
            "fields": [{"field": name, "problem": "missing", "count": n} for name, n in counts.items()],
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.public.json").write_text(json.dumps(report))
    return folder


def test_a_withheld_count_of_records_missing_a_location_is_not_the_year_less_its_quarters(tmp_path):
    # Three quarters and the year published, the fourth quarter's 3 withheld: before the check read
    # the data-quality table, the year less three quarters gave the 3 back.
    shown = {"2025-Q1": 14, "2025-Q2": 12, "2025-Q3": 11, "2025-Q4": None, "2025": 40}
    folders = [
        _quality_release(tmp_path / period, period, {"location": n, "neighbourhood": None})
        for period, n in shown.items()
    ]
    assert ("data quality location", 3, 3) in worst(folders)
    done = protect_all(folders, tmp_path / "protected")
    assert worst(done) == []
    year = json.loads((tmp_path / "protected" / "2025" / "report.public.json").read_text())
    assert year["data_quality"]["fields"][0]["count"] is None  # the year's count, withheld to protect Q4's


def _unknown_release(folder: Path, unknown: int) -> Path:
    """A quarter whose annual table leaves out Unknown (as it does when no record says Unknown) and whose
    data-quality line withholds the Unknown count, while its attempts and the groups' total are shown."""
    counts = {group: 10 + 5 * n for n, group in enumerate(PERCEIVED_RACES) if group != UNKNOWN}
    total = sum(counts.values())
    rows = [
        {"area": area, "group": g, "count": n, "total": total, "population": 100, "suppressed": False}
        for area in ("D11", "ALL")
        for g, n in counts.items()
    ]
    public = {
        "meta": {"report_period": {"label": "2025-Q1"}, "generated_at": "2026-07-01T12:00:00+00:00"},
        "disproportionality": rows,
        "annual": {"attempts": total + unknown, "by_race": counts | ({UNKNOWN: None} if unknown else {})},
        "data_quality": {
            "rows": total + unknown,
            "fields": [{"field": "perceived_race", "problem": "recorded as Unknown", "count": None}],
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.public.json").write_text(json.dumps(public))
    return folder


def test_an_unknown_count_withheld_only_in_the_data_quality_table_is_read_and_a_zero_passes(tmp_path):
    # Attempts less the groups' total is the Unknown count. 0 counts no one: the release stays whole.
    zero = _unknown_release(tmp_path / "zero", 0)
    system = build_system([read_release(zero)], THRESHOLD)
    found = intervals(system)
    assert found is not None
    pinned = {system.figures[i][0].locator: (v.low, v.high) for i, v in found.items() if v.low == v.high}
    assert pinned["data quality perceived_race"] == (0, 0)
    before = (zero / "report.public.json").read_text()
    result = protect_release(zero, [], threshold=THRESHOLD)
    assert result.ok and result.further_suppressed == 0
    assert (zero / "report.public.json").read_text() == before
    # 3 is someone: the check withholds what gives it away.
    three = _unknown_release(tmp_path / "three", 3)
    assert ("annual by race Unknown", 3, 3) in worst([three])  # the data-quality line is the same figure
    result = protect_release(three, [], threshold=THRESHOLD)
    assert result.ok and result.further_suppressed >= 1
    assert worst([three]) == []


def _stated_total_release(folder: Path) -> Path:
    """Two divisions whose rows are all withheld as small; D11's total is stated to protect (it is 11).

    The city's total, 12, is shown. Anyone reading the file knows D11's total is at least 10, so D22
    holds at most 2 engagements: found on issue 10's full-size run (2026-12-07), where a division's
    Unknown total stated "protects" narrowed every cell of the divisions without records to 0 or 1
    while the check, reading only each row's reason, saw them 0 to 7.
    """
    counts = {("D11", "Black"): 3, ("D11", "White"): 8, ("D22", "Black"): 1, ("D22", "White"): 0}
    small = {"count": None, "total": None, "suppressed": True, "suppressed_reason": "small"}
    rows = [
        small | {"area": area, "group": group, "population": 100, "count_suppressed_reason": "small",
                 "total_suppressed_reason": "protects" if area == "D11" else "small"}
        for area, group in counts
    ]  # fmt: skip
    rows += [
        small | {"area": "ALL", "group": group, "population": 100, "total": 12,
                 "count_suppressed_reason": "small"}
        for group in ("Black", "White")
    ]  # fmt: skip
    public = {
        "meta": {"report_period": {"label": "2025-Q1"}, "generated_at": "2026-07-01T12:00:00+00:00"},
        "disproportionality": rows,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.public.json").write_text(json.dumps(public))
    return folder


def test_a_reason_stated_for_one_column_is_read_as_the_public_reads_it(tmp_path):
    folder = _stated_total_release(tmp_path / "2025-Q1")
    release_ = read_release(folder)
    reasons = {(f.locator, f.reason) for f in release_.figures}
    assert ("disproportionality D11 × Black total", "protects") in reasons
    assert ("disproportionality D22 × Black total", "small") in reasons
    assert ("disproportionality D22 × Black count", "small") in reasons
    # So D22's counts are at most 2 (12 less at least 10): the rule fails, and the check withholds more
    # (the city's total) until it holds.
    narrowed = {name: (low, high) for name, low, high in worst([folder])}
    assert narrowed["disproportionality D22 × Black count"][1] <= 2
    result = protect_release(folder, [], threshold=THRESHOLD)
    assert result.ok and result.further_suppressed >= 1
    assert worst([folder]) == []
