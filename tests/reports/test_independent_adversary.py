"""The independent adversary: it recovers counts planted in unprotected releases, and none in real ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reports import independent_adversary as adversary


def release(root: Path, period: str, *, version: int = 1, at: str = "2026-02-01T10:00:00+00:00",
            annual: dict[str, Any] | None = None, trends: list[tuple[str, str, int | None, str]] = (),
            threshold: int = 10) -> Path:  # fmt: skip
    """A hand-made public release: report.public.json, the manifest and, if given, the trend CSV."""
    folder = root / period / f"v{version}"
    (folder / "open-data").mkdir(parents=True)
    meta = {"report_period": {"label": period}, "generated_at": at, "suppression_threshold": threshold}
    report = {"meta": meta, "annual": annual or {}}
    (folder / "report.public.json").write_text(json.dumps(report))
    manifest = {"version": f"{period}-2026-02-01", "generated_at": at, "threshold": threshold, "files": []}
    (folder / "open-data" / "manifest.json").write_text(json.dumps(manifest))
    if trends:
        lines = ["period,perceived_race,count,count_suppressed,count_suppressed_reason"]
        for period_label, group, count, reason in trends:
            shown = "" if count is None else str(count)
            lines.append(f"{period_label},{group},{shown},{'true' if count is None else 'false'},{reason}")
        (folder / "open-data" / "trends_by_period_and_group.csv").write_text("\n".join(lines) + "\n")
    return folder


def found(findings: list[adversary.Finding], release_name: str, label: str) -> adversary.Finding:
    [hit] = [f for f in findings if f.release == release_name and f.label == label]
    return hit


def test_a_year_less_three_quarters_gives_the_fourth(tmp_path):
    # The report: the year says 48, three quarters say 16, 12 and 14, so the fourth is 6.
    folders = [
        release(tmp_path, quarter, annual={"attempts": count})
        for quarter, count in (("2025-Q1", 16), ("2025-Q2", 12), ("2025-Q3", 14), ("2025-Q4", None))
    ]
    folders.append(release(tmp_path, "2025", annual={"attempts": 48}, at="2026-02-02T10:00:00+00:00"))
    # Built on different days: the attacker who bets no record came late between them pins it.
    bet = adversary.attack(folders, exact=True, model="version")
    fourth = found(bet, "2025-Q4 v1", "annual × attempts")
    assert (fourth.low, fourth.high, fourth.recovered) == (6, 6, True)
    # Without the bet, late records could have joined the fourth quarter: only "at most 6" is known.
    sound = adversary.attack(folders, exact=True, model="release")
    fourth = found(sound, "2025-Q4 v1", "annual × attempts")
    assert (fourth.low, fourth.high, fourth.recovered) == (0, 6, False)
    assert fourth not in adversary.leaks(sound)  # seven values: "fewer than 10" is all that is known


def test_a_trend_total_less_last_year_gives_the_year_before(tmp_path):
    # "2026 trend table ALL,Indigenous,24 and 2025 says 17 -> 2024 is 7".
    folders = [
        release(tmp_path, "2024", annual={"by_race": {"Indigenous": None}}),
        release(tmp_path, "2025", annual={"by_race": {"Indigenous": 17}}),
        release(
            tmp_path,
            "2026",
            trends=[
                ("2024", "Indigenous", None, "small"),
                ("2025", "Indigenous", None, "protects"),
                ("ALL", "Indigenous", 24, ""),
            ],
        ),
    ]
    findings = adversary.attack(folders, exact=True, model="version")
    year = found(findings, "2024 v1", "annual × by_race × Indigenous")
    assert (year.low, year.high) == (7, 7)
    assert year in adversary.leaks(findings)
    # The 2026 release's own trend cell for 2024 is the same count, and falls with it.
    assert found(findings, "2026 v1", "trends_csv × 2024 × Indigenous").recovered


def test_a_rerun_gives_away_the_records_that_came_late(tmp_path):
    # Version 1: 100 engagements, 8 of them Indigenous or Latino (both hidden). Version 2, two days
    # later: Indigenous reached 10 and is shown; the attacker knows counts only grow.
    groups = ("Black", "White", "Indigenous", "Latino")
    first = release(
        tmp_path,
        "2025",
        annual={"attempts": 100, "by_race": dict(zip(groups, (40, 52, None, None), strict=True))},
    )
    second = release(tmp_path, "2025", version=2, at="2026-02-03T10:00:00+00:00",
                     annual={"attempts": 102, "by_race": dict(zip(groups, (40, 52, 10, None), strict=True))})  # fmt: skip
    for model in ("release", "version"):
        findings = adversary.attack([first, second], model=model, exact=True)
        latino = found(findings, "2025 v2", "annual × by_race × Latino")
        assert (latino.low, latino.high) == (0, 0), model
        assert (found(findings, "2025 v1", "annual × by_race × Latino").high) == 0
        indigenous = found(findings, "2025 v1", "annual × by_race × Indigenous")
        assert (indigenous.low, indigenous.high) == (8, 8), model


def test_stated_reasons_and_rates_narrow_the_ranges(tmp_path):
    # A withheld count marked "small" is under 10; "protects" at least 10; a rate gives its numerator.
    folder = tmp_path / "2025" / "v1"
    release(tmp_path, "2025")
    report = json.loads((folder / "report.public.json").read_text())
    report["compliance"] = [
        {"area": "D11", "measure": "informed", "count": None, "count_suppressed_reason": "protects",
         "total": None, "total_suppressed_reason": "protects", "rate": None},
        {"area": "D11", "measure": "receipt_offered", "count": None, "count_suppressed_reason": "small",
         "total": None, "total_suppressed_reason": "protects", "rate": 0.3333333333},
    ]  # fmt: skip
    folder.joinpath("report.public.json").chmod(0o644)
    (folder / "report.public.json").write_text(json.dumps(report))
    findings = adversary.attack([folder], exact=True)
    informed = found(findings, "2025 v1", "compliance × D11 × informed × count")
    assert informed.low == 10 and informed.high >= 13
    receipt = found(findings, "2025 v1", "compliance × D11 × receipt_offered × count")
    total = found(findings, "2025 v1", "compliance × D11 × receipt_offered × total")
    # receipt = total / 3 with total >= 10 and receipt <= 9: receipt is 4..9 and total 12..27.
    assert (receipt.low, receipt.high) == (4, 9)
    assert (total.low, total.high) == (12, 27)
    assert adversary.leaks(findings) == []
