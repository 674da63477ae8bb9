"""The public dashboard: publications read once and cached, filters served, small cells never shown."""

from __future__ import annotations

import itertools
import json
import os
import re
from datetime import date
from html import unescape
from pathlib import Path

import pytest

from fairengage.publishing import dashboard
from fairengage.reports import publications

THRESHOLD = 10
GROUPS = ("Black", "East/Southeast Asian", "White")
# Engagements by area and group; D14 holds two small counts (primary suppression) among its groups.
COUNTS = {
    "D11": {"Black": 120, "East/Southeast Asian": 45, "White": 300},
    "D14": {"Black": 4, "East/Southeast Asian": 7, "White": 210},
}
POPULATION = {
    "D11": {"Black": 9000, "East/Southeast Asian": 15000, "White": 40000},
    "D14": {"Black": 6000, "East/Southeast Asian": 20000, "White": 30000},
}


def _disproportionality(area: str, counts: dict[str, int], population: dict[str, int]) -> list[dict]:
    total, population_total = sum(counts.values()), sum(population.values())
    rows = []
    for group in GROUPS:
        index = (counts[group] / total) / (population[group] / population_total)
        rows.append(
            {
                "area": area, "group": group, "count": counts[group], "total": total,
                "population": population[group], "population_total": population_total,
                "index": round(index, 4), "ci_low": round(index * 0.9, 4), "ci_high": round(index * 1.1, 4),
                "notable": index > 1.5,
            }
        )
    return rows


def _suppress(rows: list[dict], keys: tuple[str, ...]) -> None:
    """A plain stand-in for the publication's suppression: small rows, and a partner when one is alone."""
    small = [r for r in rows if any(r[k] < THRESHOLD for k in keys)]
    for row in small:
        row["suppressed_reason"] = "small"
    if len(small) == 1:
        small.append(min((r for r in rows if r not in small), key=lambda r: r[keys[0]]))
        small[-1]["suppressed_reason"] = "protects"
    for row in small:
        for key in ("count", "total", "index", "ci_low", "ci_high", "rate", "hit_rate", "searches", "hits"):
            if key in row:
                row[key] = None
        row["suppressed"] = True
    for row in rows:
        row.setdefault("suppressed", False)


def public_report(counts: dict[str, dict[str, int]] = COUNTS, *, threshold: int = THRESHOLD) -> dict:
    """A report.public.json in the docs/architecture.md shape, suppressed per area."""
    areas = dict(counts)
    areas["ALL"] = {g: sum(c[g] for c in counts.values()) for g in GROUPS}
    population = dict(POPULATION)
    population["ALL"] = {g: sum(p[g] for p in POPULATION.values()) for g in GROUPS}
    report: dict = {"disproportionality": [], "outcome_test": [], "compliance": [], "disparity": []}
    for area, by_group in areas.items():
        rows = _disproportionality(area, by_group, population[area])
        _suppress(rows, ("count",))
        report["disproportionality"] += rows
        searches = [
            {"area": area, "group": g, "searches": n // 3, "hits": n // 9,
             "hit_rate": round((n // 9) / max(n // 3, 1), 4), "ci_low": 0.1, "ci_high": 0.5}
            for g, n in by_group.items()
        ]
        _suppress(searches, ("searches", "hits"))
        report["outcome_test"] += searches
        total = sum(by_group.values())
        for measure, share in (("compliant", 0.9), ("informed", 0.8), ("receipt_offered", 0.7)):
            count = round(total * share)
            report["compliance"].append(
                {"area": area, "measure": measure, "count": count, "total": total, "rate": count / total,
                 "suppressed": False}
            )
    report["officers"] = None
    report["meta"] = {
        "generated_at": "2026-01-15T10:00:00+00:00",
        "reference_group": "White",
        "suppression": {"threshold": threshold},
    }
    return report


def publish(root: Path, period: str, report: dict | None = None) -> Path:
    """A published release as the publishing service leaves it: its folder and its line in releases.json."""
    folder = root / period / "v1"
    index_path = root / publications.RELEASES_INDEX
    index = json.loads(index_path.read_text()) if index_path.is_file() else {"releases": []}
    index["releases"] = [e for e in index["releases"] if e["period"] != period]
    (folder / "open-data").mkdir(parents=True, exist_ok=True)
    (folder / "report.public.json").write_text(json.dumps(report or public_report()))
    (folder / "public.html").write_text("<!doctype html><title>Public report</title><p>public report")
    (folder / "public.pdf").write_bytes(b"%PDF-1.7 public")
    (folder / "report.css").write_text("body { margin: 1cm; }")
    (folder / "open-data" / "disproportionality.csv").write_text("area,group,count\nD11,Black,120\n")
    (folder / "open-data" / "data_dictionary.csv").write_text("file,column,type,meaning,categories\n")
    # The board's outputs: never served to the public.
    (folder / "report.json").write_text(json.dumps({"secret": "exact counts 4 and 7"}))
    (folder / "board.html").write_text("<p>board report with officer results")
    (folder / "board.pdf").write_bytes(b"%PDF-1.7 board")
    files = {name: publications.sha256_of(folder / name) for name in publications.public_files(folder)}
    index["releases"].append(
        {"period": period, "version": 1, "folder": f"{period}/v1", "partial": False, "files": files}
    )
    index_path.write_text(json.dumps(index))
    return folder


@pytest.fixture
def root(settings, tmp_path: Path) -> Path:
    """This test's publications folder, configured in the app's settings."""
    settings.publications_dir = tmp_path / "publications"
    settings.publications_dir.mkdir()
    return settings.publications_dir


def main_text(html: str) -> str:
    """The page's main content (or a fragment of it) as text."""
    body = html.split('<main id="main"', 1)[-1].split("</main>", 1)[0]
    return unescape(re.sub(r"<[^>]+>", " ", body))


def table_rows(html: str, table_id: str) -> dict[str, list[str]]:
    """A table's body rows as {row header: [cell texts]}."""
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>", 1)[1], flags=re.S):
        found = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        cells = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in found]
        rows[cells[0]] = cells[1:]
    return rows


# --- publications -------------------------------------------------------------------------------------


def test_publications_are_listed_newest_period_first(tmp_path):
    for period in ("2024", "2025-Q1", "2025", "2025-Q4", "2024-Q3"):
        publish(tmp_path, period)
    (tmp_path / "2023").mkdir()  # no public report yet: not a publication
    (tmp_path / "drafts").mkdir()
    broken = tmp_path / "2022"
    broken.mkdir()
    (broken / "report.public.json").write_text("{ half written")
    listed = [p.period for p in publications.list_publications(tmp_path)]
    assert listed == ["2025", "2025-Q4", "2025-Q1", "2024", "2024-Q3"]
    assert publications.latest(tmp_path).period == "2025"
    assert publications.list_publications(tmp_path / "missing") == []
    assert publications.latest(tmp_path / "missing") is None
    with pytest.raises(publications.PublicationNotFound):
        publications.load(tmp_path, "2022")
    with pytest.raises(publications.PublicationNotFound):
        publications.load(tmp_path, "../2025")


def test_load_reads_once_and_again_only_when_the_file_changes(tmp_path):
    folder = publish(tmp_path, "2025")
    first = publications.load(tmp_path, "2025")
    assert publications.load(tmp_path, "2025") is first
    assert first.threshold == THRESHOLD
    assert first.public_files == (
        "public.html", "public.pdf", "report.css", "report.public.json",
        "open-data/data_dictionary.csv", "open-data/disproportionality.csv",
    )
    changed = public_report({"D11": {"Black": 500, "East/Southeast Asian": 45, "White": 300}})
    target = folder / "report.public.json"
    stat = target.stat()
    publish(tmp_path, "2025", changed)  # the ledger's digest follows the file, as a new release's would
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    second = publications.load(tmp_path, "2025")
    assert second is not first
    assert publications.headline(second, division="D11", group="Black")["disproportionality"]["count"] == 500


def _rewrite_keeping_size_and_time(target: Path, old: str, new: str) -> None:
    """An administrator's edit made to look untouched: same size, modification time put back."""
    assert len(old) == len(new)
    stat = target.stat()
    target.chmod(0o644)
    target.write_text(target.read_text().replace(old, new, 1))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert target.stat().st_size == stat.st_size and target.stat().st_mtime_ns == stat.st_mtime_ns


def test_a_published_file_rewritten_on_disk_is_not_shown_or_served(root, client):
    # Every figure shown must be the one published: the ledger's SHA-256 (in releases.json) is checked
    # before a release is drawn or a file is served, so an edit on disk takes the release down, loudly,
    # rather than putting figures the public never downloaded under the release's name.
    folder = publish(root, "2025")
    assert client.get("/public").text.count("No report has been published yet") == 0
    client.get("/public/files/2025/open-data/disproportionality.csv")  # digests remembered
    _rewrite_keeping_size_and_time(folder / "report.public.json", '"count": 120', '"count": 121')
    page = client.get("/public").text
    said = re.search(r'id="not-shown">([^<]*)<', page).group(1)
    assert said.startswith("The published report for 2025 cannot be shown: its files cannot be read, or no")
    assert "No report has been published yet" not in page and "121" not in page
    assert 'id="not-shown"' in client.get("/public", params={"period": "2025"}).text
    assert client.get("/public/files/2025/report.public.json").status_code == 404
    table = folder / "open-data" / "disproportionality.csv"
    _rewrite_keeping_size_and_time(table, "D11,Black,120", "D11,Black,121")
    assert client.get("/public/files/2025/open-data/disproportionality.csv").status_code == 404
    # Put back byte for byte, both are served again.
    _rewrite_keeping_size_and_time(folder / "report.public.json", '"count": 121', '"count": 120')
    _rewrite_keeping_size_and_time(table, "D11,Black,121", "D11,Black,120")
    assert client.get("/public/files/2025/open-data/disproportionality.csv").status_code == 200
    assert 'id="not-shown"' not in client.get("/public").text
    assert "No report has been published yet" not in client.get("/public").text


def test_only_the_files_the_ledger_records_are_served(root, client):
    folder = publish(root, "2025")
    (folder / "open-data" / "added_later.csv").write_text("area,group,count\nD11,Black,3\n")
    assert client.get("/public/files/2025/open-data/added_later.csv").status_code == 404
    assert client.get("/public/files/2025/open-data/disproportionality.csv").status_code == 200
    # A releases.json line without the files' SHA-256 (written by hand) is not served at all.
    index = json.loads((root / publications.RELEASES_INDEX).read_text())
    del index["releases"][0]["files"]
    (root / publications.RELEASES_INDEX).write_text(json.dumps(index))
    assert client.get("/public/files/2025/open-data/disproportionality.csv").status_code == 404
    assert 'id="not-shown"' in client.get("/public").text


def test_threshold_falls_back_to_the_rule_set_named_in_the_report(tmp_path):
    report = public_report()
    report["meta"] = {"ruleset": {"id": "on-reg-58-16", "version": "1"}}
    publish(tmp_path, "2025", report)
    assert publications.load(tmp_path, "2025").threshold == 10


def test_headline_follows_the_filters(tmp_path):
    publish(tmp_path, "2025")
    publication = publications.load(tmp_path, "2025")
    everywhere = publications.headline(publication)
    assert everywhere["area"] == "ALL" and everywhere["group"] == "Black"
    assert everywhere["engagements"]["value"] == sum(sum(c.values()) for c in COUNTS.values())
    d11 = publications.headline(publication, division="D11", group="White")
    assert d11["engagements"]["value"] == sum(COUNTS["D11"].values())
    assert d11["disproportionality"]["count"] == 300
    assert [r["group"] for r in d11["by_group"]] == list(GROUPS)
    assert [r["area"] for r in d11["by_division"]] == ["D11", "D14"]
    assert d11["outcome"]["searches"] == 100 and d11["outcome_reference"]["group"] == "White"
    unknown = publications.headline(publication, division="D99", group="Nobody")
    assert unknown["area"] == "ALL" and unknown["group"] == "Black"


def test_headline_never_passes_on_a_count_under_the_threshold(tmp_path):
    report = public_report()
    # A row the publication forgot to suppress is blanked all the same.
    leaked = next(r for r in report["disproportionality"] if r["area"] == "D11" and r["group"] == "Black")
    leaked.update(count=4, index=0.3333, ci_low=0.1111, ci_high=0.9999, suppressed=False)
    publish(tmp_path, "2025", report)
    figures = publications.headline(publications.load(tmp_path, "2025"), division="D11", group="Black")
    row = figures["disproportionality"]
    assert row["suppressed"] is True
    assert row["count"] is None and row["index"] is None and row["ci_low"] is None and row["ci_high"] is None


def test_period_bounds():
    assert publications.period_bounds("2025") == (date(2025, 1, 1), date(2025, 12, 31))
    assert publications.period_bounds("2025-Q1") == (date(2025, 1, 1), date(2025, 3, 31))
    assert publications.period_bounds("2024-Q4") == (date(2024, 10, 1), date(2024, 12, 31))
    with pytest.raises(ValueError, match="not a period"):
        publications.period_bounds("2025-Q5")


# --- the page -------------------------------------------------------------------------------------------


def test_nothing_published_says_so(root, client):
    r = client.get("/public")
    assert r.status_code == 200
    assert "No report has been published yet" in r.text
    assert 'action="/public"' not in r.text and "/public/files/" not in r.text


def test_latest_period_by_default_and_filters_change_the_figures(root, client):
    publish(root, "2024")
    publish(root, "2025")
    page = client.get("/public").text
    assert '<option value="2025" selected>' in page
    assert 'action="/public"' in page and 'method="get"' in page
    total = f"{sum(sum(c.values()) for c in COUNTS.values()):,}"
    figure = r'id="figure-engagements"><dt>[^<]+</dt><dd><data value="\d+">{}</data></dd>'
    assert re.search(figure.format(total), page)
    assert "Disproportionality index by group, all divisions, 2025" in page

    filtered = client.get("/public", params={"period": "2024", "division": "D11", "group": "White"}).text
    assert '<option value="2024" selected>' in filtered and '<option value="D11" selected>' in filtered
    assert '<option value="White" selected>' in filtered
    d11 = f"{sum(COUNTS['D11'].values()):,}"
    assert re.search(figure.format(d11), filtered)
    assert "Disproportionality index by group, D11, 2024" in filtered
    # The reading names the group and area with the index and its interval.
    reading = main_text(filtered.split('id="index-reading"', 1)[1].split("</p>", 1)[0])
    rows = public_report()["disproportionality"]
    white = next(r for r in rows if r["area"] == "D11" and r["group"] == "White")
    assert "People perceived as White were" in reading and "D11" in reading
    assert f"{white['index']:.1f} times as likely" in reading and "95% CI" in reading
    assert table_rows(filtered, "index-table")["White"][0] == "300"


def test_suppressed_cells_read_fewer_than_the_threshold_and_no_small_count_appears(root, client):
    publish(root, "2025")
    page = client.get("/public", params={"division": "D14", "group": "Black"}).text
    rows = table_rows(page, "index-table")
    # A count below the threshold says so; the index worked out from it is "not published".
    assert rows["Black"][0] == "fewer than 10" and rows["Black"][1] == "not published"
    assert rows["East/Southeast Asian"][0] == "fewer than 10"
    reading = main_text(page.split('id="index-reading"', 1)[1].split("</p>", 1)[0])
    assert "Fewer than 10 engagements of people perceived as Black" in reading and "not published" in reading
    assert re.search(
        r'id="figure-index"><dt>[^<]+</dt>\s*<dd>not published: <span class="suppressed" data-reason="small">'
        r"fewer than 10</span> engagements",
        page,
    )
    by_division = table_rows(page, "division-table")
    assert by_division["D14"][0] == "fewer than 10"
    for table in ("index-table", "division-table"):
        for header, cells in table_rows(page, table).items():
            count = cells[0].replace(",", "")
            assert count == "fewer than 10" or int(count) >= THRESHOLD, (table, header, cells)
    assert "fewer than 10" in page.split('id="suppression-note"', 1)[1]


def test_a_leaked_small_count_is_not_shown(root, client):
    report = public_report()
    leaked = next(r for r in report["disproportionality"] if r["area"] == "D11" and r["group"] == "Black")
    leaked.update(count=3, index=0.3141, ci_low=0.2718, ci_high=0.5772, suppressed=False)
    publish(root, "2025", report)
    page = client.get("/public", params={"division": "D11", "group": "Black"}).text
    assert table_rows(page, "index-table")["Black"] == ["fewer than 10", "not published", "—"]
    for figure in ("0.31", "0.27", "0.58", "0.3141"):
        assert figure not in main_text(page), figure


def test_unknown_filters(root, client):
    publish(root, "2025")
    assert client.get("/public", params={"period": "2019"}).status_code == 404
    page = client.get("/public", params={"division": "D99"})
    assert page.status_code == 200
    assert "no figures for division D99" in page.text and '<option value="ALL" selected>' in page.text
    assert "<script" not in client.get("/public", params={"division": "<script>x</script>"}).text


def test_chart_and_map_with_their_text_alternatives(root, client, monkeypatch):
    publish(root, "2025")
    drawn: dict = {}

    class Drawing:
        def __init__(self, svg: str, alt: str, title: str) -> None:
            self.svg, self.alt, self.title = svg, alt, title

    def choropleth(values, *, boundaries, code_property, title, legend_title, lang, notes):
        drawn.update(values=values, boundaries=boundaries, code_property=code_property, title=title)
        return Drawing(f'<svg role="img" aria-label="{title}"><title>{title}</title></svg>', "alt", title)

    monkeypatch.setattr(dashboard.maps, "choropleth", choropleth)
    page = client.get("/public", params={"group": "White"}).text
    white = {r["area"]: r["index"] for r in public_report()["disproportionality"] if r["group"] == "White"}
    assert drawn["values"] == {"D11": white["D11"], "D14": white["D14"]}
    assert drawn["boundaries"] is None and drawn["code_property"] == "DIV"
    assert "people perceived as White, by division, 2025" in drawn["title"]
    assert 'id="division-map"' in page
    chart = page.split('id="index-chart"', 1)[1].split("</figure>", 1)[0]
    assert 'role="img"' in chart and "<title" in chart
    assert "Disproportionality index by group, all divisions, 2025" in chart


def test_the_chart_is_the_reports_chart_with_withheld_groups_in_words(root, client):
    publish(root, "2025")
    page = client.get("/public", params={"division": "D14", "group": "White"}).text
    chart = page.split('id="index-chart"', 1)[1].split("</figure>", 1)[0]
    assert "Disproportionality index by group, D14, 2025" in chart
    assert "fewer than 10" in unescape(chart)
    assert not re.search(r"\sstyle=", chart) and "<script" not in chart and "<style" not in chart
    assert 'id="division-map"' in page


def test_downloads_are_the_public_files_only(root, client):
    publish(root, "2025")
    page = client.get("/public").text
    links = set(re.findall(r'href="(/public/files/[^"]+)"', page))
    assert links == {
        "/public/files/2025/public.html", "/public/files/2025/public.pdf",
        "/public/files/2025/report.public.json", "/public/files/2025/open-data/disproportionality.csv",
        "/public/files/2025/open-data/data_dictionary.csv",
    }
    assert "board.pdf" not in page and "board.html" not in page and "/report.json" not in page


def test_file_route_serves_public_files(root, client):
    publish(root, "2025")
    r = client.get("/public/files/2025/report.public.json")
    assert r.status_code == 200 and r.json()["meta"]["suppression"]["threshold"] == THRESHOLD
    r = client.get("/public/files/2025/open-data/disproportionality.csv")
    assert r.status_code == 200 and r.text.startswith("area,group,count")
    assert r.headers["content-disposition"].startswith("attachment")
    assert client.get("/public/files/2025/public.pdf").headers["content-type"] == "application/pdf"
    # The public report's stylesheet is served for public.html, though not listed as a download.
    assert client.get("/public/files/2025/report.css").headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "path",
    [
        "/public/files/2025/report.json",
        "/public/files/2025/board.pdf",
        "/public/files/2025/board.html",
        "/public/files/2025/.report-jobs.json",
        "/public/files/2025/open-data/%2e%2e/report.json",
        "/public/files/2025/%2e%2e/2024/report.public.json",
        "/public/files/%2e%2e/secret.txt",
        "/public/files/2025/%2e%2e/%2e%2e/secret.txt",
        "/public/files/2025/open-data/%2Fetc%2Fpasswd",
        "/public/files/2025/open-data/..%5c..%5creport.json",
        "/public/files/2025/open-data/",
        "/public/files/2025/open-data/link.csv",
    ],
)
def test_file_route_refuses_everything_else(root, client, path):
    folder = publish(root, "2025")
    (root.parent / "secret.txt").write_text("secret")
    (folder / "open-data" / "link.csv").symlink_to(folder / "report.json")
    assert client.get(path).status_code == 404


def test_resolve_file_refuses_traversal(tmp_path):
    folder = publish(tmp_path, "2025")
    (tmp_path / "outside.txt").write_text("x")
    (folder / "open-data" / "escape").symlink_to(tmp_path)
    resolve = publications.resolve_file
    assert resolve(tmp_path, "2025", "open-data/disproportionality.csv", public_only=True) is not None
    for path in ("../outside.txt", "open-data/../report.json", "open-data/../../outside.txt", "/etc/passwd",
                 "open-data//disproportionality.csv", "open-data/escape/outside.txt", "report.json",
                 "open-data/./disproportionality.csv", "open-data\\..\\report.json"):
        assert resolve(tmp_path, "2025", path, public_only=True) is None, path
    assert resolve(tmp_path, "..", "2025/public.pdf", public_only=True) is None
    # Staff may have the board report, but traversal is refused to them too.
    assert resolve(tmp_path, "2025", "board.pdf", public_only=False) is not None
    assert resolve(tmp_path, "2025", "../outside.txt", public_only=False) is None
    assert resolve(tmp_path, "2025", "open-data/escape/outside.txt", public_only=False) is None


def test_page_structure_is_accessible(root, client):
    publish(root, "2025")
    page = client.get("/public").text
    levels = [int(h) for h in re.findall(r"<h([1-6])[ >]", page)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    for select_id in re.findall(r'<select id="([^"]+)"', page):
        assert f'<label for="{select_id}">' in page, select_id
    assert re.search(r'<button type="submit">Show figures</button>', page)
    assert "<caption>" in page and 'scope="col"' in page
    assert not re.search(r"\sstyle=", page) and "<script" not in page and "<style" not in page
    assert '<link rel="stylesheet" href="/static/dashboard.css">' in page
    assert client.get("/static/dashboard.css").status_code == 200


def test_french_page(root, client):
    publish(root, "2025")
    r = client.get("/public", params={"lang": "fr"})
    assert r.status_code == 200 and '<html lang="fr">' in r.text


def test_page_does_not_read_the_database(root, app, client, monkeypatch):
    publish(root, "2025")
    client.get("/public")

    def refuse(*args, **kwargs):
        raise AssertionError("the dashboard opened a database session")

    monkeypatch.setattr(app.state, "sessions", refuse)
    assert client.get("/public", params={"division": "D11"}).status_code == 200



def test_map_of_the_real_toronto_divisions(root, client, settings):
    boundaries = Path(__file__).resolve().parents[2] / "../shared/data/realdata/tps_police_divisions.geojson"
    if not boundaries.is_file():
        pytest.skip("the real Toronto boundaries (../shared/data/realdata) are not present")
    settings.boundaries = boundaries
    publish(root, "2025")
    page = client.get("/public", params={"group": "White"}).text
    drawn = page.split('id="division-map"', 1)[1].split("</figure>", 1)[0]
    assert 'role="img"' in drawn and "<path" in drawn
    assert "by division, 2025" in drawn


# --- the cell-key method ------------------------------------------------------------------------------


def cellkey_report() -> dict:
    """A report.public.json made with the cell-key method: small counts shown (0, 3, 4), none withheld."""
    from fairengage.reports.cellkey_release import disclosure_meta

    report = public_report()
    d14 = {"Black": 3, "East/Southeast Asian": 0, "White": 210}
    rows = [r for r in report["disproportionality"] if r["area"] != "D14"]
    report["disproportionality"] = rows + _disproportionality("D14", d14, POPULATION["D14"])
    report["outcome_test"] = [r for r in report["outcome_test"] if r["area"] != "D14"] + [
        {"area": "D14", "group": g, "searches": n, "hits": 0, "hit_rate": 0.0} for g, n in d14.items()
    ]
    for section in ("disproportionality", "outcome_test", "compliance"):
        for row in report[section]:
            row.update(suppressed=False, suppressed_reason=None, ci_low=None, ci_high=None)
    report["meta"]["suppression"] = {"rule": "CELL-KEY", "threshold": THRESHOLD}
    report["meta"]["disclosure"] = disclosure_meta(THRESHOLD)
    return report


def test_a_cellkey_release_shows_its_small_counts_and_says_how_they_are_protected(root, client):
    publish(root, "2025", cellkey_report())
    page = client.get("/public", params={"division": "D14", "group": "Black"}).text
    rows = table_rows(page, "index-table")
    # A perturbed 3 and a 0 are published figures, not "fewer than 10".
    assert rows["Black"][0] == "3" and rows["East/Southeast Asian"][0] == "0"
    assert "fewer than 10" not in main_text(page)
    # The notice sits next to the headline figures and links to the method page.
    notice = page.split('id="cellkey-note"', 1)[1].split("</p>", 1)[0]
    assert "Figures have small random changes (at most ±3) so that no one can be singled out" in notice
    assert 'href="/public/method"' in notice
    assert page.index('id="figure-engagements"') < page.index('id="cellkey-note"') < page.index(
        'id="disproportionality"'
    )
    french = client.get("/public", params={"division": "D14", "group": "Black", "lang": "fr"}).text
    assert "Les chiffres comportent de petites modifications aléatoires (au plus ±3)" in unescape(french)
    # A release made by suppression has no such notice.
    publish(root, "2025", public_report())
    assert 'id="cellkey-note"' not in client.get("/public").text


def test_a_leaked_one_or_two_in_a_cellkey_release_is_not_shown(root, client):
    report = cellkey_report()
    leaked = next(r for r in report["disproportionality"] if r["area"] == "D14" and r["group"] == "Black")
    leaked.update(count=2, index=0.4142)
    publish(root, "2025", report)
    page = client.get("/public", params={"division": "D14", "group": "Black"}).text
    assert table_rows(page, "index-table")["Black"][0] != "2"
    assert "0.41" not in main_text(page)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_method_page_publishes_the_table_and_its_error(root, client, settings, lang):
    from fairengage.reports import cellkey
    from fairengage.reports.cellkey_release import ptable_sha256

    page = client.get("/public/method", params={"lang": lang})
    assert page.status_code == 200
    text = main_text(page.text)
    assert ptable_sha256() in text
    # Every row of the ptable, with its chances.
    assert len(re.findall(r'<tr><th scope="row">', page.text)) == len(cellkey.PTABLE)
    assert ("0.6" if lang == "en" else "0,6") in text
    if lang == "en":
        assert "Figures have small random changes (at most ±3)" in text
        assert "No count is ever shown as 1 or 2" in text
    else:
        assert "Aucun compte n’est jamais affiché comme 1 ou 2" in text
    # It marks the method in use.
    assert text.index("in use" if lang == "en" else "en vigueur") > text.index(
        "Withholding small counts" if lang == "en" else "Retenue des petits comptes"
    )
    settings.disclosure_method = "cellkey"
    text = main_text(client.get("/public/method", params={"lang": lang}).text)
    assert text.index("in use" if lang == "en" else "en vigueur") < text.index(
        "Withholding small counts" if lang == "en" else "Retenue des petits comptes"
    )
