"""Every /public page of a real publication against the public report and the open data.

For every filter combination the form offers (each division and the whole service × each group), the page
must not contradict itself, public.html or the open-data CSVs; a withheld count must say why in words that
are true of it ("fewer than 10" only when it is below the threshold, "withheld" only when it protects a
smaller figure); and no sentence may carry a dash where a number was withheld. Every combination is chosen
with the page's own form in Chromium on a phone-sized screen (390 × 844) and checked as rendered; a few
are measured for chart text size.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from datetime import date
from html import unescape
from pathlib import Path

import pytest

from fairengage.analytics.population_benchmarks import default_benchmark_path
from fairengage.config import Settings
from fairengage.ingest import synth
from fairengage.reports.builder import build_reports
from live import live_server

THRESHOLD = 10
FEWER = f"fewer than {THRESHOLD}"
DIVISIONS = ("D11", "D14", "D22", "D31", "D42", "D55")


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A publications folder with 2025 built from ~1,600 synthetic engagements in six divisions."""
    root = tmp_path_factory.mktemp("consistency")
    frame = synth.generate(1600, seed=11, start=date(2025, 1, 1), end=date(2025, 12, 31))
    frame["division"] = [
        d if d in DIVISIONS else DIVISIONS[i % len(DIVISIONS)] for i, d in enumerate(frame["division"])
    ]
    synth.write_table(frame, root / "t.parquet")
    build_reports(
        table_path=root / "t.parquet",
        benchmark_path=default_benchmark_path(),
        period="2025",
        out_dir=root / "publications" / "2025" / "v1",
        settings=Settings(),
    )
    index_release(root / "publications", "2025")
    return root / "publications"


def index_release(root: Path, period: str) -> None:
    """List `<period>/v1` in releases.json, as the publishing service does once a release is approved."""
    import json

    index_path = root / "releases.json"
    index = json.loads(index_path.read_text()) if index_path.is_file() else {"releases": []}
    from fairengage.reports import publications

    folder = root / period / "v1"
    files = {name: publications.sha256_of(folder / name) for name in publications.public_files(folder)}
    index["releases"].append({"period": period, "version": 1, "folder": f"{period}/v1", "files": files})
    index_path.write_text(json.dumps(index))


def read_csv(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / "2025" / "v1" / "open-data" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def open_data(published) -> dict[str, list[dict[str, str]]]:
    """The open-data tables the pages are checked against."""
    return {name: read_csv(published, name) for name in ("disproportionality", "outcome_test", "compliance")}


@pytest.fixture
def pages(settings, client, published):
    """GET /public with filters, from the publications built above."""
    settings.publications_dir = published
    return lambda **params: client.get("/public", params=params)


def options(html: str, select: str) -> list[str]:
    """The values a select of the filter form offers."""
    block = html.split(f'<select id="{select}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"', block)


def words(fragment: str) -> str:
    """A fragment of HTML as the text a reader sees, spaces collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def section(html: str, start: str, end: str = "</p>") -> str:
    """What follows `start` up to `end`; when `start` is an attribute, from the end of its tag."""
    rest = html.split(start, 1)[1]
    if start.startswith("id="):
        rest = rest.split(">", 1)[1]
    return rest.split(end, 1)[0]


def hidden_spans(fragment: str) -> list[tuple[str, str]]:
    """Every withheld figure as (reason, words)."""
    return [
        (reason, words(inner))
        for reason, inner in re.findall(
            r'<span class="suppressed" data-reason="([^"]*)"[^>]*>(.*?)</span>', fragment, re.S
        )
    ]


def number(text: str) -> float | None:
    return float(text) if text != "" else None


def cell(fragment: str) -> tuple[str, str | None]:
    """A figure cell: ("value", the data value) or ("hidden", its reason) or ("other", words)."""
    value = re.search(r'<data value="([^"]+)"', fragment)
    if value:
        return "value", value.group(1)
    spans = hidden_spans(fragment)
    if spans:
        return "hidden", spans[0][0]
    return "other", words(fragment)


def table(html: str, table_id: str) -> dict[tuple[str, str], dict[str, str]]:
    """A figure table's body cells by (area, group) and data-key."""
    body = section(html, f'id="{table_id}"', "</table>").split("<tbody>", 1)[1]
    found = {}
    for area, group, row in re.findall(
        r'<tr[^>]*data-area="([^"]*)" data-group="([^"]*)"[^>]*>(.*?)</tr>', body, re.S
    ):
        found[(unescape(area), unescape(group))] = dict(
            re.findall(r'<td class="num" data-key="([a-z_]+)">(.*?)</td>', row, re.S)
        )
    return found


WORDS = {"en": (FEWER, "withheld"), "fr": (f"moins de {THRESHOLD}", "retenu")}


def check_withheld_words(html: str, lang: str = "en") -> None:
    """Each withheld figure's words match its reason; no reason is unknown."""
    fewer, withheld = WORDS[lang]
    for reason, text in hidden_spans(html):
        assert reason in ("small", "protects"), (reason, text)
        if reason == "small":
            assert text == fewer, text
        else:
            assert text.startswith(withheld) and fewer not in text, text


def check_sentences(html: str) -> None:
    """No sentence holds a dash for a withheld number (tables and drawings aside), nor a Python None."""
    main = section(html, "<main", "</main>")
    for drop in (r"<table.*?</table>", r"<svg.*?</svg>", r"<select.*?</select>"):
        main = re.sub(drop, " ", main, flags=re.S)
    text = words(main)
    assert "—" not in text, text[max(0, text.find("—") - 200) : text.find("—") + 50]
    assert "None" not in text and "nan" not in text.split()


def check_against_open_data(html: str, area: str, group: str, data: dict[str, list[dict[str, str]]]) -> None:
    dispro = {(r["area"], r["group"]): r for r in data["disproportionality"]}
    # The area's engagements: one number wherever any file publishes it.
    totals = {r["total"] for r in data["compliance"] if r["area"] == area and r["total"] != ""}
    kind, value = cell(section(html, 'id="figure-engagements"', "</div>"))
    if kind == "value":
        assert totals == {value}, (area, value, totals)
    elif not any(r["area"] == area for r in data["compliance"]):
        # A division the benchmark lists but no engagement was recorded in: the open data has no row either.
        assert kind == "other" and value.endswith("none recorded"), (area, kind, value)
    else:
        assert kind == "hidden" and totals == set(), (area, kind, value, totals)
        reasons = {r["total_suppressed_reason"] for r in data["compliance"] if r["area"] == area}
        assert reasons == {value}, (area, reasons, value)

    for table_id, rows in (("index-table", "by_group"), ("division-table", "by_division")):
        shown = table(html, table_id)
        assert shown, f"{table_id} is empty for {area} × {group} ({rows})"
        for key, cells in shown.items():
            row = dispro[key]
            kind, value = cell(cells["count"])
            if row["count"] == "":
                assert kind == "hidden" and value == row["count_suppressed_reason"], (key, cells, row)
            else:
                assert (kind, value) == ("value", row["count"]), (key, cells, row)
            kind, value = cell(cells["index"])
            if row["index"] == "":
                assert kind == "other" and value == "not published", (key, cells, row)
            else:
                assert kind == "value" and math.isclose(float(value), float(row["index"])), (key, cells, row)

    row = dispro.get((area, group))
    reading = words(section(html, 'id="index-reading"'))
    if row is not None and row["suppressed"] == "true":
        if row["suppressed_reason"] == "small":
            assert reading.startswith(f"Fewer than {THRESHOLD} engagements"), reading
        else:
            assert "withheld to protect a smaller figure" in reading and FEWER not in reading[:60], reading
    headline = section(html, 'id="figure-index"', "</div>")
    if row is not None and row["index"] != "":
        assert cell(headline) == ("value", row["index"]) or math.isclose(
            float(cell(headline)[1] or "nan"), float(row["index"])
        )

    outcome = next((r for r in data["outcome_test"] if r["area"] == area and r["group"] == group), None)
    hit = section(html, 'id="figure-hit-rate"', "</div>")
    if outcome is not None and outcome["hit_rate"] != "":
        found = re.findall(r'<data value="([^"]+)"', hit)
        assert math.isclose(float(found[0]), float(outcome["hit_rate"])) and found[1] == outcome["searches"]
    elif outcome is not None:
        small = "small" in (outcome["searches_suppressed_reason"], outcome["hits_suppressed_reason"])
        assert [reason for reason, _ in hidden_spans(hit)] == ["small" if small else "protects"], hit

    for measure_row in (r for r in data["compliance"] if r["area"] == area):
        dd = section(html, f'id="figure-{measure_row["measure"]}"', "</div>")
        if measure_row["rate"] != "":
            assert math.isclose(float(cell(dd)[1]), float(measure_row["rate"]))
        else:
            reasons = [reason for reason, _ in hidden_spans(dd)]
            assert reasons == [measure_row["count_suppressed_reason"]], (measure_row, dd)


def report_tables(html: str) -> dict[str, dict[str, list[str]]]:
    """public.html's tables by their header row, each row's cells by its label."""
    tables = {}
    for block in re.findall(r"<table.*?</table>", re.sub(r"<svg.*?</svg>", "", html, flags=re.S), re.S):
        rows = [
            [words(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr.*?</tr>", block, re.S)
        ]
        if rows:
            tables["|".join(rows[0])] = {r[0]: r[1:] for r in rows[1:]}
    return tables


# What a reader sees of the page's sentences: the main text without tables, drawings and the form.
VISIBLE_SENTENCES = """() => {
    const main = document.querySelector('main').cloneNode(true);
    main.querySelectorAll('table, svg, select, form').forEach(n => n.remove());
    const box = document.createElement('div');
    box.style.position = 'absolute'; box.style.left = '-10000px';
    box.appendChild(main); document.body.appendChild(box);
    const text = main.innerText; box.remove(); return text;
}"""
# Every withheld figure as the reader sees it: its reason and its words, when it is shown at all.
VISIBLE_WITHHELD = """() => Array.from(document.querySelectorAll('span.suppressed'))
    .filter(s => s.getClientRects().length > 0)
    .map(s => [s.dataset.reason, s.innerText.replace(/\\s+/g, ' ').trim()])"""


@pytest.mark.browser
def test_every_filter_combination_in_chromium_tells_the_same_figures_in_true_words(
    browser, settings, published, open_data
):
    """A phone reader picks each period, division and group with the form; each page is checked as drawn.

    The page Chromium renders (its DOM after the form is submitted) must agree with the open-data CSVs and
    public.html, and within itself; the withheld figures a reader sees say "fewer than 10" only when
    small and "withheld" when protecting another; no visible sentence carries a dash for a number.
    """
    from fairengage.app import create_app

    settings.publications_dir = published
    report = report_tables((published / "2025" / "v1" / "public.html").read_text(encoding="utf-8"))
    city_groups = report["Group|Engagements|Index|95% CI|Notable"]
    by_division = report["Division|Engagements|Share"]
    reasons_seen: set[str] = set()
    with live_server(create_app(settings)) as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{base}/public")
        periods = page.locator("#period option").evaluate_all("os => os.map(o => o.value)")
        areas = page.locator("#division option").evaluate_all("os => os.map(o => o.value)")
        groups = page.locator("#group option").evaluate_all("os => os.map(o => o.value)")
        assert periods == ["2025"]
        assert "ALL" in areas and set(DIVISIONS) <= set(areas) and len(groups) >= 5
        combinations = list(itertools.product(periods, areas, groups))
        for period, area, group in combinations:
            page.get_by_label("Period", exact=True).select_option(period)
            page.get_by_label("Division", exact=True).select_option(area)
            page.get_by_label("Perceived race", exact=True).select_option(group)
            with page.expect_navigation():
                page.get_by_role("button", name="Show figures").click()
            # The form kept the reader's choices, and the page answers them.
            assert page.get_by_label("Division", exact=True).input_value() == area
            assert page.get_by_label("Perceived race", exact=True).input_value() == group
            html = page.content()
            check_withheld_words(html)  # hidden ones too (a figure a wider screen shows)
            check_sentences(html)
            check_against_open_data(html, area, group, open_data)
            seen = page.evaluate(VISIBLE_WITHHELD)
            for reason, text in seen:
                assert reason in ("small", "protects"), (area, group, reason, text)
                if reason == "small":
                    assert text == FEWER, (area, group, text)
                else:
                    assert text.startswith("withheld") and FEWER not in text, (area, group, text)
            reasons_seen |= {reason for reason, _ in seen}
            sentences = page.evaluate(VISIBLE_SENTENCES)
            assert "—" not in sentences, (area, group, sentences[max(0, sentences.find("—") - 200) :][:300])
            assert "None" not in sentences and "nan" not in sentences.split(), (area, group)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, (area, group)
            shown = table(html, "index-table")
            if area == "ALL":
                # public.html's group table gives the same city figures, and words for the same hidden ones.
                for (_, name), cells in shown.items():
                    kind, value = cell(cells["count"])
                    printed = city_groups[name][0].replace(",", "")
                    assert printed == value if kind == "value" else not printed.isdigit(), (name, printed)
            else:
                kind, value = cell(section(html, 'id="figure-engagements"', "</div>"))
                printed = by_division[area][0].replace(",", "") if area in by_division else ""
                assert printed == value if kind == "value" else not printed.isdigit(), (area, printed, value)
        page.close()
    assert len(combinations) == len(areas) * len(groups)
    assert reasons_seen == {"small", "protects"}, "the publication should withhold figures for both reasons"


@pytest.mark.slow  # Builds a whole year's release from synthetic records.
def test_the_dashboard_says_the_period_in_dates(pages):
    html = pages(period="2025").text
    assert words(section(html, 'id="period-bounds"')) == "From January 1, 2025 to December 31, 2025."
    assert "partial" not in html.split('id="period-bounds"', 1)[1].split(">", 1)[0]


@pytest.mark.slow  # Builds a whole year's release from synthetic records.
def test_a_partial_period_says_so_on_the_dashboard(settings, client, published, tmp_path):
    import json
    import shutil

    folder = tmp_path / "publications" / "2026" / "v1"
    shutil.copytree(published / "2025" / "v1", folder)
    public = json.loads((folder / "report.public.json").read_text())
    public["meta"]["period"] = {
        "first_date": "2026-01-01",
        "last_date": "2026-09-30",
        "partial": True,
        "as_of": "2026-09-30",
    }
    (folder / "report.public.json").write_text(json.dumps(public))
    index_release(tmp_path / "publications", "2026")
    settings.publications_dir = tmp_path / "publications"
    html = client.get("/public", params={"period": "2026"}).text
    said = words(section(html, 'id="period-bounds"'))
    assert said.startswith("Partial year: data to September 30, 2026."), said


@pytest.mark.browser
def test_on_a_phone_chart_text_is_at_least_12_px_and_words_match(browser, settings, published):
    from fairengage.app import create_app

    settings.publications_dir = published
    measure = """() => Array.from(document.querySelectorAll('figure svg text'))
        .filter(t => t.getClientRects().length > 0)
        .map(t => [t.textContent, parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a])"""
    with live_server(create_app(settings)) as base:
        # One page reused: the whole service, a division, and the group most often withheld.
        page = browser.new_page(viewport={"width": 390, "height": 844})
        for query in ("", "?division=D31&group=White", "?division=D55&group=Indigenous", "?lang=fr"):
            page.goto(f"{base}/public{query}")
            sizes = page.evaluate(measure)
            assert sizes, "the phone view must draw the charts"
            small = [(text, size) for text, size in sizes if size < 12]
            assert not small, small[:5]
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
            check_withheld_words(page.content(), "fr" if "fr" in query else "en")
            for reading in page.locator(".reading, .chart-reading").all_inner_texts():
                assert "—" not in reading, reading
        page.close()
