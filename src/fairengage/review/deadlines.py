"""Review due dates (REVIEW-30D) in the service's local time."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fairengage import policy


def due_on(entered_at: datetime, ruleset_id: str, tz: ZoneInfo) -> date:
    """The last local day on which the review is on time: the entry's local date plus the rule set's days.

    A record entered at 23:30 on 1 March in Toronto was entered on 1 March, even though it is
    2 March in UTC: the deadline counts from the local day of entry (s.9, "within 30 days of entry").
    """
    days = int(policy.ruleset_for_record(ruleset_id).param("review_days"))
    return entered_at.astimezone(tz).date() + timedelta(days=days)


def is_overdue(due: date, today: date) -> bool:
    """Overdue from the day after the due date."""
    return today > due
