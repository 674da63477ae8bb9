"""The second factor for local accounts: a TOTP app (RFC 6238) and one-time recovery codes.

A code is accepted for the current 30-second step or one either side (phone clocks drift), and never for
a step at or before the last one accepted, so a code read over a shoulder or from a log is no use twice.
Recovery codes are shown once, at enrolment, and kept as Argon2id hashes like passwords. The secret
itself is kept encrypted under a key derived from the service's secret key (access/totp_box.py): every
function that reads or writes it takes that key (`Settings.secret`).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fairengage.access import audit, totp_box
from fairengage.access.models import RecoveryCode, User
from fairengage.access.passwords import hash_password, verify_password
from fairengage.access.permissions import MATRIX
from fairengage.config import Settings

RECOVERY_CODES = 10
# Steps either side of now that are still accepted: 30 s of clock drift each way.
DRIFT_STEPS = 1
# Permissions that show a person's identity or contact details: their holders need the second factor
# when FAIRENGAGE_REQUIRE_SECOND_FACTOR is set.
PERSONAL_PERMISSIONS = ("engagements:read-person", "complaints:read-contact")
PERSONAL_ROLES = frozenset(role for p in PERSONAL_PERMISSIONS for role in MATRIX.get(p, {}))


def enrolled(user: User) -> bool:
    """Whether the user has a confirmed second factor."""
    return user.totp_secret is not None and user.totp_confirmed_at is not None


def required(settings: Settings, user: User) -> bool:
    """Whether this account must have a second factor before it may do anything."""
    return settings.require_second_factor and user.role in PERSONAL_ROLES


def secret_of(user: User, key: bytes) -> str | None:
    """The user's TOTP secret in Base32, or None when there is none or it does not open with this key.

    A secret that no longer opens (the secret key was changed, or the row altered) is as good as none: the
    person cannot sign in with their app and an administrator resets the second factor.
    """
    if user.totp_secret is None:
        return None
    try:
        return totp_box.open_sealed(key, user.id, user.totp_secret)
    except totp_box.UnreadableSecret:
        return None


def begin(*, session: Session, user: User, key: bytes) -> str:
    """A new, unconfirmed secret for the user's app (returned in Base32, stored encrypted under `key`);
    it replaces an unconfirmed one, never a confirmed one."""
    if enrolled(user):
        raise ValueError("the second factor is already set up")
    secret = pyotp.random_base32(length=totp_box.SECRET_BYTES * 8 // 5)
    user.totp_secret = totp_box.seal(key, user.id, secret)
    user.totp_last_step = None
    session.flush()
    return secret


def provisioning_uri(user: User, service_name: str, key: bytes) -> str:
    """The otpauth:// address the QR code carries."""
    return pyotp.TOTP(secret_of(user, key) or "").provisioning_uri(
        name=user.username, issuer_name=service_name
    )


def _accept_code(user: User, code: str, now: datetime, key: bytes) -> bool:
    code = "".join(code.split())
    secret = secret_of(user, key)
    if secret is None or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            user.totp_last_step = step
            return True
    return False


def confirm(*, session: Session, user: User, code: str, now: datetime, key: bytes) -> list[str] | None:
    """Confirm enrolment with a first code: the recovery codes to show once; None for a wrong code."""
    if enrolled(user) or not _accept_code(user, code, now, key):
        return None
    user.totp_confirmed_at = now
    codes = _new_recovery_codes(session, user)
    audit.append(
        session,
        actor=user.username,
        action="totp.enrol",
        entity="user",
        entity_id=user.username,
        purpose="second factor",
    )
    return codes


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_password(c)) for c in codes)
    session.flush()
    return codes


def verify(*, session: Session, user: User, code: str, now: datetime, key: bytes) -> str | None:
    """Check a sign-in's second factor: "totp" or "recovery" for the kind accepted, None when refused."""
    if not enrolled(user):
        return None
    if _accept_code(user, code, now, key):
        session.flush()
        return "totp"
    typed = code.strip().lower()
    if len(typed) != 17:
        return None
    for row in session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ):
        if verify_password(row.code_hash, typed):
            row.used_at = now
            session.flush()
            return "recovery"
    return None


def remaining_recovery_codes(*, session: Session, user: User) -> int:
    """How many recovery codes the user has left."""
    rows = session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    return len(list(rows))


def reset(*, session: Session, user: User, actor: str) -> None:
    """Remove the user's second factor (a lost phone): they set up a new one at their next sign-in."""
    user.totp_secret = user.totp_confirmed_at = user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="totp.reset",
        entity="user",
        entity_id=user.username,
        purpose="administration",
    )
