"""The governance summary: counts for the annual report from the database, and nothing that identifies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from builders import valid_body
from fairengage.access.models import User
from fairengage.complaints.models import Complaint
from fairengage.engagements.models import Engagement
from fairengage.governance.summary import write_governance_summary
from fairengage.retention.models import RestrictedAccessRequest, RestrictedRead
from fairengage.review.models import EngagementVersion, ReviewDecision, ReviewSample, ReviewSampleItem

TZ = "America/Toronto"
NOW = datetime.now(UTC)
DAY = timedelta(days=1)
PERIOD = (NOW - 100 * DAY, NOW + DAY)


def _post(client, headers, **overrides) -> str:
    response = client.post("/api/v1/engagements", json=valid_body(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def recorded(client, world, sessions):
    """Six records in D14: five in the period (two of one person), one long before it."""
    headers = world.officer_with_token("T9", "D14")
    person = {"name": "Sam Example", "date_of_birth": "1994-05-02", "address": "1 Example St"}
    ids = {
        "first": _post(client, headers, person=person),
        # The same person written differently: one person, not two.
        "again": _post(client, headers, person={**person, "name": "  sam   EXAMPLE "}),
        "name_only": _post(client, headers, person={"name": "Alex Example"}),
        "nobody": _post(
            client,
            headers,
            person=None,
            identifying_info_collected=False,
            informed=None,
            inform_exception="safety",
            inform_exception_details="A crowd was gathering and growing hostile.",
        ),
        "no_receipt": _post(
            client,
            headers,
            receipt_offered=None,
            receipt_exception="respond_to_other_matter",
            receipt_exception_details="Called to a collision nearby.",
        ),
        "old": _post(client, headers, occurred_at=(NOW - 200 * DAY).isoformat()),
    }
    entered = {
        "first": NOW,
        "again": NOW - 60 * DAY,
        "name_only": NOW - 40 * DAY,
        "no_receipt": NOW - 50 * DAY,
    }
    world.user("sup", "supervisor", division="D14")
    with sessions.begin() as s:
        for key, at in entered.items():
            s.execute(update(Engagement).where(Engagement.id == ids[key]).values(entered_at=at))
        s.execute(
            update(Engagement)
            .where(Engagement.id.in_([ids["first"], ids["again"]]))
            .values(status="approved")
        )
        s.execute(update(Engagement).where(Engagement.id == ids["no_receipt"]).values(status="non_compliant"))
        decision = {"reason": "", "reviewer": "sup"}
        s.add_all(
            [
                ReviewDecision(
                    engagement_id=ids["first"], version=1, decision="approved", decided_at=NOW, **decision
                ),
                # Returned 20 days after entry (on time); corrected at day 35; the correction approved 10 days
                # later: on time, because a correction starts the 30 days again.
                ReviewDecision(
                    engagement_id=ids["again"],
                    version=1,
                    decision="returned",
                    decided_at=NOW - 40 * DAY,
                    **decision,
                ),
                ReviewDecision(
                    engagement_id=ids["again"],
                    version=2,
                    decision="approved",
                    decided_at=NOW - 15 * DAY,
                    **decision,
                ),
                # 40 days after entry: late.
                ReviewDecision(
                    engagement_id=ids["no_receipt"],
                    version=1,
                    decision="non_compliant",
                    decided_at=NOW - 10 * DAY,
                    **decision,
                ),
            ]
        )
        s.add(
            EngagementVersion(
                engagement_id=ids["again"],
                version=1,
                saved_at=NOW - 25 * DAY,
                saved_by="uT9",
                facts={},
                findings=[],
                compliant=True,
            )
        )
        sup = s.scalars(select(User).where(User.username == "sup")).one()
        request = RestrictedAccessRequest(
            engagement_id=ids["old"],
            requested_by="sup",
            requester_id=sup.id,
            purpose="legal_proceeding",
            details="disclosure",
            requested_at=NOW - 5 * DAY,
            status="approved",
            approver="chief",
            decided_at=NOW - 5 * DAY,
        )
        s.add(request)
        s.flush()
        for at, legacy in ((NOW - 4 * DAY, False), (NOW - 3 * DAY, True), (NOW - 300 * DAY, False)):
            s.add(
                RestrictedRead(
                    request_id=request.id, engagement_id=ids["old"], reader="sup", read_at=at, legacy=legacy
                )
            )
        for year in (NOW.year, 2000):
            sample = ReviewSample(year=year, size=4, seed=1, population=6, drawn_at=NOW, drawn_by="aud")
            s.add(sample)
            s.flush()
            for position, (key, finding) in enumerate(
                (
                    ("first", "compliant"),
                    ("again", "compliant"),
                    ("no_receipt", "non_compliant"),
                    ("nobody", None),
                ),
                start=1,
            ):
                s.add(
                    ReviewSampleItem(
                        sample_id=sample.id,
                        engagement_id=ids[key],
                        position=position,
                        finding=finding,
                        notes="",
                    )
                )
        for n, (kind, received, closed) in enumerate(
            (
                ("complaint", NOW - 9 * DAY, NOW - 2 * DAY),
                ("complaint", NOW - 8 * DAY, None),
                ("own_record", NOW - 7 * DAY, None),
                ("complaint", NOW - 400 * DAY, NOW - 380 * DAY),
            )
        ):
            s.add(
                Complaint(
                    reference=f"C-{n}",
                    kind=kind,
                    engagement_id=ids["first"],
                    division_code="D14",
                    status="closed" if closed else "received",
                    received_at=received,
                    closed_at=closed,
                    form_key=f"key-{n}",
                )
            )
    return ids


def test_counts_for_the_period(recorded, sessions, tmp_path):
    out = tmp_path / "governance.json"
    summary = write_governance_summary(
        sessions=sessions, period_start=PERIOD[0], period_end=PERIOD[1], tz=TZ, out=out
    )
    assert json.loads(out.read_text()) == summary
    assert summary["attempts"] == 5
    assert summary["attempts_collected"] == 4
    people = summary["people"]
    # "first", "again" and "no_receipt" are one person (the builder's); "name_only" and "nobody" one each.
    assert people["distinct_identified"] == 1 and people["attempts_identified"] == 3
    assert people["attempts_without_name_and_birth_date"] == 2
    assert people["estimate"] == 3 and "estimate" in people["method"]
    # One `informed` answer with its ground excuses both informing duties.
    assert summary["exceptions"] == {
        "not_told_of_right": {"safety": 1},
        "not_told_why": {"safety": 1},
        "no_receipt": {"respond_to_other_matter": 1},
    }
    assert summary["reviews"] == {
        "records": 5,
        "decided_on_time": 3,
        "decided_late": 1,
        "pending_on_time": 1,
        "pending_overdue": 1,
    }
    assert summary["non_compliant_findings"] == 1
    assert summary["restricted_reads"] == {"granted": 2, "legacy": 1, "current": 1, "approvals": 1}
    samples = [s for s in summary["detailed_reviews"] if s["year"] == NOW.year]
    assert len(samples) == 1 and len(summary["detailed_reviews"]) == 1
    assert (samples[0]["compliant"], samples[0]["non_compliant"], samples[0]["not_reviewed"]) == (2, 1, 1)
    assert summary["complaints"] == {
        "received": {"complaint": 2, "own_record": 1},
        "closed": {"complaint": 1},
    }


def test_pending_is_judged_on_the_day_given(recorded, sessions, tmp_path):
    long_after = (NOW + 365 * DAY).date()
    summary = write_governance_summary(
        sessions=sessions,
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        tz=TZ,
        out=tmp_path / "g.json",
        today=long_after,
    )
    assert summary["reviews"]["pending_overdue"] == 2 and summary["reviews"]["pending_on_time"] == 0


def test_nothing_that_identifies_anyone(recorded, sessions, tmp_path):
    out = tmp_path / "governance.json"
    write_governance_summary(sessions=sessions, period_start=PERIOD[0], period_end=PERIOD[1], tz=TZ, out=out)
    text = out.read_text().lower()
    for secret in [*recorded.values(), "sam", "alex", "1994-05-02", "t9", '"sup"', "chief", "aud", "c-0"]:
        assert secret.lower() not in text, secret


def test_naive_bounds_are_refused(sessions, tmp_path):
    with pytest.raises(ValueError, match="aware"):
        write_governance_summary(
            sessions=sessions,
            period_start=datetime(2025, 1, 1),
            period_end=datetime(2026, 1, 1),
            tz=TZ,
            out=tmp_path / "g.json",
        )
