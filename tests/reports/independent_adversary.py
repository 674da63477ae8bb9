"""A second, independent attacker of published releases: every public figure as an integer program.

Written from the public files alone (what anyone can download from a publications folder) and the
user docs; it shares no code with the service's own disclosure check. It reads every release a person
could have saved, turns each count into a sum of unknown whole numbers, and asks an exact integer solver
(scipy.optimize.milp, HiGHS) how small and how large every withheld count can be.

The unknowns ("atoms") are the finest cells the files describe, one set per (quarter, data window):

- ``E area group``: engagements in a division of one perceived-race group (Unknown included);
- ``O area group measure``: of those, searched / arrest / ticket / caution / referral;
- ``H area group``: searches that found contraband;
- ``C area measure``: engagements meeting a compliance duty;
- ``AGE bucket``, ``GEN gender``: the annual tables' breakdowns.

A data window is the state of the records a release was built from. Two attacker models:

- ``"release"`` (sound whatever happened between builds): every release has its own window, ordered
  by the instant it was generated; each atom can only grow from one window to the next (late records),
  never shrink.
- ``"version"`` (the attacker's bet that nothing arrived between first versions): every first version
  shares one window, every second version a later one, and so on; still growth only.

A year is the sum of its four quarters in the same window; a trend table's period (year or quarter)
and its ``ALL`` row are sums too; margins (``ALL`` areas, groups and totals) are sums of atoms; a
published rate gives its numerator as rate × denominator within rounding; a withheld count marked
``small`` is 0..threshold-1, one marked ``protects`` at least the threshold; a published count is at
least the threshold; outcomes never exceed engagements, hits never exceed searches.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import LinearConstraint, milp
from scipy.sparse import csr_array

GROUPS = (
    "Black", "East/Southeast Asian", "Indigenous", "Latino", "Middle Eastern", "South Asian", "White",
    "Another race", "Unknown",
)  # fmt: skip
BENCHMARKED = tuple(g for g in GROUPS if g != "Unknown")
MEASURES = ("searched", "arrest", "ticket", "caution", "referral")
DUTIES = ("informed", "receipt_offered", "compliant", "identifying_info_collected")
RATE_TOLERANCE = 1e-9  # the files print rates to 9 or 10 decimals: half a unit of the last one, rounded up
INDEX_TOLERANCE = 1e-8  # an index is printed to 10 significant figures
TABLES = ("disproportionality", "disparity", "outcome_test", "compliance")

MAX_COUNT = 10_000_000  # more engagements than any service makes: keeps every program bounded
# A round's integer programme stops here with its best solution: a round needs a point, not a proof (on
# three years of releases one round's proof ran more than ten minutes).
ROUND_SECONDS = 60.0
ROUND_MISSES = 3  # rounds without a solution in their time (each given twice the last) before giving up
Expr = dict[int, float]


@dataclass(frozen=True)
class PublicRelease:
    """One release as the public has it: its folder, period, version and when it was generated."""

    folder: Path
    period: str
    version: int
    generated_at: str
    threshold: int

    @property
    def name(self) -> str:
        """How findings name the release, e.g. ``2024 v2``."""
        return f"{self.period} v{self.version}"


@dataclass(frozen=True)
class Figure:
    """One count of one public file: where it is, what sum of atoms it is, and what it shows."""

    release: str
    file: str
    label: str
    key: tuple[Any, ...]  # the table, row and column: the same key in report.json gives the true value
    expr: tuple[tuple[int, float], ...]
    value: int | None
    reason: str | None


@dataclass(frozen=True)
class Finding:
    """A withheld count and what the attacker can say about it."""

    release: str
    file: str
    label: str
    low: int
    high: int
    truth: int | None
    exact: bool = True  # False: the range is only proved at least this wide (it is 3 or wider)

    @property
    def recovered(self) -> bool:
        """Pinned to one value."""
        return self.low == self.high

    @property
    def empty(self) -> bool:
        """Proven to be 0: it counts no one, so it singles out no one (docs/open-data.md)."""
        return self.exact and self.high == 0

    @property
    def nearly(self) -> bool:
        """A range narrower than 3 around a count under 10 (the truth, or every value in range)."""
        under = self.truth < 10 if self.truth is not None else self.high < 10
        return self.high - self.low < 3 and under


@dataclass
class System:
    """Atoms, relations between them, and every figure read from the files."""

    threshold: int = 10
    atoms: dict[tuple[Any, ...], int] = field(default_factory=dict)
    rows: list[tuple[Expr, float, float]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    areas: tuple[str, ...] = ()
    windows: dict[str, list[Any]] = field(default_factory=dict)  # quarter -> its windows, in order

    def atom(self, key: tuple[Any, ...]) -> int:
        """The index of an atom, made on first use."""
        if key not in self.atoms:
            self.atoms[key] = len(self.atoms)
        return self.atoms[key]

    def relate(self, expr: Expr, low: float, high: float) -> None:
        """low <= expr <= high."""
        if expr:
            self.rows.append((expr, low, high))


# --- periods ------------------------------------------------------------------------------------------


def quarters_of(period: str) -> list[str]:
    """The quarters a period label covers: a year its four, a quarter itself."""
    period = str(period)
    if "-Q" in period:
        return [period]
    return [f"{period}-Q{i}" for i in range(1, 5)]


def _quarter_order(quarter: str) -> tuple[int, int]:
    year, q = quarter.split("-Q")
    return int(year), int(q)


# --- reading a publications folder --------------------------------------------------------------------


def releases_in(folders: Iterable[Path]) -> list[PublicRelease]:
    """The releases in these folders (each holding report.public.json), oldest first."""
    found = []
    for folder in folders:
        folder = Path(folder)
        report = json.loads((folder / "report.public.json").read_text(encoding="utf-8"))
        manifest = json.loads((folder / "open-data" / "manifest.json").read_text(encoding="utf-8"))
        meta = report.get("meta") or {}
        period = (meta.get("report_period") or {}).get("label") or str(manifest["version"]).rsplit("-", 3)[0]
        version = int(folder.name[1:]) if folder.name.startswith("v") and folder.name[1:].isdigit() else 1
        found.append(
            PublicRelease(
                folder=folder,
                period=str(period),
                version=version,
                generated_at=str(manifest.get("generated_at") or meta.get("generated_at")),
                threshold=int(manifest.get("threshold") or meta.get("suppression_threshold") or 10),
            )
        )
    return sorted(found, key=lambda r: (r.generated_at, r.period, r.version))


def ever_public(root: Path, index_snapshots: Sequence[dict[str, Any]] = ()) -> list[Path]:
    """Every release folder ever listed in releases.json (the snapshots a watcher saved, and now)."""
    root = Path(root)
    seen: dict[str, None] = {}
    snapshots = list(index_snapshots)
    if (root / "releases.json").is_file():
        snapshots.append(json.loads((root / "releases.json").read_text(encoding="utf-8")))
    for snapshot in snapshots:
        for entry in snapshot.get("releases", []):
            seen[str(entry["folder"])] = None
    return [root / folder for folder in seen]


# --- turning files into equations ---------------------------------------------------------------------


class Reader:
    """Reads releases into a System: atoms per (quarter, window), figures, relations."""

    def __init__(self, releases: Sequence[PublicRelease], *, model: str = "release") -> None:
        if model not in ("release", "version"):
            raise ValueError(f"model is 'release' or 'version', not {model!r}")
        self.model = model
        self.releases = list(releases)
        self.system = System(threshold=min((r.threshold for r in releases), default=10))
        self.system.areas = self._areas()
        self.built: set[tuple[str, Any]] = set()

    def window(self, release: PublicRelease) -> Any:
        """The data window a release was built from, under the chosen model."""
        return release.generated_at if self.model == "release" else release.version

    def _areas(self) -> tuple[str, ...]:
        areas: set[str] = set()
        for release in self.releases:
            report = json.loads((release.folder / "report.public.json").read_text(encoding="utf-8"))
            for table in TABLES:
                areas.update(str(r["area"]) for r in report.get(table) or [] if r.get("area") != "ALL")
            areas.update((report.get("annual") or {}).get("by_division") or {})
        # Files that name no division still describe engagements somewhere: one unnamed area holds them.
        return tuple(sorted(areas)) or ("(any)",)

    # The atoms of one (quarter, window), made together so sums over areas and groups are complete.
    def _cells(self, quarter: str, window: Any) -> None:
        if (quarter, window) in self.built:
            return
        self.built.add((quarter, window))
        s, areas = self.system, self.system.areas
        s.windows.setdefault(quarter, [])
        if window not in s.windows[quarter]:
            s.windows[quarter].append(window)
        for a in areas:
            for g in GROUPS:
                e = s.atom((quarter, window, "E", a, g))
                h = s.atom((quarter, window, "H", a, g))
                for m in MEASURES:
                    o = s.atom((quarter, window, "O", a, g, m))
                    s.relate({o: 1.0, e: -1.0}, -math.inf, 0)  # an outcome never exceeds engagements
                # One outcome per engagement (annual.by_outcome splits engagements into none and these four).
                s.relate({e: -1.0, **{s.atoms[(quarter, window, "O", a, g, m)]: 1.0 for m in MEASURES[1:]}},
                         -math.inf, 0)  # fmt: skip
                searched = s.atoms[(quarter, window, "O", a, g, "searched")]
                s.relate({h: 1.0, searched: -1.0}, -math.inf, 0)  # a hit is a search that found something
            for d in DUTIES:
                c = s.atom((quarter, window, "C", a, d))
                s.relate(
                    {c: 1.0, **{s.atoms[(quarter, window, "E", a, g)]: -1.0 for g in GROUPS}}, -math.inf, 0
                )

    def _breakdown(self, quarter: str, window: Any, kind: str, labels: Sequence[str]) -> None:
        # An annual table (ages, genders) splits the same engagements another way: its cells sum to them.
        s = self.system
        key = (quarter, window, kind, tuple(labels))
        if key in self.built:
            return
        self.built.add(key)
        expr: Expr = {s.atom((quarter, window, kind, label)): 1.0 for label in labels}
        for a in s.areas:
            for g in GROUPS:
                expr[s.atoms[(quarter, window, "E", a, g)]] = -1.0
        s.relate(expr, 0, 0)

    def expr(self, period: str, window: Any, kind: str, *labels: str) -> Expr:
        """The sum of atoms a figure stands for; ``ALL`` expands to every area, group or measure."""
        out: Expr = {}
        for quarter in quarters_of(period):
            self._cells(quarter, window)
            choices = []
            for position, label in enumerate(labels):
                if label == "ALL" and position == 0 and kind in ("E", "O", "H", "C"):
                    choices.append(self.system.areas)
                elif label == "ALL" and position == 1 and kind in ("E", "O", "H"):
                    choices.append(GROUPS)
                elif label == "BENCHMARKED":
                    choices.append(BENCHMARKED)
                else:
                    choices.append((label,))
            for combo in _product(choices):
                index = self.system.atom((quarter, window, kind, *combo))
                out[index] = out.get(index, 0.0) + 1.0
        return out

    def figure(self, release: PublicRelease, file: str, key: tuple[Any, ...], expr: Expr,
               value: Any, reason: Any = None) -> None:  # fmt: skip
        """Record one count: published (at least the threshold) or withheld (its reason, if stated)."""
        s = self.system
        shown = _as_int(value)
        label = " × ".join(str(k) for k in key)
        s.figures.append(
            Figure(release.name, file, label, key, tuple(sorted(expr.items())), shown, _reason(reason))
        )
        if shown is not None:
            s.relate(expr, shown, shown)
        elif _reason(reason) == "small":
            s.relate(expr, 0, s.threshold - 1)
        elif _reason(reason) == "protects":
            s.relate(expr, s.threshold, math.inf)

    def rate(self, numerator: Expr, denominator: Expr, rate: Any, *, relative: float = 0.0) -> None:
        """numerator = rate × denominator, within the rounding of the printed rate."""
        r = _as_float(rate)
        if r is None:
            return
        slack = RATE_TOLERANCE + abs(r) * relative
        for bound, low, high in ((r + slack, -math.inf, 0.0), (r - slack, 0.0, math.inf)):
            expr = dict(numerator)
            for k, v in denominator.items():
                expr[k] = expr.get(k, 0.0) - bound * v
            self.system.relate(expr, low, high)

    def read(self) -> System:
        """Every public figure of every release, then growth between windows."""
        for release in self.releases:
            report = json.loads((release.folder / "report.public.json").read_text(encoding="utf-8"))
            self.read_report(release, report, "report.public.json")
            for table in TABLES:
                path = release.folder / "open-data" / f"{table}.csv"
                if path.is_file():
                    self.read_table(release, table, list(_csv_rows(path)), f"open-data/{table}.csv",
                                    release.period)  # fmt: skip
            trends = release.folder / "open-data" / "trends_by_period_and_group.csv"
            if trends.is_file():
                self.read_trend_csv(release, list(_csv_rows(trends)), report)
        self._growth()
        return self.system

    def read_report(self, release: PublicRelease, report: dict[str, Any], file: str) -> None:
        """The tables, annual items, data quality and trends of one report.json-shaped file."""
        w, p = self.window(release), release.period
        for table in TABLES:
            self.read_table(release, table, report.get(table) or [], file, p)
        annual = report.get("annual") or {}
        total = self.expr(p, w, "E", "ALL", "ALL")
        if "attempts" in annual:
            self.figure(release, file, ("annual", "attempts"), total, annual.get("attempts"))
        collected = self.expr(p, w, "C", "ALL", "identifying_info_collected")
        if "collected" in annual:
            self.figure(release, file, ("annual", "collected"), collected, annual.get("collected"))
        if "not_collected" in annual:
            rest = dict(total)
            for k, v in collected.items():
                rest[k] = rest.get(k, 0.0) - v
            self.figure(release, file, ("annual", "not_collected"), rest, annual.get("not_collected"))
        for kind, name in (("AGE", "by_age"), ("GEN", "by_gender")):
            table = annual.get(name)
            if isinstance(table, dict) and table:
                for quarter in quarters_of(p):
                    self._cells(quarter, w)
                    self._breakdown(quarter, w, kind, list(table))
                for label, value in table.items():
                    self.figure(release, file, ("annual", name, label), self.expr(p, w, kind, label), value)
        for group, value in (annual.get("by_race") or {}).items():
            self.figure(
                release, file, ("annual", "by_race", group), self.expr(p, w, "E", "ALL", group), value
            )
        for group, outcomes in (annual.get("by_outcome") or {}).items():
            for outcome, value in (outcomes or {}).items():
                if outcome in MEASURES:
                    cell = self.expr(p, w, "O", "ALL", group, outcome)
                else:  # "none": the group's engagements less those with an outcome
                    cell = self.expr(p, w, "E", "ALL", group)
                    for m in MEASURES[1:]:
                        for k, v in self.expr(p, w, "O", "ALL", group, m).items():
                            cell[k] = cell.get(k, 0.0) - v
                self.figure(release, file, ("annual", "by_outcome", group, outcome), cell, value)
        for area, value in (annual.get("by_division") or {}).items():
            self.figure(
                release, file, ("annual", "by_division", area), self.expr(p, w, "E", area, "ALL"), value
            )
        for item in (report.get("data_quality") or {}).get("fields") or []:
            if item.get("field") == "perceived_race":
                self.figure(release, file, ("data_quality", "perceived_race"),
                            self.expr(p, w, "E", "ALL", "Unknown"), item.get("count"))  # fmt: skip
        governance = report.get("governance") or {}
        if "attempts" in governance:
            self.figure(release, file, ("governance", "attempts"), total, governance.get("attempts"))
        if "attempts_collected" in governance:
            self.figure(release, file, ("governance", "attempts_collected"), collected,
                        governance.get("attempts_collected"))  # fmt: skip
        trends = report.get("trends") or {}
        periods = [str(x) for x in trends.get("periods") or []]
        for period, value in zip(periods, trends.get("attempts") or [], strict=False):
            whole = self.expr(period, w, "E", "ALL", "ALL")
            self.figure(release, file, ("trends", "attempts", period), whole, value)
        for period, rows in zip(periods, trends.get("disproportionality") or [], strict=False):
            self.read_table(release, "disproportionality", rows, file, period, prefix=("trends", period))

    def read_table(self, release: PublicRelease, table: str, rows: Sequence[dict[str, Any]], file: str,
                   period: str, prefix: tuple[str, ...] = ()) -> None:  # fmt: skip
        """One of the four tables (from JSON or CSV rows) over one period."""
        w = self.window(release)
        for row in rows:
            area = str(row.get("area"))
            if table == "disproportionality":
                group = str(row["group"])
                count = self.expr(period, w, "E", area, group)
                total = self.expr(period, w, "E", area, "BENCHMARKED")
                base = (*prefix, table, area, group)
                self.figure(
                    release,
                    file,
                    (*base, "count"),
                    count,
                    row.get("count"),
                    row.get("count_suppressed_reason"),
                )
                self.figure(
                    release,
                    file,
                    (*base, "total"),
                    total,
                    row.get("total"),
                    row.get("total_suppressed_reason"),
                )
                pop, pop_total, index = (
                    _as_float(row.get(k)) for k in ("population", "population_total", "index")
                )
                if None not in (pop, pop_total, index) and pop_total:
                    # index = (count / total) / (population / population_total): a share, printed rounded.
                    share = index * pop / pop_total
                    self.rate(count, total, share, relative=INDEX_TOLERANCE)
            elif table == "disparity":
                group, measure = str(row["group"]), str(row["measure"])
                count = self.expr(period, w, "O", area, group, measure)
                total = self.expr(period, w, "E", area, group)
                base = (*prefix, table, area, group, measure)
                self.figure(
                    release,
                    file,
                    (*base, "count"),
                    count,
                    row.get("count"),
                    row.get("count_suppressed_reason"),
                )
                self.figure(
                    release,
                    file,
                    (*base, "total"),
                    total,
                    row.get("total"),
                    row.get("total_suppressed_reason"),
                )
                self.rate(count, total, row.get("rate"))
                white = self.expr(period, w, "O", area, "White", measure)
                self.rate(white, self.expr(period, w, "E", area, "White"), row.get("reference_rate"))
            elif table == "outcome_test":
                group = str(row["group"])
                searches = self.expr(period, w, "O", area, group, "searched")
                hits = self.expr(period, w, "H", area, group)
                base = (*prefix, table, area, group)
                self.figure(release, file, (*base, "searches"), searches, row.get("searches"),
                            row.get("searches_suppressed_reason"))  # fmt: skip
                self.figure(
                    release, file, (*base, "hits"), hits, row.get("hits"), row.get("hits_suppressed_reason")
                )
                self.rate(hits, searches, row.get("hit_rate"))
            elif table == "compliance":
                measure = str(row["measure"])
                count = self.expr(period, w, "C", area, measure)
                total = self.expr(period, w, "E", area, "ALL")
                base = (*prefix, table, area, measure)
                self.figure(
                    release,
                    file,
                    (*base, "count"),
                    count,
                    row.get("count"),
                    row.get("count_suppressed_reason"),
                )
                self.figure(
                    release,
                    file,
                    (*base, "total"),
                    total,
                    row.get("total"),
                    row.get("total_suppressed_reason"),
                )
                self.rate(count, total, row.get("rate"))

    def read_trend_csv(
        self, release: PublicRelease, rows: Sequence[dict[str, Any]], report: dict[str, Any]
    ) -> None:
        """trends_by_period_and_group.csv: a period (or ALL: every trend period) by group (or ALL)."""
        w = self.window(release)
        periods = [str(r["period"]) for r in rows if r["period"] != "ALL"]
        every = list(dict.fromkeys(periods))
        for row in rows:
            covered = every if row["period"] == "ALL" else [str(row["period"])]
            expr: Expr = {}
            for period in covered:
                for k, v in self.expr(period, w, "E", "ALL", str(row["perceived_race"])).items():
                    expr[k] = expr.get(k, 0.0) + v
            self.figure(release, "open-data/trends_by_period_and_group.csv",
                        ("trends_csv", row["period"], row["perceived_race"]), expr, row.get("count"),
                        row.get("count_suppressed_reason"))  # fmt: skip

    def _growth(self) -> None:
        # Records arrive late and are never taken away: an atom of a later window is at least as large.
        s = self.system
        for quarter, windows in s.windows.items():
            ordered = sorted(windows, key=lambda x: (str(type(x)), x))
            for earlier, later in itertools.pairwise(ordered):
                for key, index in list(s.atoms.items()):
                    if key[0] == quarter and key[1] == earlier:
                        twin = s.atoms.get((quarter, later, *key[2:]))
                        if twin is not None:
                            s.relate({twin: 1.0, index: -1.0}, 0, math.inf)


def _product(choices: Sequence[Sequence[str]]) -> Iterable[tuple[str, ...]]:
    if not choices:
        yield ()
        return
    for head in choices[0]:
        for tail in _product(choices[1:]):
            yield (head, *tail)


def _as_int(value: Any) -> int | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(float(value))


def _as_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _reason(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _csv_rows(path: Path) -> Iterable[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


# --- solving ------------------------------------------------------------------------------------------


class Solver:
    """Exact integer min and max of sums of atoms under every relation (HiGHS branch and bound)."""

    def __init__(self, system: System, *, time_limit: float = 30.0) -> None:
        self.system = system
        self.n = len(system.atoms)
        data, rows, cols, low, high = [], [], [], [], []
        for i, (expr, lo, hi) in enumerate(system.rows):
            for k, v in expr.items():
                rows.append(i)
                cols.append(k)
                data.append(v)
            low.append(lo)
            high.append(hi)
        self.matrix = csr_array((data, (rows, cols)), shape=(len(system.rows), self.n))
        self.constraint = LinearConstraint(self.matrix, np.array(low), np.array(high))
        self.options = {"time_limit": time_limit, "presolve": True}
        self.relaxation = _Relaxation(self.matrix, np.array(low), np.array(high))
        self.solves = 0
        self.relaxed = 0  # ends of counts the relaxation proved without an integer programme
        self.seconds = 0.0  # the last integer programme's wall time
        self.log: Callable[[str], None] = lambda message: None  # a caller (the benchmark) prints progress

    def _solve(
        self, c: np.ndarray, *, seconds: float | None = None
    ) -> tuple[float | None, np.ndarray | None, float | None]:
        """Minimise c·x: (optimum, a whole-number solution, proven lower bound) or Nones if infeasible.

        With `seconds`, branch and bound stops there and its best solution so far is taken (a round needs
        a point, not a proof); Nones then also when it had none.
        """
        started = time.monotonic()
        options = self.options if seconds is None else {**self.options, "time_limit": seconds}
        found = milp(c, constraints=[self.constraint], integrality=np.ones(self.n),
                     bounds=(0, MAX_COUNT), options=options)  # fmt: skip
        self.seconds = time.monotonic() - started
        if found.x is None:
            # Anything but "infeasible" is the solver failing, not the files, unless a limit was asked.
            if found.status != 2 and seconds is None:
                raise RuntimeError(f"the integer program was not solved: {found.message}")
            return None, None, None
        bound = getattr(found, "mip_dual_bound", None)
        # Stopped at the time limit: the proven bound, not the best value found, is what may be claimed.
        proven = float(found.fun) if found.status == 0 else (float(bound) if bound is not None else -np.inf)
        return float(found.fun), np.round(found.x), proven

    def _whole(self, x: np.ndarray) -> np.ndarray | None:
        """x rounded, when that is a whole-number solution of every relation; else None."""
        rounded = np.round(x)
        if np.abs(x - rounded).max(initial=0.0) > 1e-6 or rounded.min(initial=0.0) < 0:
            return None
        values = self.matrix @ rounded
        if (values < self.constraint.lb - 1e-6).any() or (values > self.constraint.ub + 1e-6).any():
            return None
        return rounded

    def _end(
        self, row: np.ndarray, sign: float, reached: float, absorb: Callable[[np.ndarray], None], what: str
    ) -> float:
        """The proven least (`sign` 1) or most (`sign` -1) of row·x, which a whole solution reached already.

        The relaxation's end, rounded inwards, is a bound no whole-number solution passes: where a whole-
        number solution (met before, or the relaxation's own optimum) reaches it, it is exact without
        an integer programme.
        """
        c = sign * row
        least = sign * reached  # what is known of the minimum of c·x
        relaxed = self.relaxation.solve(c)
        if relaxed is not None:
            bound = math.ceil(relaxed[0] - 1e-6)
            if (x := self._whole(relaxed[1])) is not None:
                absorb(x)
                least = min(least, float(c @ x))
            if bound >= least - 1e-6:
                self.relaxed += 1
                return sign * bound
        self.solves += 1
        _, x, proven = self._solve(c)
        end = sign * (proven if proven is not None else -math.inf)
        self.log(f"{what} {end:.0f} ({self.seconds:.0f} s)")
        if x is not None:
            absorb(x)
        return end

    def feasible(self) -> bool:
        """Whether the files agree with one another under the model (an attacker's sanity check)."""
        return self._solve(np.zeros(self.n))[1] is not None

    def ranges(self, exprs: Sequence[tuple[tuple[int, float], ...]], *, seed: int = 0,
               rounds: int | None = None, exact: bool = False) -> list[tuple[int, int, bool]]:  # fmt: skip
        """For each sum of atoms: (low, high, exact).

        Exact whole-number bounds wherever a range is narrower than 3; a wider range is proved wide by
        two whole-number solutions (every value between is not claimed, only that the range is at least
        that wide), which saves two integer programs per count. Solutions come first from programs that
        push many counts up or down at once (random signs), then the highest ends of groups of narrow
        counts at once (`_highest_together`), then, for each end still open, the relaxation (`_end`)
        and, only where that does not settle it, one integer program. A
        round is one program, no dearer than one end of one count, so rounds go on while they prove any
        count wide (or `rounds` times): on a year's releases a cap of 80 left 312 counts to two ends each.
        """
        m = len(exprs)
        targets = csr_array(
            ([v for e in exprs for _, v in e],
             ([i for i, e in enumerate(exprs) for _ in e], [k for e in exprs for k, _ in e])),
            shape=(m, self.n),
        )  # fmt: skip
        seen_low, seen_high = np.full(m, np.inf), np.full(m, -np.inf)
        exact_low, exact_high = np.full(m, np.nan), np.full(m, np.nan)

        def absorb(x: np.ndarray) -> None:
            values = targets @ x
            np.minimum(seen_low, values, out=seen_low)
            np.maximum(seen_high, values, out=seen_high)

        _, x, _ = self._solve(np.zeros(self.n))
        self.solves = 1
        self.log(f"a solution that fits every file: {self.seconds:.0f} s")
        if x is None:
            raise RuntimeError("the public files contradict the model: no whole-number solution")
        absorb(x)
        rng = np.random.default_rng(seed)
        stale = misses = 0
        limit = ROUND_SECONDS
        for _ in itertools.count() if rounds is None else range(rounds):
            narrow = np.flatnonzero(seen_high - seen_low < 3)
            if narrow.size == 0 or stale >= 2:
                break
            signs = rng.choice([-1.0, 1.0], size=narrow.size)
            _, x, _ = self._solve(targets[narrow].T @ signs, seconds=limit)
            self.solves += 1
            self.log(f"round: {narrow.size} of {m} counts not yet proved wide ({self.seconds:.0f} s)")
            if x is not None:
                absorb(x)
            if int(np.sum(seen_high - seen_low < 3)) < narrow.size:
                stale = 0
            elif self.seconds < limit:
                stale += 1
            else:
                # Out of time with nothing proved: on a busy machine presolve alone took a round's 60 s
                # on three years of releases, and counting that as a round that proved nothing ended the
                # rounds with all 6,182 counts left to programmes of their own. So it is tried again
                # with twice the time, a few times, before the rounds give up.
                misses += 1
                if misses > ROUND_MISSES:
                    break
                limit *= 2
        narrow = np.flatnonzero(seen_high - seen_low < 3)
        for i in range(m) if exact else narrow:
            if seen_high[i] - seen_low[i] >= 3 and not exact:
                continue  # proved wide by a solution found for another count
            row = targets[[i]].toarray().ravel()
            exact_low[i] = self._end(row, 1.0, seen_low[i], absorb, f"count {i} of {m}: lowest")
        if not exact:
            self._highest_together(narrow, targets, seen_low, seen_high, exact_high, absorb)
        for i in range(m) if exact else narrow:
            if (seen_high[i] - seen_low[i] >= 3 and not exact) or not np.isnan(exact_high[i]):
                continue
            row = targets[[i]].toarray().ravel()
            exact_high[i] = self._end(row, -1.0, seen_high[i], absorb, f"count {i} of {m}: highest")
        self.log(f"{self.solves} integer programmes; {self.relaxed} ends proved by the relaxation alone")
        out = []
        for i in range(m):
            if not np.isnan(exact_low[i]) and not np.isnan(exact_high[i]):
                out.append((math.ceil(exact_low[i] - 1e-6), math.floor(exact_high[i] + 1e-6), True))
            else:
                out.append((int(seen_low[i]), int(seen_high[i]), False))
        return out

    def _highest_together(
        self,
        counts: np.ndarray,
        targets: csr_array,
        seen_low: np.ndarray,
        seen_high: np.ndarray,
        exact_high: np.ndarray,
        absorb: Callable[[np.ndarray], None],
    ) -> None:
        """Prove the highest ends of many narrow counts at once, where one bound holds them all.

        Atoms are never negative, so a count is at most the sum of every atom of a group of counts (each
        atom weighted by its largest coefficient among them). When that sum cannot pass h, every count of
        the group that a solution already took to h has h as its highest value: one programme instead of
        one per count. On three years of releases most narrow counts are cells of divisions with no
        records, 0 or 1 each and each needing its own branch and bound (about 10 s each, 726 of them);
        a group that fails is split in two, so the worst case is about twice the programmes.
        """
        # The sum bounds a count only where no coefficient is negative. One stack of groups: a group whose
        # counts were seen at different highest values (at first, or after a solution raised some) is
        # split by that value before anything is proved of it.
        stack = [[int(i) for i in counts if (targets[[int(i)]].data >= 0).all()]]
        while stack:
            group = [i for i in stack.pop() if seen_high[i] - seen_low[i] < 3 and np.isnan(exact_high[i])]
            if len(group) < 4:
                continue  # left to one programme per count
            if len(highs := sorted({seen_high[i] for i in group})) > 1:
                stack.extend([i for i in group if seen_high[i] == h] for h in highs)
                continue
            h = seen_high[group[0]]
            union = targets[group].max(axis=0).toarray().ravel()
            most = math.inf  # nothing is known until a programme proves it
            relaxed = self.relaxation.solve(-union)
            if relaxed is not None:
                most = math.floor(-relaxed[0] + 1e-6)
            by = "the relaxation"
            if most > h:
                self.solves += 1
                _, x, proven = self._solve(-union)
                most = (
                    math.floor(-proven + 1e-6) if proven is not None and math.isfinite(proven) else math.inf
                )
                by = f"one integer programme ({self.seconds:.0f} s)"
                if x is not None:
                    absorb(x)
            if most <= h:
                exact_high[group] = h
                self.log(f"{len(group)} counts at most {h:.0f} together, by {by}")
                continue
            half = len(group) // 2
            stack.extend([group[half:], group[:half]])


class _Relaxation:
    """The same relations over real numbers: each end is a bound no whole-number solution passes.

    One HiGHS model, kept: each programme changes only its objective and starts from the last basis
    (a point of the system, where the primal simplex starts). A count's real minimum is at most its
    whole-number minimum, so rounded up it is a lower bound an attacker may claim; where a whole-number
    solution already reaches it, the count's least value is known without branch and bound.
    """

    def __init__(self, matrix: csr_array, low: np.ndarray, high: np.ndarray) -> None:
        import highspy
        from highspy._core import _Highs

        n = matrix.shape[1]
        a = matrix.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, a.shape[0]
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.zeros(n)
        lp.col_upper_ = np.full(n, float(MAX_COUNT))
        lp.row_lower_ = np.where(np.isfinite(low), low, -highspy.kHighsInf)
        lp.row_upper_ = np.where(np.isfinite(high), high, highspy.kHighsInf)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, a.shape[0]
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
        self.highs = _Highs()  # not highspy.Highs: its constructor prints a banner before any option
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("threads", 1)
        self.highs.setOptionValue("simplex_strategy", 4)  # primal: each start is already a point
        self.highs.passModel(lp)
        self.n = n
        self.optimal = highspy.HighsModelStatus.kOptimal

    def solve(self, c: np.ndarray) -> tuple[float, np.ndarray] | None:
        """The real minimum of c·x and a point reaching it, or None when it did not end optimal."""
        self.highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), np.asarray(c, dtype=float))
        self.highs.run()
        if self.highs.getModelStatus() != self.optimal:
            return None
        x = np.asarray(self.highs.getSolution().col_value)
        return float(self.highs.getInfo().objective_function_value), x


def attack(
    folders: Iterable[Path],
    *,
    model: str = "release",
    truths: dict[tuple[str, tuple[Any, ...]], int] | None = None,
    time_limit: float = 30.0,
    exact: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> list[Finding]:
    """Every withheld count of every release in these folders, with its whole-number range.

    ``truths`` maps (release name, figure key) to the true value, where the caller knows it (tests read
    each release's exact report.json with `true_values`); without it a count is "nearly recovered" only
    when its whole range lies under 10.
    """
    system = Reader(releases_in(folders), model=model).read()
    solver = Solver(system, time_limit=time_limit)
    solver.log = lambda message: log(f"{model}: {message}")
    withheld = [f for f in system.figures if f.value is None]
    unique = list(dict.fromkeys(f.expr for f in withheld))
    log(f"{model}: {len(system.atoms)} unknowns, {len(system.rows)} relations, {len(unique)} withheld sums")
    ranges = dict(zip(unique, solver.ranges(unique, exact=exact), strict=True))
    findings = []
    for figure in withheld:
        low, high, exact = ranges[figure.expr]
        truth = (truths or {}).get((figure.release, figure.key))
        findings.append(Finding(figure.release, figure.file, figure.label, low, high, truth, exact))
    return findings


def leaks(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that break the promise: recovered, or nearly recovered under 10, and not proven 0.

    A count proven to be 0 tells that no one is in it: no person is singled out, and a report already
    says as much by listing only the groups and divisions with records (`empty` findings are printed
    apart by benchmarks/adversary.py)."""
    return [f for f in findings if (f.recovered or f.nearly) and not f.empty]


def true_values(folders: Iterable[Path]) -> dict[tuple[str, tuple[Any, ...]], int]:
    """Each figure's true value, read with the same reader from each release's exact report.json.

    report.json is the team's file, never public: only a test (which knows the truth) uses this.
    """
    truths: dict[tuple[str, tuple[Any, ...]], int] = {}
    releases = releases_in(folders)
    reader = Reader(releases, model="release")
    for release in releases:
        exact = json.loads((release.folder / "report.json").read_text(encoding="utf-8"))
        before = len(reader.system.figures)
        reader.read_report(release, exact, "report.json")
        for figure in reader.system.figures[before:]:
            if figure.value is not None:
                truths[(release.name, figure.key)] = figure.value
    return truths
