"""Keeps secrets and personal information out of the server's logs.

Logs are read by people who may not read the records (operations staff, log shippers, whoever holds a
backup). So a request's query string is logged with only the parameters known to be harmless, every
other value replaced (a parameter someone adds tomorrow is hidden until it is listed here), and the
database's debug logging shows statements but never the rows they return. Bound parameters are kept
out of statement logs and database errors by the engine itself (`hide_parameters` in db.py).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

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
ACCESS_LOGGER = "uvicorn.access"
# SQLAlchemy's engines log here (echo="debug", or the logger turned up to DEBUG), one record per row.
DATABASE_LOGGER = "sqlalchemy.engine.Engine"


def redact_target(target: str) -> str:
    """A request target (path and query) with the value of every parameter not known to be harmless hidden."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
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
