"""The one door: reports/ reads files only; the database meets the report builder in publishing/ alone."""

from __future__ import annotations

import ast
from pathlib import Path

import fairengage

PACKAGE = Path(fairengage.__file__).parent
FORBIDDEN = ("fairengage.engagements", "fairengage.access", "fairengage.publishing")


def imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_reports_import_nothing_of_the_records_or_access():
    broken = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in (PACKAGE / "reports").rglob("*.py")
        for name in imported(path)
        if name.startswith(FORBIDDEN)
    }
    assert broken == set()


def test_only_publishing_builds_reports_from_the_extract():
    # The extract is the one door from personal data to the reports: among the report-making code, only
    # the publishing service opens it (the demo and the pages go through the service).
    callers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "fairengage.engagements.extract" in imported(path)
        and "fairengage.reports.builder" in imported(path)
    }
    assert callers == {"publishing/service.py"}
