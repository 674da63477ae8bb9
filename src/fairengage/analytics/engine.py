"""Engines for the analyses: open DuckDB or Spark, load the analytic table, and check its columns.

Why Ibis: each analysis is written once, as an Ibis expression over the analytic table, and runs
unchanged on DuckDB (the default, in process, for anything that fits one machine) and on Apache Spark
(for data that outgrows one machine). Expressions only build grouped counts; the engine executes them
and hands back a few hundred rows, and the indices and confidence intervals are computed from those
counts in Python. The same counts therefore give the same figures on both engines, to the last digit.

Limits: only what both backends compile the same way is used here (group-by, sums of booleans,
min/max, casts). Row order is not defined by either engine, so every result is sorted before use.
Spark's TIMESTAMP has no zone of its own: the session runs in UTC, so ``occurred_at`` comes back as a
naive UTC time from Spark and as a UTC-aware one from DuckDB, and callers treat a naive value as UTC.
Spark starts a JVM (a few seconds) and is worth it only for large data; it is an optional extra
(``pip install -e '.[spark]'``) and never downloads anything (no ``spark.jars.packages``).
"""

from __future__ import annotations

import atexit
import csv
import os
import sys
import tempfile
import uuid
import warnings
import weakref
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import pandas as pd
from ibis.backends import BaseBackend

from fairengage import vocabulary
from fairengage.vocabulary import ANALYTIC_COLUMNS, Column

# Tables cached on a backend by `load_table`, released by `disconnect`.
_cached: weakref.WeakKeyDictionary[BaseBackend, list[ibis.Table]] = weakref.WeakKeyDictionary()
ENGINES: tuple[str, ...] = ("duckdb", "spark")
TABLE_SUFFIXES = (".parquet", ".csv")


class AnalyticsInputError(ValueError):
    """An input of the analyses (analytic table or benchmark) is unusable; the message names where."""


# The analytic table's columns are the shared vocabulary's (docs/architecture.md); the encounter column is
# optional: a table without it (older extracts, synthetic tables) counts each engagement as its own
# encounter; an empty cell means the same (docs/import-and-extract.md).
ENCOUNTER_COLUMN = vocabulary.ENCOUNTER_COLUMN.name
# The type each kind is cast to, so that both engines hand analyses the same column types.
_CANONICAL: dict[str, str] = {"float": "float64", "int": "int64", "boolean": "boolean", "string": "string"}
_KIND_WORDS = {
    "string": "text",
    "timestamp": "a timestamp",
    "float": "a number",
    "int": "a whole number",
    "boolean": "true or false",
}


def connect(engine: str = "duckdb") -> BaseBackend:
    """An Ibis backend on an in-process DuckDB or a local Spark session; another name is refused."""
    if engine == "duckdb":
        return ibis.duckdb.connect()
    if engine == "spark":
        session = spark_session()  # first: it silences pyspark's import-time warnings
        return ibis.pyspark.connect(session)
    raise AnalyticsInputError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")


def disconnect(backend: BaseBackend) -> None:
    """Close a backend (for Spark this stops the session and its JVM), releasing its cached tables."""
    # Released while the engine still runs: left to garbage collection, Ibis would try after the
    # session stopped and print the failure.
    for table in _cached.pop(backend, []):
        table.release()
    backend.disconnect()


def spark_session() -> Any:
    """A local SparkSession (local[2], UTC, no UI, quiet); the running one if there is one."""
    _quiet_pyspark_warnings()
    # pyspark is the optional `spark` extra (it needs Java), so its absence is a user's error, not a bug.
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise AnalyticsInputError(
            "the spark engine needs pyspark: pip install -e '.[spark]' (and Java 17)"
        ) from None
    # Python workers, if Spark ever starts any, must be this interpreter with this package on its path.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("fairengage-analyze")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # A few hundred grouped rows: the default 200 shuffle partitions would only add overhead.
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{_log4j_config()}")
    )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _quiet_pyspark_warnings() -> None:
    # pyspark 4 warns on import and on every toPandas that it does not yet "fully" support pandas 3; the
    # grouped counts we collect are plain integers and strings, which it converts correctly.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support", category=FutureWarning)


_LOG4J = """\
rootLogger.level = error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""
_log4j_path: Path | None = None


def _log4j_config() -> Path:
    # Spark's default log4j profile prints INFO and WARN lines on start; a profile at ERROR keeps the
    # command quiet (pyspark's gateway logger at the root's level also stops its "Setting default log
    # level" note). Written once per process to a temporary file, removed at exit.
    global _log4j_path
    if _log4j_path is None:
        handle, name = tempfile.mkstemp(prefix="fairengage-log4j2-", suffix=".properties")
        with os.fdopen(handle, "w") as out:
            out.write(_LOG4J)
        _log4j_path = Path(name)
        atexit.register(_log4j_path.unlink, missing_ok=True)
    return _log4j_path


def load_table(backend: BaseBackend, path: str | Path) -> ibis.Table:
    """The analytic table in a Parquet or CSV file (by extension), checked and with canonical types."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise AnalyticsInputError(f"{path}: cannot read a table with extension {suffix or '(none)'!r}")
    if not path.exists():
        raise AnalyticsInputError(f"{path}: no such file")
    source = _source(backend, path, suffix)
    if suffix == ".csv":
        _check_csv_header(path)
        raw = _read_csv(backend, source)
        table = _typed_from_text(raw, path)
    else:
        raw = _read_parquet(backend, source)
        table = _typed_from_parquet(raw, path)
    # The analyses query the table about a dozen times. Materialising it pays the CSV casts, and
    # Spark's scan and planning, once; DuckDB reads Parquet fast enough that a copy would only cost
    # memory.
    if backend.name == "pyspark":
        # Spark persists to memory and disk, so a large table still fits; released by `disconnect`.
        table = table.cache()
        _cached.setdefault(backend, []).append(table)
    elif suffix == ".csv":
        # A temporary table, gone with the connection. (Not `.cache()`: with sqlglot 30 Ibis 12 cannot
        # compile the DROP it issues when a cached DuckDB table is released.)
        table = backend.create_table(f"analytic_{uuid.uuid4().hex}", table, temp=True)
    _check_not_null(table, path)
    return table


def _encounter(raw: ibis.Table) -> ibis.Value:
    """The row's encounter: the file's `encounter_id` where given, else the engagement's own id."""
    own = raw.engagement_id.cast("string")
    schema = raw.schema()
    if ENCOUNTER_COLUMN not in schema.names or not schema[ENCOUNTER_COLUMN].is_string():
        return own
    return ibis.coalesce(raw[ENCOUNTER_COLUMN].nullif(""), own)


def _source(backend: BaseBackend, path: Path, suffix: str) -> str:
    # A directory (as Spark writes them) is read whole: Spark takes the directory, DuckDB a glob.
    if path.is_dir() and backend.name == "duckdb":
        return str(path / f"*{suffix}")
    return str(path)


def _read_csv(backend: BaseBackend, source: str) -> ibis.Table:
    # Every column is read as text and cast by us, so that a bad cell is reported by column (and the
    # engagement it belongs to) rather than as an engine's parse error.
    if backend.name == "duckdb":
        return backend.read_csv(source, all_varchar=True, header=True)
    # RFC 4180 quoting (a quote inside a cell is doubled), as pyarrow and DuckDB write it; Spark's default
    # escape is a backslash.
    return backend.read_csv(source, inferSchema=False, header=True, escape='"')


def _read_parquet(backend: BaseBackend, source: str) -> ibis.Table:
    return backend.read_parquet(source)


def _first_csv(path: Path) -> Path:
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise AnalyticsInputError(f"{path}: no .csv files in this directory")
        return files[0]
    return path


def _check_csv_header(path: Path) -> None:
    with _first_csv(path).open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    _check_present(path, set(header))


def _check_present(path: Path, names: set[str]) -> None:
    for column in ANALYTIC_COLUMNS:
        if column.name not in names:
            raise AnalyticsInputError(f"{path}: column {column.name!r}: missing from the analytic table")


def _typed_from_text(raw: ibis.Table, path: Path) -> ibis.Table:
    """Cast text columns to their types; one pass counts the cells that fail to cast, per column."""
    casts = {c.name: _try_cast(raw[c.name], c) for c in ANALYTIC_COLUMNS}
    failures = {
        c.name: (raw[c.name].notnull() & casts[c.name].isnull()).cast("int64").sum()
        for c in ANALYTIC_COLUMNS
        if c.kind != "string"
    }
    counts = raw.aggregate(**failures).to_pandas().iloc[0]
    for column in ANALYTIC_COLUMNS:
        if column.kind != "string" and as_count(counts[column.name]) > 0:
            bad = raw.filter(raw[column.name].notnull() & casts[column.name].isnull())
            example = bad.select("engagement_id", column.name).limit(1).to_pandas().iloc[0]
            raise AnalyticsInputError(
                f"{path}: column {column.name!r}: {example[column.name]!r} is not "
                f"{_KIND_WORDS[column.kind]} (engagement_id {example['engagement_id']!r}; "
                f"{as_count(counts[column.name])} such cells)"
            )
    return raw.select(**casts, **{ENCOUNTER_COLUMN: _encounter(raw)})


def _try_cast(value: ibis.Value, column: Column) -> ibis.Value:
    if column.kind == "string":
        return value
    if column.kind == "timestamp":
        # Cells carry their offset (ISO 8601 with Z or ±hh:mm); both engines read them as instants.
        return value.try_cast(dt.Timestamp(timezone="UTC"))
    return value.try_cast(_CANONICAL[column.kind])


def _typed_from_parquet(raw: ibis.Table, path: Path) -> ibis.Table:
    schema = raw.schema()
    _check_present(path, set(schema.names))
    selected = {}
    for column in ANALYTIC_COLUMNS:
        dtype = schema[column.name]
        if dtype.is_null() and column.nullable:
            # A column with no values at all (e.g. no location anywhere): typed here so later
            # expressions compile on both engines.
            target = dt.Timestamp(timezone="UTC") if column.kind == "timestamp" else _CANONICAL[column.kind]
            selected[column.name] = raw[column.name].cast(target)
            continue
        if not _has_kind(dtype, column.kind):
            raise AnalyticsInputError(
                f"{path}: column {column.name!r}: type {dtype} is not {_KIND_WORDS[column.kind]}"
            )
        value = raw[column.name]
        selected[column.name] = value if column.kind == "timestamp" else value.cast(_CANONICAL[column.kind])
    return raw.select(**selected, **{ENCOUNTER_COLUMN: _encounter(raw)})


def _has_kind(dtype: dt.DataType, kind: str) -> bool:
    if kind == "string":
        return dtype.is_string()
    if kind == "timestamp":
        return dtype.is_timestamp()
    if kind == "float":
        return dtype.is_floating() or dtype.is_integer() or dtype.is_decimal()
    if kind == "int":
        return dtype.is_integer()
    return dtype.is_boolean()


def as_count(value: Any) -> int:
    """An engine's count as a Python int; a sum over no rows comes back null and counts 0."""
    return 0 if pd.isna(value) else int(value)


def as_utc(value: Any) -> pd.Timestamp | None:
    """An engine's timestamp as an aware UTC time; None for a null (a min or max over no rows)."""
    # Spark hands back naive UTC times (its session runs in UTC), DuckDB aware ones: make both aware.
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def fetch(expr: ibis.Table) -> pd.DataFrame:
    """A query's result as a DataFrame, by way of Arrow: for a result with no empty cells (counts and
    their keys), the same columns and types as ``to_pandas``.

    Ibis's own ``to_pandas`` converts the result column by column, text through Python objects: the
    officer review's 320,000 counts took 0.65 s to run and fetch that way, 0.42 s this way.
    """
    return expr.to_pyarrow().to_pandas()


@ibis.udf.scalar.builtin(name="epoch")
def _duckdb_epoch(moment: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type]
    """DuckDB's EPOCH of an instant, read as it is (typed as a whole number, as Ibis types its own)."""


def epoch_seconds(moment: ibis.Value) -> ibis.Value:
    """Seconds since 1970-01-01 UTC of a time column, as each engine works them out fastest.

    Ibis turns DuckDB's instants (TIMESTAMPTZ) into wall-clock timestamps before taking EPOCH: a time
    zone conversion of every row, 0.14 s per pass over 3M rows, in every query that reads the local
    clock. EPOCH reads an instant directly and gives the same number (the session runs in UTC).
    """
    dtype = moment.type()
    if dtype.is_timestamp() and dtype.timezone is not None and moment.get_backend().name == "duckdb":
        return _duckdb_epoch(moment)
    return moment.epoch_seconds()


def _check_not_null(table: ibis.Table, path: Path) -> None:
    required = [c.name for c in ANALYTIC_COLUMNS if not c.nullable]
    # Rows less values, not a sum over the rows: DuckDB answers a count of values from the Parquet
    # file's statistics (0.003 s at 3M rows, where the sum read every row: 0.1 s).
    counts = table.aggregate(**{n: table.count() - table[n].count() for n in required}).to_pandas()
    row = counts.iloc[0]
    for name in required:
        if as_count(row[name]) > 0:
            raise AnalyticsInputError(
                f"{path}: column {name!r}: {as_count(row[name])} empty cells; every engagement needs a value"
            )
