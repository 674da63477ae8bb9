"""Which rows a principal's grant reaches, as one SQL condition for every service that lists rows.

A permission is held with a scope (access/permissions.py): `all`, its `division`, or its `own` records.
Each service that lists rows (engagements, the review queue, external events, intervention cases) says
which of its columns hold the division and the officer; the condition is built here, once, so a new
scope or a changed rule reaches every list together.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import true
from sqlalchemy.sql.elements import ColumnElement

from fairengage.access.permissions import scope_of
from fairengage.access.principal import Principal
from fairengage.errors import Forbidden


def in_scope(
    principal: Principal,
    permission: str,
    *,
    division: Any,
    officer: Any | None = None,
    refusal: str | None = None,
) -> ColumnElement[bool]:
    """The rows `principal` reaches under `permission`; Forbidden when the role does not hold it.

    `division` and `officer` are the rows' columns. A grant of `own` on rows without an officer column
    (intervention cases) reaches nothing the officer owns, so it is refused rather than widened.
    """
    scope = scope_of(principal.role, permission)
    why = refusal or f"the {principal.role} role may not do this"
    if scope is None:
        raise Forbidden(why)
    if scope == "division":
        # The columns are typed loosely (any model's), so the comparison is too.
        return cast(ColumnElement[bool], division == principal.division_code)
    if scope == "own":
        if officer is None:
            raise Forbidden(why)
        return cast(ColumnElement[bool], officer == principal.officer_id)
    return true()
