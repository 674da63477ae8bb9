"""In Chromium on a phone: the scripted typical record of benchmarks/officer_form.py stays under the goals.

A test of behaviour, not of timing: it counts taps and typed characters, which do not depend on the
machine, and checks that the phone's position reached the record and suggested the right division.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from fairengage.engagements.models import Engagement
from live import live_server

pytestmark = pytest.mark.browser

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "officer_form.py"


def bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("officer_form_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up by name while they are built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_a_typical_record_takes_under_15_taps_and_40_typed_characters(
    browser, world, settings, sessions, tmp_path
):
    from fairengage.app import create_app

    b = bench()
    lat, lon = b.POSITION["latitude"], b.POSITION["longitude"]
    # A square around the benchmark's position is "D52"; the officer is posted to D14.
    square = [[lon - 0.01, lat - 0.01], [lon + 0.01, lat - 0.01], [lon + 0.01, lat + 0.01],
              [lon - 0.01, lat + 0.01], [lon - 0.01, lat - 0.01]]  # fmt: skip
    geojson = tmp_path / "d.geojson"
    feature = {"type": "Feature", "properties": {"DIV": "D52"}}
    feature["geometry"] = {"type": "Polygon", "coordinates": [square]}
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    world.officer("T5150", "D14")
    world.user("walker", "officer", badge="T5150", password="phone-at-the-roadside")
    with live_server(create_app(settings.model_copy(update={"boundaries": geojson}))) as base:
        figures = b.measure(browser, base, "walker", "phone-at-the-roadside", records=2)
    (typical,) = figures.typical
    assert typical.used_chips and typical.used_location
    assert typical.taps < b.GOALS["taps"]
    assert typical.typed < b.GOALS["typed"]
    # The first record, with nothing recent to offer, is typed out: the chips are what saved the typing.
    assert figures.first.typed > typical.typed + 40
    assert figures.division_suggested == "D52"
    with sessions() as s:
        kept = s.execute(select(Engagement.lat, Engagement.lon, Engagement.division_at_location)).all()
    assert len(kept) == 2
    assert all(
        abs(r.lat - lat) < 1e-5 and abs(r.lon - lon) < 1e-5 and r.division_at_location == "D52" for r in kept
    )
    assert figures.page_height < 7383  # the form's height on a phone before the compact layout


def test_without_script_recent_answers_are_options_and_the_location_button_is_not_shown(
    browser, world, settings, sessions
):
    from fairengage.app import create_app

    b = bench()
    world.officer("T5151", "D14")
    world.user("noscript", "officer", badge="T5151", password="phone-at-the-roadside")
    with live_server(create_app(settings)) as base:
        # The first record, typed, with script, so that there is something recent to offer.
        b.measure(browser, base, "noscript", "phone-at-the-roadside", records=2)
        context = browser.new_context(
            viewport=b.PHONE, is_mobile=True, has_touch=True, java_script_enabled=False
        )
        page = context.new_page()
        page.goto(f"{base}/login")
        page.locator("#username").fill("noscript")
        page.locator("#password").fill("phone-at-the-roadside")
        with page.expect_navigation():
            page.locator("#password").press("Enter")
        page.goto(f"{base}/engagements/new")
        assert not page.locator("#use-location").is_visible()
        officer = b.Officer(page)
        b.record_one(page, base, officer)
        context.close()
    assert officer.entry.used_chips and not officer.entry.used_location and officer.entry.typed == 2
    with sessions() as s:
        last = s.scalars(select(Engagement).order_by(Engagement.entered_at.desc())).first()
    assert last.location_description == b.PLACE and last.reason == b.REASON and last.lat is None
