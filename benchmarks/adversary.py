"""Attack real releases with the independent adversary: years, all their quarters, and one correction.

    PYTHONPATH=src python benchmarks/adversary.py --years 2023 2024 2025 --records 2000 --divisions 3 --seed 7

Makes a synthetic database (SQLite, in a temporary folder), keeps the busiest divisions, and publishes
through the one publishing path (build by one person, approval by another, the cross-release check
included): for each year its four quarters then the year; then late records of the last year's third
quarter and that year again as a correction. Every release ever public is then attacked
(tests/reports/independent_adversary.py) under both models, and every withheld count the attacker pins,
or narrows below 3 values while it is under 10, is printed with its true value.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from fairengage import migrate
from fairengage.config import Settings
from fairengage.db import engine_for, session_factory, transaction
from fairengage.engagements import bulk
from fairengage.ingest import synth
from fairengage.publishing import service
from fairengage.reports import disclosure

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reports"))
import independent_adversary as adversary  # a test module, found beside the tests

OFFICERS = 12


def load(sessions, settings, *, records, seed, start, end, divisions):  # type: ignore[no-untyped-def]
    """Synthetic engagements between two dates in the given divisions; the number stored."""
    frame = synth.generate(records, seed=seed, officers=OFFICERS, start=start, end=end, with_details=True)
    frame = frame[frame["division"].isin(divisions)].reset_index(drop=True)
    roster = [
        bulk.RosterEntry(o.badge, o.name, o.division, (date(2020, 1, 1),))
        for o in synth.officers_roster(OFFICERS, seed)
    ]
    with transaction(sessions) as session:
        officers = bulk.ensure_officers(session=session, roster=roster)
        bulk.load_frame(session=session, frame=frame, officers=officers, settings=settings, actor="bench")
    return len(frame)


def main() -> None:
    """Publish the sequence, attack it, print what was tried and what was found."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, nargs="+", default=[2023, 2024, 2025])
    parser.add_argument(
        "--records", type=int, default=2000, help="records per year, before keeping divisions"
    )
    parser.add_argument("--divisions", type=int, default=3)
    parser.add_argument("--late", type=int, default=60, help="late records (before keeping divisions)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--dump", type=Path, help="write each release's check result and withheld figures (to compare runs)"
    )
    parser.add_argument("--no-attack", action="store_true", help="publish only; do not attack")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(url)
        settings = Settings(
            database_url=url,
            secret_key=secrets.token_urlsafe(32),
            publications_dir=Path(tmp) / "publications",
        )
        sessions = session_factory(engine_for(url))
        sample = synth.generate(args.records, seed=args.seed, officers=OFFICERS)
        divisions = sorted(sample["division"].value_counts().index[: args.divisions])
        stored = sum(
            load(
                sessions,
                settings,
                records=args.records,
                seed=args.seed + i,
                start=date(year, 1, 1),
                # The current year's records stop yesterday: its last quarter and the year are partial.
                end=min(date(year, 12, 31), date.today() - timedelta(days=1)),
                divisions=divisions,
            )
            for i, year in enumerate(args.years)
        )
        print(f"seed {args.seed}; {stored} records in {', '.join(divisions)}; years {args.years}", flush=True)
        saved, blocked = [], []
        dumped: dict[str, object] = {}
        last = args.years[-1]
        plan = [(p, None) for y in args.years for p in [*(f"{y}-Q{q}" for q in range(1, 5)), str(y)]]
        plan.append((str(last), "late records of the third quarter"))
        for period, reason in plan:
            if reason:
                late = load(
                    sessions,
                    settings,
                    records=args.late,
                    seed=args.seed + 100,
                    start=date(last, 7, 1),
                    end=date(last, 9, 30),
                    divisions=divisions,
                )
                print(f"  {late} late records of {last}-Q3 loaded", flush=True)
            started = time.monotonic()
            built = service.build_release(
                sessions=sessions, settings=settings, period=period, actor="ana", reason=reason
            )
            seconds = time.monotonic() - started
            print(
                f"  {period} v{built.version}: check ok={built.disclosure_ok}, "
                f"{built.disclosure['further_suppressed']} more withheld, {seconds:.0f} s",
                flush=True,
            )
            if not built.disclosure_ok:
                blocked.append(period)
                continue
            service.approve(sessions=sessions, settings=settings, release_id=built.id, actor="bob")
            saved.append(json.loads((settings.publications_dir / "releases.json").read_text()))
            withheld = sorted(
                f"{f.file} {f.locator}"
                for f in disclosure.read_release(settings.publications_dir / built.folder).figures
                if f.value is None
            )
            dumped[built.folder] = {"further": built.disclosure["further_suppressed"], "withheld": withheld}
        if args.dump:
            args.dump.write_text(json.dumps(dumped, indent=1, ensure_ascii=False))
        if args.no_attack:
            return
        folders = adversary.ever_public(settings.publications_dir, saved)
        truths = adversary.true_values(folders)
        print(f"{len(folders)} releases ever public; blocked (never published): {blocked or 'none'}")
        public = sum(f.value is not None for r in map(disclosure.read_release, folders) for f in r.figures)
        print(f"{public} public figures")
        for model in ("release", "version"):
            started = time.monotonic()
            findings = adversary.attack(folders, model=model, truths=truths)
            seconds = time.monotonic() - started
            found = adversary.leaks(findings)
            small = [f for f in found if (f.truth if f.truth is not None else f.high) < 10]
            exact = sum(f.exact for f in findings)
            print(
                f"model {model}: {len(findings)} withheld figures, {exact} solved exactly at both ends, "
                f"{len(found)} pinned or nearly, {len(small)} of them under 10, {seconds:.0f} s"
            )
            for f in found:
                print(f"  {f.release} {f.file} {f.label}: {f.low}..{f.high} (true {f.truth})")


if __name__ == "__main__":
    main()
