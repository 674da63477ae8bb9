"""No public file of a release carries an engagement's position: counts by division, never coordinates."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from fairengage.db import transaction
from fairengage.engagements.models import Engagement
from fairengage.publishing import service

# A longitude in Toronto written to more than two decimals: finer than the extract ever carries.
FINE_LONGITUDE = re.compile(r"-79\.\d{3,}")
FINE_LATITUDE = re.compile(r"\b43\.\d{5,}")


@pytest.mark.slow  # a release built, checked and published end to end
def test_a_release_holds_no_coordinates(sessions, settings, root, loaded, private_tmp, check_passes):
    with transaction(sessions) as session:
        placed = session.scalar(select(func.count()).where(Engagement.lat.is_not(None)))
        sample = session.scalar(select(Engagement.lon).where(Engagement.lon.is_not(None)).limit(1))
    # The records do carry fine positions, so a leak would show.
    assert placed and FINE_LONGITUDE.search(repr(sample))
    release = service.build_release(sessions=sessions, settings=settings, period="2024", actor="ana")
    folder = root / release.folder
    read = 0
    for path in folder.rglob("*"):
        if not path.is_file() or path.suffix.lower() not in {".json", ".csv", ".html", ".svg", ".txt", ""}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        # The one position a report names is the city's centre the sun is reckoned at (a setting).
        text = text.replace(repr(settings.longitude), "").replace(repr(settings.latitude), "")
        read += 1
        assert not FINE_LONGITUDE.search(text), path.name
        assert not FINE_LATITUDE.search(text), path.name
        if path.suffix.lower() == ".csv":
            header = text.splitlines()[0].split(",") if text else []
            assert not {"lat", "lon", "latitude", "longitude"} & set(header), path.name
    assert read >= 5
