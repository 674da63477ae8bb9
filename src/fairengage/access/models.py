"""Users, API tokens, browser sessions, failed sign-ins and the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fairengage.db import Base, UTCDateTime
from fairengage.officers.models import Officer


class User(Base):
    """A person who signs in: officer, supervisor, analyst, auditor or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    division_code: Mapped[str | None] = mapped_column(ForeignKey("divisions.code"))
    active: Mapped[bool] = mapped_column(default=True)
    # Set by someone else (an administrator, the command line): the user must choose their own at the
    # next sign-in, so whoever set it cannot go on using the account as that person.
    password_temporary: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Who set the account up, last changed its role and last reactivated it: an approver of restricted
    # reads may not decide a request filed from an account they shaped (separation of duties).
    created_by: Mapped[str | None] = mapped_column(String(80))
    role_changed_by: Mapped[str | None] = mapped_column(String(80))
    role_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reactivated_by: Mapped[str | None] = mapped_column(String(80))
    reactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The second factor (access/totp.py): the TOTP secret, when its owner confirmed a first code, and the
    # last time step accepted, so that a code seen over a shoulder cannot be used a second time.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # SHA-256 of the issuer and subject of the provider account linked at the first sign-on (access/oidc.py).
    oidc_subject: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    officer: Mapped[Officer | None] = relationship(lazy="joined")


class RecoveryCode(Base):
    """A one-time code that stands in for the second factor when the phone is lost; only its hash is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """An API token; only its SHA-256 digest is stored, so a database leak reveals no token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A time in the future is a revocation already scheduled: a rotated token's grace period.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Every token expires (docs/security.md); tokens from before migration 0010 got 90 days from it.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    user: Mapped[User] = relationship(lazy="joined")


class UserSession(Base):
    """A signed-in browser; its cookie carries a random id of which only the SHA-256 digest is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Why it ended early: "logout", "replaced" (a new sign-in in the same browser), "deactivated",
    # "password" (the user changed it elsewhere) or "reset" (an administrator reset it).
    end_reason: Mapped[str | None] = mapped_column(String(20))
    user: Mapped[User] = relationship(lazy="joined")


class LoginFailure(Base):
    """One failed sign-in, under keyed hashes of the typed username and of the client address.

    Hashes, not the text: people type passwords into the username field, and the addresses of the
    public are not this table's business beyond counting.
    """

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    account_key: Mapped[str] = mapped_column(String(64), index=True)
    client_key: Mapped[str] = mapped_column(String(64), index=True)


class AuditEntry(Base):
    """One append-only audit entry; `digest` chains it to the entry before."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_digest: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last sequence number and digest; its row is the lock writers queue on."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    digest: Mapped[str] = mapped_column(String(64))
    # The Merkle tree over entries 1..tree_size (access/merkle.py): its complete-subtree roots, largest
    # first, as concatenated hex. tree_size trails seq only in a log written before the tree existed.
    tree_size: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    frontier: Mapped[str] = mapped_column(Text, default="", server_default="")


class AuditTreeNode(Base):
    """The hash of one complete subtree of the audit Merkle tree: leaves idx·2^level to (idx+1)·2^level - 1.

    Written once when its last leaf is sealed; proofs read O(log n) of them (access/transparency.py).
    """

    __tablename__ = "audit_tree"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditPending(Base):
    """An audit entry written with its change but not yet sealed into the chain (audit.seal).

    Busy writers (recording engagements) journal here instead of queueing on the chain's head: the
    entry commits atomically with the change it records, and the sealer chains entries in batches.
    """

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # HMAC-SHA256 of the row's fields under a key derived from the secret key (audit.journal_mac):
    # a row inserted by someone with only database access lacks it and is refused at sealing.
    mac: Mapped[str | None] = mapped_column(String(64))
