"""Cells a spreadsheet would run as formulas are kept as text; everything else passes unchanged."""

from __future__ import annotations

import pytest

from fairengage.spreadsheet import safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+44 20", "-2", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["CAD-3", "", "a=b", 12, -3, None, 1.5])
def test_other_cells_pass_unchanged(value):
    assert safe_cell(value) == value
