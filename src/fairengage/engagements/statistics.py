"""Aggregate counts of engagements for public pages, with small cells suppressed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fairengage.config import Settings
from fairengage.engagements.models import Engagement


def local_today(settings: Settings) -> date:
    """Today's date in the service's time zone."""
    return datetime.now(settings.tz).date()


def suppress(count: int, threshold: int) -> int | None:
    """A count, or None when it is below the publication threshold (SMALL-CELLS)."""
    return count if count >= threshold else None


def public_totals(*, session: Session, tz: str, threshold: int) -> dict[str, Any]:
    """Totals overall, by local year and by division; counts under the threshold shown as None.

    Rows whose only count would be suppressed are dropped and the overall total is published, so a
    suppressed division cannot be recovered from the others by subtraction unless at least two are
    suppressed; the full complementary suppression is the reports' job.
    """
    total, collected, compliant = session.execute(
        select(
            func.count(),
            func.count().filter(Engagement.identifying_info_collected.is_(True)),
            func.count().filter(Engagement.compliant.is_(True)),
        ).select_from(Engagement)
    ).one()
    zone = ZoneInfo(tz)
    years: dict[int, list[int]] = {}
    # Local years are computed in Python so the same code runs on SQLite and PostgreSQL.
    for occurred_at, was_collected in session.execute(
        select(Engagement.occurred_at, Engagement.identifying_info_collected)
    ):
        bucket = years.setdefault(occurred_at.astimezone(zone).year, [0, 0])
        bucket[0] += 1
        bucket[1] += int(bool(was_collected))
    by_division = session.execute(
        select(Engagement.division_code, func.count())
        .group_by(Engagement.division_code)
        .order_by(Engagement.division_code)
    ).all()
    division_rows = [{"division": d, "total": suppress(n, threshold)} for d, n in by_division]
    suppressed = [r for r in division_rows if r["total"] is None]
    if len(suppressed) == 1:
        # A lone suppressed division could be recovered as total minus the rest: hide the next smallest too.
        visible = sorted((r for r in division_rows if r["total"] is not None), key=lambda r: r["total"])
        if visible:
            visible[0]["total"] = None
    return {
        "totals": {
            "total": suppress(total, threshold),
            "collected": suppress(collected, threshold),
            "compliant": suppress(compliant, threshold),
        },
        "by_year": [
            {"year": y, "total": suppress(t, threshold), "collected": suppress(c, threshold)}
            for y, (t, c) in sorted(years.items())
        ],
        "by_division": division_rows,
    }
