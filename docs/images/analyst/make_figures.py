"""Draw the analyst guide's figures, with the report's own chart code.

    PYTHONPATH=src python docs/images/analyst/make_figures.py [--report hartford/report.json]

The outcome-test differences, the officer review and the side-by-side benchmarks come from `fairengage
synth`'s generator with fixed seeds, so anyone can redraw and check them. With `--report`, the veil of
darkness by group and window and the year-over-year change are drawn from that report.json (the guide's
are Hartford's: docs/analyst.md says how it was made) by the functions that draw them in the board
report, so the guide shows what the board sees.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import ibis

from fairengage.analytics.benchmark_comparison import compare_benchmarks
from fairengage.analytics.counts import cell_counts
from fairengage.analytics.officer_review import officer_review
from fairengage.analytics.outcome_test import hit_rate_differences, stratified_hit_rates
from fairengage.ingest.population import population_table
from fairengage.ingest.synth import PlantedEffects, generate
from fairengage.reports.board_charts import change_chart, veil_chart
from fairengage.reports.charts import index_chart
from fairengage.reports.reading import Reader
from fairengage.vocabulary import PERCEIVED_RACES

HERE = Path(__file__).resolve().parent


def table(frame):  # type: ignore[no-untyped-def]
    path = Path(tempfile.mkdtemp()) / "engagements.parquet"
    frame.to_parquet(path)
    return ibis.duckdb.connect().read_parquet(path)


def outcome_figure() -> None:
    effects = PlantedEffects(hit_rate={"Black": 0.15})
    cells = cell_counts(table(generate(60_000, seed=3, effects=effects)))
    rows = [
        {**r, "label": f"{r['group']}, city-wide"}
        for r in hit_rate_differences(cells)
        if r["area"] == "ALL" and r["group"] != "Unknown"
    ]
    rows += [{**r, "label": f"{r['group']}, within divisions"} for r in stratified_hit_rates(cells)
             if r["group"] == "Black"]  # fmt: skip
    title = "Hit rate minus White people's (planted: Black 15%)"
    chart = index_chart(rows, title=title, value_key="difference", label_key="label", reference=0.0)
    (HERE / "outcome-difference.svg").write_text(chart.svg, encoding="utf-8")


def officer_figure() -> None:
    frame = generate(60_000, seed=2, officers=100, effects=PlantedEffects(biased_officers=3))
    review = officer_review(table(frame), groups=PERCEIVED_RACES, tz="America/Toronto")
    rows = []
    for r in review["rows"]:
        name = f"{r['officer_key'][:6]}… {r['group']} {r['measure']}"
        rows.append({"label": f"{name}: exact", "ratio": r["ratio"]})
        rows.append({"label": f"{name}: doubly robust", "ratio": r["dr_ratio"]})
    chart = index_chart(rows, title="Flagged comparisons: observed ÷ expected, both ways", value_key="ratio",
                        label_key="label", reference=1.0)  # fmt: skip
    (HERE / "officer-review.svg").write_text(chart.svg, encoding="utf-8")


def benchmark_figure() -> None:
    effects = PlantedEffects(over_representation={"Black": 1.8})
    cells = cell_counts(table(generate(60_000, seed=4, effects=effects)))
    residents = population_table()
    daytime = residents.copy()
    # An illustrative daytime population with half again as many Black people present as live there.
    daytime.loc[daytime["group"] == "Black", "population"] = (
        (daytime.loc[daytime["group"] == "Black", "population"] * 1.5).round().astype("int64")
    )
    result = compare_benchmarks(cells, {"residents": residents, "daytime": daytime}, threshold=1.5)
    rows = [{**r, "label": f"{r['group']}, {r['benchmark']}"} for r in result["rows"]
            if r["area"] == "ALL" and r["group"] in ("Black", "White", "South Asian")]  # fmt: skip
    chart = index_chart(rows, title="Disproportionality under two benchmarks, city-wide", label_key="label")
    (HERE / "benchmarks-side-by-side.svg").write_text(chart.svg, encoding="utf-8")


def report_figures(path: Path) -> None:
    report = json.loads(path.read_text(encoding="utf-8"))
    reader = Reader("en")
    for name, chart in (
        ("veil_by_group.svg", veil_chart(report["veil_of_darkness"], reader)),
        ("change_year_over_year.svg", change_chart(report["change_over_time"], reader)),
    ):
        if chart is None:
            raise SystemExit(f"{path}: no rows for {name}")
        (HERE / name).write_text(chart.svg, encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path, help="a report.json to draw the veil and change figures from")
    args = parser.parse_args()
    outcome_figure()
    officer_figure()
    benchmark_figure()
    if args.report:
        report_figures(args.report)
