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

from fairengage.analytics.benchmarks import default_benchmark_path
from fairengage.analytics.counts import CITY
from fairengage.config import Settings
from fairengage.ingest import synth
from fairengage.reports import builder
from fairengage.reports.disclosure import ALL, Key, build_system, intervals, quarters, read_release
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
) -> Path:
    """Build one release's public files (no HTML or PDF) from a table, as taken on `as_of`."""
    path = work / f"table-{as_of.isoformat()}.parquet"
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
    system = build_system(releases, threshold)
    found = intervals(system)
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
        row, value = _reduce({a: Fraction(1) for a in system.rows[i]}, Fraction(0), basis)
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
