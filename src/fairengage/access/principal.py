"""Who is calling: the signed-in user as services see them."""

from __future__ import annotations

from dataclasses import dataclass

from fairengage.access.models import User


@dataclass(frozen=True)
class Principal:
    """A signed-in user, detached from the database session."""

    user_id: int
    username: str
    role: str
    officer_id: int | None
    officer_badge: str | None
    division_code: str | None

    @classmethod
    def of(cls, user: User) -> Principal:
        """The principal for a user row."""
        return cls(
            user_id=user.id,
            username=user.username,
            role=user.role,
            officer_id=user.officer_id,
            officer_badge=user.officer.badge if user.officer else None,
            division_code=user.division_code,
        )


# Used in audit entries written by the command line.
CLI_ACTOR = "cli"
