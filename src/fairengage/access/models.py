"""Users, API tokens, browser sessions, failed sign-ins and the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, false
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
    officer: Mapped[Officer | None] = relationship(lazy="joined")


class ApiToken(Base):
    """An API token; only its SHA-256 digest is stored, so a database leak reveals no token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
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
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_digest: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last sequence number and digest; its row is the lock writers queue on."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    digest: Mapped[str] = mapped_column(String(64))


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
    details: Mapped[dict] = mapped_column(JSON, default=dict)
