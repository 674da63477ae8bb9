"""A release written straight into the ledger and a folder, for tests of what comes after the build."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fairengage.access import audit
from fairengage.db import transaction
from fairengage.publishing import service
from fairengage.publishing.models import PublicationRelease
from fairengage.reports import publications


def small_report(count: int = 40) -> dict[str, Any]:
    """A suppressed report with one figure, enough for the dashboard to show."""
    return {
        "disproportionality": [
            {"area": "ALL", "group": "Black", "count": count, "total": count * 4, "population": 10,
             "population_total": 100, "index": 2.5, "ci_low": 2.0, "ci_high": 3.0, "suppressed": False}
        ],
        "compliance": [
            {"area": "ALL", "measure": "compliant", "count": count, "total": count * 4, "rate": 0.25}
        ],
        "meta": {"suppression_threshold": 10,
                 "period": {"first_date": "2024-01-01", "last_date": "2024-12-31", "partial": False}},
    }  # fmt: skip


def write_release(
    *,
    sessions: Any,
    root: Path,
    period: str,
    status: str = service.DRAFT,
    built_by: str = "analyst",
    version: int = 1,
    disclosure_ok: bool = True,
    count: int = 40,
    reason: str | None = None,
    data_to: date | None = None,
    logged: bool = False,
) -> service.Release:
    """A release of `period` with its files and ledger row (published ones also in releases.json)."""
    folder = Path(root) / period / f"v{version}"
    (folder / "open-data").mkdir(parents=True)
    report = small_report(count)
    report["meta"]["report_period"] = {"label": period}
    (folder / publications.PUBLIC_REPORT).write_text(json.dumps(report))
    (folder / "public.pdf").write_bytes(b"%PDF public")
    (folder / "open-data" / "disproportionality.csv").write_text("area,group,count\nALL,Black,40\n")
    (folder / "report.json").write_text("{}")
    (folder / "board.pdf").write_bytes(b"%PDF board")
    files = {name: publications.sha256_of(folder / name) for name in publications.public_files(folder)}
    blocking = [] if disclosure_ok else [
        {"release": period, "file": "report.public.json", "figure": "disproportionality D31 × White count",
         "low": 3, "high": 3}
    ]  # fmt: skip
    last = publications.period_bounds(period)[1]
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        row = PublicationRelease(
            period=period, version=version, status=status, folder=f"{period}/v{version}", built_at=now,
            built_by=built_by, approved_at=now if status == service.PUBLISHED else None,
            approved_by="second" if status == service.PUBLISHED else None, partial=data_to is not None,
            as_of=data_to or date.today(), data_to=data_to or last, reason=reason, threshold=10,
            disclosure_ok=disclosure_ok,
            disclosure={"ok": disclosure_ok, "summary": "checked", "further_suppressed": 0,
                        "blocking": blocking},
            files=files,
        )  # fmt: skip
        session.add(row)
        session.flush()
        if logged:
            # The entry build_release appends; tests/publishing/test_publishing_cli.py checks the real one.
            audit.append(session, actor=built_by, action="publication.build", entity=service.ENTITY,
                         entity_id=str(row.id), purpose="build a release of the period's reports",
                         details={"period": period, "version": version, "files": files})  # fmt: skip
        made = service.Release.of(row)
    service.write_public_index(sessions=sessions, root=root)
    return made
