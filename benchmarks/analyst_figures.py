"""Draw docs/analyst.md's figures (plain SVG, no plotting library) from a report.json.

    PYTHONPATH=src python benchmarks/analyst_figures.py report.json docs/images/analyst

Figures: the veil of darkness by group and window (odds ratios, 95% intervals, log scale), and the
year-over-year change in each group's share of engagements (differences, 95% intervals).
"""

from __future__ import annotations

import json
import math
import sys
from html import escape
from pathlib import Path

WIDTH, ROW, LEFT, RIGHT, TOP = 720, 22, 260, 40, 40


def forest(rows: list[tuple[str, float | None, float | None, float | None]], *, title: str, null: float,
           log: bool, axis: str) -> str:  # fmt: skip
    """A forest plot: one line per row (label, estimate, low, high); a row without estimate says so."""
    values = [v for _, e, lo, hi in rows if e is not None for v in (e, lo, hi) if v is not None] + [null]
    scale = (lambda v: math.log(v)) if log else (lambda v: v)
    low, high = min(map(scale, values)), max(map(scale, values))
    span = (high - low) or 1.0

    def x(value: float) -> float:
        return LEFT + (scale(value) - low) / span * (WIDTH - LEFT - RIGHT)

    height = TOP + ROW * len(rows) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" '
        f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{x(null):.1f}" y1="{TOP - 8}" x2="{x(null):.1f}" y2="{TOP + ROW * len(rows)}" '
        'stroke="#888" stroke-dasharray="4 3"/>',
    ]
    for i, (label, estimate, lo, hi) in enumerate(rows):
        y = TOP + ROW * i + ROW / 2
        parts.append(f'<text x="10" y="{y + 4:.1f}">{escape(label)}</text>')
        if estimate is None or lo is None or hi is None:
            parts.append(f'<text x="{LEFT}" y="{y + 4:.1f}" fill="#666">no estimate</text>')
            continue
        parts.append(f'<line x1="{x(lo):.1f}" y1="{y:.1f}" x2="{x(hi):.1f}" y2="{y:.1f}" stroke="#1f4e79" '
                     'stroke-width="2"/>')  # fmt: skip
        parts.append(f'<circle cx="{x(estimate):.1f}" cy="{y:.1f}" r="4" fill="#1f4e79"/>')
    parts.append(f'<text x="{x(null):.1f}" y="{height - 12}" text-anchor="middle">{escape(axis)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(report_path: str, out_dir: str) -> None:
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    veil = report["veil_of_darkness"]
    rows = []
    for r in veil["by_group"]:
        label = f"{r['group']} vs {r['reference']}, {r['specification']}"
        rows.append((label, r["odds_ratio"], r["ci_low"], r["ci_high"]))
    (out / "veil_by_group.svg").write_text(
        forest(
            rows,
            title="Veil of darkness: odds ratio dark vs light (95% interval)",
            null=1.0,
            log=True,
            axis="1 = no difference (log scale)",
        ),
        encoding="utf-8",
    )
    change = report["change_over_time"]
    rows = [
        (f"{r['group']}, {r['year']} vs {r['previous_year']}", r["difference"], r["ci_low"], r["ci_high"])
        for r in change["year_over_year"]
        if r["measure"] == "share"
    ]
    (out / "change_year_over_year.svg").write_text(
        forest(
            rows,
            title="Change in each group's share of engagements (95% interval)",
            null=0.0,
            log=False,
            axis="0 = no change",
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
