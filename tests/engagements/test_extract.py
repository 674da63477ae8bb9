"""The extract: the analytic table's columns and types, no personal data, keyed officers, faithful counts."""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from fairengage import cli
from fairengage.access import audit
from fairengage.access.models import AuditEntry
from fairengage.config import Settings, get_settings
from fairengage.db import transaction
from fairengage.engagements import bulk, extract
from fairengage.engagements.models import Engagement
from fairengage.ingest import synth

ROSTER_SIZE = 20
SEED = 11


def load_synthetic(sessions, settings, records: int, *, start=date(2024, 5, 1), end=date(2025, 6, 30)):
    """Load a detailed synthetic frame through the bulk loader, as the demo does; returns frame and roster."""
    frame = synth.generate(records, seed=SEED, officers=ROSTER_SIZE, start=start, end=end, with_details=True)
    roster = synth.officers_roster(ROSTER_SIZE, SEED)
    entries = [bulk.RosterEntry(o.badge, o.name, o.division, (date(2023, 9, 1),)) for o in roster]
    with transaction(sessions) as session:
        officers = bulk.ensure_officers(session=session, roster=entries)
        bulk.load_frame(session=session, frame=frame, officers=officers, settings=settings, actor="test")
    return frame, roster


@pytest.fixture
def loaded(sessions, settings):
    return load_synthetic(sessions, settings, 400)


def test_columns_and_types_are_the_analytic_tables(sessions, settings, loaded, tmp_path):
    result = extract.write_extract(
        sessions=sessions, out=tmp_path / "a.parquet", settings=settings, actor="t"
    )
    table = pq.read_table(result.path)
    assert table.schema.names == [*synth.ANALYTIC_COLUMNS, *synth.OPTIONAL_COLUMNS]
    assert table.schema.field("occurred_at").type == pa.timestamp("us", tz="UTC")
    assert table.num_rows == result.rows == 400
    # Read back with the shared reader, from Parquet and CSV alike, the dtypes are docs/architecture.md's.
    extract.write_extract(sessions=sessions, out=tmp_path / "a.csv", settings=settings, actor="t")
    for name in ("a.parquet", "a.csv"):
        frame = synth.read_table(tmp_path / name)
        assert {c: str(t) for c, t in frame.dtypes.items()} == {
            **synth.ANALYTIC_COLUMNS,
            **synth.OPTIONAL_COLUMNS,
        }
    # The instants are the loaded ones, in UTC.
    frame = synth.read_table(tmp_path / "a.csv")
    assert sorted(frame["occurred_at"]) == sorted(loaded[0]["occurred_at"])


def test_no_personal_data_anywhere_in_the_file(sessions, settings, loaded, tmp_path):
    synthetic, roster = loaded
    people = synthetic[synthetic["person_name"].notna()]
    assert len(people) > 100  # the check below must have something to look for
    extract.write_extract(sessions=sessions, out=tmp_path / "a.csv", settings=settings, actor="t")
    extract.write_extract(sessions=sessions, out=tmp_path / "a.parquet", settings=settings, actor="t")
    written = (tmp_path / "a.csv").read_bytes()
    # Parquet pages are compressed, so its values are searched after decoding.
    decoded = "\n".join(map(str, pq.read_table(tmp_path / "a.parquet").to_pylist())).encode()
    secrets = [
        *people["person_name"],
        *people["person_address"],
        *(d.isoformat() for d in people["person_date_of_birth"]),
        *(o.badge for o in roster),
        *(o.name for o in roster),
    ]
    for text in secrets:
        assert text.encode() not in written, text
        assert text.encode() not in decoded, text


def test_officer_keys_are_stable_for_a_secret_and_change_with_it(sessions, settings, loaded, tmp_path):
    _, roster = loaded
    first = tmp_path / "1.parquet"
    again = tmp_path / "2.parquet"
    other = tmp_path / "3.parquet"
    extract.write_extract(sessions=sessions, out=first, settings=settings, actor="t")
    extract.write_extract(sessions=sessions, out=again, settings=settings, actor="t")
    another = Settings(database_url=settings.database_url, secret_key="another-secret-key-0123456789abcdefgh")
    extract.write_extract(sessions=sessions, out=other, settings=another, actor="t")
    keys = [
        pq.read_table(p).to_pandas().set_index("engagement_id")["officer_key"] for p in (first, again, other)
    ]
    assert keys[0].equals(keys[1])
    pairs = set(zip(keys[0], keys[2].loc[keys[0].index], strict=True))
    assert len(pairs) == keys[0].nunique()  # one officer, one key under each secret
    assert all(a != b for a, b in pairs)
    # Each key is HMAC-SHA256 of a badge under the derived key, never under the raw secret.
    expected = {extract.officer_key(o.badge, settings.secret) for o in roster}
    assert set(keys[0]) <= expected
    raw = {hmac.new(settings.secret, o.badge.encode(), hashlib.sha256).hexdigest()[:16] for o in roster}
    assert not set(keys[0]) & raw
    assert all(len(k) == 16 and int(k, 16) >= 0 for k in keys[0])


def test_counts_by_group_equal_the_databases(sessions, settings, loaded, tmp_path):
    extract.write_extract(sessions=sessions, out=tmp_path / "a.parquet", settings=settings, actor="t")
    frame = pq.read_table(tmp_path / "a.parquet").to_pandas()
    with sessions() as s:
        database = {
            (race, division): (n, searched, hits)
            for race, division, n, searched, hits in s.execute(
                select(
                    Engagement.perceived_race,
                    Engagement.division_code,
                    func.count(),
                    func.count().filter(Engagement.searched.is_(True)),
                    func.count().filter(Engagement.searched.is_(True), Engagement.contraband_found.is_(True)),
                ).group_by(Engagement.perceived_race, Engagement.division_code)
            )
        }
    grouped = frame.groupby(["perceived_race", "division"]).agg(
        n=("searched", "size"),
        searched=("searched", "sum"),
        hits=("contraband_found", lambda c: (c == True).sum()),  # noqa: E712
    )
    from_file = {key: (int(r.n), int(r.searched), int(r.hits)) for key, r in grouped.iterrows()}
    assert from_file == database
    # Contraband is only ever given where a search was made.
    assert frame.loc[~frame["searched"], "contraband_found"].isna().all()


def test_legacy_records_only_when_asked(sessions, settings, tmp_path):
    load_synthetic(sessions, settings, 60, start=date(2014, 1, 1), end=date(2015, 6, 17))
    with sessions() as s:
        assert s.scalar(select(func.count()).where(Engagement.legacy.is_(True))) == 60
    default = extract.write_extract(sessions=sessions, out=tmp_path / "a.csv", settings=settings, actor="t")
    assert default.rows == 0 and pd.read_csv(tmp_path / "a.csv").empty
    assert list(pd.read_csv(tmp_path / "a.csv").columns) == [*synth.ANALYTIC_COLUMNS, *synth.OPTIONAL_COLUMNS]
    included = extract.write_extract(
        sessions=sessions, out=tmp_path / "b.csv", settings=settings, actor="t", include_legacy=True
    )
    assert included.rows == included.legacy_rows == 60
    assert not synth.read_table(tmp_path / "b.csv")["compliant"].any()


def test_restricted_records_are_included(sessions, settings, loaded, tmp_path):
    with transaction(sessions) as s:
        s.execute(update(Engagement).values(restricted=True))
    result = extract.write_extract(sessions=sessions, out=tmp_path / "a.csv", settings=settings, actor="t")
    assert result.rows == 400


def test_written_in_row_groups_of_the_batch_size(sessions, settings, loaded, tmp_path):
    extract.write_extract(
        sessions=sessions, out=tmp_path / "a.parquet", settings=settings, actor="t", batch=64
    )
    metadata = pq.ParquetFile(tmp_path / "a.parquet").metadata
    assert metadata.num_row_groups == math.ceil(400 / 64)
    assert metadata.num_rows == 400


def test_each_extract_is_one_audit_entry(sessions, settings, loaded, tmp_path):
    with sessions() as s:
        before = s.scalar(select(func.count()).select_from(AuditEntry))
    extract.write_extract(
        sessions=sessions, out=tmp_path / "board.parquet", settings=settings, actor="cli:ana"
    )
    with sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.seq > before)).all()
        assert audit.verify(s).ok
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor, entry.action, entry.purpose) == ("cli:ana", "engagement.extract", "analytic extract")
    assert entry.details["rows"] == 400 and entry.details["file"] == "board.parquet"


def test_refuses_the_default_key_and_unknown_extensions(sessions, settings, loaded, tmp_path):
    insecure = Settings(database_url=settings.database_url)
    with pytest.raises(extract.ExtractRefused, match="FAIRENGAGE_SECRET_KEY"):
        extract.write_extract(sessions=sessions, out=tmp_path / "a.csv", settings=insecure, actor="t")
    with pytest.raises(extract.ExtractRefused, match="extension"):
        extract.write_extract(sessions=sessions, out=tmp_path / "a.xlsx", settings=settings, actor="t")
    assert not (tmp_path / "a.csv").exists() and not (tmp_path / "a.xlsx").exists()


def test_no_file_appears_when_the_extract_cannot_be_logged(sessions, settings, loaded, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()

    def broken(*args, **kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(extract.audit, "append", broken)
    with pytest.raises(RuntimeError):
        extract.write_extract(sessions=sessions, out=out / "a.parquet", settings=settings, actor="t")
    assert list(out.iterdir()) == []


def test_command_writes_the_file_and_prints_one_line(settings, loaded, tmp_path, monkeypatch):
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", settings.secret_key.get_secret_value())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["extract", "--out", str(tmp_path / "out.parquet")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    # Not a terminal, so no progress bar: just the count.
    assert result.stdout == f"wrote 400 engagements to {tmp_path / 'out.parquet'}\n"
    assert pq.read_metadata(tmp_path / "out.parquet").num_rows == 400


def test_off_a_terminal_a_long_extract_says_how_far_it_is(settings, loaded, tmp_path, monkeypatch):
    from fairengage import progress

    # No quiet start makes every job "long": its lines come on stderr, the result alone on stdout.
    monkeypatch.setattr(progress, "QUIET", 0.0)
    monkeypatch.setenv("FAIRENGAGE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FAIRENGAGE_SECRET_KEY", settings.secret_key.get_secret_value())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli.app, ["extract", "--out", str(tmp_path / "out.parquet"), "--batch-size", "100"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote 400 engagements to {tmp_path / 'out.parquet'}\n"
    assert "extract: writing out.parquet: 0 of 400 rows, 0 % (" in result.stderr
