"""The import contracts of pyproject.toml (docs/development.md, "Layers and import contracts"): they hold on
the code as it is, and each one fails when an import that breaks it is planted in a copy of the package."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
CONTRACTS = {c["id"]: c for c in tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]}
LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"
)


def lint(src: Path, cwd: Path) -> tuple[int, str]:
    """Run `lint-imports` on the package found in `src`; its exit code and its output on one line."""
    paths = [str(src), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    command = [sys.executable, "-c", LINT]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    # The report wraps long contract names; joined, a name and its verdict read as one phrase.
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def verdict(output: str, contract_id: str) -> str:
    found = re.search(re.escape(CONTRACTS[contract_id]["name"]) + r" (KEPT|BROKEN)", output)
    assert found, output
    return found.group(1)


def test_every_contract_is_kept() -> None:
    code, output = lint(ROOT / "src", ROOT)
    assert code == 0, output
    for contract_id in CONTRACTS:
        assert verdict(output, contract_id) == "KEPT"
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in output


# One planted import per contract: (module of the copy, what is added to it, the contract it breaks).
PLANTS = [
    ("policy/ruleset.py", "import fairengage.web.deps", "policy-knows-no-front-end"),
    # Hidden in a function, an import is still an import.
    ("policy/checks.py", "def _planted():\n    import fairengage.cli", "policy-knows-no-front-end"),
    ("reports/period.py", "import fairengage.engagements.models", "extract-is-the-one-door"),
    # Indirect: analytics reaching the command line, which reaches every capability.
    ("analytics/veil.py", "import fairengage.console\nimport fairengage.demo", "extract-is-the-one-door"),
    ("db.py", "import fairengage.access.models", "foundations-know-nothing-above"),
    ("config.py", "import fairengage.web.i18n", "foundations-know-nothing-above"),
    ("retention/cli.py", "from fairengage.cli import app as _root", "subcommands-share-the-console"),
    ("engagements/views.py", "import fairengage.review.service", "engagements-below-governance"),
    ("engagements/service.py", "import fairengage.governance.summary", "engagements-below-governance"),
    ("ingest/rows.py", "import fairengage.ingest.importer", "no-cycles-inside-a-capability"),
    ("reports/figures.py", "import fairengage.reports.builder", "no-cycles-inside-a-capability"),
    ("policy/codes.py", "import fairengage.policy.checks", "no-cycles-inside-a-capability"),
    ("complaints/service.py", "import fairengage.review.service", "workflows-independent"),
    ("drills/run.py", "import fairengage.ingest.synth", "operations-independent"),
    ("vocabulary.py", "import fairengage.shipped", "vocabulary-is-the-bottom"),
]


@pytest.mark.parametrize(("module", "line", "contract_id"), PLANTS)
def test_a_planted_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract_id: str
) -> None:
    src = tmp_path / "src"
    shutil.copytree(
        ROOT / "src" / "fairengage",
        src / "fairengage",
        ignore=shutil.ignore_patterns("__pycache__", "static", "locales", "templates", "rulesets", "*.csv"),
    )
    shutil.copy(PYPROJECT, tmp_path / "pyproject.toml")
    target = src / "fairengage" / module
    target.write_text(target.read_text() + "\n\n" + line + "\n")

    code, output = lint(src, tmp_path)

    assert code != 0, output
    assert verdict(output, contract_id) == "BROKEN"
    # The planted module is the one named (a cycle names it relative to its capability): the copy was
    # linted, not the installed package.
    dotted = module.removesuffix(".py").replace("/", ".")
    assert dotted in output or f".{dotted.rsplit('.', 1)[-1]} -> " in output, output


def test_the_checks_run_wherever_the_code_is_linted() -> None:
    # CI runs `make test`; both it and `make lint` check the contracts before anything else passes.
    makefile = (ROOT / "Makefile").read_text()
    for target in ("test", "lint"):
        recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M)
        assert recipe and "lint-imports" in recipe.group(1), target
