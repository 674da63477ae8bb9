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
                # Held in a name: the session keeps only a weak reference, and a collection whose parent
                # was collected cannot record the append.
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
