"""One scope condition for every list: all, division, own, and refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from fairengage.access.principal import Principal
from fairengage.access.scoping import in_scope
from fairengage.errors import Forbidden

ROWS = Table(
    "rows", MetaData(), Column("id", Integer), Column("division", String), Column("officer", Integer)
)


def _principal(role: str) -> Principal:
    return Principal(
        user_id=1, username="u", role=role, officer_id=7, officer_badge="T7", division_code="D14"
    )


def _sql(condition) -> str:
    return str(condition.compile(compile_kwargs={"literal_binds": True}))


def test_a_division_grant_reaches_the_division():
    assert _sql(in_scope(_principal("supervisor"), "engagements:read", division=ROWS.c.division)) == (
        "rows.division = 'D14'"
    )


def test_an_own_grant_reaches_the_officer_own_rows():
    condition = in_scope(
        _principal("officer"), "engagements:read", division=ROWS.c.division, officer=ROWS.c.officer
    )
    assert _sql(condition) == "rows.officer = 7"


def test_an_all_grant_reaches_everything():
    everything = in_scope(_principal("auditor"), "engagements:read", division=ROWS.c.division)
    assert _sql(everything) in ("true", "1")


def test_no_grant_is_refused_with_the_words_given():
    words = "may not see intervention cases"
    with pytest.raises(Forbidden, match=words):
        in_scope(_principal("officer"), "cases:read", division=ROWS.c.division, refusal=words)


def test_an_own_grant_on_rows_without_an_officer_is_refused_not_widened():
    with pytest.raises(Forbidden):
        in_scope(_principal("officer"), "events:own", division=ROWS.c.division)
