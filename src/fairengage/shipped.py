"""Files that ship inside the package: rule sets, templates, static assets, translations, tables and
migrations.

Everything the service reads at run time is package data, found through `importlib.resources`, so that an
installed wheel runs with no source checkout beside it (docs/administrator.md). Jinja2, Starlette's static
files and Alembic read real folders, so the package must be installed as files (as pip and uv do), not
run from a zip.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped(*parts: str) -> Path:
    """The real path of a file or folder inside the installed `fairengage` package."""
    found = resources.files("fairengage")
    for part in parts:
        found = found / part
    return Path(str(found))
