"""Issue 10's done-when scenario at full size: publish years, all their quarters and a revision, attack all.

    PYTHONPATH=src python benchmarks/adversary.py --years 2024 2025 2026 --records 4000 --divisions 3 --seed 7

Makes a synthetic database (SQLite, in a temporary folder), keeps the busiest divisions, and publishes
through the one publishing path (build by one person, approval by another, the cross-release check
included): for each year its four quarters then the year; then late records of the last year's third
quarter and that year again as a correction (tests/reports/release_scenario.py, shared with the slow
test). Every release ever public is then attacked by the independent adversary under both its models
and by the team's own; every withheld count an attacker pins, or narrows below 3 values while it is
under 10, is printed with its true value, as soon as that attacker is done. `--dump` writes each
release's check result and withheld figures, to compare two versions of the code on one scenario.
`--work DIR` keeps the releases and each attacker's findings: a full-size run takes hours, and the
same command run again goes on from the last attacker that finished. `--attackers version` (say) runs
only that one: processes given different attackers and one `--work` share the work, one core each.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import secrets
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fairengage import migrate
from fairengage.config import Settings
from fairengage.db import engine_for, session_factory
from fairengage.reports import disclosure

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reports import independent_adversary, release_scenario


def main() -> None:
    """Publish the sequence, attack it, print what was tried and what was found."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, nargs="+", default=[2024, 2025, 2026])
    parser.add_argument(
        "--records", type=int, default=4000, help="records per year, before keeping divisions"
    )
    parser.add_argument("--divisions", type=int, default=3)
    parser.add_argument("--late", type=int, default=60, help="late records (before keeping divisions)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dump", type=Path, help="write each release's check result and withheld figures")
    parser.add_argument("--no-attack", action="store_true", help="publish only; do not attack")
    parser.add_argument(
        "--work",
        type=Path,
        help="keep the database, the releases and each attacker's findings here; run again with the same "
        "folder to go on from where a stopped run was (default: a temporary folder, removed at the end)",
    )
    parser.add_argument(
        "--attackers",
        nargs="+",
        choices=release_scenario.ATTACKERS,
        default=release_scenario.ATTACKERS,
        help="attack with these only (the others' findings kept in --work are taken): run one process per "
        "attacker with the same --work to use more cores, then once without this to print the whole",
    )
    parser.add_argument("--time-limit", type=float, default=1800.0, help="seconds per integer programme")
    parser.add_argument("--verbose", action="store_true", help="log each round of the check and the attack")
    args = parser.parse_args()
    if args.verbose:
        logging.basicConfig(format="    %(asctime)s %(message)s", datefmt="%H:%M:%S")
        logging.getLogger("fairengage.reports.disclosure").setLevel(logging.DEBUG)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        published = publish(work, args)
        root = work / "publications"
        if args.dump:
            dump(args.dump, root, published)
        print(f"publishing: {time.monotonic() - started:.0f} s; blocked (never published): "
              f"{published.blocked or 'none'}")  # fmt: skip
        if args.no_attack:
            return
        attacked = release_scenario.attack_all(
            root,
            published,
            time_limit=args.time_limit,
            checkpoint=work,
            log=stamped if args.verbose else lambda line: None,
            each=say,
            attackers=args.attackers,
        )
        if attacked is None:
            print(f"attackers {', '.join(args.attackers)} done; others still to run for the whole")
            return
    print(f"{len(attacked.folders)} releases ever public; {attacked.public} public figures, "
          f"{attacked.withheld} withheld")  # fmt: skip
    small = release_scenario.small_recovered(attacked)
    print(f"counts under 10 recovered by either attacker: {len(small)}")
    for line in small:
        print(f"  {line}")
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    print(f"total {time.monotonic() - started:.0f} s wall, {cpu.ru_utime + cpu.ru_stime:.0f} s CPU")


def publish(work: Path, args: argparse.Namespace) -> release_scenario.Published:
    """The scenario's releases in `work`, or those a run before this one made there (work/published.json)."""
    made = work / "published.json"
    scenario = {key: getattr(args, key) for key in ("years", "records", "divisions", "late", "seed")}
    if made.is_file():
        kept = json.loads(made.read_text(encoding="utf-8"))
        if kept.get("scenario") != scenario:
            # Taking releases of another scenario would attack what the command line does not say.
            earlier = kept.get("scenario") or "an unrecorded scenario"
            sys.exit(f"adversary: {made} holds the releases of {earlier}, not of {scenario}; "
                     "give another --work folder")  # fmt: skip
        print(f"releases taken from {work} (made by an earlier run)", flush=True)
        return release_scenario.Published(**kept["published"])
    url = f"sqlite:///{work}/bench.db"
    migrate.upgrade(url)
    settings = Settings(
        database_url=url, secret_key=secrets.token_urlsafe(32), publications_dir=work / "publications"
    )
    published = release_scenario.publish_scenario(
        session_factory(engine_for(url)),
        settings,
        years=args.years,
        records=args.records,
        divisions=release_scenario.busiest_divisions(args.records, args.seed, args.divisions),
        seed=args.seed,
        late=args.late,
        revised=f"{args.years[-1]}-Q3",
        log=lambda line: print(line, flush=True),
    )
    made.write_text(json.dumps({"scenario": scenario, "published": asdict(published)}), encoding="utf-8")
    return published


def dump(path: Path, root: Path, published: release_scenario.Published) -> None:
    """Each release's check result and withheld figures, to compare two versions of the code."""
    dumped = {
        folder: {
            "further": result["further_suppressed"],
            "withheld": sorted(
                f"{f.file} {f.locator}"
                for f in disclosure.read_release(root / folder).figures
                if f.value is None
            ),
        }
        for folder, result in published.results.items()
        if (root / folder).is_dir()
    }
    path.write_text(json.dumps(dumped, indent=1, ensure_ascii=False))


def stamped(line: str) -> None:
    print(f"    {time.strftime('%H:%M:%S')} {line}", flush=True)


def say(model: str, findings: list[Any], seconds: float) -> None:
    """One attacker's result, printed the moment it has one."""
    if model == "own":
        pinned = [r for r in findings if r.low == r.high and r.high > 0]
        empty = sum(r.high == 0 for r in findings)
        print(
            f"own: {len(findings)} withheld figures (the check's reading, worked-out cells included), "
            f"{len(pinned)} pinned, {empty} proven 0 (they count no one), {seconds:.0f} s",
            flush=True,
        )
        for r in pinned:
            print(f"  {r.locator}: {r.low}")
        return
    found = independent_adversary.leaks(findings)
    small = [f for f in found if (f.truth if f.truth is not None else f.high) < 10]
    empty = [f for f in findings if f.empty]
    print(
        f"independent, model {model}: {len(findings)} withheld figures, "
        f"{sum(f.exact for f in findings)} solved exactly at both ends, {len(found)} pinned or nearly, "
        f"{len(small)} of them under 10, {len(empty)} proven 0 (they count no one), {seconds:.0f} s",
        flush=True,
    )
    for f in found:
        print(f"  {f.release} {f.file} {f.label}: {f.low}..{f.high} (true {f.truth})")
    for f in empty:
        print(f"  proven 0: {f.release} {f.file} {f.label}")


if __name__ == "__main__":
    main()
