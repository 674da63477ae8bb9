"""Fixtures for the access tests: one user per role and a small estate of real records to aim routes at."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from access.estate import (
    PASSWORD,
    PERIOD,
    PRINCIPALS,
    ROLE_OF,
    Estate,
    csrf_of,
    principal_of,
    sign_in,
)
from builders import valid_body
from cases.reports import report
from fairengage.cases import service as cases
from fairengage.cases.models import InterventionCase
from fairengage.complaints import service as complaints
from fairengage.complaints.models import Complaint
from fairengage.engagements.models import Engagement
from fairengage.events.models import ExternalEvent
from fairengage.officers.models import Officer
from fairengage.reports import publications
from fairengage.retention import service as retention
from fairengage.review import service as review
from fairengage.review.models import ReviewSampleItem
from publishing.ledger_rows import write_release


@pytest.fixture
def staff(world) -> list[str]:  # type: ignore[no-untyped-def]
    """One user per role with a password (the officer and supervisor linked to D14 badges)."""
    recent = date.today() - timedelta(days=30)
    world.officer("T1", "D14", trained_on=recent, name="Constable Tremblay")
    world.officer("S1", "D14", trained_on=recent, name="Sergeant Okafor")
    world.user("officer", "officer", badge="T1", password=PASSWORD)
    world.user("supervisor", "supervisor", badge="S1", password=PASSWORD)
    for name in ("analyst", "auditor", "admin", "delegate"):
        world.user(name, ROLE_OF[name], password=PASSWORD)
    # Accounts the administrator's forms change, and one to sign in with on the public sign-in form.
    world.user("target", "analyst", password=PASSWORD)
    world.user("spare", "analyst", password=PASSWORD)
    with world.sessions.begin() as s:
        retention.delegate(session=s, username="delegate", granted_by="Chief of Police")
    return [name for name in PRINCIPALS if name != "anonymous"]


@pytest.fixture
def estate(app, client, world, sessions, settings, staff, tmp_path) -> Estate:  # type: ignore[no-untyped-def]
    """Records, a returned and a restricted record, complaints, a review sample, restricted-read requests
    and a published report, all made through the services the pages use."""
    tokens = {name: world.token(name) for name in staff}
    officer = {"Authorization": f"Bearer {tokens['officer']}"}
    made = []
    for _ in range(3):
        r = client.post("/api/v1/engagements", json=valid_body(), headers=officer)
        assert r.status_code == 201, r.text
        made.append(r.json())
    record, returned, restricted = (m["id"] for m in made)
    code = made[0]["receipt"]["code"]
    today = datetime.now(settings.tz).date()
    supervisor, auditor = principal_of(sessions, "supervisor"), principal_of(sessions, "auditor")
    delegate, admin = principal_of(sessions, "delegate"), principal_of(sessions, "admin")
    with sessions.begin() as s:
        review.decide(
            session=s, principal=supervisor, engagement_id=returned, decision="returned",
            reason="Say which door handles.", today=today,
        )  # fmt: skip
        retention.restrict(
            session=s, engagement=s.get(Engagement, restricted), reason="non_compliant", actor="t"
        )
        # The year the records fall in, locally: not always today's, just after New Year.
        year = s.get(Engagement, record).occurred_at.astimezone(settings.tz).year
        sample, _ = review.draw_sample(
            session=s, year=year, size=2, seed=7, actor="auditor", tz=settings.timezone
        )
        sample_id = sample.id
        item = s.scalars(select(ReviewSampleItem).where(ReviewSampleItem.sample_id == sample_id)).first()
    # Two own-record requests filed by the public on the receipt, the second ready for export.
    public = TestClient(app)
    for _ in range(2):
        page = public.get(f"/r/{code}/complaint")
        key = re.search(r'name="form_key" value="([^"]+)"', page.text).group(1)
        data = {"csrftoken": csrf_of(page.text), "form_key": key, "kind": "own_record",
                "name": "Robin Requester", "email": "robin@example.org", "consent": "yes"}  # fmt: skip
        assert public.post(f"/r/{code}/complaint", data=data, follow_redirects=False).status_code == 303
    with sessions() as s:
        complaint, confirmed = (c.id for c in s.scalars(select(Complaint).order_by(Complaint.id)))
    with sessions.begin() as s:
        complaints.confirm_identity(session=s, principal=admin, complaint_id=confirmed, note="licence seen")
    # Requests to read the restricted record: one pending, and one approved for each role that may ask.
    requests: dict[str, int] = {}
    with sessions.begin() as s:
        for who, asker in (("pending", supervisor), ("supervisor", supervisor), ("auditor", auditor)):
            requests[who] = retention.request_access(
                session=s, principal=asker, engagement_id=restricted, purpose="legal_proceeding",
                details="disclosure in R. v. Example", today=today,
            ).id  # fmt: skip
    with sessions.begin() as s:
        for who in ("supervisor", "auditor"):
            retention.decide_request(session=s, principal=delegate, request_id=requests[who], approve=True)
    # A published release, a draft awaiting approval, and a finished report run.
    settings.publications_dir = tmp_path / "publications"
    root = settings.publications_dir
    release = write_release(sessions=sessions, root=root, period=PERIOD, status="published")
    draft = write_release(sessions=sessions, root=root, period="2023", built_by="admin")
    jobs = publications.jobs_for(settings.publications_dir)
    job = jobs.start(period=PERIOD, build=lambda progress: release.id, requested_by="analyst")
    assert jobs.wait(job.id, 10).state == "done"
    ruleset = client.get("/api/v1/rulesets").json()[0]["id"]
    # A dispatch event nobody recorded, as reconciliation leaves it (no engagement matched).
    with sessions.begin() as s:
        t1 = s.scalars(select(Officer).where(Officer.badge == "T1")).one()
        unrecorded = ExternalEvent(
            event_id="CAD-ESTATE", occurred_at=datetime.now(UTC) - timedelta(days=1), officer_id=t1.id,
            division_code="D14", kind="person_stop", imported_at=datetime.now(UTC),
            reconciled_at=datetime.now(UTC), status="open",
        )  # fmt: skip
        s.add(unrecorded)
        s.flush()
        event_id = unrecorded.id
    # An analysis run flagged the officer: their supervisor's intervention case.
    flagged = report([("T1", True)], secret=settings.secret, first="2000-01-01T00:00:00+00:00",
                     last="2100-01-01T00:00:00+00:00")  # fmt: skip
    with sessions.begin() as s:
        cases.open_from_report(session=s, report=flagged, secret=settings.secret, actor="cli")
    with sessions() as s:
        case_id = s.scalars(select(InterventionCase.id)).one()
    return Estate(
        record=record,
        returned=returned,
        restricted=restricted,
        code=code,
        complaint=complaint,
        confirmed=confirmed,
        sample=sample_id,
        sample_item=item.id,
        pending_request=requests["pending"],
        approved_requests={"supervisor": requests["supervisor"], "auditor": requests["auditor"]},
        job=job.id,
        release=release.id,
        draft=draft.id,
        tokens=tokens,
        ruleset=ruleset,
        event=event_id,
        case=case_id,
    )


@pytest.fixture
def browser_for(app) -> Iterator[Callable[[str], TestClient]]:  # type: ignore[no-untyped-def]
    """A new browser for a principal: signed in with the password, or anonymous with a CSRF cookie."""
    opened: list[TestClient] = []

    def open_as(who: str) -> TestClient:
        client = TestClient(app)
        opened.append(client)
        if who == "anonymous":
            client.get("/login")
        else:
            assert sign_in(client, who).status_code == 303, who
        return client

    yield open_as
    for client in opened:
        client.close()


# Signed audit checkpoints (tests/access/signing.py).
from access.signing import signing  # noqa: E402, F401
