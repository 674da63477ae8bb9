"""The design lives in the repository: no shipped file or help text points to a design file outside it.

The architecture, the contract and the rule catalogue are docs/architecture.md and docs/rule-sets.md. A
reference to a file that a fresh clone does not have is a dead end for the next developer, so every
text file of the project and every command's `--help` is searched for one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from fairengage.cli import app

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(
    r"\b(?:DESIGN|RULES|STYLE)\.md\b"  # the original design, rule catalogue and style notes
    r"|\bdesign doc(?:ument)?s?\b"
    r"|\.\./shared/(?!data/)",  # the folder beside a checkout; only its public data may be named
    re.IGNORECASE,
)
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", "vendor"}


def project_text_files() -> list[Path]:
    """Every text file of the checkout that ships or builds the project."""
    files = []
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if not path.is_file() or SKIP_DIRS & set(relative.parts) or relative.parts[0].endswith(".egg-info"):
            continue
        if path == Path(__file__).resolve():
            continue  # names them to look for them
        try:
            files.append((path, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue  # images, fonts, compiled catalogues
    return files


def test_the_pattern_finds_what_it_should():
    for text in ("see DESIGN.md", "(RULES.md, LEGACY-DATA)", "the design doc says", "../shared/" + "STYLE"):
        assert OUTSIDE.search(text), text
    for text in ("../shared/data/realdata", "docs/architecture.md", "a design matrix", "designated reviewer"):
        assert not OUTSIDE.search(text), text


def test_no_project_file_names_an_outside_design_file():
    files = project_text_files()
    assert len(files) > 100 and any(p.name == "architecture.md" for p, _ in files)
    found = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)}"
        for path, text in files
        for match in OUTSIDE.finditer(text)
    ]
    assert found == []


def command_paths() -> list[list[str]]:
    group = typer.main.get_group(app)
    paths: list[list[str]] = [[]]
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        paths += [[name, s] for s in sub] if sub else [[name]]
    return paths


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "fairengage")
def test_no_help_text_names_an_outside_design_file(path):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert not OUTSIDE.search(result.output), result.output


def test_the_architecture_page_names_every_capability():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    package = ROOT / "src" / "fairengage"
    folders = sorted(p.name for p in package.iterdir() if (p / "__init__.py").exists())
    assert len(folders) > 10
    assert [name for name in folders if f"`{name}/`" not in page] == []
    modules = sorted(p.name for p in package.glob("*.py") if p.name != "__init__.py")
    assert [name for name in modules if f"`{name}`" not in page] == []
