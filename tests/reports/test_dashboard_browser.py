"""In Chromium: a member of the public opens /public, picks a division and a group, and sees new figures."""

from __future__ import annotations

import json

import pytest

from live import live_server

pytestmark = pytest.mark.browser


def row(area: str, group: str, count: int, total: int, index: float) -> dict:
    """One disproportionality row of a public report."""
    return {"area": area, "group": group, "count": count, "total": total, "population": 1000,
            "population_total": 4000, "index": index, "ci_low": index * 0.8, "ci_high": index * 1.2,
            "suppressed": False}


def publication() -> dict:
    """A public report for all divisions and two divisions, two groups each."""
    return {
        "disproportionality": [
            row("ALL", "Black", 900, 2000, 2.1), row("ALL", "White", 1100, 2000, 0.8),
            row("D11", "Black", 300, 500, 2.4), row("D11", "White", 200, 500, 0.6),
            row("D14", "Black", 600, 1500, 1.9), row("D14", "White", 900, 1500, 0.9),
        ],
        "compliance": [
            {"area": area, "measure": "compliant", "count": total - 50, "total": total,
             "rate": (total - 50) / total}
            for area, total in (("ALL", 2000), ("D11", 500), ("D14", 1500))
        ],
        "outcome_test": [],
        "meta": {"suppression": {"threshold": 10}, "reference_group": "White"},
    }


def test_changing_the_filters_updates_figures_and_chart(browser, settings, tmp_path):
    from fairengage.app import create_app

    settings.publications_dir = tmp_path / "publications"
    (settings.publications_dir / "2025" / "v1").mkdir(parents=True)
    (settings.publications_dir / "2025" / "v1" / "report.public.json").write_text(json.dumps(publication()))
    from fairengage.reports import publications

    folder = settings.publications_dir / "2025" / "v1"
    files = {name: publications.sha256_of(folder / name) for name in publications.public_files(folder)}
    (settings.publications_dir / "releases.json").write_text(
        json.dumps({"releases": [{"period": "2025", "version": 1, "folder": "2025/v1", "files": files}]})
    )
    with live_server(create_app(settings)) as base:
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        page.goto(f"{base}/public")
        engagements = page.locator("#figure-engagements dd")
        index = page.locator("#figure-index dd")
        chart_title = page.locator("#index-chart svg title").first
        assert engagements.inner_text().strip() == "2,000"
        assert index.inner_text().strip() == "2.10 times their share"
        before = chart_title.text_content()
        assert "all divisions" in before

        page.get_by_label("Division", exact=True).select_option("D11")
        page.get_by_label("Perceived race", exact=True).select_option("White")
        page.get_by_role("button", name="Show figures").click()
        page.wait_for_url("**division=D11**")

        assert engagements.inner_text().strip() == "500"
        assert index.inner_text().strip() == "0.60 times their share"
        after = chart_title.text_content()
        assert after != before and "D11" in after
        reading = page.locator("#index-reading").inner_text()
        assert "People perceived as White were 0.6 times as likely" in reading
        # The form keeps the choices it was sent with.
        assert page.get_by_label("Division", exact=True).input_value() == "D11"
        assert page.locator("#index-table tr.chosen th").inner_text() == "White"
        page.close()
