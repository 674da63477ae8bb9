"""Domain errors raised by services; `web/problems.py` maps each to RFC 9457 problem+json in one place."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, naming the rule it breaks."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form used in problem+json `errors`."""
        return {"field": self.field, "rule": self.rule, "message": self.message}


@dataclass
class DomainError(Exception):
    """Base class: an HTTP status, a short title, a detail sentence and field errors."""

    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __str__(self) -> str:
        return self.detail or self.title


class RecordRefused(DomainError):
    """The record breaks a refusing rule or a validation rule; nothing was stored."""

    status = 422
    title = "The record breaks a rule"
    slug = "record-refused"


class IdempotencyKeyReused(DomainError):
    """The same Idempotency-Key came with a different body."""

    status = 422
    title = "Idempotency-Key already used for a different request"
    slug = "idempotency-key-reused"


class NotFound(DomainError):
    """No such thing, or not one the caller may see (we do not say which)."""

    status = 404
    title = "Not found"
    slug = "not-found"


class Forbidden(DomainError):
    """The caller's role does not hold the permission."""

    status = 403
    title = "Forbidden"
    slug = "forbidden"


class Unauthenticated(DomainError):
    """No valid credentials."""

    status = 401
    title = "Authentication required"
    slug = "unauthenticated"


class TokenExpired(Unauthenticated):
    """The API token was valid once and has expired: its holder needs a new one, not a retry."""

    title = "API token expired"
    slug = "token-expired"


class Conflict(DomainError):
    """The request conflicts with what is stored (a duplicate username or badge)."""

    status = 409
    title = "Conflict"
    slug = "conflict"
