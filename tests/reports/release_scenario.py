"""The done-when scenario of issue 10, through the one publishing path: years, their quarters, a revision.

Shared by the slow test (tests/reports/test_release_scenario.py), the real-path tests of the independent
adversary and the full-size run (benchmarks/adversary.py). A synthetic register on its own database;
each year's quarters, then the year, each built by one person and approved by another with the
cross-release check; then late records of one quarter and that quarter's year again, as a correction.
Then both attackers take every release ever public: the independent one (independent_adversary.py, its
own reading of the files, an exact integer solver) and the team's (adversary.py, the check's system).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fairengage.config import Settings
from fairengage.db import transaction
from fairengage.engagements import bulk
from fairengage.ingest import synth
from fairengage.publishing import service
from fairengage.reports import disclosure
from reports import adversary
from reports import independent_adversary as independent

OFFICERS = 12


def busiest_divisions(records: int, seed: int, count: int) -> list[str]:
    """The `count` divisions with most synthetic records: enough in each for releases to pass the check."""
    sample = synth.generate(records, seed=seed, officers=OFFICERS)
    return sorted(sample["division"].value_counts().index[:count])


def load_records(
    sessions: Any,
    settings: Settings,
    *,
    records: int,
    seed: int,
    start: date,
    end: date,
    divisions: Sequence[str],
) -> int:
    """Synthetic engagements between two dates in these divisions, loaded as the demo loads them."""
    frame = synth.generate(records, seed=seed, officers=OFFICERS, start=start, end=end, with_details=True)
    frame = frame[frame["division"].isin(list(divisions))].reset_index(drop=True)
    roster = [
        bulk.RosterEntry(o.badge, o.name, o.division, (date(2020, 1, 1),))
        for o in synth.officers_roster(OFFICERS, seed)
    ]
    with transaction(sessions) as session:
        officers = bulk.ensure_officers(session=session, roster=roster)
        bulk.load_frame(session=session, frame=frame, officers=officers, settings=settings, actor="bench")
    return len(frame)


@dataclass
class Published:
    """What a run published: each releases.json a watcher saved, the releases blocked, the checks' log."""

    saved: list[dict[str, Any]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # folder -> disclosure result
    stored: int = 0


def plan(years: Sequence[int], quarters: Sequence[int] = (1, 2, 3, 4)) -> list[str]:
    """Each year's quarters then the year, in order."""
    return [p for y in years for p in (*(f"{y}-Q{q}" for q in quarters), str(y))]


def publish_scenario(
    sessions: Any,
    settings: Settings,
    *,
    years: Sequence[int],
    records: int,
    divisions: Sequence[str],
    seed: int,
    late: int,
    revised: str,
    quarters: Sequence[int] = (1, 2, 3, 4),
    log: Callable[[str], None] = lambda line: None,
) -> Published:
    """Load the register, publish every period of `plan`, then late records of `revised` and a correction.

    `revised` is a quarter (e.g. 2026-Q3): its late records arrive after everything is published, and
    the year holding it is published again as a correction naming them.
    """
    today = date.today()
    done = Published()
    for i, year in enumerate(years):
        # The current year's records stop yesterday: its last quarter and the year are partial.
        end = min(date(year, 12, 31), today - timedelta(days=1))
        done.stored += load_records(sessions, settings, records=records, seed=seed + i,
                                    start=date(year, 1, 1), end=end, divisions=divisions)  # fmt: skip
    log(f"seed {seed}; {done.stored} records in {', '.join(divisions)}; years {list(years)}")
    year, quarter = revised.split("-Q")
    first = date(int(year), 3 * int(quarter) - 2, 1)
    last = min(date(int(year) + int(quarter) // 4, 3 * int(quarter) % 12 + 1, 1), today) - timedelta(days=1)
    steps: list[tuple[str, str | None]] = [(p, None) for p in plan(years, quarters)]
    steps.append((year, f"late records of {revised}"))
    for period, reason in steps:
        if reason:
            count = load_records(sessions, settings, records=late, seed=seed + 100, start=first, end=last,
                                 divisions=divisions)  # fmt: skip
            log(f"  {count} late records of {revised} loaded")
        started, cpu = time.monotonic(), time.process_time()
        built = service.build_release(
            sessions=sessions, settings=settings, period=period, actor="ana", reason=reason
        )
        done.results[built.folder] = built.disclosure
        log(
            f"  {period} v{built.version}: check ok={built.disclosure_ok}, "
            f"{built.disclosure['further_suppressed']} more withheld, {time.monotonic() - started:.0f} s "
            f"({time.process_time() - cpu:.0f} s CPU)"
        )
        if not built.disclosure_ok:
            done.blocked.append(period)
            continue
        service.approve(sessions=sessions, settings=settings, release_id=built.id, actor="bob")
        done.saved.append(json.loads((service.root_of(settings) / "releases.json").read_text()))
    return done


@dataclass(frozen=True)
class Attacked:
    """What both attackers found, over every release ever public."""

    folders: list[Path]
    public: int  # published count figures, every release
    withheld: int  # withheld count figures, every release (the independent attacker's reading)
    independent: dict[str, list[Any]]  # model -> its findings (independent_adversary.Finding)
    own: list[Any]  # the team's attacker (adversary.Recovery)
    seconds: dict[str, float]


ATTACKERS = ("release", "version", "own")


def attack_all(
    root: Path,
    published: Published,
    *,
    threshold: int = 10,
    time_limit: float = 1800.0,
    checkpoint: Path | None = None,
    log: Callable[[str], None] = lambda line: None,
    each: Callable[[str, list[Any], float], None] = lambda model, findings, seconds: None,
    attackers: Sequence[str] = ATTACKERS,
) -> Attacked | None:
    """Both attackers over every release ever listed in releases.json.

    `time_limit` bounds each integer programme in wall-clock seconds: on a shared machine the first one
    (tens of thousands of unknowns) can take minutes of wall time for seconds of work. At full size one
    attacker takes hours, so `each` hears every attacker's findings as soon as it has them, `log` hears
    every integer programme, and with `checkpoint` (a folder) each attacker's findings are kept there and
    a run started again takes them instead of attacking again. With `attackers`, only those attack (the
    others' kept findings are taken, where there are any): separate processes, each given one attacker and
    the same `checkpoint`, share the work; None unless every attacker's findings are then at hand.
    """
    folders = independent.ever_public(root, published.saved)
    truths = independent.true_values(folders)
    public = sum(f.value is not None for folder in folders for f in disclosure.read_release(folder).figures)
    seconds: dict[str, float] = {}
    found: dict[str, list[Any]] = {}
    made_from = attack_source(published)
    for model in ATTACKERS:
        kept = checkpoint / f"attack-{model}.json" if checkpoint else None
        earlier = load_findings(kept, model, made_from) if kept is not None and kept.is_file() else None
        if earlier is not None:
            found[model], seconds[model] = earlier
            log(f"{model}: {len(found[model])} findings taken from {kept} ({seconds[model]:.0f} s when made)")
        elif model not in attackers:
            continue
        else:
            started = time.monotonic()
            if model == "own":
                found[model] = adversary.attack(folders, threshold=threshold)
            else:
                found[model] = independent.attack(
                    folders, model=model, truths=truths, time_limit=time_limit, log=log
                )
            seconds[model] = time.monotonic() - started
            if kept is not None:
                save_findings(kept, found[model], seconds[model], made_from)
        each(model, found[model], seconds[model])
    if set(found) != set(ATTACKERS):
        return None
    own = found.pop("own")
    return Attacked(folders, public, len(found["release"]), found, own, seconds)


def attack_source(published: Published) -> str:
    """What an attacker's findings follow from: the releases ever public and the attackers' own code.

    Kept findings made from other releases, or by an attacker since changed, are not taken: a run after
    a fix to either must attack again, not print the old answer."""
    digest = hashlib.sha256(json.dumps(published.saved, sort_keys=True).encode())
    for module in (independent, adversary, disclosure):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def save_findings(path: Path, findings: Sequence[Any], seconds: float, made_from: str = "") -> None:
    """One attacker's findings as JSON, written whole or not at all (a run may be stopped at any time)."""
    rows = [asdict(f) for f in findings]
    kept = {"made_from": made_from, "seconds": seconds, "findings": rows}
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(kept, default=list), encoding="utf-8")
    partial.replace(path)


def load_findings(path: Path, model: str, made_from: str = "") -> tuple[list[Any], float] | None:
    """Findings `save_findings` wrote, as the attacker returned them; None if made from anything else."""
    kept = json.loads(path.read_text(encoding="utf-8"))
    if kept.get("made_from") != made_from:
        return None
    rows = kept["findings"]
    if model == "own":
        found: list[Any] = [adversary.Recovery(**(row | {"key": _key(row["key"])})) for row in rows]
    else:
        found = [independent.Finding(**row) for row in rows]
    return found, float(kept["seconds"])


def _key(fields: dict[str, Any]) -> disclosure.Key:
    """A figure's key as `asdict` wrote it (its groups a list), as the check's reading makes it."""
    groups = fields["groups"]
    return disclosure.Key(**(fields | {"groups": tuple(groups) if isinstance(groups, list) else groups}))


def small_recovered(attacked: Attacked, *, threshold: int = 10) -> list[str]:
    """Every withheld count under the threshold an attacker pinned or narrowed below 3 values."""
    lines = []
    for model, findings in attacked.independent.items():
        for f in independent.leaks(findings):
            if (f.truth if f.truth is not None else f.high) < threshold:
                lines.append(f"independent ({model}): {f.release} {f.file} {f.label}: {f.low}..{f.high}")
    for r in attacked.own:
        # A count proven to be 0 counts no one (independent.leaks says why).
        if 0 < r.high < threshold and (r.low == r.high or r.high - r.low < 3):
            lines.append(f"own: {r.locator}: {r.low}..{r.high}")
    return lines
