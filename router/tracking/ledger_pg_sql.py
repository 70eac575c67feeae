"""The PostgreSQL ledger's SQL (psycopg 3): connection, versioned schema and migrations, batch insert, spend reads.

psycopg 3 rather than asyncpg: the ledger writes on its own thread (off every event loop, like the SQLite
writer) and spend()/doctor are sync, so a sync driver fits without running a loop per thread; psycopg also
maps NUMERIC to Decimal exactly, has COPY for bulk loads, and ships libpq in its binary wheel.

Rows are inserted in batches with ON CONFLICT (record_id) DO NOTHING, and the spend rollups are upserted for
the rows really inserted in the same transaction.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from router.tracking import rollup
from router.tracking.ledger_file import COLUMNS
from vendors.errors import LedgerError

__all__ = ["MIGRATIONS", "ROWS_PER_STATEMENT", "SCHEMA_VERSION", "connect", "driver", "insert", "redact",
           "spend_rows", "spent"]

_TYPES = {"ts": "DOUBLE PRECISION NOT NULL", "http_status": "INTEGER", "latency_s": "DOUBLE PRECISION",
          "ttft_s": "DOUBLE PRECISION", "sent_ts": "DOUBLE PRECISION", "tags": "JSONB", "pid": "INTEGER",
          "cost_pico": "BIGINT", "priced": "INTEGER NOT NULL DEFAULT 1",
          "cache_write_1h_tokens": "BIGINT NOT NULL DEFAULT 0",
          **{c: "NUMERIC" for c in ("cost_input", "cost_cache_read", "cost_cache_write", "cost_output",
                                    "cost_reasoning", "cost_total")},
          **{c: "INTEGER NOT NULL DEFAULT 0" for c in ("stream", "attempts", "fallbacks", "cost_exact", "estimated")},
          **{c: "BIGINT NOT NULL DEFAULT 0" for c in rollup.TOKENS},
          **{c: "TEXT NOT NULL" for c in ("record_id", "vendor", "model", "status")}}
_CAST = {"ts": "::float8", "sent_ts": "::float8", "tags": "::jsonb", **{c: "::numeric" for c in (
    "cost_input", "cost_cache_read", "cost_cache_write", "cost_output", "cost_reasoning", "cost_total")}}

# Append only, as for the SQLite file: each entry takes the schema up one version (farebox_schema.version).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    ("CREATE TABLE calls (id BIGSERIAL PRIMARY KEY, "
     + ", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" for c in COLUMNS) + ", UNIQUE (record_id))",
     "CREATE INDEX calls_ts ON calls (ts)",
     *rollup.PG_DDL),
)
SCHEMA_VERSION = len(MIGRATIONS)
ROWS_PER_STATEMENT = 500
_ROW = "(" + ", ".join(f"%s{_CAST.get(c, '')}" for c in COLUMNS) + ")"
# One statement per batch (one round trip): the rows really inserted (RETURNING) feed the four rollup upserts.
_ROLLUP_CTES = ", ".join(f"r{i} AS ({statement})" for i, statement in enumerate(rollup.maintain("pg", source="ins")))


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def driver() -> Any:
    """The psycopg module; LedgerError naming the extra to install when it is missing."""
    try:
        import psycopg  # lazy: psycopg is the optional [postgres] extra, loaded only for a PostgreSQL ledger
    except ImportError as exc:
        raise LedgerError("a PostgreSQL ledger needs psycopg 3: pip install 'farebox[postgres]'") from exc
    return psycopg


def connect(url: str, *, migrate: bool = True, timeout: float = 3.0) -> Any:
    """An autocommit connection with the schema migrated; LedgerError for a schema this Farebox cannot use.

    psycopg.OperationalError (unreachable) is let through: the writer spools on it.
    """
    psycopg = driver()
    conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout)),
                           application_name="farebox")
    try:
        if migrate:
            _migrate(conn, url)
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: Any, url: str) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7244130716)")  # two processes opening a new database: one migrates
        conn.execute("CREATE TABLE IF NOT EXISTS farebox_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM farebox_schema").fetchone()
        version = row[0] if row else 0
        if version > SCHEMA_VERSION:
            raise LedgerError(f"cost ledger {redact(url)} has schema version {version}, newer than this Farebox "
                              f"understands ({SCHEMA_VERSION}); upgrade Farebox")
        if version == 0 and conn.execute("SELECT to_regclass('calls')").fetchone()[0] is not None:
            raise LedgerError(f"{redact(url)} has a table 'calls' that is not a Farebox ledger; use another database")
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        if row is None:
            conn.execute("INSERT INTO farebox_schema VALUES (%s)", [SCHEMA_VERSION])
        elif version < SCHEMA_VERSION:
            conn.execute("UPDATE farebox_schema SET version = %s", [SCHEMA_VERSION])


def insert(conn: Any, rows: list[tuple[Any, ...]]) -> int:
    """Insert rows (COLUMNS order) not already present, and their rollups, in one transaction; rows inserted."""
    psycopg = driver()
    for attempt in range(5):
        try:
            added = 0
            with conn.transaction():
                for i in range(0, len(rows), ROWS_PER_STATEMENT):
                    chunk = rows[i:i + ROWS_PER_STATEMENT]
                    sql = (f"WITH ins AS (INSERT INTO calls ({', '.join(COLUMNS)}) VALUES "
                           f"{', '.join([_ROW] * len(chunk))} ON CONFLICT (record_id) DO NOTHING RETURNING *), "
                           f"{_ROLLUP_CTES} SELECT count(*) FROM ins")
                    added += conn.execute(sql, [v for row in chunk for v in row]).fetchone()[0]
            return added
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
            if attempt == 4:
                raise
            time.sleep(0.01 * (attempt + 1))  # rolled back whole: trying again adds nothing twice
    return 0


def spent(conn: Any, where: str, params: list[Any], start: float) -> Decimal:
    """A budget's spend since `start` (a UTC day boundary) from the day rollup; `where` uses %s."""
    row = conn.execute(f"SELECT COALESCE(SUM(cost), 0) FROM spend_day WHERE bucket >= %s{where}",
                       [int(start), *params]).fetchone()
    return Decimal(row[0])


_readers = threading.local()


def spend_rows(url: str, names: list[str], since: float | None, until: float | None,
               where: dict[str, Any] | None) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """spend() on PostgreSQL, from the rollups (else the rows); the caller commits its own queued records first."""
    psycopg = driver()
    for attempt in range(2):
        conns = getattr(_readers, "conns", None)
        if conns is None:
            conns = _readers.conns = {}
        conn = conns.get(url)
        try:
            if conn is None or conn.closed:
                conn = conns[url] = connect(url)
            rows = rollup.aggregate(conn, rollup.PG, names, since, until, where)
            if rows is None:
                rows = rollup.aggregate(conn, rollup.PG, names, since, until, where, raw=True)
            return rows or []
        except psycopg.OperationalError as exc:
            conns.pop(url, None)
            if attempt:
                raise LedgerError(f"cost ledger {redact(url)}: cannot query: {exc}") from exc
    return []

