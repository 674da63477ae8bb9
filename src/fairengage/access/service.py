"""Users, passwords and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import Session

from fairengage.access import audit, password_policy, sessions
from fairengage.access.models import ApiToken, User
from fairengage.access.passwords import hash_password, verify_password
from fairengage.access.permissions import ROLES, scope_of
from fairengage.access.principal import Principal
from fairengage.db import UTCDateTime
from fairengage.errors import Conflict, FieldError, NotFound, RecordRefused, TokenExpired
from fairengage.officers import service as officers
from fairengage.officers.models import Officer
from fairengage.retention.models import ApproverDelegation

# The policy minimum when no setting is passed (Settings.password_min_length has the same default).
DEFAULT_MIN_LENGTH = 12
TOKEN_PREFIX = "fe_"  # noqa: S105  # nosec B105 # a public marker so leaked tokens are recognisable
# Token lifetimes in days (docs/security.md): the CLI passes FAIRENGAGE_TOKEN_LIFETIME_DAYS or --days.
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
# A rotated token's grace period is for switching a deployment over, not a second lifetime.
MAX_GRACE_HOURS = 30 * 24


def get(*, session: Session, username: str) -> User | None:
    """The user with this name, or None."""
    return session.scalars(select(User).where(User.username == username)).first()


def get_or_raise(*, session: Session, username: str) -> User:
    """The user with this name, or NotFound."""
    user = get(session=session, username=username)
    if user is None:
        raise NotFound(f"no user named {username}")
    return user


def add_user(
    *,
    session: Session,
    username: str,
    role: str,
    password: str | None,
    badge: str | None = None,
    division: str | None = None,
    actor: str,
    min_length: int = DEFAULT_MIN_LENGTH,
    temporary: bool = True,
) -> User:
    """Add a user; an officer is linked to their officer record by badge, a supervisor to a division.

    The password is someone else's choice, so it is temporary unless `temporary` is False (the demo,
    tests): the user must choose their own at the next sign-in.
    """
    if password is not None:
        password_policy.check(password, username=username, min_length=min_length)
    if role not in ROLES:
        raise RecordRefused(
            f"unknown role {role}",
            [FieldError("role", "VALID-ROLE", f"role must be one of {', '.join(ROLES)}")],
        )
    if get(session=session, username=username) is not None:
        raise Conflict(f"a user named {username} already exists")
    officer = officers.get_or_raise(session=session, badge=badge) if badge else None
    if role == "officer" and officer is None:
        raise RecordRefused(
            "an officer user needs a badge",
            [FieldError("badge", "VALID-BADGE", "give the badge of an officer added with `officers add`")],
        )
    if division is None and officer is not None:
        division = officer.division_code
    if role == "supervisor" and division is None:
        raise RecordRefused(
            "a supervisor needs a division",
            [FieldError("division", "VALID-DIVISION", "give the supervisor's division or badge")],
        )
    user = User(
        username=username,
        role=role,
        password_hash=hash_password(password) if password else None,
        password_temporary=bool(password) and temporary,
        officer=officer,
        division_code=division,
        created_at=datetime.now(UTC),
        created_by=actor,
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.add",
        entity="user",
        entity_id=username,
        purpose="administration",
        details={"role": role, "badge": badge, "division": division},
    )
    return user


def authenticate_password(*, session: Session, username: str, password: str) -> User | None:
    """The active user whose password this is, or None."""
    user = get(session=session, username=username)
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.active else None


def _digest(token: str) -> str:
    # Tokens are 256 random bits, so a fast digest is enough: no dictionary can reach them.
    return hashlib.sha256(token.encode()).hexdigest()


def _check_lifetime(days: int, grace_hours: float = 0) -> None:
    errors = []
    if not 1 <= days <= MAX_TOKEN_DAYS:
        errors.append(
            FieldError("days", "TOKEN-LIFETIME", f"a token lives from 1 to {MAX_TOKEN_DAYS} days, not {days}")
        )
    if not 0 <= grace_hours <= MAX_GRACE_HOURS:
        errors.append(
            FieldError(
                "grace_hours",
                "TOKEN-LIFETIME",
                f"the grace period is from 0 to {MAX_GRACE_HOURS} hours, not {grace_hours:g}",
            )
        )
    if errors:
        raise RecordRefused("the token's lifetime is out of range", errors)


def _issue(session: Session, user: User, days: int, now: datetime) -> tuple[str, ApiToken]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        digest=_digest(token),
        prefix=token[:10],
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    return token, row


def create_token(
    *,
    session: Session,
    username: str,
    actor: str,
    days: int = DEFAULT_TOKEN_DAYS,
    now: datetime | None = None,
) -> str:
    """A new API token for the user, valid for `days`; only its digest is stored, so it is shown once."""
    _check_lifetime(days)
    user = get_or_raise(session=session, username=username)
    now = now or datetime.now(UTC)
    token, row = _issue(session, user, days, now)
    audit.append(
        session,
        actor=actor,
        action="token.create",
        entity="user",
        entity_id=username,
        purpose="administration",
        details={"prefix": row.prefix, "expires_at": row.expires_at.isoformat()},
    )
    return token


def _live_tokens(user_id: int, now: datetime) -> Select[ApiToken]:
    """The user's tokens that still answer: not revoked yet (a scheduled revocation counts as not yet)."""
    return select(ApiToken).where(
        ApiToken.user_id == user_id,
        or_(ApiToken.revoked_at.is_(None), ApiToken.revoked_at > now),
        ApiToken.expires_at > now,
    )


def rotate_token(
    *,
    session: Session,
    username: str,
    actor: str,
    days: int = DEFAULT_TOKEN_DAYS,
    grace_hours: float = 0,
    now: datetime | None = None,
) -> tuple[str, list[ApiToken]]:
    """Issue a new token and revoke the user's live ones, at once or when `grace_hours` have passed.

    Returns the new token (shown once) and the old tokens with their revocation times.
    """
    _check_lifetime(days, grace_hours)
    user = get_or_raise(session=session, username=username)
    now = now or datetime.now(UTC)
    revoke_at = now + timedelta(hours=grace_hours)
    old = list(session.scalars(_live_tokens(user.id, now)))
    for row in old:
        # A revocation already scheduled earlier stands: a second rotation never lengthens a grace.
        if row.revoked_at is None or row.revoked_at > revoke_at:
            row.revoked_at = revoke_at
    token, row = _issue(session, user, days, now)
    audit.append(
        session,
        actor=actor,
        action="token.rotate",
        entity="user",
        entity_id=username,
        purpose="administration",
        details={
            "prefix": row.prefix,
            "expires_at": row.expires_at.isoformat(),
            "revoked": [r.prefix for r in old],
            "revoked_at": revoke_at.isoformat(),
        },
    )
    return token, old


def list_tokens(*, session: Session, username: str) -> list[ApiToken]:
    """The user's tokens, newest first, for an administrator to see what expires or was revoked when."""
    user = get_or_raise(session=session, username=username)
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
        )
    )


def token_state(token: ApiToken, now: datetime) -> str:
    """"active", "expired", "revoked", or "revoked at …" for a revocation still in its grace period."""
    if token.revoked_at is not None and token.revoked_at <= now:
        return "revoked"
    if token.expires_at <= now:
        return "expired"
    if token.revoked_at is not None:
        return f"revoked at {token.revoked_at.isoformat(timespec='minutes')}"
    return "active"


_TOKENS = ApiToken.__table__
_USERS = User.__table__
_OFFICERS = Officer.__table__
# Every API request resolves its token, so the lookup is one prepared statement, not ORM loads.
_PRINCIPAL_BY_TOKEN = (
    select(
        _USERS.c.id,
        _USERS.c.username,
        _USERS.c.role,
        _USERS.c.officer_id,
        _OFFICERS.c.badge,
        _USERS.c.division_code,
        _TOKENS.c.expires_at,
    )
    .select_from(
        _TOKENS.join(_USERS, _USERS.c.id == _TOKENS.c.user_id).outerjoin(
            _OFFICERS, _OFFICERS.c.id == _USERS.c.officer_id
        )
    )
    .where(
        _TOKENS.c.digest == bindparam("digest"),
        # A revocation in the future is a rotated token's grace period: it still answers until then.
        or_(_TOKENS.c.revoked_at.is_(None), _TOKENS.c.revoked_at > bindparam("now", type_=UTCDateTime())),
        _USERS.c.active.is_(True),
    )
)


def principal_for_token(*, session: Session, token: str) -> Principal | None:
    """The caller an unrevoked token of an active user names, or None; TokenExpired past its expiry."""
    now = datetime.now(UTC)
    row = session.connection().execute(_PRINCIPAL_BY_TOKEN, {"digest": _digest(token), "now": now}).first()
    if row is None:
        return None
    if row.expires_at <= now:
        # Said apart from "not valid": the holder needs a new token from an administrator, not a retry.
        raise TokenExpired(
            f"the API token expired at {row.expires_at.isoformat(timespec='seconds')}: "
            "ask an administrator for a new one (`fairengage tokens rotate`)"
        )
    return Principal(
        user_id=row.id,
        username=row.username,
        role=row.role,
        officer_id=row.officer_id,
        officer_badge=row.badge,
        division_code=row.division_code,
    )


def list_users(*, session: Session) -> list[User]:
    """Every user, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def _refuse_self(username: str, actor: str, what: str) -> None:
    # An administrator who demotes or deactivates themselves can lock the service out of administration.
    if username == actor:
        raise RecordRefused(
            f"you cannot {what} your own account",
            [FieldError("username", "NOT-SELF", f"ask another administrator to {what} your account")],
        )


def _holds_delegation(session: Session, user_id: int) -> bool:
    # Read from the table, not through the retention service, which itself builds on this module.
    return (
        session.scalars(
            select(ApproverDelegation.id).where(
                ApproverDelegation.user_id == user_id, ApproverDelegation.revoked_at.is_(None)
            )
        ).first()
        is not None
    )


def set_role(*, session: Session, username: str, role: str, actor: str) -> User:
    """Change a user's role; an officer must be linked to an officer record, a supervisor to a division."""
    user = get_or_raise(session=session, username=username)
    _refuse_self(username, actor, "change the role of")
    if role not in ROLES:
        raise RecordRefused(
            f"unknown role {role}",
            [FieldError("role", "VALID-ROLE", f"role must be one of {', '.join(ROLES)}")],
        )
    if role == "officer" and user.officer_id is None:
        raise RecordRefused(
            "an officer user needs a badge",
            [FieldError("role", "VALID-BADGE", "only a user linked to an officer's badge can be an officer")],
        )
    if role == "supervisor" and user.division_code is None:
        raise RecordRefused(
            "a supervisor needs a division",
            [FieldError("role", "VALID-DIVISION", "only a user with a division can be a supervisor")],
        )
    previous = user.role
    if previous == role:
        return user
    if scope_of(role, "users:manage") is not None and _holds_delegation(session, user.id):
        raise RecordRefused(
            f"{username} holds the chief's delegation to approve restricted reads",
            [
                FieldError(
                    "role",
                    "SEPARATE-DUTIES",
                    f"an approver of restricted reads may not also administer users: the chief must "
                    f"withdraw {username}'s delegation first (fairengage retention revoke {username})",
                )
            ],
        )
    user.role = role
    user.role_changed_by, user.role_changed_at = actor, datetime.now(UTC)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.role",
        entity="user",
        entity_id=username,
        purpose="administration",
        details={"from": previous, "to": role},
    )
    return user


def set_active(*, session: Session, username: str, active: bool, actor: str) -> User:
    """Deactivate a user (no sign-in, no tokens; their tokens are revoked) or reactivate them."""
    user = get_or_raise(session=session, username=username)
    _refuse_self(username, actor, "deactivate" if not active else "reactivate")
    if user.active == active:
        return user
    revoked = ended = 0
    if not active:
        # Revoked rather than merely suspended: reactivating an account must not bring back tokens
        # that may have leaked while it was off. The user is given new ones.
        now = datetime.now(UTC)
        # Tokens in a rotation's grace period are revoked now too.
        for token in session.scalars(
            select(ApiToken).where(
                ApiToken.user_id == user.id, or_(ApiToken.revoked_at.is_(None), ApiToken.revoked_at > now)
            )
        ):
            token.revoked_at = now
            revoked += 1
        # Signed-in browsers end now, not at their next expiry: the person may be leaving the service.
        ended = sessions.end_all(session=session, user_id=user.id, now=now, reason="deactivated")
    user.active = active
    if active:
        user.reactivated_by, user.reactivated_at = actor, datetime.now(UTC)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.reactivate" if active else "user.deactivate",
        entity="user",
        entity_id=username,
        purpose="administration",
        details={"tokens_revoked": revoked, "sessions_ended": ended} if not active else {},
    )
    return user


# A temporary password is 16 characters of 96 random bits: unguessable, and short enough to read out.
_TEMPORARY_BYTES = 12


def change_own_password(
    *, session: Session, username: str, current: str, new: str, min_length: int, keep_session: str | None
) -> User:
    """Replace the user's password after checking the current one; their other sessions end.

    `keep_session` is the id of the browser session making the change, which stays signed in.
    """
    user = get_or_raise(session=session, username=username)
    if not verify_password(user.password_hash, current):
        raise RecordRefused(
            "the current password is not right",
            [FieldError("current", "PASSWORD-CURRENT", "the current password is not right")],
        )
    password_policy.check(new, username=username, min_length=min_length)
    if verify_password(user.password_hash, new):
        # Re-entering a temporary password would keep a password someone else knows.
        raise RecordRefused(
            "the new password is the current one",
            [FieldError("password", password_policy.RULE_SAME, "choose a password other than the current")],
        )
    was_temporary = user.password_temporary
    user.password_hash = hash_password(new)
    user.password_temporary = False
    now = datetime.now(UTC)
    # A password change is also how people lock out someone who learned the old one, so every other
    # browser signed in as this user ends; API tokens are separate credentials and stay.
    ended = sessions.end_all_but(
        session=session, user_id=user.id, keep=keep_session, now=now, reason="password"
    )
    session.flush()
    audit.append(
        session,
        actor=username,
        action="password.change",
        entity="user",
        entity_id=username,
        purpose="account",
        details={"was_temporary": was_temporary, "sessions_ended": ended},
    )
    return user


def reset_password(*, session: Session, username: str, actor: str) -> str:
    """Give the user a new temporary password (returned, shown once) and end their sessions."""
    user = get_or_raise(session=session, username=username)
    if not user.active:
        raise RecordRefused(
            f"{username} is deactivated",
            [FieldError("username", "ACTIVE", "reactivate the user before resetting their password")],
        )
    password = secrets.token_urlsafe(_TEMPORARY_BYTES)
    user.password_hash = hash_password(password)
    user.password_temporary = True
    ended = sessions.end_all(session=session, user_id=user.id, now=datetime.now(UTC), reason="reset")
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="password.reset",
        entity="user",
        entity_id=username,
        purpose="administration",
        details={"sessions_ended": ended},
    )
    return password
