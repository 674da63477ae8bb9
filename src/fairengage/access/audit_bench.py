"""`fairengage audit bench`: how fast the audit log seals, verifies against a checkpoint, and proves.

On a fresh database (a temporary SQLite file unless a URL is given): journal N entries with their MACs,
seal them all in the service's batches, sign a checkpoint, then time `transparency.check_log` over the
whole log against it and single inclusion proofs. Medians over repeats; nothing is downloaded.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert

from fairengage import migrate
from fairengage.access import audit, merkle, transparency
from fairengage.access.models import AuditPending
from fairengage.db import engine_for, session_factory, transaction

# Rows journalled per insert while filling: large batches keep the fill quick.
FILL_BATCH = 20_000


@dataclass(frozen=True)
class AuditBench:
    """The figures: entries, sealing rate, verify time and proof time (medians), and the database."""

    entries: int
    database: str
    seal_entries_per_s_median: float
    seal_entries_per_s_overall: float
    seal_seconds_total: float
    verify_seconds_median: float
    verify_seconds_runs: list[float]
    proof_ms_median: float
    proof_hashes: int

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON values."""
        return asdict(self)


def _fill(sessions: Any, entries: int, key: bytes) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    done = 0
    while done < entries:
        rows = []
        for i in range(done, min(done + FILL_BATCH, entries)):
            row = {
                "at": start + timedelta(seconds=i),
                "actor": f"officer{i % 400}",
                "action": "engagement.create",
                "entity": "engagement",
                "entity_id": f"{i:032x}",
                "purpose": "recording",
                "details": {"division": f"D{11 + i % 40}"},
            }
            row["mac"] = audit.journal_mac(key, row)
            rows.append(row)
        with transaction(sessions) as session:
            session.execute(insert(AuditPending), rows)
        done += len(rows)


def run(
    entries: int, *, database_url: str | None = None, repeats: int = 3, proofs: int = 101, seed: int = 0
) -> AuditBench:
    """Fill, seal, checkpoint, verify `repeats` times and prove `proofs` random entries; the figures."""
    if database_url is not None:
        return _run(entries, database_url, repeats, proofs, seed)
    folder = Path(tempfile.mkdtemp(prefix="fairengage-audit-bench-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    try:
        return _run(entries, url, repeats, proofs, seed)
    finally:
        engine_for(url).dispose()
        shutil.rmtree(folder, ignore_errors=True)


def _run(entries: int, url: str, repeats: int, proofs: int, seed: int) -> AuditBench:
    migrate.upgrade(url)
    engine = engine_for(url)
    sessions = session_factory(engine)
    key = audit.journal_mac_key(b"audit-bench")
    audit.set_guard(engine, audit.Guard(key))
    _fill(sessions, entries, key)
    # Sealing: the service's own batches, each timed as the sealer runs it.
    rates = []
    began = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        with sessions.begin() as session:
            sealed = audit.seal(session)
        if sealed:
            rates.append(sealed / (time.perf_counter() - t0))
        if sealed < audit.SEAL_BATCH:
            break
    seal_total = time.perf_counter() - began
    signer = transparency.Signer("bench/transparency/audit", Ed25519PrivateKey.generate())
    with sessions() as session:
        checkpoint, note = transparency.current_checkpoint(session, signer)
    opened = transparency.open_checkpoint(note, signer.public)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with sessions() as session:
            check = transparency.check_log(session, [("bench", opened)])
        runs.append(time.perf_counter() - t0)
        if not check.ok:
            raise RuntimeError(f"the benchmark's own log did not verify: {check.problems}")
    chooser = random.Random(seed)  # noqa: S311  # nosec B311 # which entries to prove, not a secret
    proof_times = []
    length = 0
    for _ in range(proofs):
        seq = chooser.randint(1, checkpoint.size)
        t0 = time.perf_counter()
        with sessions() as session:
            path = transparency.inclusion_proof(session, seq - 1, checkpoint.size)
            leaf = transparency.leaf_of(session, seq)
        proof_times.append((time.perf_counter() - t0) * 1000)
        if leaf is None or not merkle.verify_inclusion(seq - 1, checkpoint.size, leaf, path, checkpoint.root):
            raise RuntimeError(f"the benchmark's proof of entry {seq} did not verify")
        length = len(path)
    return AuditBench(
        entries=entries,
        database=url.split("://", 1)[0],
        seal_entries_per_s_median=round(statistics.median(rates), 1) if rates else 0.0,
        seal_entries_per_s_overall=round(entries / seal_total, 1) if seal_total else 0.0,
        seal_seconds_total=round(seal_total, 2),
        verify_seconds_median=round(statistics.median(runs), 2),
        verify_seconds_runs=[round(r, 2) for r in runs],
        proof_ms_median=round(statistics.median(proof_times), 2),
        proof_hashes=length,
    )
