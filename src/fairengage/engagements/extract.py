"""The extract: the one door from personal data to analytics (docs/architecture.md, "Analytic table").

The analytic table carries the facts of each engagement and nothing that identifies a person: no
name, date of birth or address (those live in `persons`, which the extract never reads), and no
officer's badge or name; positions only to 0.01 degree (about a kilometre, engagements/location.py).
Each officer appears as a keyed hash of the badge: HMAC-SHA256 under a key derived from
FAIRENGAGE_SECRET_KEY, cut to 16 hex characters. The same secret gives the same keys in every extract,
so analysts can follow an officer over time; without the secret a key cannot be turned back into a
badge (badges are few, so an unkeyed hash could be reversed by trying them all).

Records are read in batches and written in row groups, so a database of any size is never held in
memory. Restricted records are included, since aggregate analysis is a permitted use of them; records
made before the regulation (`legacy`, docs/rule-sets.md LEGACY-DATA) are left out unless asked for. Every
extract is written to the audit log: who, how many rows, which file, and whether legacy records went in.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from fairengage import vocabulary
from fairengage.access import audit
from fairengage.config import Settings, WeakSecretKey
from fairengage.db import transaction
from fairengage.engagements import location
from fairengage.engagements.models import Engagement
from fairengage.officers.models import Officer
from fairengage.progress import NO_PROGRESS, Progress

# The officer-key key is HMAC-SHA256(secret, this label): the secret itself never keys anything
# published, and changing the label's version starts a new series of keys.
OFFICER_KEY_LABEL = b"fairengage/officer-key/v1"
OFFICER_KEY_LENGTH = 16
DEFAULT_BATCH = 50_000
PURPOSE = "analytic extract"

# The Arrow type of each kind of analytic column; strings as large_string, as `ingest/synth.py` writes
# them, so every producer of the table writes the same schema.
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.large_string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "float": pa.float64(),
    "int": pa.int64(),
    "boolean": pa.bool_(),
}
# The analytic table (the shared vocabulary's columns, docs/architecture.md), in order; the encounter column
# last, so that readers of the earlier columns are unchanged: the record's own id when it was an encounter
# of one (docs/import-and-extract.md).
SCHEMA = pa.schema(
    [(c.name, _ARROW_TYPES[c.kind]) for c in (*vocabulary.ANALYTIC_COLUMNS, vocabulary.ENCOUNTER_COLUMN)]
)
# Everything read from the database, in the order of `_query`; persons is not among the tables read.
_READ = (
    Engagement.id,
    Engagement.occurred_at,
    Engagement.division_code,
    Engagement.neighbourhood,
    Engagement.lat,
    Engagement.lon,
    Officer.badge,
    Engagement.purpose,
    Engagement.perceived_race,
    Engagement.perceived_gender,
    Engagement.perceived_age,
    Engagement.informed,
    Engagement.receipt_offered,
    Engagement.identifying_info_collected,
    Engagement.searched,
    Engagement.contraband_found,
    Engagement.outcome,
    Engagement.compliant,
    func.coalesce(Engagement.encounter_id, Engagement.id),
)


class ExtractRefused(Exception):
    """The extract cannot be written (no secret key configured, or an unknown file type)."""


@dataclass(frozen=True)
class ExtractResult:
    """What was written: the file, its rows, and how many of them were legacy records."""

    path: Path
    rows: int
    legacy_rows: int


def officer_key_key(secret: bytes) -> bytes:
    """The key for officer keys, derived from the deployment's secret (never the secret itself)."""
    return hmac.new(secret, OFFICER_KEY_LABEL, hashlib.sha256).digest()


def officer_key(badge: str, secret: bytes) -> str:
    """The officer's keyed hash: HMAC-SHA256 of the badge under the derived key, 16 hex characters."""
    return _keyed(badge, officer_key_key(secret))


def officer_keys(badges: Iterator[str] | list[str], secret: bytes) -> dict[str, str]:
    """Each badge's officer key, deriving the key once: how the governance side resolves a flagged key."""
    key = officer_key_key(secret)
    return {badge: _keyed(badge, key) for badge in badges}


def _keyed(badge: str, key: bytes) -> str:
    return hmac.new(key, badge.encode("utf-8"), hashlib.sha256).hexdigest()[:OFFICER_KEY_LENGTH]


def write_extract(
    *,
    sessions: sessionmaker[Session],
    out: Path,
    settings: Settings,
    actor: str,
    include_legacy: bool = False,
    batch: int = DEFAULT_BATCH,
    progress: Progress = NO_PROGRESS,
) -> ExtractResult:
    """Write the analytic table to `out` (.parquet or .csv) and log the extract; returns what was written.

    The file appears only once the extract is complete and logged: it is written beside `out` under a
    temporary name and renamed at the end.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ExtractRefused(
            f"cannot write a table with extension {suffix or '(none)'!r}: use .parquet or .csv"
        )
    try:
        settings.require_strong_secret_key()
    except WeakSecretKey as exc:
        # With a published or guessable key anyone could recompute every officer's key from the badges.
        raise ExtractRefused(f"{exc}; officer keys would be reversible") from None
    key = officer_key_key(settings.secret)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with transaction(sessions) as session:
            total, legacy = _counts(session, include_legacy)
            progress.phase(f"writing {out.name}", total)
            rows = _write(session, partial, suffix, key, include_legacy, batch, progress)
            audit.append(
                session,
                actor=actor,
                action="engagement.extract",
                entity="engagement",
                entity_id=None,
                purpose=PURPOSE,
                details={
                    "rows": rows,
                    "file": out.name,
                    "include_legacy": include_legacy,
                    "legacy_rows": legacy,
                },
            )
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return ExtractResult(path=out, rows=rows, legacy_rows=legacy)


def _query(include_legacy: bool) -> Select[*tuple[Any, ...]]:
    query = select(*_READ).join(Officer, Officer.id == Engagement.officer_id)
    if not include_legacy:
        query = query.where(Engagement.legacy.is_(False))
    return query.order_by(Engagement.occurred_at, Engagement.id)


def _counts(session: Session, include_legacy: bool) -> tuple[int, int]:
    total, legacy = session.execute(
        select(func.count(), func.count().filter(Engagement.legacy.is_(True))).select_from(Engagement)
    ).one()
    return (total if include_legacy else total - legacy), (legacy if include_legacy else 0)


def _batches(session: Session, include_legacy: bool, key: bytes, batch: int) -> Iterator[pa.RecordBatch]:
    """The table in record batches, read with a server-side cursor where the database has one."""
    keys: dict[str, str] = {}
    result = session.execute(_query(include_legacy).execution_options(yield_per=batch))
    for rows in result.partitions():
        columns = [list(c) for c in zip(*rows, strict=True)]
        # Positions leave the database coarse (engagements/location.py): a neighbourhood, not a doorway.
        columns[4] = [location.coarse(v) for v in columns[4]]
        columns[5] = [location.coarse(v) for v in columns[5]]
        columns[6] = [keys.get(b) or keys.setdefault(b, _keyed(b, key)) for b in columns[6]]
        for flag in (11, 12):  # informed, receipt_offered: unknown in the database is "not done"
            columns[flag] = [v is True for v in columns[flag]]
        # Contraband is a search's result: missing wherever no search was made (docs/architecture.md).
        columns[15] = [c if s else None for c, s in zip(columns[15], columns[14], strict=True)]
        yield pa.RecordBatch.from_arrays(
            [pa.array(values, type=f.type) for values, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
        )


def _write(
    session: Session,
    path: Path,
    suffix: str,
    key: bytes,
    include_legacy: bool,
    batch: int,
    progress: Progress,
) -> int:
    rows = 0
    writer: pq.ParquetWriter | pa_csv.CSVWriter
    writer = pq.ParquetWriter(path, SCHEMA) if suffix == ".parquet" else pa_csv.CSVWriter(path, SCHEMA)
    with writer:
        for record_batch in _batches(session, include_legacy, key, batch):
            # One row group per batch (Parquet); the CSV writer streams the same way.
            writer.write_batch(record_batch)
            rows += record_batch.num_rows
            progress.advance(record_batch.num_rows)
    return rows
