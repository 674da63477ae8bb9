"""Server-side browser sessions: an absolute lifetime, an idle timeout, and revocation that really ends them.

The signed session cookie (Starlette's SessionMiddleware) carries only a random session id. The
database keeps the id's SHA-256 digest, so a copy of the table yields no usable cookie, and a cookie
copied from a browser stops working the moment its row is ended: at sign-out, when the user is
deactivated, or when a new sign-in replaces it in the same browser.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, select, update
from sqlalchemy.orm import Session

from fairengage.access.models import User, UserSession
from fairengage.config import Settings

# The key under which the signed cookie carries the session id.
COOKIE_KEY = "sid"
# Last-seen is written at most this often per session: the idle timeout is exact to within a minute,
# and a page view costs a write only once a minute instead of every time.
TOUCH_EVERY = timedelta(seconds=60)


def _digest(token: str) -> str:
    # Ids are 256 random bits, so a fast digest suffices: no dictionary reaches them.
    return hashlib.sha256(token.encode()).hexdigest()


def start(*, session: Session, user: User, now: datetime) -> str:
    """Open a session for the user; the id is returned once, for the cookie, and only its digest kept."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(digest=_digest(token), user_id=user.id, created_at=now, last_seen_at=now))
    session.flush()
    return token


def expired(row: UserSession, settings: Settings, now: datetime) -> bool:
    """Whether a session is past its absolute lifetime or has been idle too long."""
    return now - row.created_at >= timedelta(
        seconds=settings.session_max_age
    ) or now - row.last_seen_at >= timedelta(seconds=settings.session_idle_timeout)


def resume(*, session: Session, token: str, settings: Settings, now: datetime) -> User | None:
    """The active user of a live session, noting the visit; None when ended, expired or unknown."""
    row = session.scalars(select(UserSession).where(UserSession.digest == _digest(token))).first()
    if row is None or row.ended_at is not None or expired(row, settings, now) or not row.user.active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.flush()
    return row.user


def end(*, session: Session, token: str, now: datetime, reason: str) -> UserSession | None:
    """End one session by its id; the ended row, or None when there was no live one."""
    row = session.scalars(select(UserSession).where(UserSession.digest == _digest(token))).first()
    if row is None or row.ended_at is not None:
        return None
    row.ended_at, row.end_reason = now, reason
    session.flush()
    return row


def end_all(*, session: Session, user_id: int, now: datetime, reason: str) -> int:
    """End every live session of a user (deactivation); how many were ended."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def end_all_but(*, session: Session, user_id: int, keep: str | None, now: datetime, reason: str) -> int:
    """End every live session of a user except the one with id `keep`; how many were ended."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(UserSession.digest != _digest(keep))
    result = session.execute(
        query.values(ended_at=now, end_reason=reason).execution_options(synchronize_session=False)
    )
    return _changed(result)


def prune(*, session: Session, settings: Settings, now: datetime) -> int:
    """Delete sessions past their absolute lifetime, ended or not; none of them can be used again."""
    cutoff = now - timedelta(seconds=settings.session_max_age)
    result = session.execute(
        delete(UserSession)
        .where(UserSession.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def _changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed."""
    # Session.execute is typed as returning a plain Result; for an UPDATE or a DELETE it is a
    # CursorResult, which carries the count.
    return cast("CursorResult[Any]", result).rowcount or 0
