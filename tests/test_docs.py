"""Undocumented is a failing test: every setting, permission, command and request-rule code is in docs/."""

from __future__ import annotations

from pathlib import Path

import typer.main

from fairengage.access.permissions import MATRIX, PUBLIC
from fairengage.cli import app
from fairengage.config import Settings
from fairengage.web.problems import FIELD_RULES

ROOT = Path(__file__).resolve().parents[1]
DOCS = (
    "\n".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))) + (ROOT / "README.md").read_text()
)


def test_every_setting_is_documented():
    for name in Settings.model_fields:
        assert f"FAIRENGAGE_{name.upper()}" in DOCS, name


def test_every_permission_is_documented():
    for permission in [*MATRIX, *PUBLIC]:
        assert f"`{permission}`" in DOCS, permission


def test_every_command_is_documented():
    group = typer.main.get_group(app)
    names = []
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        names += [f"{name} {s}" for s in sub] if sub else [name]
    for name in names:
        assert f"fairengage {name}" in DOCS, name


def test_every_request_rule_code_is_documented():
    codes = {"UNKNOWN-FIELD", "VALID-TYPE", "VALID-TIME", "VALID-DIVISION", "IDEMPOTENCY-KEY"}
    codes |= {c for c in FIELD_RULES.values() if c.startswith("VALID-")}
    for code in codes:
        assert f"`{code}`" in DOCS, code


def test_docs_link_to_existing_pages():
    import re

    for page in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+\.md)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
