"""Imports inside functions are kept only where they defer something on purpose, and each says why.

A function-local import either hides a cycle (which the layer contracts now forbid) or defers a heavy or
optional library (WeasyPrint, HiGHS, Spark, the analytics stack) so that the web app and each command
start without it. The second kind stays, with a comment within the three lines above its block. The
command-line modules (`cli.py`) defer their commands' dependencies as a rule, stated once at the top of
each, so that `fairengage --help` and every other command start without them (tests/test_cli_startup.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "fairengage"
CLI_RULE = "Commands import what they use inside their bodies"


def _blocks(tree: ast.AST) -> list[ast.stmt]:
    """The first import of each run of imports inside a function."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            body = getattr(node, "body", None)
            if not isinstance(body, list):
                continue
            for before, statement in zip([None, *body], body, strict=False):
                if isinstance(statement, ast.Import | ast.ImportFrom) and not isinstance(
                    before, ast.Import | ast.ImportFrom
                ):
                    found.append(statement)
    return found


def _explained(lines: list[str], statement: ast.stmt) -> bool:
    if "#" in lines[statement.lineno - 1]:
        return True
    above = lines[max(0, statement.lineno - 4) : statement.lineno - 1]
    return any(line.strip().startswith("#") for line in above)


def unexplained() -> list[str]:
    """`path:line: import` of every function-local import block without a reason."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name == "cli.py" and CLI_RULE in text:
            continue
        lines = text.splitlines()
        for statement in _blocks(ast.parse(text)):
            if not _explained(lines, statement):
                where = path.relative_to(SOURCE.parent)
                found.append(f"{where}:{statement.lineno}: {lines[statement.lineno - 1].strip()}")
    return sorted(set(found))


def test_every_function_local_import_says_why() -> None:
    assert unexplained() == []


def test_the_check_finds_an_unexplained_import() -> None:
    source = (
        "def f():\n    x = 1\n    import json\n    return json\n\n\ndef g():\n    # Why.\n    import csv\n"
    )
    lines = source.splitlines()
    blocks = _blocks(ast.parse(source))
    assert [b.lineno for b in blocks] == [3, 9]
    assert [_explained(lines, b) for b in blocks] == [False, True]
