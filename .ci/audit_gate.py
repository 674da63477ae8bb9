"""pip-audit over the installed environment; exit 1 on any advisory not explained in pip-audit-ignore.txt.

pip-audit asks PyPI for each installed release's advisories at /pypi/NAME/VERSION/json. Where only
/pypi/NAME/json is served (this project's CI machines reach PyPI through such a mirror), every package
comes back skipped as "not found on PyPI" and pip-audit still says "No known vulnerabilities found": no
audit at all. So this gate reads the same PyPI advisory data from /pypi/NAME/json, which describes a
project's newest release, for each skipped package installed at that release, and names every package it
could audit neither way. It fails closed: an audit that checked nothing is a failure, not a pass.

Usage: python .ci/audit_gate.py [--strict]   (--strict also fails when any package went unaudited)
"""

from __future__ import annotations

import argparse
import json
import subprocess  # nosec B404 # runs pip-audit, a fixed argument list from this file
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

IGNORE_FILE = Path(__file__).with_name("pip-audit-ignore.txt")
PYPI_PROJECT = "https://pypi.org/pypi/{name}/json"
NOT_ON_PYPI = "not found on PyPI"
EDITABLE = "marked as editable"


@dataclass(frozen=True)
class Advisory:
    """One advisory against one installed package."""

    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]

    @property
    def names(self) -> set[str]:
        """The advisory's id and aliases (an ignore line may name any of them)."""
        return {self.id, *self.aliases}


@dataclass
class Outcome:
    """What the gate decided: failures, explained advisories, and packages it could not audit."""

    audited: int = 0
    by_pip_audit: int = 0
    unexplained: list[Advisory] = field(default_factory=list)
    explained: list[tuple[Advisory, str]] = field(default_factory=list)
    unaudited: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stale_ignores: list[str] = field(default_factory=list)

    def failed(self, *, strict: bool) -> bool:
        """True when CI should stop."""
        return bool(self.unexplained or self.problems or self.audited == 0 or (strict and self.unaudited))


def read_ignores(text: str) -> tuple[dict[str, str], list[str]]:
    """Parse `ID  # reason` lines; an entry without a reason is a problem, not an ignore."""
    ignores: dict[str, str] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        advisory, _, reason = line.partition("#")
        advisory, reason = advisory.strip(), reason.strip()
        if not reason or " " in advisory:
            problems.append(f"{IGNORE_FILE.name} line {number}: write `ID  # reason`, got {raw!r}")
            continue
        ignores[advisory] = reason
    return ignores, problems


def project_advisories(name: str, version: str) -> list[Advisory] | None:
    """PyPI's advisories for `name` when `version` is its newest release; None when they do not apply."""
    request = urllib.request.Request(PYPI_PROJECT.format(name=name))  # noqa: S310  # nosec B310 # https only
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310  # nosec B310 # as above
        data = json.load(response)
    if data["info"]["version"] != version:
        return None
    return [
        Advisory(name, version, v["id"], tuple(v.get("aliases") or ()), tuple(v.get("fixed_in") or ()))
        for v in data.get("vulnerabilities") or []
        if not v.get("withdrawn")
    ]


def assess(
    report: dict[str, Any],
    ignores: dict[str, str],
    fallback: Callable[[str, str], list[Advisory] | None],
    installed: Callable[[str], str],
) -> Outcome:
    """Sort pip-audit's JSON report into explained and unexplained advisories and unaudited packages."""
    outcome = Outcome()
    found: list[Advisory] = []
    skipped: list[tuple[str, str | None]] = []
    for dep in report.get("dependencies", []):
        if "skip_reason" in dep:
            if EDITABLE in dep["skip_reason"]:
                continue  # FairEngage itself: bandit reads its source instead.
            if NOT_ON_PYPI in dep["skip_reason"]:
                skipped.append((dep["name"], _version(installed, dep["name"])))
            else:
                outcome.unaudited.append(f"{dep['name']}: {dep['skip_reason']}")
            continue
        outcome.audited += 1
        outcome.by_pip_audit += 1
        found += [
            Advisory(
                dep["name"], dep["version"], v["id"], tuple(v.get("aliases") or ()), tuple(v["fix_versions"])
            )
            for v in dep.get("vulns", [])
        ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda nv: _try(fallback, *nv), skipped))
    for (name, version), answer in zip(skipped, answers, strict=True):
        if isinstance(answer, str):
            outcome.unaudited.append(f"{name} {version}: {answer}")
        else:
            outcome.audited += 1
            found += answer
    used: set[str] = set()
    for advisory in found:
        hit = sorted(advisory.names & ignores.keys())
        if hit:
            used.update(hit)
            outcome.explained.append((advisory, ignores[hit[0]]))
        else:
            outcome.unexplained.append(advisory)
    outcome.stale_ignores = sorted(set(ignores) - used)
    return outcome


def _version(installed: Callable[[str], str], name: str) -> str | None:
    try:
        return installed(name)
    except metadata.PackageNotFoundError:
        return None


def _try(
    fallback: Callable[[str, str], list[Advisory] | None], name: str, version: str | None
) -> list[Advisory] | str:
    if version is None:
        return "not installed where this interpreter looks"
    try:
        answer = fallback(name, version)
    except (OSError, urllib.error.URLError, KeyError, ValueError) as exc:
        return f"PyPI did not answer ({exc})"
    if answer is None:
        return "not its newest release, and PyPI here serves advisories for the newest release only"
    return answer


def run_pip_audit() -> dict[str, Any]:
    """pip-audit's JSON report on the environment this interpreter runs in."""
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--skip-editable"]
    command += ["--progress-spinner", "off"]
    done = subprocess.run(  # noqa: S603  # nosec B603 # a fixed argument list, never a shell
        command, capture_output=True, text=True, check=False
    )
    # pip-audit exits 1 when it finds advisories; anything it could not produce JSON for is a failure.
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"pip-audit failed (exit {done.returncode}) without a report") from None


def main() -> int:
    """Run the gate and print what it found; the exit status is CI's verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="fail when any package could not be audited")
    strict = parser.parse_args().strict
    started = time.monotonic()
    ignores, problems = read_ignores(IGNORE_FILE.read_text(encoding="utf-8") if IGNORE_FILE.exists() else "")
    outcome = assess(run_pip_audit(), ignores, project_advisories, metadata.version)
    outcome.problems += problems
    for advisory in outcome.unexplained:
        fix = ", ".join(advisory.fixed_in) or "none yet"
        print(f"ADVISORY {advisory.package} {advisory.version}: {advisory.id} (fixed in {fix})")
    for advisory, reason in outcome.explained:
        print(f"ignored  {advisory.package} {advisory.version}: {advisory.id}: {reason}")
    for stale in outcome.stale_ignores:
        print(f"note: {IGNORE_FILE.name} lists {stale}, which no installed package has now: remove it")
    for line in outcome.unaudited:
        print(f"unaudited {line}")
    for problem in outcome.problems:
        print(f"error: {problem}")
    if outcome.audited == 0:
        print("error: no package could be audited: is PyPI reachable?")
    print(
        f"pip-audit gate: {outcome.audited} packages audited ({outcome.by_pip_audit} by pip-audit, the rest "
        f"from PyPI's project data), {len(outcome.unaudited)} unaudited, "
        f"{len(outcome.unexplained)} unexplained and {len(outcome.explained)} explained advisories "
        f"in {time.monotonic() - started:.1f} s"
    )
    return 1 if outcome.failed(strict=strict) else 0


if __name__ == "__main__":
    sys.exit(main())
