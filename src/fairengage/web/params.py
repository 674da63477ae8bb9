"""Typed integer parameters for routes: one upper bound on every id, offset and page number a request names.

Python integers have no upper limit and the databases' do: a 30-digit id or offset once reached the
driver and failed there (SQLite's "Python int too large", PostgreSQL's out-of-range), a server error
instead of an answer. Every integer a route reads from its path or query string is one of these, so
an out-of-range value is refused with a 422 naming the parameter before any handler runs;
tests/web/test_params.py fails if a route declares an integer without an upper bound.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

# PostgreSQL's INTEGER, the type of every id column here; no list the pages show is longer either.
MAX_INT = 2**31 - 1

RowId = Annotated[int, Path(ge=1, le=MAX_INT)]
"""A row's id in the path."""
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]
"""How many rows of a list to skip."""
PageNumber = Annotated[int, Query(ge=1, le=MAX_INT)]
"""A page of a list, counted from 1."""
