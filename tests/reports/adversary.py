"""The outside tester's attack, kept as code: solve everything ever published for the withheld counts.

An attacker downloads the public files of every release (report.public.json and the open-data trend
table), writes each published figure as a linear equation over non-negative whole unknowns, adds what
the releases imply about one another (a year is its quarters, a trend row is the earlier period's
figure, a re-run shares the older snapshot's records, a total is its breakdowns) and the bounds that a
suppression reason gives, then asks two things of every withheld count:

* is it determined exactly? (linear elimination over the equalities: the figure's row lies in the
  row space of the published equations, checked with exact rational arithmetic on a sparse basis); and
* what interval can be proven? (a linear programme per end, HiGHS).

The system is built by `fairengage.reports.disclosure.build_system`, but whether a recovered value is
right is checked here against the analytic table itself (`true_count`), never against the builder.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from fairengage.analytics.counts import CITY
from fairengage.analytics.population_benchmarks import default_benchmark_path
from fairengage.config import Settings
from fairengage.ingest import synth
from fairengage.reports import builder
from fairengage.reports.disclosure import (
    ALL,
    MODELS,
    Key,
    build_system,
    intervals,
    quarters,
    read_release,
    system_under,
)
from fairengage.reports.period import parse_period

TZ = "America/Toronto"
# Three divisions keep each release's tables, and so the attack's programmes, small enough for a test.
DIVISIONS = ("D11", "D14", "D51")


@dataclass(frozen=True)
class Recovery:
    """What the attacker proved about one withheld count."""

    key: Key
    locator: str
    low: int
    high: int
    exact: int | None  # the value linear elimination gives, when the equalities alone fix it


def publish(
    table: pd.DataFrame,
    period: str,
    out: Path,
    *,
    as_of: date,
    published: Sequence[Path] | None = None,
    work: Path,
    name: str | None = None,
) -> Path:
    """Build one release's public files (no HTML or PDF) from a table, as taken on `as_of`.

    The table is written once per `name` (default: the day), so releases of one day share it.
    """
    path = work / f"table-{name or as_of.isoformat()}.parquet"
    if not path.exists():
        synth.write_table(table, path)
    benchmark = work / "benchmark.csv"
    if not benchmark.exists():
        frame = pd.read_csv(default_benchmark_path())
        frame[frame["area"].isin((*DIVISIONS, CITY))].to_csv(benchmark, index=False)
    settings = Settings()
    generated = datetime(as_of.year, as_of.month, as_of.day, 12, tzinfo=UTC)
    report, threshold = builder.analyse_report(
        table_path=path,
        benchmark_path=benchmark,
        period=period,
        settings=settings,
        generated_at=generated,
    )
    out.mkdir(parents=True, exist_ok=True)
    public = builder.public_report(report, threshold)
    builder.write_public_files(report, public, threshold, out, parse_period(period, settings.timezone))
    # What a public visitor downloads, and nothing else (the board's report.json stays with staff).
    (out / "report.json").unlink()
    if published is not None:
        from fairengage.reports.disclosure import protect_release

        result = protect_release(out, published, threshold=threshold)
        assert result.ok, result.summary
    return out


def attack(folders: Sequence[Path], *, threshold: int = 10) -> list[Recovery]:
    """Every withheld count of every release, with what the published figures prove about it.

    A figure whose interval is shown wide by the solutions met gets that (inner) interval rather than
    its exact bounds: only narrow ones, the attack's successes, are solved to the end.
    """
    releases = [read_release(folder) for folder in folders]
    # The strongest bet the published figures do not contradict, as the check makes it (`MODELS`):
    # until 2026-12-07 this attacker made none of the check's bets on growth and on the listed
    # divisions, so it proved less than the check it was meant to test.
    for model in MODELS:
        system = system_under(model, releases, threshold)
        found = intervals(system)
        if found is not None:
            break
    assert found is not None, "the attacker's model must fit what was published"
    exact = _eliminate(system)
    return [
        Recovery(system.keys[i], system.figures[i][0].locator, found[i].low, found[i].high, exact.get(i))
        for i in system.hidden
    ]


def _eliminate(system) -> dict[int, int]:  # type: ignore[no-untyped-def]
    """Hidden figures fixed by the published equalities alone, by exact Gaussian elimination.

    Works on the atoms each figure sums: a hidden figure is fixed when its 0/1 row is a rational
    combination of the published rows (and the tables that add up to engagements); its value is the
    same combination of their values.
    """
    rows: list[tuple[dict[int, Fraction], Fraction]] = []
    for i, value in system.published.items():
        rows.append(({a: Fraction(1) for a in system.rows[i]}, Fraction(value)))
    for row, b in system.extra_eq:
        rows.append(({a: Fraction(c).limit_denominator() for a, c in row.items()}, Fraction(b)))
    basis: dict[int, tuple[dict[int, Fraction], Fraction]] = {}  # pivot atom -> reduced row
    for row, b in rows:
        row, b = _reduce(row, b, basis)
        if not row:
            continue
        pivot = min(row)
        scale = row[pivot]
        row = {a: c / scale for a, c in row.items()}
        b = b / scale
        for other, (orow, ob) in list(basis.items()):
            if pivot in orow:
                factor = orow[pivot]
                merged = dict(orow)
                for a, c in row.items():
                    merged[a] = merged.get(a, Fraction(0)) - factor * c
                    if merged[a] == 0:
                        del merged[a]
                basis[other] = (merged, ob - factor * b)
        basis[pivot] = (row, b)
    fixed = {}
    for i in system.hidden:
        figure = {a: Fraction(1) for a in system.rows[i]}
        for a in system.minus.get(i, ()):
            figure[a] = figure.get(a, Fraction(0)) - 1
        row, value = _reduce({a: c for a, c in figure.items() if c}, Fraction(0), basis)
        if not row:
            # The figure minus the combination is 0, so the figure equals minus the reduced constant.
            fixed[i] = int(-value)
    return fixed


def _reduce(
    row: dict[int, Fraction], b: Fraction, basis: dict[int, tuple[dict[int, Fraction], Fraction]]
) -> tuple[dict[int, Fraction], Fraction]:
    row = dict(row)
    for a in sorted(row):
        if a in row and a in basis:
            factor = row[a]
            prow, pb = basis[a]
            for x, c in prow.items():
                row[x] = row.get(x, Fraction(0)) - factor * c
                if row[x] == 0:
                    del row[x]
            b -= factor * pb
    return row, b


def true_count(table: pd.DataFrame, key: Key) -> int | None:
    """The count a figure's key stands for, straight from the analytic table (None: not checked here)."""
    frame = table
    local = frame["occurred_at"].dt.tz_convert(TZ)
    labels = local.dt.year.astype(str) + "-Q" + local.dt.quarter.astype(str)
    frame = frame[labels.isin(quarters(key.period)).to_numpy()]
    if key.area != CITY:
        frame = frame[frame["division"] == key.area]
    if key.family in ("eng",):
        pass
    elif key.family.startswith("out:"):
        measure = key.family.removeprefix("out:")
        frame = (
            frame[frame["searched"].fillna(False)]
            if measure == "searched"
            else frame[frame["outcome"] == measure]
        )
    else:
        return None
    if key.groups != ALL:
        frame = frame[frame["perceived_race"].isin(list(key.groups))]
    return len(frame)


def demo_releases(
    root: Path,
    *,
    records: int,
    seed: int,
    protect: bool,
    years: Sequence[int] = (2025, 2026),
    only: Sequence[str] | None = None,
) -> tuple[list[Path], pd.DataFrame]:
    """The tester's sequence: each year (the last to June) with every quarter, then the first re-run.

    The first runs are taken on July 1st of the last year from a table missing 2 % of the first year's
    records (entered late); the re-run of the first year, on July 15th, sees them. With `protect`, each
    release is checked against every one before it, as publishing does.
    """
    last = years[-1]
    full = synth.generate(records, seed=seed, start=date(years[0], 1, 1), end=date(last, 6, 30))
    full["division"] = [
        d if d in DIVISIONS else DIVISIONS[i % len(DIVISIONS)] for i, d in enumerate(full["division"])
    ]
    rng = np.random.default_rng(seed)
    in_first = full["occurred_at"].dt.tz_convert(TZ).dt.year == years[0]
    late = in_first.to_numpy() & (rng.random(len(full)) < 0.02)
    early = full[~late].reset_index(drop=True)
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    folders: list[Path] = []
    periods = [p for year in years for p in (f"{year}", *(f"{year}-Q{q}" for q in range(1, 5)))]
    periods = [p for p in periods if p not in (f"{last}-Q3", f"{last}-Q4") and (only is None or p in only)]
    for period in periods:
        out = root / "releases" / period
        publish(
            early,
            period,
            out,
            as_of=date(last, 7, 1),
            published=list(folders) if protect else None,
            work=work,
        )
        folders.append(out)
    revision = root / "releases" / f"{years[0]}-revised"
    publish(
        full,
        str(years[0]),
        revision,
        as_of=date(last, 7, 15),
        published=list(folders) if protect else None,
        work=work,
    )
    folders.append(revision)
    full.attrs["late"] = late
    full.attrs["revised"] = f"{last}-07-15"
    return folders, full


def truth_at(table: pd.DataFrame, key: Key) -> int | None:
    """The true count of a key, the late records left out of the first snapshot."""
    late = table.attrs.get("late")
    if late is None:
        return true_count(table, key)
    if key.snapshot.startswith("="):
        # Only the records that arrived late (between the two snapshots).
        return true_count(table[late], key)
    return true_count(table if key.snapshot >= table.attrs["revised"] else table[~late], key)


def clean(root: Path) -> None:
    """Remove a work folder (the releases are rebuilt per test module)."""
    shutil.rmtree(root, ignore_errors=True)


def summary(found: Sequence[Recovery], threshold: int) -> dict[str, int]:
    """How many withheld counts the attack pinned, and how many of those were small."""
    pinned = [r for r in found if r.low == r.high]
    return {
        "hidden": len(found),
        "pinned": len(pinned),
        "narrow": sum(1 for r in found if r.high - r.low < math.ceil(threshold / 2)),
    }


def dump(found: Sequence[Recovery], path: Path) -> None:
    """Write the attack's findings for a person to read."""
    path.write_text(
        json.dumps(
            [{"figure": r.locator, "low": r.low, "high": r.high, "exact": r.exact} for r in found], indent=1
        )
    )


@dataclass(frozen=True)
class Scenario:
    """A random release sequence: what was published from which state of a changing register."""

    seed: int
    records: int
    periods: tuple[str, ...]  # first runs, all taken on July 1st 2026 from the register then
    rerun: str  # the period re-run once the register changed
    same_day: bool  # a re-run of a released period taken the same day (the records changed that day)
    late: float  # share of the records (any year) entered after the first runs
    corrected: float  # share of the re-run period's records whose perceived race was corrected since
    destroyed: float  # share of the records destroyed (retention) before the re-run


def scenario_releases(root: Path, scenario: Scenario) -> list[tuple[Path, pd.DataFrame]]:
    """Publish a scenario's releases (unprotected); each folder with the table it was built from."""
    s = scenario
    full = synth.generate(s.records, seed=s.seed, start=date(2025, 1, 1), end=date(2026, 6, 30))
    full["division"] = [
        d if d in DIVISIONS else DIVISIONS[i % len(DIVISIONS)] for i, d in enumerate(full["division"])
    ]
    rng = np.random.default_rng(s.seed)
    late = rng.random(len(full)) < s.late
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    first = full[~late].reset_index(drop=True)
    done: list[tuple[Path, pd.DataFrame]] = []
    for period in s.periods:
        out = publish(
            first, period, root / "releases" / period, as_of=date(2026, 7, 1), work=work, name="first"
        )
        done.append((out, first))
    later = full.copy()
    in_rerun = _in_period(later, s.rerun)
    fix = in_rerun & (rng.random(len(later)) < s.corrected)
    groups = sorted(set(later["perceived_race"].dropna()))
    later.loc[fix, "perceived_race"] = [groups[int(g)] for g in rng.integers(0, len(groups), int(fix.sum()))]
    later = later[rng.random(len(later)) >= s.destroyed].reset_index(drop=True)
    # The check takes releases of one day as one state of the register, unless one re-runs a period
    # already released that day (docs/open-data.md): a same-day release from changed data is a re-run.
    as_of = date(2026, 7, 1) if s.same_day and s.rerun in s.periods else date(2026, 7, 15)
    out = publish(
        later, s.rerun, root / "releases" / f"{s.rerun}-rerun", as_of=as_of, work=work, name="rerun"
    )
    done.append((out, later))
    return done


def _in_period(table: pd.DataFrame, period: str) -> np.ndarray:
    local = table["occurred_at"].dt.tz_convert(TZ)
    labels = local.dt.year.astype(str) + "-Q" + local.dt.quarter.astype(str)
    return labels.isin(quarters(period)).to_numpy()


def unsound(folders: Sequence[tuple[Path, pd.DataFrame]], *, threshold: int = 10) -> list[str]:
    """Hidden counts whose true value lies outside the interval the system proves: each a wrong relation.

    The truth of a figure is counted from the table its own release was built from; a figure nobody
    published (a worked-out quarter or late batch) has no single table and is not checked here.
    """
    releases = [read_release(folder) for folder, _ in folders]
    tables = {release.name: table for release, (_, table) in zip(releases, folders, strict=True)}
    for link in (True, False):
        # As protect_release does: growth-only links between snapshots, unless they contradict the files.
        wrong = _outside(build_system(releases, threshold, link_snapshots=link), tables)
        if wrong is not None:
            return wrong
    return ["the system has no solution: the true counts break one of its relations"]


def _outside(system, tables: dict[str, pd.DataFrame]) -> list[str] | None:  # type: ignore[no-untyped-def]
    from fairengage.reports.disclosure import Solver, family_group

    solvers: dict[str, Solver] = {}
    wrong: list[str] = []
    for i in system.hidden:
        truths = {
            true_count(tables[f.release], system.keys[i]) for f in system.figures[i] if f.release in tables
        }
        truths.discard(None)
        if not truths or any(f.file == "(not published)" for f in system.figures[i]):
            continue
        group = family_group(system.keys[i].family)
        solver = solvers.get(group)
        if solver is None:
            solver = solvers[group] = Solver(system, group)
            if not solver.feasible():
                return None
        seen = solver.seen(i)
        if all(seen[0] <= truth <= seen[1] for truth in truths):
            continue  # solutions met reach the truth on both sides: the exact interval holds it too
        bounds = solver.bounds(i)
        if bounds is None:
            return None
        for truth in truths:
            if not bounds[0] <= truth <= bounds[1]:
                figure = system.figures[i][0]
                wrong.append(
                    f"{figure.release}: {figure.locator} in [{bounds[0]}, {bounds[1]}], truly {truth}"
                )
    return wrong
