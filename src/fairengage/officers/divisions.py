"""Toronto Police Service's divisions, the default set loaded by the first migration."""

from __future__ import annotations

# Codes follow the DIV attribute of the service's published division boundaries, so that
# records, benchmarks and maps join on the same key.
TORONTO_DIVISIONS: dict[str, str] = {
    "D11": "11 Division",
    "D12": "12 Division",
    "D13": "13 Division",
    "D14": "14 Division",
    "D22": "22 Division",
    "D23": "23 Division",
    "D31": "31 Division",
    "D32": "32 Division",
    "D33": "33 Division",
    "D41": "41 Division",
    "D42": "42 Division",
    "D43": "43 Division",
    "D51": "51 Division",
    "D52": "52 Division",
    "D53": "53 Division",
    "D55": "55 Division",
}
