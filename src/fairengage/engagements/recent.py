"""The officer's own recent places and reasons, offered on the form as one-tap choices.

Only the signed-in officer's own records are read, never another officer's: a reason is the officer's
account of what they saw, and a place can say where a colleague works. Restricted records are left
out (s.9: once restricted, a record's text is read only with an approved request), so a restricted
record's words never come back through the form.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fairengage.engagements.models import Engagement

# How many of each the form offers, and how many recent records are read to find them.
OFFERED = 4
SCANNED = 40
# A chip shows the start of a long reason; the whole text is what fills the field.
CHIP_CHARS = 60


@dataclass(frozen=True)
class Choice:
    """One offered answer: the full text, and the short label its chip shows."""

    text: str
    label: str


@dataclass(frozen=True)
class RecentChoices:
    """The officer's recent distinct places and reasons, newest first."""

    places: list[Choice]
    reasons: list[Choice]


def _label(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= CHIP_CHARS else flat[: CHIP_CHARS - 1].rstrip() + "…"


def _distinct(values: list[str | None]) -> list[Choice]:
    seen: set[str] = set()
    out: list[Choice] = []
    for value in values:
        text = (value or "").strip()
        key = " ".join(text.split()).casefold()
        if not text or key in seen:
            continue
        seen.add(key)
        out.append(Choice(text, _label(text)))
        if len(out) == OFFERED:
            break
    return out


def recent_choices(*, session: Session, officer_id: int | None) -> RecentChoices:
    """The officer's last few distinct places and reasons, from their own unrestricted records."""
    if officer_id is None:
        return RecentChoices([], [])
    rows = session.execute(
        select(Engagement.location_description, Engagement.reason)
        .where(
            Engagement.officer_id == officer_id,
            Engagement.restricted.is_(False),
            # Records loaded by an import carry the import's words and time, not the officer's recent work.
            Engagement.import_batch_id.is_(None),
            Engagement.legacy.is_(False),
        )
        .order_by(Engagement.entered_at.desc(), Engagement.id)
        .limit(SCANNED)
    ).all()
    return RecentChoices(
        places=_distinct([r.location_description for r in rows]),
        reasons=_distinct([r.reason for r in rows]),
    )
