"""Cells of CSV files that staff open in a spreadsheet.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return before one) as a
formula: a value typed by someone else (a complaint's text, an external system's event id) could then
run in the reader's spreadsheet. A leading apostrophe keeps such a cell text; numbers and dates pass.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value`, or the text with an apostrophe before it when a spreadsheet would run it."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value
