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


def test_every_image_the_docs_show_exists_and_is_small():
    import re

    shown = []
    for page in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text()):
            path = page.parent / target
            assert path.is_file(), f"{page.name} shows missing {target}"
            assert path.stat().st_size < 120_000, (
                f"{target} is {path.stat().st_size} bytes: regenerate it small"
            )
            shown.append(path.resolve())
    # The officer's guide shows every screenshot its script makes, and the script makes every one it shows.
    officer = ROOT / "docs" / "images" / "officer"
    made = {p.resolve() for p in officer.glob("*.png")}
    assert made and made <= set(shown), sorted(p.name for p in made - set(shown))
    script = (officer / "make_screenshots.py").read_text()
    assert all(f'"{p.stem}"' in script for p in made), "a screenshot no script regenerates"


def test_links_into_a_page_name_one_of_its_headings():
    import re

    def slug(heading: str) -> str:
        # As the code host renders headings: lower case, punctuation dropped, spaces to hyphens.
        return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

    for page in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md"]:
        for target, anchor in re.findall(r"\]\(([^)#:\s]*\.md)#([^)\s]+)\)", page.read_text()):
            text = (page.parent / target).read_text()
            headings = {slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}
            assert anchor in headings, f"{page.name} links to {target}#{anchor}, which has no such heading"
