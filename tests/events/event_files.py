"""Writing small events files for the tests."""

from __future__ import annotations

import csv
from pathlib import Path

HEADER = ["event_id", "occurred_at", "badge", "division", "lat", "lon", "kind"]


def write_events(path: Path, rows: list[list[object]], header: list[str] | None = None) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header or HEADER)
        writer.writerows(rows)
    return path
