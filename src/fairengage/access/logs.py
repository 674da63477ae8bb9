"""Keeps secrets and personal information out of the server's logs.

Logs are read by people who may not read the records (operations staff, log shippers, whoever holds a
backup). So a request's query string is logged with only the parameters known to be harmless, every
other value replaced (a parameter someone adds tomorrow is hidden until it is listed here), a path
segment that names a person or opens their record (a receipt code, a username, a badge) is replaced, and the
database's debug logging shows statements but never the rows they return. Bound parameters are kept
out of statement logs and database errors by the engine itself (`hide_parameters` in db.py).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, unquote_plus

from fairengage.receipts.codes import normalize_code

# Query parameters whose values are filters, paging and display choices, never names, free text,
# receipt codes, tokens or passwords (the API's `purpose` is free text about a person: not listed).
LOGGABLE_PARAMETERS = frozenset(
    {
        "lang", "page", "offset", "limit", "sort", "overdue", "period", "division", "group", "kind",
        "status", "from", "to", "compliant", "perceived_race", "sent", "done", "on", "format",
    }
)  # fmt: skip
HIDDEN = "***"
# Parameter names shown with their value hidden; anything else in the name's place is hidden whole.
PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,39}")
# The segment after each of these is a receipt code as typed (any text at all), a username or a badge.
PERSONAL_SEGMENT_AFTER = ("/r/", "/admin/users/", "/admin/officers/")
ACCESS_LOGGER = "uvicorn.access"
# SQLAlchemy's engines log here (echo="debug", or the logger turned up to DEBUG), one record per row.
DATABASE_LOGGER = "sqlalchemy.engine.Engine"


def redact_path(path: str) -> str:
    """A request path with each segment that identifies a person, or is shaped like a receipt code, hidden."""
    for prefix in PERSONAL_SEGMENT_AFTER:
        if path.startswith(prefix):
            segment, slash, rest = path[len(prefix) :].partition("/")
            path = prefix + (HIDDEN if segment else "") + slash + rest
            break
    # A receipt code anywhere else (a link someone pasted into another route): hidden too, whatever else
    # it could be; a false match only hides a harmless word from the log.
    return "/".join(HIDDEN if _code_shaped(segment) else segment for segment in path.split("/"))


def _code_shaped(segment: str) -> bool:
    text = unquote(segment)
    return 12 <= len(text) <= 20 and normalize_code(text) is not None


def redact_target(target: str) -> str:
    """A request target (path and query) with personal path segments and unlisted parameter values hidden."""
    path, sep, query = target.partition("?")
    path = redact_path(path)
    if not sep:
        return path
    kept = []
    for chunk in query.split("&"):
        name, has_value, _ = chunk.partition("=")
        if unquote_plus(name) in LOGGABLE_PARAMETERS and has_value:
            kept.append(chunk)
        elif has_value and PLAIN_NAME.fullmatch(name):
            kept.append(f"{name}={HIDDEN}")
        else:
            # A bare value (a token pasted alone) or a name that is itself text someone typed.
            kept.append(HIDDEN if chunk else chunk)
    return f"{path}?{'&'.join(kept)}"


class AccessLogRedaction(logging.Filter):
    """Rewrites uvicorn's access-log records so that the logged request target is redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the target in place; never drops a record."""
        args = record.args
        # uvicorn logs: '%s - "%s %s HTTP/%s" %d' with (client, method, target, http version, status).
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True


class RowRedaction(logging.Filter):
    """Keeps the database's debug records of returned rows, without the values in them."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace a row's values in place; never drops a record."""
        if isinstance(record.msg, str) and record.msg.startswith("Row "):
            record.msg, record.args = "Row (values hidden)", ()
        return True


def install() -> None:
    """Attach the redactions once per process (logger filters survive uvicorn's logging dictConfig)."""
    for name, kind in ((ACCESS_LOGGER, AccessLogRedaction), (DATABASE_LOGGER, RowRedaction)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
