"""The cell-key method: a perturbative alternative to suppression for flexible tables (issue 10).

As in the ABS TableBuilder and the ONS 2021 Census, every record carries a fixed random *record key*,
a cell's *cell key* is the sum of its records' keys modulo the key range, and a fixed *perturbation table*
(ptable) maps (count, cell key) to a small noise. The same records always make the same cell key, so a
cell gets the same noise in every table that shows it, and differencing two tables gains nothing: the
attacker subtracts two noisy figures, not two exact ones.

Record keys. A record's key is derived from its engagement id by HMAC-SHA256 with a key of its own
(`cell_key_secret`, derived from the service's secret with a fixed label), so keys cannot be recomputed
without the secret, need no new column in the analytic table, and stay the same across extracts.

The ptable (published in docs/open-data.md):
  * 0 stays 0 (an empty cell is not made up);
  * 1 and 2 are never shown as themselves: 1 becomes 0 (2/3) or 3 (1/3), 2 becomes 0 (1/3) or 3 (2/3);
  * 3 becomes 0, 3, 4 or 5 and 4 becomes 3, 4 or 5 (see PTABLE);
  * from 5 up the noise is -2, -1, 0, +1, +2 with chances 5 %, 20 %, 50 %, 20 %, 5 %.
Every row has mean 0 (the expected published value is the true one), the noise is at most 3 in size,
and no published value is 1 or 2. A total is perturbed as a cell of its own (its key is the sum of its
records' keys), so a table's totals are not the sums of its published cells: each is the best estimate of
its own count, and the same total is the same wherever it appears.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import numpy as np
import pandas as pd

KEY_RANGE = 256
LABEL = b"fairengage cell-key record keys v1"
# Noise distributions by true count: {noise: probability}; counts from 5 up share the last one.
PTABLE: dict[int, dict[int, float]] = {
    0: {0: 1.0},
    1: {-1: 2 / 3, 2: 1 / 3},
    2: {-2: 1 / 3, 1: 2 / 3},
    3: {-3: 0.1375, 0: 0.5, 1: 0.3125, 2: 0.05},
    4: {-1: 0.25, 0: 0.5, 1: 0.25},
    5: {-2: 0.05, -1: 0.2, 0: 0.5, 1: 0.2, 2: 0.05},
}
MAX_NOISE = 3


def cell_key_secret(secret: str | bytes) -> bytes:
    """The key that record keys are made with, derived from the service's secret for this use only."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, LABEL, hashlib.sha256).digest()


def record_keys(ids: Iterable[str], key: bytes) -> np.ndarray:
    """Each record's key in [0, KEY_RANGE), fixed for its engagement id."""
    return np.array(
        [
            int.from_bytes(hmac.new(key, str(i).encode(), hashlib.sha256).digest()[:8], "big") % KEY_RANGE
            for i in ids
        ],
        dtype=np.int64,
    )


def noise(count: int, cell_key: int) -> int:
    """The ptable's noise for a cell of `count` records whose cell key is `cell_key`."""
    if count < 0 or not 0 <= cell_key < KEY_RANGE:
        raise ValueError(f"count must be >= 0 and cell key in [0, {KEY_RANGE}), got {count}, {cell_key}")
    row = PTABLE[min(count, 5)]
    # The cell key picks a point in [0, 1); the row's cumulative chances cut it into the noises.
    point = (cell_key + 0.5) / KEY_RANGE
    total = 0.0
    for value, chance in sorted(row.items()):
        total += chance
        if point < total:
            return value
    return max(row)


def perturb(count: int, cell_key: int) -> int:
    """The published value of a cell: its count plus the ptable's noise."""
    return count + noise(count, cell_key)


def perturbed_table(
    frame: pd.DataFrame, by: list[str], keys: np.ndarray, *, totals: bool = True
) -> pd.DataFrame:
    """Counts of `frame` by the columns `by`, perturbed; with `totals`, each column's ALL rows too.

    `keys` holds each row's record key (see `record_keys`), in the frame's order.
    """
    work = frame[by].astype(str).assign(_key=keys)
    groupings: list[list[str]] = [by]
    if totals:
        groupings += [[c for c in by if c != dropped] for dropped in by]
    parts = []
    for columns in groupings:
        if columns:
            grouped = work.groupby(columns, observed=True)["_key"].agg(["size", "sum"]).reset_index()
        else:
            grouped = pd.DataFrame({"size": [len(work)], "sum": [int(work["_key"].sum())]})
        for missing in by:
            if missing not in columns:
                grouped[missing] = "ALL"
        parts.append(grouped)
    table = pd.concat(parts, ignore_index=True)
    table["count"] = [
        perturb(int(n), int(s) % KEY_RANGE) for n, s in zip(table["size"], table["sum"], strict=True)
    ]
    return table[[*by, "count"]].reset_index(drop=True)


def expected_error() -> dict[str, float]:
    """The ptable's mean and mean absolute noise for counts of 5 and more, and the largest noise."""
    row = PTABLE[5]
    return {
        "mean": sum(v * p for v, p in row.items()),
        "mean_absolute": sum(abs(v) * p for v, p in row.items()),
        "largest": float(MAX_NOISE),
    }
