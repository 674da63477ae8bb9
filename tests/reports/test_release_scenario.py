"""Issue 10's done-when scenario, reduced: two years, a quarter of each, the years, and a revision.

Every release goes through the one publishing path (build, cross-release check, approval by a second
person); then both attackers take every release ever public, the superseded version included, and
neither may pin or nearly pin a count under the threshold. The full-size run is benchmarks/adversary.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SECRET
from fairengage import migrate
from fairengage.config import Settings
from fairengage.db import engine_for, session_factory
from reports import release_scenario as scenario

pytestmark = pytest.mark.slow
THRESHOLD = 10


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("scenario")


@pytest.fixture(scope="module")
def attacked(root: Path) -> tuple[scenario.Published, scenario.Attacked]:
    # SQLite in both of CI's passes (the module opens no `database_url`): the attackers read only the
    # published files, and the publishing path's work in the database runs on PostgreSQL in
    # tests/publishing. Built on PostgreSQL as well, this fixture (12 to 13 minutes of one core, most of
    # it the correction's disclosure check) helped put CI over its 90 minutes on 2026-12-07.
    url = f"sqlite:///{root / 'fairengage.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, secret_key=SECRET, publications_dir=root / "publications")
    sessions = session_factory(engine_for(url))
    published = scenario.publish_scenario(
        sessions,
        settings,
        years=(2024, 2025),
        quarters=(4,),
        records=1500,
        divisions=scenario.busiest_divisions(2000, 7, 3),
        seed=7,
        late=60,
        revised="2025-Q4",
    )
    return published, scenario.attack_all(
        settings.publications_dir, published, threshold=THRESHOLD, checkpoint=root
    )


def test_the_scenario_publishes_years_quarters_and_a_revision(attacked):
    published, result = attacked
    names = {f"{f.parent.name}/{f.name}" for f in result.folders}
    # Nothing blocked, or the attack would test less than the scenario says.
    assert published.blocked == []
    assert {"2024-Q4/v1", "2024/v1", "2025-Q4/v1", "2025/v1", "2025/v2"} == names
    assert result.public > 0 and result.withheld > 0


def test_neither_attacker_recovers_a_count_under_the_threshold(attacked):
    # Found on 2026-12-02 before the check modelled growth between snapshots: the independent attacker,
    # betting counts never shrink, pinned 2024-Q4 v1's city Another race count to 6.
    _, result = attacked
    assert scenario.small_recovered(result, threshold=THRESHOLD) == []


def test_the_independent_attacker_is_sound(attacked):
    # Every range it proves exactly holds the true count (read from the team's report.json).
    _, result = attacked
    for findings in result.independent.values():
        assert all(f.low <= f.truth <= f.high for f in findings if f.exact and f.truth is not None)


def test_no_withheld_figure_is_pinned_in_any_release(attacked):
    # "Withheld" must be true: a figure the public files pin is published in all but name. Found on
    # 2026-12-02 and closed on 2026-12-04: 2025 v2's city "collected" (310) stood in the governance
    # section after the check withheld it from the annual and compliance tables; 427 - 310 gave 117.
    _, result = attacked
    pinned = [
        f"{f.release} {f.file} {f.label} = {f.low}"
        for findings in result.independent.values()
        for f in findings
        if f.recovered
    ]
    assert pinned == []


def test_a_run_started_again_takes_each_attackers_findings_instead_of_attacking(attacked, root, monkeypatch):
    # The full-size attack takes hours: a stopped run must not start the finished attackers over.
    published, first = attacked
    heard: list[str] = []

    def refuse(*args, **kwargs):
        raise AssertionError("attacked again")

    monkeypatch.setattr(scenario.independent, "attack", refuse)
    monkeypatch.setattr(scenario.adversary, "attack", refuse)
    again = scenario.attack_all(
        root / "publications",
        published,
        threshold=THRESHOLD,
        checkpoint=root,
        each=lambda m, f, s: heard.append(m),
    )
    assert heard == list(scenario.ATTACKERS)
    assert again.independent == first.independent and again.own == first.own
    assert again.seconds == pytest.approx(first.seconds)
