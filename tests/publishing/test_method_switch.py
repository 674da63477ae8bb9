"""Switching FAIRENGAGE_DISCLOSURE_METHOD for a period already published is refused until it is withdrawn."""

from __future__ import annotations

import pytest

from fairengage.publishing import service
from fairengage.publishing.service import PublishRefused


def _publish(sessions, settings, period: str) -> service.Release:
    draft = service.build_release(sessions=sessions, settings=settings, period=period, actor="ana")
    assert draft.disclosure_ok, draft.disclosure
    return service.approve(sessions=sessions, settings=settings, release_id=draft.id, actor="bob")


def test_overlapping_periods():
    assert service.overlaps("2024", "2024-Q3") and service.overlaps("2024-Q3", "2024")
    assert service.overlaps("2024-Q2", "2024-Q2")
    assert not service.overlaps("2024-Q2", "2024-Q3")
    assert not service.overlaps("2024", "2025-Q1")


@pytest.mark.slow  # a release built, checked and published end to end
def test_a_period_published_with_one_method_is_refused_under_the_other_until_withdrawn(
    sessions, settings, root, loaded, check_passes
):
    settings.disclosure_method = "suppress"
    year = _publish(sessions, settings, "2024")
    assert service.method_of(year) == "suppress"
    settings.disclosure_method = "cellkey"
    for period in ("2024", "2024-Q3"):
        with pytest.raises(PublishRefused, match="FAIRENGAGE_DISCLOSURE_METHOD=suppress") as refused:
            service.build_release(
                sessions=sessions, settings=settings, period=period, actor="ana", reason="switch"
            )
        assert refused.value.errors[0].rule == "SAME-METHOD"
        assert "2024 version 1" in str(refused.value)
    # A period that shares no day with it is free to use the new method.
    other = _publish(sessions, settings, "2025-Q1")
    assert service.method_of(other) == "cellkey"
    # Withdrawn, the suppressed year no longer stands beside a cell-key release of its records.
    service.withdraw(sessions=sessions, settings=settings, release_id=year.id, actor="bob", reason="method")
    quarter = _publish(sessions, settings, "2024-Q3")
    assert service.method_of(quarter) == "cellkey"


@pytest.mark.slow  # a release built, checked and published end to end
def test_approval_is_refused_when_an_overlapping_period_was_published_with_the_other_method(
    sessions, settings, root, loaded, check_passes
):
    settings.disclosure_method = "cellkey"
    draft = service.build_release(sessions=sessions, settings=settings, period="2024", actor="ana")
    settings.disclosure_method = "suppress"
    quarter = _publish(sessions, settings, "2024-Q3")
    with pytest.raises(PublishRefused, match="2024-Q3 version 1") as refused:
        service.approve(sessions=sessions, settings=settings, release_id=draft.id, actor="bob")
    assert refused.value.errors[0].rule == "SAME-METHOD"
    # Closed at once: a session left open holds its locks on PostgreSQL until it is collected.
    with sessions() as session:
        assert service.get(session=session, release_id=draft.id).status == service.DRAFT
    assert quarter.status == service.PUBLISHED
