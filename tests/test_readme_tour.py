"""The README's tour, run as written in the folder where `fairengage demo --no-serve` has just been run.

A newcomer types these after `make demo` with nothing set in their environment: the demo's
fairengage.toml must carry every setting they need (database, keys, folders).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

# The tour's commands that run on the demo's data alone. Left out, as they cannot be typed verbatim:
# `publish approve ID --as <a second person>` (a placeholder), `import` (needs an Open Policing file),
# `backup --out FILE` and `restore FILE` (placeholders), and the long benchmarks and drills.
TOUR = [
    "fairengage extract --out table.parquet",
    "fairengage analyze --input table.parquet --benchmark "
    "src/fairengage/analytics/population_benchmarks/toronto_2016.csv --out report.json",
    "fairengage report --from-db --period 2025-Q3 --as analyst",
    "fairengage audit verify",
    "fairengage audit export --out audit.jsonl",
    "fairengage retention run",
]


def test_every_tour_command_is_in_the_readme_as_written():
    quoted = set(re.findall(r"`(fairengage [^`]+)`", README))
    for command in TOUR:
        assert command in quoted, command


@pytest.mark.slow  # The demo, then every tour command, each in a process of its own.
def test_the_readme_tour_works_verbatim_after_the_demo(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRENGAGE_")}
    env.update(PYTHONPATH=str(ROOT / "src"), COLUMNS="200")
    # The tour names the shipped benchmark by its path in a checkout: the folder stands in for one.
    (tmp_path / "src").symlink_to(ROOT / "src")

    def run(command: str) -> subprocess.CompletedProcess[str]:
        args = [sys.executable, "-m", "fairengage.cli", *shlex.split(command)[1:]]
        return subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)

    made = run("fairengage demo --records 400 --no-serve")
    assert made.returncode == 0, made.stderr
    assert "settings: fairengage.toml" in made.stdout
    said = {}
    for command in TOUR:
        done = run(command)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        said[command] = done.stdout
    assert not (tmp_path / "fairengage.db").exists()  # nothing fell back to the default database
    assert (tmp_path / "table.parquet").stat().st_size > 0
    assert json.loads((tmp_path / "report.json").read_text())["meta"]["rows"] > 0
    assert "wrote report.json:" in said[TOUR[1]]
    assert (tmp_path / "audit.jsonl").read_text().count("\n") > 1
