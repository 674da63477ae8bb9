"""The board and public reports: every annual-report item, readings true to report.json, suppression, PDFs."""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from fairengage import cli
from fairengage.analytics.population_benchmarks import default_benchmark_path
from fairengage.config import Settings
from fairengage.ingest import synth
from fairengage.progress import Lines
from fairengage.reports import builder
from fairengage.reports.builder import ReportBuildError, build_reports, render_html

# ANNUAL-REPORT (docs/rule-sets.md), in order, then DETAILED-REVIEW: the headings a board member looks for.
ANNUAL_REPORT_HEADINGS = (
    "Attempts to collect identifying information",
    "Attempts where identifying information was collected",
    "People from whom collection was attempted",
    "Exceptions relied on",
    "Attempts by perceived age group, sex and racialized group",
    "Whether attempts were disproportionate for any group",
    "Areas: divisions with counts",
    "Reviews finding non-compliance",
    "Access to restricted records granted",
    "Detailed review of a random sample",
)
OTHER_HEADINGS = (
    "Compliance with the duties at the time",
    "Data quality",
    "Method, benchmark and suppression",
)
DIVISIONS = ("D11", "D14", "D51", "D52")
# Below the threshold on purpose: the public report must withhold them.
GOVERNANCE = {
    "kind": "fairengage.governance-summary",
    "version": 1,
    "period": {"start": "2025-01-01T00:00:00-05:00", "end": "2026-01-01T00:00:00-05:00"},
    "as_of": "2026-02-01",
    "attempts": 2500,
    "attempts_collected": 1800,
    "people": {"estimate": 2210, "distinct_identified": 1500, "method": "An estimate, explained."},
    "exceptions": {
        "not_told_of_right": {"safety": 41, "ongoing_investigation": 3},
        "not_told_why": {"safety": 41, "ongoing_investigation": 3},
        "no_receipt": {"respond_to_other_matter": 57},
    },
    "reviews": {
        "records": 2500,
        "decided_on_time": 2380,
        "decided_late": 97,
        "pending_on_time": 20,
        "pending_overdue": 3,
    },
    "non_compliant_findings": 112,
    "restricted_reads": {"granted": 7, "legacy": 2, "current": 5, "approvals": 7},
    "detailed_reviews": [
        {
            "year": 2025,
            "drawn_on": "2026-01-15",
            "size": 120,
            "population": 2500,
            "compliant": 111,
            "non_compliant": 6,
            "not_reviewed": 3,
        }
    ],
    "complaints": {"received": {"complaint": 23, "own_record": 4}, "closed": {"complaint": 18}},
    "unrecorded_events": {
        "D14": {"events": 400, "unmatched": 38, "not_engagement": 9},
        "D52": {"events": 120, "unmatched": 3, "not_engagement": 0},
    },
}


def synthetic(path: Path, records: int, seed: int, start: date, end: date, **kw) -> Path:
    """A synthetic analytic table in four divisions (a few divisions keep the veil-of-darkness fit quick)."""
    frame = synth.generate(records, seed=seed, start=start, end=end, **kw)
    frame["division"] = [d if d in DIVISIONS else DIVISIONS[i % 4] for i, d in enumerate(frame["division"])]
    synth.write_table(frame, path)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Reports for 2025 from ~5,000 engagements over two years, with a governance summary."""
    root = tmp_path_factory.mktemp("reports")
    table = synthetic(
        root / "t.parquet",
        5000,
        3,
        date(2024, 1, 1),
        date(2025, 12, 31),
        officers=40,
        effects=synth.PlantedEffects(biased_officers=2),
    )
    governance = root / "governance.json"
    governance.write_text(json.dumps(GOVERNANCE))
    steps: list[tuple[int, int, str]] = []
    result = build_reports(
        table_path=table,
        benchmark_path=default_benchmark_path(),
        period="2025",
        out_dir=root / "out",
        settings=Settings(),
        governance=governance,
        # Each phase is the build's next step: (its number, the steps announced, its name).
        progress=Lines(lambda message: steps.append((len(steps) + 1, builder.STEPS, message))),
    )
    return result, steps


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Reports for a year of 60 engagements, built through the command line: most cells are withheld."""
    root = tmp_path_factory.mktemp("tiny")
    table = synth.generate(60, seed=0, start=date(2025, 1, 1), end=date(2025, 12, 31))
    synth.write_table(table, root / "t.parquet")
    result = CliRunner().invoke(
        cli.app,
        [
            "report",
            "--input",
            str(root / "t.parquet"),
            "--benchmark",
            str(default_benchmark_path()),
            "--period",
            "2025",
            "--out",
            str(root / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    return root / "out", result.output


def read(result, name: str) -> str:
    return (result.out_dir / name).read_text(encoding="utf-8")


class Cells(HTMLParser):
    """The texts of elements of a class (the report marks every count it prints with class `count`)."""

    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted, self.depth, self.found, self._text = wanted, 0, [], []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
        elif tag != "th" and self.wanted in (dict(attrs).get("class") or "").split():
            self.depth, self._text = 1, []

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
            if not self.depth:
                self.found.append("".join(self._text).strip())

    def handle_data(self, data):
        if self.depth:
            self._text.append(data)


def classed(html: str, wanted: str) -> list[str]:
    parser = Cells(wanted)
    parser.feed(html)
    return parser.found


def printed_counts(html: str) -> list[str]:
    """Every count of engagements or people the page prints, and every withheld one."""
    return classed(html, "count") + classed(html, "withheld")


def headings(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>|^\s*\d+\.\s*", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html, re.S)
    ]


@pytest.mark.slow  # Uses the module's whole release, board and public, HTML and PDF.
def test_every_annual_report_item_is_a_section_in_order(built):
    result, steps = built
    for name in ("board.html", "public.html"):
        found = [re.sub(r"^\d+\.\s*", "", h) for h in headings(read(result, name))]
        assert [h for h in found if h in ANNUAL_REPORT_HEADINGS] == list(ANNUAL_REPORT_HEADINGS), name
        assert set(OTHER_HEADINGS) <= set(found)
    assert "Officer results" in headings(read(result, "board.html"))
    assert "Officer results" not in headings(read(result, "public.html"))
    # Progress went through every step, in order.
    assert [s[0] for s in steps] == sorted(s[0] for s in steps) and steps[-1][0] == steps[-1][1]


@pytest.mark.slow  # Uses the module's whole release, board and public, HTML and PDF.
def test_the_unmatched_rate_by_division_is_in_the_board_report_only(built):
    result, _ = built
    board = read(result, "board.html")
    assert "Dispatch and camera events no record matched" in headings(board)
    section = board.split('id="unrecorded"')[1].split("</section>")[0]
    assert "9.5%" in section and "2.5%" in section  # 38 of 400, 3 of 120
    for name in ("public.html", "report.public.json"):
        assert "unrecorded" not in read(result, name), name


@pytest.mark.slow  # Uses the module's whole release, board and public, HTML and PDF.
def test_every_chart_has_a_text_alternative(built):
    result, _ = built
    html = read(result, "board.html")
    figures = re.findall(r'<figure class="chart">(.*?)</figure>', html, re.S)
    assert len(figures) >= 10
    for figure in figures:
        assert 'role="img"' in figure and "<title" in figure
        caption = re.search(r"<figcaption>(.*?)</figcaption>", figure, re.S)
        assert caption and len(caption.group(1).strip()) > 20
    assert "Disproportionality index of Black people by division" in html


def quotes(text: str, value: float) -> bool:
    """Whether a printed number is the value rounded to the decimals printed."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return float(text) == pytest.approx(value, abs=0.5 * 10**-decimals + 1e-9)


@pytest.mark.slow  # Uses the module's whole release, board and public, HTML and PDF.
def test_readings_quote_the_figures_of_report_json(built):
    result, _ = built
    report = json.loads(read(result, "report.json"))
    readings = " ".join(classed(read(result, "board.html"), "readings"))
    checked = 0
    for row in report["disproportionality"]:
        if row["area"] != "ALL" or row["index"] is None:
            continue
        pattern = (
            rf"Across the city, {re.escape(row['group'])} people were ([\d.]+) times as likely to be "
            r"engaged as their share of the population would suggest \(95% CI ([\d.]+)–([\d.]+)\)"
        )
        found = re.search(pattern, readings)
        assert found, row["group"]
        for text, value in zip(found.groups(), (row["index"], row["ci_low"], row["ci_high"]), strict=True):
            assert quotes(text, value)
        checked += 1
    searched = [
        r
        for r in report["disparity"]
        if r["area"] == "ALL"
        and r["measure"] == "searched"
        and r["group"] != "White"
        and r["index"] is not None
    ]
    for row in searched:
        found = re.search(
            rf"{re.escape(row['group'])} people were searched ([\d.]+) times as often", readings
        )
        assert found and quotes(found.group(1), row["index"])
        checked += 1
    assert checked >= 10
    # The veil-of-darkness reading quotes the report's odds ratio.
    veil = report["veil_of_darkness"]
    if veil and veil.get("odds_ratio") is not None:
        found = re.search(r"were ([\d.]+) times as high in the dark", readings)
        assert found and quotes(found.group(1), veil["odds_ratio"])


@pytest.mark.slow  # Uses the module's whole release, board and public, HTML and PDF.
def test_public_report_has_no_officer_keys_and_no_small_count(built):
    result, _ = built
    report = json.loads(read(result, "report.json"))
    public_html = read(result, "public.html")
    threshold = result.threshold
    keys = [row["officer_key"] for row in report["officers"] or []]
    assert keys, "the data must have tested officers for this check to mean anything"
    assert any(row["flagged"] for row in report["officers"])
    board_html = read(result, "board.html")
    assert any(key in board_html for key in keys)
    for name in ("public.html", "report.public.json"):
        text = read(result, name)
        assert not [key for key in keys if key in text], name
    counts = printed_counts(public_html)
    assert counts
    withheld = "withheld"
    for text in counts:
        if text in (withheld, "—") or text.endswith("%"):
            continue
        assert int(text.replace(",", "")) >= threshold, text
    # The governance figures under the threshold are withheld; the board shows them exactly.
    restricted = public_html.split('id="restricted"')[1].split("</section>")[0]
    assert withheld in restricted and ">7<" not in restricted
    assert ">7<" in board_html.split('id="restricted"')[1].split("</section>")[0]
    public = json.loads(read(result, "report.public.json"))
    assert public["officers"] is None and public["governance"]["restricted_reads"]["granted"] is None
    assert public["meta"]["suppression"]["threshold"] == threshold


@pytest.mark.slow  # Uses the module's whole release, board and public, HTML and PDF.
def test_pdfs_render_with_title_language_and_headings(built):
    result, _ = built
    for name, title in (("board.pdf", "board report, 2025"), ("public.pdf", "public report, 2025")):
        data = (result.out_dir / name).read_bytes()
        assert data.startswith(b"%PDF")
        pdf = PdfReader(result.out_dir / name)
        assert len(pdf.pages) >= 1
        assert title in pdf.metadata.title
        text = " ".join(page.extract_text() for page in pdf.pages)
        text = " ".join(text.split())
        for heading in ANNUAL_REPORT_HEADINGS:
            assert heading in text, (name, heading)
        assert pdf.trailer["/Root"]["/Lang"] == "en"


def structure(node, kinds: dict[str, list]) -> None:
    """Collect every structure element of a tagged PDF by its type (/S), depth first."""
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, list):
        for child in node:
            structure(child, kinds)
    elif hasattr(node, "keys"):
        if "/S" in node:
            kinds.setdefault(str(node["/S"]), []).append(node)
        if "/K" in node:
            structure(node["/K"], kinds)


@pytest.mark.slow  # Uses the module's whole release, board and public, HTML and PDF.
def test_pdfs_are_tagged_for_screen_readers(built):
    result, _ = built
    for name in ("board.pdf", "public.pdf"):
        pdf = PdfReader(result.out_dir / name)
        root = pdf.trailer["/Root"]
        assert root["/MarkInfo"]["/Marked"].value is True, name
        assert root["/Lang"] == "en" and root["/ViewerPreferences"]["/DisplayDocTitle"].value is True
        assert pdf.metadata.title, name
        kinds: dict[str, list] = {}
        structure(root["/StructTreeRoot"], kinds)
        # Headings, tables with scoped headers and every chart with a text alternative.
        assert kinds.get("/H1") and kinds.get("/H2") and kinds.get("/Table"), (name, sorted(kinds))
        figures = kinds.get("/Figure", [])
        assert len(figures) >= 5, name
        assert all(str(figure.get("/Alt") or "").strip() for figure in figures), name
        headers = kinds["/TH"]
        scopes = {str(th["/A"]["/Scope"]) for th in headers}
        assert scopes == {"/Column", "/Row"}, scopes
        # One document title, and every annual-report item a level-2 heading, as in the HTML.
        assert len(kinds["/H1"]) == 1 and len(kinds["/H2"]) >= len(ANNUAL_REPORT_HEADINGS), name


@pytest.mark.slow  # Uses the module's whole release, board and public, HTML and PDF.
def test_index_and_open_data_are_written(built):
    result, _ = built
    index = json.loads(read(result, "index.json"))
    assert index["period"] == "2025" and index["suppression_threshold"] == result.threshold
    for name in ("report.json", "report.public.json", "board.html", "board.pdf", "public.html", "public.pdf"):
        assert name in index["files"] and (result.out_dir / name).is_file()
    data = [f for f in index["files"] if f.startswith("open-data/")]
    assert any(f.endswith(".csv") for f in data) and any(f.endswith(".parquet") for f in data)
    report = json.loads(read(result, "report.json"))
    assert report["meta"]["report_period"]["label"] == "2025"
    assert (
        report["annual"]["attempts"]
        == report["meta"]["rows"]
        == sum(report["annual"]["by_division"].values())
    )
    assert report["trends"]["periods"] == ["2024", "2025"]


@pytest.mark.slow  # Builds a whole release, HTML and PDF.
def test_tiny_data_still_renders_both_pdfs(tiny):
    out, output = tiny
    assert "wrote the 2025 reports" in output
    for name in ("board.pdf", "public.pdf"):
        assert (out / name).read_bytes().startswith(b"%PDF") and len(PdfReader(out / name).pages) >= 1
    public_html = (out / "public.html").read_text()
    counts = printed_counts(public_html)
    withheld = [c for c in counts if c in ("withheld", "fewer than 10")]
    # Many counts are withheld; a total that the report publishes elsewhere is shown in every place.
    assert len(withheld) > len(counts) / 3
    words = ("withheld", "fewer than 10", "—")
    assert all(c in words or c.endswith("%") or int(c.replace(",", "")) >= 10 for c in counts)
    # Without a governance summary, the figures it carries say where they come from.
    assert public_html.count("Not available from the analytic table") >= 5


def test_errors_are_one_line_and_exit_1(tmp_path):
    runner = CliRunner()
    bad_period = runner.invoke(
        cli.app,
        ["report", "--input", "x.parquet", "--benchmark", "b.csv", "--period", "2025-Q5", "--out", "o"],
    )
    assert bad_period.exit_code == 1 and "2025-Q3" in bad_period.output
    missing = runner.invoke(
        cli.app,
        [
            "report",
            "--input",
            str(tmp_path / "none.parquet"),
            "--benchmark",
            str(default_benchmark_path()),
            "--period",
            "2025",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert missing.exit_code == 1 and "none.parquet" in missing.output
    assert len(missing.output.strip().splitlines()) == 1
    both = runner.invoke(cli.app, ["report", "--period", "2025", "--out", str(tmp_path / "o")])
    assert both.exit_code == 1 and "--input" in both.output


def test_an_empty_period_is_refused(tmp_path):
    table = synthetic(tmp_path / "t.parquet", 50, 1, date(2024, 1, 1), date(2024, 12, 31))
    with pytest.raises(ReportBuildError, match="no engagements in 2019"):
        build_reports(
            table_path=table,
            benchmark_path=default_benchmark_path(),
            period="2019",
            out_dir=tmp_path / "out",
            settings=Settings(),
        )


@pytest.mark.slow  # Uses the module's whole release, board and public, HTML and PDF.
def test_the_public_report_names_a_partial_period_and_says_why_counts_are_hidden(built):
    result, _ = built
    public = json.loads(read(result, "report.public.json"))
    public["meta"]["period"] = {
        "first_date": "2025-01-01",
        "last_date": "2025-09-30",
        "partial": True,
        "as_of": "2025-09-30",
    }
    # A count below the threshold reads "fewer than 10"; one withheld to protect another reads "withheld".
    city = [r for r in public["disproportionality"] if r["area"] == "ALL"]
    hidden = {"count": None, "index": None, "ci_low": None, "ci_high": None, "suppressed": True}
    city[0].update(hidden, suppressed_reason="small")
    city[1].update(hidden, suppressed_reason="protects")
    html = render_html(public, board=False, boundaries=None, map_group="Black", settings=Settings())
    cover = html.split('class="period"', 1)[1].split("</p>", 1)[0]
    assert "Partial year: data to September 30, 2025." in cover
    cells = classed(html, "withheld")
    assert "fewer than 10" in cells and "withheld" in cells
    assert "Partial" not in read(result, "public.html").split('class="period"', 1)[1].split("</p>", 1)[0]


@pytest.mark.slow  # Uses the module's whole release, board and public, HTML and PDF.
def test_the_board_report_shows_every_veil_row_and_the_year_over_year_change_the_public_one_does_not(built):
    result, _ = built
    report = json.loads(read(result, "report.json"))
    veil = report["veil_of_darkness"]
    veil["reference"] = "White"
    veil["by_group"] = [
        {"group": "Black", "reference": "White", "specification": "inter-twilight", "odds_ratio": 0.62,
         "ci_low": 0.48, "ci_high": 0.81, "n": 1234},
        {"group": "Black", "reference": "White", "specification": "dst", "odds_ratio": None,
         "reason_code": "few_cases"},
    ]  # fmt: skip
    veil["by_division"] = [{"area": "D12", "group": "Black", "odds_ratio": 0.4, "notable": True}]
    report["change_over_time"]["year_over_year"] = [
        {"measure": "share", "group": "Black", "year": 2025, "previous_year": 2024, "difference": -0.0451,
         "ci_low": -0.0683, "ci_high": -0.0224},
        {"measure": "search_rate", "group": "Black", "year": 2025, "previous_year": 2024,
         "difference": 0.5, "ci_low": 0.4, "ci_high": 0.6},
    ]  # fmt: skip
    html = render_html(report, board=True, boundaries=None, map_group="Black", settings=Settings())
    svgs = re.findall(r"<svg.*?</svg>", html, re.S)
    veil_svg = next(svg for svg in svgs if "Veil of darkness: odds of each group" in svg)
    assert "Black, between sunset and dark" in veil_svg and "0.62 (0.48–0.81)" in veil_svg
    assert "Black, near the clock changes" in veil_svg and "no estimate" in veil_svg
    change_svg = next(svg for svg in svgs if "share of engagements from the year before" in svg)
    # Percentage points, and only the share: the search rate's 50 points would be drawn otherwise.
    assert "Black, 2025 against 2024" in change_svg and "-4.51 (-6.83 to -2.24)" in change_svg
    assert "50.00" not in change_svg
    readings = " ".join(classed(html, "readings"))
    assert "0.62 times as high in the dark (95% CI 0.48–0.81; 1,234 engagements)" in readings
    assert "near the clock changes: no estimate, because fewer than 10" in readings
    assert "D12, Black: 0.40" in readings
    # The public report keeps the headline test only: these rows are exact figures.
    public = render_html(report, board=False, boundaries=None, map_group="Black", settings=Settings())
    assert "Veil of darkness: odds of each group" not in public and "D12, Black" not in public
    assert "from the year before" not in public
