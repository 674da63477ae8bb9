"""axe-core in Chromium on every officer, supervisor, auditor, administrator, analyst and public page,
on a phone and on a desktop.

axe-core is vendored from npm into tests/vendor/axe-core (see its LICENSE); it is injected into each
page by the test only, never served by the application. A serious or critical violation fails the test,
and every one found is printed with the page, the rule and the elements it names.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from builders import valid_body
from live import live_server

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
PASSWORD = "a-long-enough-password"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
BLOCKING = ("serious", "critical")


def axe_violations(page) -> list[dict]:  # type: ignore[no-untyped-def]
    """axe's violations on the page as it stands, every rule axe runs by default."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))
            }));
        }"""
    )


def describe(found: dict[str, list[dict]]) -> str:
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: [{v['impact']}] {v['id']}: {v['help']}")
            lines += [f"    {n['target']}: {n['summary']}".replace("\n", " ") for n in v["nodes"][:5]]
    return "\n".join(lines)


def publication(root: Path) -> None:
    """One small published release, so /public shows its figures and charts rather than its empty state."""

    def row(area: str, group: str, count: int, total: int, index: float) -> dict:
        return {
            "area": area,
            "group": group,
            "count": count,
            "total": total,
            "population": 1000,
            "population_total": 4000,
            "index": index,
            "ci_low": index * 0.8,
            "ci_high": index * 1.2,
            "suppressed": False,
        }

    report = {
        "disproportionality": [
            row("ALL", "Black", 900, 2000, 2.1),
            row("ALL", "White", 1100, 2000, 0.8),
            row("D14", "Black", 600, 1500, 1.9),
            row("D14", "White", 900, 1500, 0.9),
        ],
        "compliance": [
            {
                "area": area,
                "measure": "compliant",
                "count": total - 50,
                "total": total,
                "rate": (total - 50) / total,
            }
            for area, total in (("ALL", 2000), ("D14", 1500))
        ],
        "outcome_test": [],
        "meta": {"suppression": {"threshold": 10}, "reference_group": "White"},
    }
    (root / "2025" / "v1").mkdir(parents=True)
    (root / "2025" / "v1" / "report.public.json").write_text(json.dumps(report))
    from fairengage.reports import publications

    folder = root / "2025" / "v1"
    files = {name: publications.sha256_of(folder / name) for name in publications.public_files(folder)}
    (root / "releases.json").write_text(
        json.dumps({"releases": [{"period": "2025", "version": 1, "folder": "2025/v1", "files": files}]})
    )


@pytest.fixture
def site(world, client, sessions, settings, tmp_path):  # type: ignore[no-untyped-def]
    """An officer with records in each state, a supervisor, a lapsed officer, and a published release."""
    from fairengage.access.models import User
    from fairengage.access.principal import Principal
    from fairengage.review import service as review

    today = datetime.now(settings.tz).date()
    world.officer("A1", "D14", trained_on=today - timedelta(days=30), name="Avery Officer")
    world.user("officer", "officer", badge="A1", password=PASSWORD)
    world.officer("A2", "D14", trained_on=date(2020, 1, 10), name="Lapsed Officer")
    world.user("lapsed", "officer", badge="A2", password=PASSWORD)
    world.officer("S1", "D14", trained_on=today - timedelta(days=30), name="Sgt Supervisor")
    world.user("supervisor", "supervisor", badge="S1", password=PASSWORD)
    headers = {"Authorization": f"Bearer {world.token('officer')}"}
    flagged = valid_body(reason="Walked away when I approached him near the station entrance late at night.")
    made = [
        client.post("/api/v1/engagements", json=b, headers=headers).json() for b in (valid_body(), flagged)
    ]
    with sessions() as s:
        sup = Principal.of(s.scalars(select(User).where(User.username == "supervisor")).one())
    with sessions.begin() as s:
        review.decide(
            session=s,
            principal=sup,
            engagement_id=made[1]["id"],
            decision="returned",
            reason="Say what you saw him do.",
            today=today,
        )
    settings.publications_dir = tmp_path / "publications"
    publication(settings.publications_dir)
    # An analysis run flagged the officer: the supervisor's intervention case, with an action on it.
    from cases.reports import report as flag_report
    from fairengage.cases import service as cases

    period = {"first": "2000-01-01T00:00:00+00:00", "last": "2100-01-01T00:00:00+00:00"}
    with sessions.begin() as s:
        flagged_run = flag_report([("A1", True)], secret=settings.secret, **period)
        cases.open_from_report(session=s, report=flagged_run, secret=settings.secret, actor="cli")
    with sessions.begin() as s:
        (row,) = cases.cases(session=s, principal=sup)
        case = row.case.id
        cases.act(session=s, principal=sup, case_id=case, agrees="agree", reason="Talked it through.",
                  action="conversation", follow_up_on=None, today=today)  # fmt: skip
    return {
        "record": made[0]["id"],
        "code": made[0]["receipt"]["code"],
        "returned": made[1]["id"],
        "case": case,
    }


def sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{username} could not sign in"


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_no_serious_or_critical_violation_on_any_page(browser, site, settings, viewport):
    from fairengage.app import create_app

    record, code, returned = site["record"], site["code"], site["returned"]
    pages = {
        None: [
            "/",
            "/login",
            "/public",
            "/public?division=D14",
            "/r",
            "/r?code=not-a-code",
            f"/r/{code}",
            f"/r/{code}?lang=fr",
            f"/r/{code}/print",
            f"/r/{code}/complaint",
            "/r/AAAA-BBBB-CCCC",
            "/transparency/audit",
        ],
        "officer": [
            "/engagements/new",
            "/engagements",
            f"/engagements/{record}/receipt",
            f"/r/{code}",
            f"/engagements/{returned}/correct",
            "/engagements/new?lang=fr",
            "/account/password",
        ],
        "lapsed": ["/engagements/new"],
        "supervisor": [
            "/desk",
            "/cases",
            f"/cases/{site['case']}",
            "/review?finding=flagged",
            "/review",
            f"/review/{record}",
            f"/review/{returned}",
            "/review/escalations",
            "/review/summary",
            "/engagements",
            "/restricted",
            "/staff/complaints",
        ],
    }
    found: dict[str, list[dict]] = {}
    too_wide: list[str] = []
    visited = 0
    with live_server(create_app(settings)) as base:
        for who, paths in pages.items():
            context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
            page = context.new_page()
            if who:
                sign_in(page, base, who)
            for path in paths:
                page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle")
                blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
                visited += 1
                # Reflow (WCAG 1.4.10): nothing widens the page past the screen; wide tables scroll inside.
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > VIEWPORTS[viewport]["width"]:
                    too_wide.append(f"{who or 'public'} {path}: {width}px")
                if blocking:
                    found[f"{who or 'public'} {path}"] = blocking
                if who == "officer" and path.startswith("/engagements/new"):
                    # As the browser computes it: every radio group has a name, not only "Yes, No".
                    groups = page.get_by_role("radiogroup")
                    assert groups.count() >= 10
                    assert page.get_by_role("radiogroup", name=re.compile(r"\S")).count() == groups.count()
                    # The form again with every problem shown: the error summary and invalid fields.
                    page.locator("form button[type=submit]").last.click()
                    # The phone's script first tries the save itself, then sends the refused form the
                    # ordinary way: the page with the summary comes after that round trip, not at once.
                    page.wait_for_selector("#error-summary", timeout=15_000)
                    page.wait_for_load_state("networkidle")
                    assert page.locator("#error-summary").count() == 1
                    blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
                    if blocking:
                        found[f"officer {path} (refused)"] = blocking
                    visited += 1
            context.close()
    assert visited == sum(len(p) for p in pages.values()) + 2
    assert not found, "axe found serious or critical violations:\n" + describe(found)
    assert not too_wide, f"pages wider than the {viewport} screen: {too_wide}"


def test_axe_sees_a_violation_when_there_is_one(browser):
    """The check is not blind: an unnamed radio group and low-contrast text are reported."""
    page = browser.new_page()
    page.set_content(
        '<html lang="en"><body><main><div role="radiogroup"><label><input type="radio" name="a"> Yes</label>'
        '</div><p style="color:#aaa;background:#fff">faint</p><input type="text"></main></body></html>'
    )
    ids = {v["id"] for v in axe_violations(page) if v["impact"] in BLOCKING}
    assert {"color-contrast", "label"} <= ids, ids
    page.close()


@pytest.fixture
def staff_site(world, client, sessions, settings, tmp_path):  # type: ignore[no-untyped-def]
    """An auditor, an administrator and an analyst, with records, a published release, a draft awaiting
    approval and a finished report run, so each staff page shows its content rather than its empty state."""
    from fairengage.reports import publications
    from publishing.ledger_rows import write_release

    today = datetime.now(settings.tz).date()
    world.officer("A1", "D14", trained_on=today - timedelta(days=30), name="Avery Officer")
    world.user("officer", "officer", badge="A1", password=PASSWORD)
    for name in ("auditor", "admin", "analyst"):
        world.user(name, name, password=PASSWORD)
    world.token("officer")  # an API token, so the administrator's page lists one
    headers = {"Authorization": f"Bearer {world.token('officer')}"}
    for body in (
        valid_body(),
        valid_body(reason="Walked away when I approached him near the station at night."),
    ):
        assert client.post("/api/v1/engagements", json=body, headers=headers).status_code == 201
    settings.publications_dir = tmp_path / "publications"
    root = settings.publications_dir
    release = write_release(sessions=sessions, root=root, period="2024", status="published")
    draft = write_release(sessions=sessions, root=root, period="2023", built_by="admin")
    jobs = publications.jobs_for(root)
    job = jobs.start(period="2024", build=lambda progress: release.id, requested_by="analyst")
    assert jobs.wait(job.id, 10).state == "done"
    return {"release": release.id, "draft": draft.id, "job": job.id}


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_no_serious_or_critical_violation_on_staff_pages(browser, staff_site, settings, viewport):
    """The auditor's, the administrator's and the analyst's pages, under the same check as the others."""
    from fairengage.app import create_app

    s = staff_site
    pages = {
        "auditor": [
            "/desk",
            "/cases",
            "/audit",
            "/audit/verify",
            "/review",
            "/review/summary",
            "/review/samples",
            "/engagements",
            "/restricted",
            "/transparency/audit",
        ],
        "admin": [
            "/desk",
            "/admin/users",
            "/admin/officers",
            "/admin/rulesets",
            "/audit",
            "/staff/complaints",
            "/review/samples",
        ],
        "analyst": [
            "/desk",
            "/analyst/reports",
            f"/analyst/reports/{s['job']}",
            f"/analyst/releases/{s['release']}",
            f"/analyst/releases/{s['draft']}/preview",
            "/public",
        ],
    }
    found: dict[str, list[dict]] = {}
    too_wide: list[str] = []
    refused: list[str] = []
    with live_server(create_app(settings)) as base:
        for who, paths in pages.items():
            context = browser.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True)
            page = context.new_page()
            sign_in(page, base, who)
            for path in paths:
                response = page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle")
                if response is None or response.status != 200:
                    refused.append(f"{who} {path}: {response and response.status}")
                    continue
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > VIEWPORTS[viewport]["width"]:
                    too_wide.append(f"{who} {path}: {width}px")
                blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
                if blocking:
                    found[f"{who} {path}"] = blocking
            context.close()
    assert not refused, f"pages that did not open for their role: {refused}"
    assert not found, "axe found serious or critical violations:\n" + describe(found)
    assert not too_wide, f"pages wider than the {viewport} screen: {too_wide}"
