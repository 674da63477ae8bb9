"""The jurisdiction's coordinates come from the `latitude`/`longitude` settings only: written once, on the
setting, and followed by the report build and the synthetic data."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from fairengage import config
from fairengage.ingest import synth

SRC = Path(config.__file__).parent


def test_the_coordinates_are_written_once_on_the_setting() -> None:
    where = [
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if re.search(r"43\.6532|79\.3832", p.read_text(encoding="utf-8"))
    ]
    assert where == ["config.py"]
    assert (
        config.Settings.model_fields["latitude"].default,
        config.Settings.model_fields["longitude"].default,
    ) == (config.DEFAULT_LATITUDE, config.DEFAULT_LONGITUDE)


def test_the_sun_of_the_synthetic_data_follows_the_coordinates_given() -> None:
    # The longest day: at Toronto's latitude 21:20 is twilight (sunset near 21:03); at 58° N, on the same
    # clock, the sun has not set.
    local = pd.to_datetime(["2025-06-21 21:20", "2025-06-21 12:00"]).tz_localize("America/Toronto")
    moments = pd.Series(local)
    here = synth.daylight_phase(moments, "America/Toronto")
    north = synth.daylight_phase(moments, "America/Toronto", lat=58.0, lon=-79.38)
    assert list(here) == ["twilight", "light"]
    assert list(north) == ["light", "light"]
    assert not np.array_equal(here, north)
