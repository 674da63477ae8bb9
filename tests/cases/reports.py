"""report.json files as `fairengage analyze` writes them, cut down to what cases read."""

from __future__ import annotations

from typing import Any

from fairengage.engagements.extract import officer_key


def report(
    rows: list[tuple[str, bool]], *, secret: bytes, first: str, last: str, group: str = "Black"
) -> dict[str, Any]:
    """A report whose officer benchmark tested each (badge, flagged), keyed under the deployment's secret."""
    return {
        "officers": [
            {
                "officer_key": officer_key(badge, secret),
                "n": 120,
                "observed": 40 if flagged else 20,
                "expected": 20.5,
                "ratio": (40 if flagged else 20) / 20.5,
                "p_value": 0.0001 if flagged else 0.8,
                "q_value": 0.001 if flagged else 0.9,
                "flagged": flagged,
            }
            for badge, flagged in rows
        ],
        "meta": {
            "period": {"first": first, "last": last, "timezone": "America/Toronto"},
            "officers": {"group": group, "min_volume": 50, "fdr": 0.05, "available": True},
        },
    }
