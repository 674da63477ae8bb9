"""The command line starts at once: its help imports none of the heavy libraries its commands use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# A fresh interpreter per case, and the start-up benchmark script run.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# Each costs from a tenth of a second to seconds to import; only the commands that use them may
# (pydantic_settings: the settings, read by commands, never by help; typer itself needs pydantic).
HEAVY = (
    "pandas",
    "duckdb",
    "ibis",
    "statsmodels",
    "pyarrow",
    "weasyprint",
    "sqlalchemy",
    "scipy",
    "numpy",
    "pydantic_settings",
)

PROBE = """
import json, sys
sys.argv = ["fairengage", *json.loads(sys.argv[1])]
from fairengage.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[-1])))))
"""


@pytest.mark.parametrize("args", [["--help"], ["audit", "verify", "--help"], ["analyze", "--help"]])
def test_help_imports_no_heavy_library(args):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    probe = PROBE.replace("json.loads(sys.argv[-1])", repr(list(HEAVY)))
    run = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(args)], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "Usage" in run.stdout  # the help was printed, so the loaded modules are those it needed
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []


def test_the_startup_benchmark_reports_medians_beside_python():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "cli_startup.py"), "--runs", "1", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)["median_seconds"]["now"]
    assert set(figures) == {"python -c pass", "fairengage --help", "fairengage audit verify --help"}
    assert all(seconds > 0 for seconds in figures.values())
