"""The training gate said up front: where an officer stands today, and who is about to lapse.

TRAINING-36M refuses a record from an officer whose prescribed training is not in date. Left to the
rule alone, the officer learns it after filling the whole form; these helpers let the form, the API
and the supervisor's desk say it first, with the dates that matter and who to call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from fairengage import policy
from fairengage.errors import FieldError, RecordRefused
from fairengage.officers.models import Officer
from fairengage.policy.checks import training_valid_until

RULE = "TRAINING-36M"
# How far ahead a supervisor is warned of training that will lapse (the issue asks for 60 days).
EXPIRY_WINDOW_DAYS = 60


@dataclass(frozen=True)
class Standing:
    """An officer's training on a given day: the last completion that counts and the last day it covers."""

    day: date
    months: int
    last_completed: date | None
    valid_until: date | None

    @property
    def missing(self) -> bool:
        """No completion on or before the day."""
        return self.last_completed is None

    @property
    def in_date(self) -> bool:
        """Whether the officer may record on this day."""
        return self.valid_until is not None and self.day <= self.valid_until

    @property
    def lapsed_since(self) -> date | None:
        """The first day the training no longer covered, when it has lapsed."""
        if self.valid_until is None or self.in_date:
            return None
        return self.valid_until + timedelta(days=1)


def training_months(day: date) -> int:
    """The months a completion counts for under the rule set in force on `day`."""
    return int(policy.ruleset_in_force(day).param("training_months"))


def standing(completions: Iterable[date], day: date, months: int | None = None) -> Standing:
    """Where training stands on `day`: training dated after the day does not cover it (TRAINING-36M)."""
    months = training_months(day) if months is None else months
    last = max((done for done in completions if done <= day), default=None)
    until = training_valid_until(last, months) if last is not None else None
    return Standing(day=day, months=months, last_completed=last, valid_until=until)


def refusal(officer_standing: Standing, contact: str) -> RecordRefused:
    """The API's answer to an officer out of date: the rule, the dates and who to call, and nothing else."""
    if officer_standing.missing:
        message = f"no completion of the prescribed training is on file; to book it, contact {contact}"
    else:
        message = (
            f"the prescribed training completed on {officer_standing.last_completed} lapsed on "
            f"{officer_standing.lapsed_since}; to renew it, contact {contact}"
        )
    return RecordRefused(f"training not in date: {message}", [FieldError("officer", RULE, message)])


@dataclass(frozen=True)
class Expiring:
    """One officer whose training ends soon (or has ended), for the supervisor's desk."""

    badge: str
    name: str
    division: str
    valid_until: date | None
    lapsed: bool


def expiring(
    *, session: Session, today: date, division: str | None = None, within_days: int = EXPIRY_WINDOW_DAYS
) -> list[Expiring]:
    """Officers (of a division, or all) whose training lapses within `within_days`, or already has.

    Soonest first; officers never trained come last, since there is no date to sort by.
    """
    months = training_months(today)
    horizon = today + timedelta(days=within_days)
    query = select(Officer).options(selectinload(Officer.training)).order_by(Officer.badge)
    if division is not None:
        query = query.where(Officer.division_code == division)
    found = []
    for officer in session.scalars(query):
        now = standing((t.completed_on for t in officer.training), today, months)
        if now.valid_until is not None and now.valid_until > horizon:
            continue
        found.append(
            Expiring(
                badge=officer.badge,
                name=officer.name,
                division=officer.division_code,
                valid_until=now.valid_until,
                lapsed=not now.in_date,
            )
        )
    return sorted(found, key=lambda e: (e.valid_until is None, e.valid_until or today, e.badge))
