"""Report charts: accessible, self-contained SVG whose marks sit at the values they stand for."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from fairengage.reports.charts import Chart, bar_chart, index_chart, trend_chart

SVG = "{http://www.w3.org/2000/svg}"

ROWS = [
    {"group": "Black", "index": 2.4, "ci_low": 2.3, "ci_high": 2.5},
    {"group": "East/Southeast Asian", "index": 0.45, "ci_low": 0.38, "ci_high": 0.53},
    {"group": "Indigenous", "index": None, "ci_low": None, "ci_high": None, "suppressed": True},
    {"group": "White", "index": 0.8, "ci_low": 0.77, "ci_high": 0.83},
]


def parse(chart: Chart) -> ET.Element:
    """The chart's SVG as an element tree (our own output, so the plain parser is safe)."""
    return ET.fromstring(chart.svg)  # noqa: S314


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def by_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in (e.get("class") or "").split()]


def assert_accessible(chart: Chart, labels: list[str]) -> ET.Element:
    """The checks every chart must pass: role, title, desc, viewBox, text as text, nothing external."""
    root = parse(chart)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox") or "")
    assert root.get("width") is None  # scales with its container
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == chart.title
    assert desc is not None and desc.text == chart.alt
    assert set((root.get("aria-labelledby") or "").split()) == {title.get("id"), desc.get("id")}
    shown = texts(root)
    for label in labels:
        assert label in shown, label
    assert not chart.svg.startswith("<?xml")
    for element in root.iter():
        assert element.tag not in {f"{SVG}script", f"{SVG}style", f"{SVG}image", f"{SVG}foreignObject"}
        assert "style" not in element.attrib  # the pages' CSP forbids inline styles
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), name
            if name.endswith("href"):
                assert value.startswith("#"), value
        fill = element.get("fill") or ""
        if fill.startswith("url("):
            assert root.find(f".//*[@id='{fill[5:-1]}']") is not None, fill
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    return root


def ticks(root: ET.Element) -> list[tuple[float, float]]:
    """(value, x) of every tick on the value axis."""
    out = []
    for tick in by_class(root, "tick"):
        line = tick.find(f"{SVG}line")
        out.append((float(tick.get("data-value")), float(line.get("x1"))))
    return out


def value_at(root: ET.Element, x: float, *, log: bool) -> float:
    """Read a value off the axis at a pixel position, from the first and last tick."""
    (v0, x0), (v1, x1) = ticks(root)[0], ticks(root)[-1]
    if log:
        return math.exp(math.log(v0) + (x - x0) / (x1 - x0) * (math.log(v1) - math.log(v0)))
    return v0 + (x - x0) / (x1 - x0) * (v1 - v0)


def whiskers(root: ET.Element) -> dict[str, tuple[float, float]]:
    """Each group's interval line as (x of the low end, x of the high end)."""
    out = {}
    for group in by_class(root, "ci"):
        line = group.find(f"{SVG}line")
        out[group.get("data-group")] = (float(line.get("x1")), float(line.get("x2")))
    return out


def test_index_chart_is_accessible_and_labels_every_group():
    chart = index_chart(ROWS, title="Engagements compared with population share, 2025")
    assert_accessible(chart, [row["group"] for row in ROWS] + [chart.title])


def test_index_chart_alt_says_every_value_and_interval_and_suppressed():
    chart = index_chart(ROWS, title="Index")
    for figure in ("2.40", "2.30", "2.50", "0.45", "0.38", "0.53", "0.80", "0.77", "0.83"):
        assert figure in chart.alt, figure
    assert "Black: 2.40 (95% CI 2.30 to 2.50)" in chart.alt
    assert "Indigenous: suppressed" in chart.alt


def test_a_bayesian_models_intervals_are_called_credible_in_the_key_and_the_text():
    # The threshold test's intervals are credible intervals: "confidence" would misname them.
    chart = index_chart(ROWS, title="Thresholds", credible=True)
    assert "Black: 2.40 (95% credible interval 2.30 to 2.50)" in chart.alt
    assert "each value with its 95% credible interval" in chart.alt
    assert "95% credible interval" in texts(parse(chart)) and "confidence" not in chart.svg
    plain = index_chart(ROWS, title="Index")
    assert "95% confidence interval" in texts(parse(plain)) and "credible" not in plain.svg
    french = index_chart(ROWS, title="Seuils", credible=True, lang="fr")
    assert "intervalle de crédibilité à 95" in french.alt


def test_index_whiskers_and_points_sit_at_their_values_on_a_log_axis():
    root = parse(index_chart(ROWS, title="Index"))
    assert "log scale" in " ".join(texts(root))
    drawn = whiskers(root)
    assert set(drawn) == {"Black", "East/Southeast Asian", "White"}  # the suppressed row has no whisker
    for row in ROWS:
        if row["index"] is None:
            continue
        low_x, high_x = drawn[row["group"]]
        # Half a pixel of rounding in the SVG is about 0.3% on this axis.
        assert value_at(root, low_x, log=True) == pytest.approx(row["ci_low"], rel=0.01)
        assert value_at(root, high_x, log=True) == pytest.approx(row["ci_high"], rel=0.01)
        point = next(c for c in by_class(root, "point") if c.get("data-group") == row["group"])
        assert value_at(root, float(point.get("cx")), log=True) == pytest.approx(row["index"], rel=0.01)
    reference = by_class(root, "reference")[0]
    assert value_at(root, float(reference.get("x1")), log=True) == pytest.approx(1.0, rel=0.01)
    # On a ratio scale, halving and doubling lie at equal distances from 1.
    positions = dict(ticks(root))
    assert positions[2.0] - positions[1.0] == pytest.approx(positions[1.0] - positions[0.5], abs=0.2)


def test_index_chart_falls_back_to_a_linear_axis_for_differences():
    rows = [
        {"group": "A", "diff": -0.2, "low": -0.5, "high": 0.1},
        {"group": "B", "diff": 0.3, "low": 0.2, "high": 0.4},
    ]
    chart = index_chart(
        rows, title="Differences", value_key="diff", low_key="low", high_key="high", reference=0
    )
    root = assert_accessible(chart, ["A", "B"])
    for row in rows:
        low_x, high_x = whiskers(root)[row["group"]]
        assert value_at(root, low_x, log=False) == pytest.approx(row["low"], abs=0.005)
        assert value_at(root, high_x, log=False) == pytest.approx(row["high"], abs=0.005)
    assert value_at(root, float(by_class(root, "reference")[0].get("x1")), log=False) == pytest.approx(
        0, abs=0.005
    )


def test_index_chart_in_french_uses_french_numbers_and_words():
    chart = index_chart(ROWS, title="Indice", lang="fr")
    assert "2,40" in chart.alt and "supprimé" in chart.alt
    assert "échelle logarithmique" in " ".join(texts(parse(chart)))


def test_bar_chart_bars_are_proportional_and_suppressed_is_said():
    labels = ["Black", "White", "Indigenous", "Latino"]
    values = [1234, 2210, None, 88]
    chart = bar_chart(labels, values, title="Engagements by group", unit="engagements")
    root = assert_accessible(chart, [*labels, "1,234", "2,210", "88", "engagements"])
    bars = {b.get("data-label"): float(b.get("width")) for b in by_class(root, "bar")}
    assert set(bars) == {"Black", "White", "Latino"}
    assert bars["White"] / bars["Black"] == pytest.approx(2210 / 1234, rel=0.01)
    assert bars["Latino"] / bars["Black"] == pytest.approx(88 / 1234, rel=0.02)
    assert value_at(
        root, float(by_class(root, "bar")[0].get("x")) + bars["Black"], log=False
    ) == pytest.approx(1234, rel=0.005)
    assert "Black: 1,234" in chart.alt and "Indigenous: suppressed" in chart.alt and "Latino: 88" in chart.alt
    assert by_class(root, "suppressed")


def test_bar_chart_refuses_labels_and_values_of_different_lengths():
    with pytest.raises(ValueError, match="3 labels but 2 values"):
        bar_chart(["a", "b", "c"], [1, 2], title="t", unit="u")


def test_trend_chart_breaks_the_line_at_a_suppressed_period_and_marks_it():
    periods = ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    series = {"Black": [2.1, 2.3, None, 2.4], "White": [0.8, 0.82, 0.79, 0.81]}
    chart = trend_chart(periods, series, title="Index by quarter")
    root = assert_accessible(chart, [*periods, "Black", "White", chart.title])
    lines = {g.get("data-series"): g.findall(f"{SVG}path") for g in by_class(root, "series")}
    assert len(lines["Black"]) == 1  # Q1–Q2; Q4 stands alone as a marker, not joined across the gap
    assert len(lines["Black"][0].get("d").split("L")) == 2
    assert len(lines["White"]) == 1 and len(lines["White"][0].get("d").split("L")) == 4
    gaps = by_class(root, "gap")
    assert [g.get("data-period") for g in gaps] == ["2025-Q3"]
    assert "Black: 2025-Q1 2.1, 2025-Q2 2.3, 2025-Q3 suppressed, 2025-Q4 2.4" in chart.alt
    assert "White: 2025-Q1 0.8, 2025-Q2 0.82, 2025-Q3 0.79, 2025-Q4 0.81" in chart.alt


def test_trend_chart_points_sit_at_their_values():
    periods = ["2024", "2025"]
    chart = trend_chart(periods, {"All": [120.0, 300.0]}, title="Engagements")
    root = parse(chart)
    path = by_class(root, "series")[0].find(f"{SVG}path").get("d")
    (_, y0), (_, y1) = [tuple(map(float, p.strip("ML ").split(","))) for p in path.split("L")]
    axis = {}
    for tick in by_class(root, "tick"):
        axis[float(tick.get("data-value"))] = float(tick.find(f"{SVG}line").get("y1"))
    (v0, p0), (v1, p1) = min(axis.items()), max(axis.items())
    read = lambda y: v0 + (y - p0) / (p1 - p0) * (v1 - v0)  # noqa: E731
    assert read(y0) == pytest.approx(120, abs=1) and read(y1) == pytest.approx(300, abs=1)


def test_two_charts_on_one_page_do_not_share_ids():
    first, second = index_chart(ROWS, title="One"), index_chart(ROWS, title="Two")
    ids = re.findall(r'id="([^"]+)"', first.svg + second.svg)
    assert len(ids) == len(set(ids))
    assert index_chart(ROWS, title="One").svg == first.svg  # deterministic


def test_nan_from_pandas_counts_as_suppressed_not_as_a_number():
    rows = [{"group": "A", "index": float("nan"), "ci_low": None, "ci_high": None}, *ROWS[:1]]
    chart = index_chart(rows, title="Index")
    assert "A: suppressed" in chart.alt and "nan" not in chart.svg.lower()
    bars = bar_chart(["A", "B"], [float("nan"), 5], title="Bars", unit="engagements")
    assert "A: suppressed" in bars.alt and "nan" not in bars.svg.lower()


def test_a_long_label_wraps_inside_the_chart_and_keeps_its_words():
    label = "People whose perceived race was recorded as Another race group"
    root = parse(bar_chart([label, "B"], [10, 20], title="Bars", unit="engagements"))
    assert label in texts(root)
    wrapped = next(t for t in root.iter(f"{SVG}text") if "".join(t.itertext()) == label)
    assert len(wrapped.findall(f"{SVG}tspan")) == 2
    assert (
        float(wrapped.get("x")) - 200 >= 0
    )  # right-aligned at x, at most 200 wide: it starts inside the chart


def test_every_chart_sentence_comes_out_in_french():
    index = index_chart(ROWS, title="Indice", lang="fr")
    assert "Graphique à points et barres d’erreur de 4 groupes\u00a0: chaque valeur avec son" in index.alt
    assert "intervalle de confiance à 95\u00a0%\u00a0; la référence est 1" in index.alt
    assert "Black\u00a0: 2,40 (IC à 95\u00a0% 2,30 à 2,50)\u00a0; " in index.alt
    words = " ".join(texts(parse(index)))
    assert "valeur" in words and "intervalle de confiance à 95\u00a0%" in words and "référence (1)" in words
    bars = bar_chart(["Noirs", "Blancs"], [12, None], title="Interactions", unit="interactions", lang="fr")
    assert "Diagramme à barres de 2 catégories, en interactions." in bars.alt
    assert "Blancs\u00a0: supprimé" in bars.alt
    trend = trend_chart(["2024", "2025"], {"Noirs": [1.5, None]}, title="Tendance", lang="fr")
    assert "Graphique linéaire de 1 séries sur 2 périodes, de 2024 à 2025." in trend.alt
    for chart in (index, bars, trend):
        assert "%" not in chart.alt.replace("95\u00a0%", ""), chart.alt  # no placeholder left unfilled


def test_chart_words_fall_back_to_english_for_an_unknown_language():
    chart = bar_chart(["A", "B"], [3, None], title="Count", unit="engagements", lang="de")
    assert "Bar chart of 2 categories, in engagements." in chart.alt and "B: suppressed" in chart.alt
    index = index_chart(ROWS, title="Index", lang="en")
    assert "each value with its 95% confidence interval; the reference is 1." in index.alt
