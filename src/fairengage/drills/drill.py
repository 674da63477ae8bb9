"""Officers recording at once, retrying under their Idempotency-Keys, and the checks that nothing was lost.

Each simulated officer records one engagement after another on its own keep-alive connection. A
request that fails on the way (the server was killed, the connection dropped, a 5xx) is sent again
with the same key and body until it is acknowledged: that is what the officer's phone does, and
what makes "every acknowledged record is stored exactly once" a property that can be checked.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fairengage import vocabulary
from fairengage.access import audit
from fairengage.access import service as access
from fairengage.access.models import AuditEntry, AuditPending
from fairengage.config import DEFAULT_LATITUDE, DEFAULT_LONGITUDE
from fairengage.db import transaction
from fairengage.drills.client import Connection, ConnectionLost
from fairengage.engagements.models import Engagement, Finding, IdempotencyRecord
from fairengage.officers import service as officers

RECORD_PATH = "/api/v1/engagements"
# The divisions the roster is spread over; every one exists in the migrated reference data.
DIVISIONS = ("D11", "D14", "D22", "D31", "D41", "D51", "D52", "D55")
# The named groups of the shared vocabulary (not "Another race" or "Unknown").
RACES = tuple(g for g in vocabulary.BENCHMARK_GROUPS if g != vocabulary.ANOTHER_RACE)
GENDERS = ("man", "woman", "gender diverse")
# How long a retrying officer waits between attempts while the server is away.
RETRY_PAUSE = 0.05


def make_roster(sessions: sessionmaker[Session], count: int, *, prefix: str = "LOAD") -> list[str]:
    """Trained officers with signed-in API users; their bearer tokens."""
    tokens = []
    with transaction(sessions) as session:
        for number in range(count):
            badge = f"{prefix}{number:04d}"
            officers.add(
                session=session,
                badge=badge,
                name=f"Drill Officer {number}",
                division=DIVISIONS[number % len(DIVISIONS)],
                trained_on=date.today() - timedelta(days=30),
                actor="load-drill",
            )
            username = f"drill-{badge.lower()}"
            access.add_user(
                session=session,
                username=username,
                role="officer",
                password=None,
                badge=badge,
                actor="load-drill",
            )
            tokens.append(access.create_token(session=session, username=username, actor="load-drill"))
    return tokens


def engagement_body(rng: random.Random, division: str) -> dict[str, Any]:
    """A compliant engagement, varied the way a shift's records vary; a third name the person."""
    body: dict[str, Any] = {
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=rng.randint(1, 240))).isoformat(),
        "division": division,
        "location": {
            "lat": round(DEFAULT_LATITUDE + rng.uniform(-0.05, 0.05), 5),
            "lon": round(DEFAULT_LONGITUDE + rng.uniform(-0.08, 0.08), 5),
            "description": f"{rng.randint(1, 999)} Queen St W",
        },
        "purpose": "suspicious_activities",
        "reason": "Person was trying the door handles of several parked cars on the block, one by one.",
        "reason_grounds": ["behaviour"],
        "perceived_race": rng.choice(RACES),
        "perceived_gender": rng.choice(GENDERS),
        "perceived_age": rng.randint(16, 80),
        "informed": True,
        "receipt_offered": True,
        "identifying_info_collected": True,
        "searched": False,
        "outcome": "none",
    }
    if rng.random() < 1 / 3:
        body["person"] = {"name": f"Drill Person {rng.randint(1, 10**6)}", "date_of_birth": "1990-01-01"}
    return body


@dataclass
class Tally:
    """What the officers saw: acknowledged records, latencies, errors and retries."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # engagement id -> idempotency key
    latencies: list[float] = field(default_factory=list)
    acknowledged_at: list[float] = field(default_factory=list)  # time.monotonic() of each acknowledgement
    errors: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    replayed: int = 0
    duplicate_acks: int = 0

    def error(self, kind: str) -> None:
        """Count an answer that is not an acknowledgement."""
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def officer_shift(
    *,
    port: int,
    token: str,
    division: str,
    seed: int,
    start: float,
    until: float,
    tally: Tally,
    give_up_after: float,
    period: float | None = None,
    offset: float = 0.0,
) -> None:
    """Record engagements from `start` until `until` (monotonic times); retry each until acknowledged.

    Without a `period` the officer sends the next record as soon as the last is acknowledged (a
    closed loop: it finds the most the server can take). With one, records are due every `period`
    seconds from `offset`, whether or not the server kept up (an open loop), and a record's latency
    counts from when it was due, so time spent queued behind a slow answer is not hidden.
    """
    rng = random.Random(seed)  # noqa: S311  # nosec B311 # varied test data, not secrets
    connection = Connection("127.0.0.1", port)
    # Every officer's schedule counts from the drill's one start, so how many records fall due depends on
    # the schedule alone, never on how long this coroutine waited to begin on a busy machine.
    start += offset
    sent = 0
    try:
        while True:
            # Due times are counted from the start, not added up, so that rounding never lets one
            # more record fall due before the end; the end is judged by the schedule, since timers
            # may wake a little early.
            due = start + sent * period if period is not None else None
            if due is not None:
                if due >= until:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            elif time.monotonic() >= until:
                break
            body = json.dumps(engagement_body(rng, division)).encode()
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            await _record_until_acknowledged(connection, headers, body, tally, give_up_after, due)
            sent += 1
    finally:
        await connection.close()


async def _record_until_acknowledged(
    connection: Connection,
    headers: dict[str, str],
    body: bytes,
    tally: Tally,
    give_up_after: float,
    due: float | None,
) -> None:
    deadline = time.monotonic() + give_up_after
    while True:
        started = time.monotonic()
        try:
            answer = await connection.request("POST", RECORD_PATH, headers, body)
        except ConnectionLost:
            answer = None
        elapsed = time.monotonic() - (due if due is not None else started)
        if answer is not None and answer.status == 201:
            tally.latencies.append(elapsed)
            record_id = json.loads(answer.body)["id"]
            earlier_key = tally.acknowledged.get(record_id)
            if earlier_key is not None and earlier_key != headers["Idempotency-Key"]:
                tally.duplicate_acks += 1
            tally.acknowledged[record_id] = headers["Idempotency-Key"]
            tally.acknowledged_at.append(time.monotonic())
            if answer.headers.get("idempotent-replayed") == "true":
                tally.replayed += 1
            return
        if answer is not None and answer.status < 500:
            # A refusal is final: sending the same body again would be refused again.
            tally.latencies.append(elapsed)
            tally.error(str(answer.status))
            return
        if time.monotonic() > deadline:
            tally.error("gave up" if answer is None else str(answer.status))
            return
        if answer is not None:
            tally.error(str(answer.status))
        tally.retries += 1
        await asyncio.sleep(RETRY_PAUSE)


async def run_shifts(
    *,
    port: int,
    tokens: list[str],
    seconds: float,
    seed: int = 0,
    rate: float | None = None,
    give_up_after: float = 120.0,
    during: Callable[[], Any] | None = None,
) -> tuple[Tally, float]:
    """Every officer recording for `seconds`; the tally and the wall time until the last one finished.

    `rate`, if given, is the records per second due across all officers, spread evenly (open loop).
    `during`, if given, is a coroutine function run alongside (a crash drill kills the server in it).
    """
    tally = Tally()
    started = time.monotonic()
    until = started + seconds
    period = len(tokens) / rate if rate else None
    shifts = [
        officer_shift(
            port=port,
            token=token,
            division=DIVISIONS[number % len(DIVISIONS)],
            seed=seed * 10_000 + number,
            start=started,
            until=until,
            tally=tally,
            give_up_after=give_up_after,
            period=period,
            offset=(period or 0.0) * number / len(tokens),
        )
        for number, token in enumerate(tokens)
    ]
    if during is not None:
        shifts.append(during())
    await asyncio.gather(*shifts)
    return tally, time.monotonic() - started


async def baseline_requests(*, port: int, clients: int, seconds: float) -> tuple[int, float, list[float]]:
    """The same client and server answering GET /healthz: the ceiling of the HTTP path alone."""
    latencies: list[float] = []
    until = time.monotonic() + seconds

    async def one() -> None:
        connection = Connection("127.0.0.1", port)
        try:
            while time.monotonic() < until:
                started = time.perf_counter()
                answer = await connection.request("GET", "/healthz", {})
                if answer.status == 200:
                    latencies.append(time.perf_counter() - started)
        finally:
            await connection.close()

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(clients)))
    return len(latencies), time.monotonic() - started, latencies


def percentile(values: list[float], share: float) -> float | None:
    """The value below which `share` of the values lie (nearest rank), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: list[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


@dataclass(frozen=True)
class Ledger:
    """What the database holds after a drill, set against what the officers were told."""

    stored: int
    acknowledged: int
    missing: int  # acknowledged but not stored
    unacknowledged: int  # stored but never acknowledged (only possible if an officer gave up)
    keys: int
    without_findings: int
    without_audit: int
    audit_ok: bool
    audit_entries: int
    audit_problem: str | None

    @property
    def exact(self) -> bool:
        """Every acknowledged record stored exactly once, none half-written, the chain intact."""
        return (
            self.missing == 0
            and self.unacknowledged == 0
            and self.stored == self.acknowledged == self.keys
            and self.without_findings == 0
            and self.without_audit == 0
            and self.audit_ok
        )


def check_ledger(sessions: sessionmaker[Session], acknowledged: dict[str, str]) -> Ledger:
    """Seal the audit journal, then compare the database with the acknowledgements, record by record."""
    audit.seal_all(sessions)
    with sessions() as session:
        stored_ids = set(session.scalars(select(Engagement.id)))
        keys = session.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0
        with_findings = set(session.scalars(select(Finding.engagement_id).distinct()))
        audited = set(
            session.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "engagement.create"))
        )
        pending = session.scalar(select(func.count()).select_from(AuditPending)) or 0
        report = audit.verify(session)
    acked = set(acknowledged)
    return Ledger(
        stored=len(stored_ids),
        acknowledged=len(acked),
        missing=len(acked - stored_ids),
        unacknowledged=len(stored_ids - acked),
        keys=keys,
        without_findings=len(stored_ids - with_findings),
        without_audit=len(stored_ids - audited),
        audit_ok=report.ok and pending == 0,
        audit_entries=report.checked,
        audit_problem=report.problem if not report.ok else (f"{pending} unsealed" if pending else None),
    )
