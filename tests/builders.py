"""Builders for tests: officers, users, tokens and valid engagement bodies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fairengage.access import service as access
from fairengage.db import transaction
from fairengage.officers import service as officers
from fairengage.officers.models import TrainingRecord

TRAINED_ON = date(2024, 1, 15)


class World:
    """Builders for officers, users and tokens on the test database."""

    def __init__(self, sessions) -> None:  # type: ignore[no-untyped-def]
        self.sessions = sessions

    def officer(
        self,
        badge: str,
        division: str = "D14",
        trained_on: date | None = TRAINED_ON,
        name: str | None = None,
    ) -> None:
        with transaction(self.sessions) as s:
            officers.add(
                session=s,
                badge=badge,
                name=name or f"Officer {badge}",
                division=division,
                trained_on=trained_on,
                actor="test",
            )
            if trained_on is TRAINED_ON:
                # Renewed a month ago as well: the default officer's training covers the records tests
                # date from 2024 on and today's form, on whatever day the suite runs, not only until
                # 2024-01-15's training lapses (36 months).
                renewed = TrainingRecord(completed_on=date.today() - timedelta(days=30))
                # Held in a name: the session keeps only a weak reference, and an officer collected
                # mid-append fails the test at random (ObjectDereferencedError).
                officer = officers.get_or_raise(session=s, badge=badge)
                officer.training.append(renewed)

    def user(
        self,
        username: str,
        role: str,
        *,
        badge: str | None = None,
        division: str | None = None,
        password: str | None = "correct horse battery staple",
    ) -> None:
        with transaction(self.sessions) as s:
            access.add_user(
                session=s,
                username=username,
                role=role,
                password=password,
                badge=badge,
                division=division,
                actor="test",
                temporary=False,
            )

    def token(self, username: str) -> str:
        with transaction(self.sessions) as s:
            return access.create_token(session=s, username=username, actor="test")

    def user_with_token(self, username: str, role: str, **kw: Any) -> dict[str, str]:
        """A user of any role (keywords as `user`) and an Authorization header for the API."""
        self.user(username, role, **kw)
        return {"Authorization": f"Bearer {self.token(username)}"}

    def officer_with_token(self, badge: str, division: str = "D14", **kw: Any) -> dict[str, str]:
        """An officer, their user and an Authorization header."""
        self.officer(badge, division, **kw)
        self.user(f"u{badge}", "officer", badge=badge)
        return {"Authorization": f"Bearer {self.token(f'u{badge}')}"}


def valid_body(**overrides: Any) -> dict[str, Any]:
    """A compliant engagement as the API takes it."""
    body: dict[str, Any] = {
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "division": "D14",
        "location": {"lat": 43.6487, "lon": -79.3962, "description": "Queen St W & Spadina Ave"},
        "purpose": "suspicious_activities",
        "reason": "Person was trying door handles of several parked cars on the block, one after another.",
        "reason_grounds": ["behaviour"],
        "perceived_race": "White",
        "perceived_gender": "man",
        "perceived_age": 30,
        "informed": True,
        "receipt_offered": True,
        "identifying_info_collected": True,
        "person": {"name": "Sam Example", "date_of_birth": "1994-05-02", "address": "1 Example St"},
        "searched": False,
        "outcome": "none",
    }
    body.update(overrides)
    return body


# The reason every compliant form below gives: behaviour, in the officer's own words, and no race word.
FORM_REASON = "He was looking into parked cars with a flashlight and trying the door handles one by one."


def compliant_form(csrf: str, **overrides: Any) -> dict[str, Any]:
    """The officer's form, filled so that it saves, as a browser posts it (lists for repeated fields)."""
    form: dict[str, Any] = {
        "csrftoken": csrf,
        "form_key": "k-1",
        "scope": "none",
        "purpose": "suspicious_activities",
        "occurred_at": "2025-05-05T21:10",
        "division": "D52",
        "place": "Yonge St & Dundas St",
        "reason_grounds": ["behaviour"],
        "reason": FORM_REASON,
        "informed": "yes",
        "informed_why": "yes",
        "receipt_offered": "yes",
        "perceived_race": "South Asian",
        "perceived_gender": "man",
        "perceived_age": "24",
        "identifying_info_collected": "no",
        "searched": "no",
        "outcome": "none",
    }
    return {**form, **overrides}


BROWSER_REASON = "He was pulling on the handles of parked car doors along the street, one car after another."


def fill_form_first_half(page: Any, place: str) -> None:
    """In a browser: the scope, the purpose, the place and the reason (the form's first half)."""
    page.get_by_label("None of these applies").check()
    page.get_by_label("Inquiring into suspicious activities", exact=False).first.check()
    page.locator("#place").fill(place)
    page.get_by_role("checkbox", name="Behaviour", exact=False).first.check()
    page.get_by_label("In your own words").fill(BROWSER_REASON)


def fill_form_second_half(page: Any, name: str | None = None) -> None:
    """In a browser: the duties, what was perceived and, when `name` is given, the person's name."""
    page.locator("input[name=informed][value=yes]").check()
    page.locator("input[name=informed_why][value=yes]").check()
    page.locator("input[name=receipt_offered][value=yes]").check()
    page.locator("input[name=perceived_race][value=White]").check()
    page.locator("input[name=perceived_gender][value=man]").check()
    page.get_by_label("Age (years)").fill("35")
    page.locator(f"input[name=identifying_info_collected][value={'yes' if name else 'no'}]").check()
    if name:
        page.locator("#person_name").fill(name)


def fill_compliant_form(page: Any, place: str, name: str | None = None) -> None:
    """In a browser: every answer a compliant record needs, ready for "Check and save"."""
    fill_form_first_half(page, place)
    fill_form_second_half(page, name)
