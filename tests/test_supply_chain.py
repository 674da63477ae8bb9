"""The lock and pyproject cannot drift apart, and the audit gate fails on what it cannot explain."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK_TEXT = (ROOT / "requirements.lock").read_text()


@dataclass
class Pin:
    """One `name==version ; marker` entry of the lock, with its hashes and what pulled it in."""

    name: str
    version: Version
    requirement: Requirement
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def read_lock(text: str) -> list[Pin]:
    """Every entry of a uv/pip-tools style lock file."""
    pins: list[Pin] = []
    for line in text.splitlines():
        stripped = line.strip().rstrip("\\").strip()
        if not stripped or (line.startswith("#") and not pins):
            continue
        if not line[0].isspace():
            requirement = Requirement(stripped)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"not an exact pin: {line}"
            pins.append(Pin(canonicalize_name(requirement.name), Version(spec.version), requirement))
        elif stripped.startswith("--hash=sha256:"):
            pins[-1].hashes.append(stripped.removeprefix("--hash=sha256:"))
        elif stripped.startswith("#"):
            # `# via NAME`, or `# via` followed by one `#   NAME` line per package.
            name = stripped.lstrip("#").strip().removeprefix("via").strip()
            if name:
                pins[-1].via.append(name)
    return pins


PINS = read_lock(LOCK_TEXT)


def locked_extras() -> list[str]:
    """The extras the Makefile locks (and so installs for the demo and the suite)."""
    makefile = (ROOT / "Makefile").read_text()
    line = re.search(r"^LOCK_EXTRAS\s*:=(.*)$", makefile, re.MULTILINE)
    assert line, "the Makefile names the extras it locks in LOCK_EXTRAS"
    return re.findall(r"--extra\s+(\S+)", line.group(1))


def direct_requirements() -> list[Requirement]:
    """The runtime dependencies and those of every locked extra."""
    extras = PYPROJECT["project"]["optional-dependencies"]
    names = locked_extras()
    assert {"test", "audit"} <= set(names)
    return [Requirement(r) for r in PYPROJECT["project"]["dependencies"]] + [
        Requirement(r) for name in names for r in extras[name]
    ]


def pins_for(name: str) -> list[Pin]:
    """The lock's entries for a package (more than one when they differ by Python version)."""
    return [pin for pin in PINS if pin.name == canonicalize_name(name)]


@pytest.mark.parametrize("requirement", direct_requirements(), ids=str)
def test_every_dependency_is_locked_within_its_lower_bound(requirement: Requirement):
    pins = pins_for(requirement.name)
    assert pins, f"{requirement.name} is not in requirements.lock: run `make lock`"
    for pin in pins:
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"requirements.lock pins {pin.name} {pin.version}, outside pyproject's {requirement}: `make lock`"
        )


def test_extras_of_dependencies_are_locked_too():
    """`uvicorn[standard]` and the like bring packages of their own; the lock must hold those as well."""
    env = {**default_environment()}
    checked = 0
    for requirement in direct_requirements():
        if not requirement.extras:
            continue
        for raw in metadata.requires(requirement.name) or []:
            needed = Requirement(raw)
            if needed.marker is None or "extra" not in str(needed.marker):
                continue
            if any(needed.marker.evaluate({**env, "extra": extra}) for extra in requirement.extras):
                checked += 1
                assert pins_for(needed.name), f"{requirement} needs {needed.name}: run `make lock`"
    assert checked >= 3  # psycopg[binary], uvicorn[standard], ibis-framework[duckdb]


def test_every_pin_is_exact_and_hashed():
    assert len(PINS) > 50
    for pin in PINS:
        assert pin.hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in pin.hashes), pin.name


def test_nothing_is_locked_for_us_that_pyproject_no_longer_asks_for():
    direct = {canonicalize_name(r.name) for r in direct_requirements()}
    ours = {pin.name for pin in PINS if "fairengage (pyproject.toml)" in pin.via}
    assert ours, "uv notes which pins pyproject.toml asks for"
    assert ours <= direct, (
        f"locked for pyproject.toml but no longer in it: {sorted(ours - direct)}; run `make lock`"
    )


def test_lock_is_made_for_the_oldest_supported_python_on_every_platform():
    oldest = re.fullmatch(r">=\s*(\d+\.\d+)", PYPROJECT["project"]["requires-python"].strip())
    assert oldest, "requires-python is a lower bound"
    header = "\n".join(line for line in LOCK_TEXT.splitlines()[:3] if line.startswith("#"))
    assert f"--python-version {oldest.group(1)}" in header
    assert "--universal" in header and "--generate-hashes" in header


def test_pyproject_keeps_lower_bounds_only():
    for requirement in direct_requirements():
        for spec in requirement.specifier:
            assert spec.operator == ">=", f"{requirement}: pyproject.toml takes lower bounds; the lock pins"


# --- the pip-audit gate -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_gate", ROOT / ".ci" / "audit_gate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: its dataclasses look their module up by name.
    sys.modules["audit_gate"] = module
    spec.loader.exec_module(module)
    return module


def report(*deps: dict) -> dict:
    """A pip-audit JSON report."""
    return {"dependencies": list(deps), "fixes": []}


def vulnerable(name: str, version: str, vid: str, *aliases: str) -> dict:
    """One package with one advisory, as pip-audit reports it."""
    return {
        "name": name,
        "version": version,
        "vulns": [{"id": vid, "fix_versions": ["9.9"], "aliases": list(aliases), "description": ""}],
    }


def clean(name: str, version: str = "1.0") -> dict:
    """A package pip-audit audited and found nothing against."""
    return {"name": name, "version": version, "vulns": []}


def unreachable(name: str) -> dict:
    """A package pip-audit skipped because PyPI would not give it the release's data."""
    return {
        "name": name,
        "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} (1.0)",
    }


def no_fallback(name: str, version: str):  # type: ignore[no-untyped-def]
    raise AssertionError("not asked")


def test_gate_fails_on_an_unexplained_advisory_and_passes_an_explained_one(gate: ModuleType):
    found = report(clean("a"), vulnerable("jinja2", "3.1.3", "PYSEC-1", "CVE-2024-1"))
    outcome = gate.assess(found, {}, no_fallback, lambda n: "1.0")
    assert outcome.failed(strict=False) and outcome.unexplained[0].id == "PYSEC-1"
    outcome = gate.assess(found, {"CVE-2024-1": "templates are ours"}, no_fallback, lambda n: "1.0")
    assert not outcome.failed(strict=False)
    assert outcome.explained[0][1] == "templates are ours" and outcome.stale_ignores == []


def test_gate_refuses_an_ignore_without_a_reason(gate: ModuleType):
    ignores, problems = gate.read_ignores("# comment\nPYSEC-1  # not reachable\nGHSA-2\n\n")
    assert ignores == {"PYSEC-1": "not reachable"} and len(problems) == 1 and "line 3" in problems[0]


def test_the_ignore_file_explains_every_entry(gate: ModuleType):
    _, problems = gate.read_ignores((ROOT / ".ci" / "pip-audit-ignore.txt").read_text())
    assert problems == []


def test_gate_reads_pypi_project_data_for_what_pip_audit_skipped(gate: ModuleType):
    def fallback(name: str, version: str):  # type: ignore[no-untyped-def]
        if name == "old":
            return None  # not its newest release
        if name == "bad":
            return [gate.Advisory(name, version, "GHSA-x", (), ("2.0",))]
        return []

    outcome = gate.assess(
        report(unreachable("fine"), unreachable("old"), unreachable("bad")), {}, fallback, lambda n: "1.0"
    )
    assert outcome.audited == 2 and [a.package for a in outcome.unexplained] == ["bad"]
    assert [line.split()[0] for line in outcome.unaudited] == ["old"]
    assert outcome.failed(strict=False)
    quiet = gate.assess(report(unreachable("fine"), unreachable("old")), {}, fallback, lambda n: "1.0")
    assert not quiet.failed(strict=False) and quiet.failed(strict=True)


def test_gate_fails_closed_when_nothing_could_be_audited(gate: ModuleType):
    outcome = gate.assess(report(unreachable("a"), unreachable("b")), {}, lambda n, v: None, lambda n: "1.0")
    assert outcome.audited == 0 and outcome.failed(strict=False)


# --- bandit ------------------------------------------------------------------------------------------


def test_every_nosec_names_its_check_and_gives_a_reason():
    marker = re.compile(r"#\s*nosec\b(?P<rest>.*)$")
    for path in (ROOT / "src").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            found = marker.search(line)
            if not found:
                continue
            where = f"{path.relative_to(ROOT)}:{number}"
            assert re.match(r"\s+B\d{3}\b", found["rest"]), f"{where}: name the check (# nosec B123)"
            # The reason follows the check after another `#`, or stands in the ruff noqa before it.
            reason = re.sub(r"^\s+B\d{3}(,\s*B\d{3})*\s*#?", "", found["rest"]).strip()
            before = re.sub(r"#\s*noqa:\s*[A-Z0-9, ]+", "#", line[: found.start()]).split("#", 1)
            said = reason or (before[1].strip(" -—") if len(before) > 1 else "")
            assert len(said.split()) >= 2, f"{where}: give the reason on the line"
