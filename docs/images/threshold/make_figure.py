"""Draw docs/images/threshold/infra-marginality.svg: two risk distributions searched at one threshold.

Run from the repository root: `python docs/images/threshold/make_figure.py`. No plotting library: the
curves are the discriminant distribution's density, written out as SVG polylines.
"""

from __future__ import annotations

import math
from pathlib import Path

from fairengage.analytics.threshold import rates

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 300, 50, 20, 40, 50
THRESHOLD = 0.30
GROUPS = (
    ("Group A: 10% carry, delta 2.0", 0.10, 2.0, "#0072B2"),
    ("Group B: 5% carry, delta 1.6", 0.05, 1.6, "#D55E00"),
)


def density(p: float, phi: float, delta: float) -> float:
    """Density of the probability of guilt p under the discriminant distribution (phi, delta)."""
    x = (math.log(p / (1 - p)) - math.log(phi / (1 - phi)) + delta**2 / 2) / delta

    def normal(z: float) -> float:
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    return (phi * normal(x - delta) + (1 - phi) * normal(x)) / (delta * p * (1 - p))


def main() -> None:
    grid = [i / 400 for i in range(4, 397)]
    top = 6.0  # the densities pile up near 0; the axis is cut there so the tails can be seen
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(p: float, f: float) -> str:
        return f"{LEFT + p * plot_w:.1f},{TOP + plot_h - min(f, top) / top * plot_h:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="20" font-size="14">Same threshold, different risk: different hit rates</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#444"/>',
    ]
    for tick in (0, 0.2, 0.4, 0.6, 0.8, 1.0):
        x = LEFT + tick * plot_w
        parts.append(f'<text x="{x:.0f}" y="{TOP + plot_h + 16}" text-anchor="middle">{tick:.0%}</text>')
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
        "chance that a stopped person carries contraband, as the officer can judge it</text>"
    )
    tx = LEFT + THRESHOLD * plot_w
    dashed = 'stroke="#000" stroke-dasharray="5,4"'
    parts.append(f'<line x1="{tx}" y1="{TOP}" x2="{tx}" y2="{TOP + plot_h}" {dashed}/>')
    parts.append(f'<text x="{tx + 4}" y="{TOP + 12}">search threshold 30%</text>')
    for row, (label, phi, delta, colour) in enumerate(GROUPS):
        points = " ".join(xy(p, density(p, phi, delta)) for p in grid)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        searched, hit = rates(phi, delta, THRESHOLD)
        y = TOP + 40 + row * 18
        parts.append(
            f'<text x="{LEFT + 0.45 * plot_w:.0f}" y="{y}" fill="{colour}">{label}: searched '
            f"{searched:.1%}, hit rate {hit:.0%}</text>"
        )
    parts.append("</svg>")
    out = Path(__file__).with_name("infra-marginality.svg")
    out.write_text("\n".join(parts) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
