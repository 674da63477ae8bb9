"""Sign-in throttling: too many failed sign-ins for one username, or from one address, pause sign-in.

Failures are rows in `login_failures`, so every server process and both databases see the same count.
While a pause holds, the password is not checked at all: the answer is the same whether it was right
or wrong, so a paused form cannot be used to go on guessing. Usernames are throttled whether or not
the account exists, so the pause does not reveal which names are real.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from fairengage.access.models import LoginFailure
from fairengage.config import Settings

# The public receipt pages (receipts/limits.py) count by client too, and by receipt code.
Scope = Literal["account", "client", "code"]


@dataclass(frozen=True)
class Pause:
    """Sign-in is paused for an account or a client address until `until` (`retry_after` seconds)."""

    scope: Scope
    until: datetime
    retry_after: int


def keyed(settings: Settings, kind: str, value: str) -> str:
    """A keyed hash of `value` counted as `kind`, for tables that count requests without keeping them."""
    return _key(settings, kind, value)


def _key(settings: Settings, kind: str, value: str) -> str:
    # Keyed, so that the table cannot be reversed by hashing a list of likely usernames or addresses.
    return hmac.new(settings.secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def account_key(settings: Settings, username: str) -> str:
    """The key a typed username is counted under (case and surrounding spaces ignored)."""
    return _key(settings, "account", username.strip().casefold())


def client_key(settings: Settings, address: str) -> str:
    """The key a client address is counted under."""
    return _key(settings, "client", address)


def window_pause(
    session: Session,
    at: InstrumentedAttribute[datetime],
    column: InstrumentedAttribute[str],
    key: str,
    limit: int,
    scope: Scope,
    window: timedelta,
    now: datetime,
    *where: ColumnElement[bool],
) -> Pause | None:
    """The pause when `limit` rows under `key` fall within the window before `now` (0: no limit)."""
    if limit <= 0:
        return None
    # Only the limit-th most recent row is fetched: the database walks the index, nothing more is sent.
    nth = session.scalar(
        select(at)
        .where(column == key, at > now - window, *where)
        .order_by(at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    if nth is None:
        return None
    # The pause lifts when the limit-th most recent row leaves the window: fewer than `limit` remain.
    until = nth + window
    return Pause(scope, until, max(1, math.ceil((until - now).total_seconds())))


def _pause(
    session: Session,
    column: InstrumentedAttribute[str],
    key: str,
    limit: int,
    scope: Scope,
    window: timedelta,
    now: datetime,
) -> Pause | None:
    return window_pause(session, LoginFailure.at, column, key, limit, scope, window, now)


def paused(
    *, session: Session, settings: Settings, username: str, client: str, now: datetime
) -> Pause | None:
    """The pause in force for this username or this address (the longer one), or None."""
    window = timedelta(seconds=settings.login_window)
    account = account_key(settings, username)
    address = client_key(settings, client)
    found = [
        _pause(
            session, LoginFailure.account_key, account, settings.login_account_limit, "account", window, now
        ),
        _pause(session, LoginFailure.client_key, address, settings.login_client_limit, "client", window, now),
    ]
    pauses = [p for p in found if p is not None]
    return max(pauses, key=lambda p: p.until) if pauses else None


def record_failure(
    *, session: Session, settings: Settings, username: str, client: str, now: datetime
) -> Pause | None:
    """Count a failed sign-in; the pause it starts, if this failure reached a limit."""
    window = timedelta(seconds=settings.login_window)
    # Failures older than the window never count again: drop them here rather than in a scheduled job.
    session.execute(
        delete(LoginFailure)
        .where(LoginFailure.at <= now - window)
        .execution_options(synchronize_session=False)
    )
    session.add(
        LoginFailure(
            at=now, account_key=account_key(settings, username), client_key=client_key(settings, client)
        )
    )
    session.flush()
    return paused(session=session, settings=settings, username=username, client=client, now=now)


def clear_account(*, session: Session, settings: Settings, username: str) -> None:
    """Forget an account's failures after a successful sign-in; the address's count stays."""
    session.execute(
        delete(LoginFailure)
        .where(LoginFailure.account_key == account_key(settings, username))
        .execution_options(synchronize_session=False)
    )
