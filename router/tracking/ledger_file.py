"""The ledger file: where it lives, how a connection is opened, its versioned schema and migrations."""

from __future__ import annotations

import functools
import os
import sqlite3
from pathlib import Path

from router.tracking import rollup
from vendors.errors import LedgerError

__all__ = ["APPLICATION_ID", "BUSY_TIMEOUT_S", "COLUMNS", "MIGRATIONS", "ROWS_PER_STATEMENT", "SCHEMA_VERSION",
           "connect", "default_path", "failure", "insert_many"]

# Each entry upgrades the schema by one version; PRAGMA user_version says how many have run.
# Append only: a released ledger file must always be able to climb to the newest version.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # v1: one row per user-level call. Money is exact Decimal text; cost_pico (total in 1e-12 USD) lets
    # SQL sum it, exact whenever cost_exact = 1 (prices with at most 6 decimals per million tokens).
    ("""CREATE TABLE calls (
        id INTEGER PRIMARY KEY,
        record_id TEXT NOT NULL,
        ts REAL NOT NULL,
        vendor TEXT NOT NULL,
        model TEXT NOT NULL,
        alias TEXT,
        deployment TEXT,
        status TEXT NOT NULL,
        error TEXT,
        vendor_code TEXT,
        http_status INTEGER,
        stream INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        fallbacks INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        cached_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        reasoning_tokens INTEGER NOT NULL DEFAULT 0,
        cost_input TEXT,
        cost_cache_read TEXT,
        cost_cache_write TEXT,
        cost_output TEXT,
        cost_reasoning TEXT,
        cost_total TEXT,
        cost_pico INTEGER NOT NULL DEFAULT 0,
        cost_exact INTEGER NOT NULL DEFAULT 1,
        estimated INTEGER NOT NULL DEFAULT 0,
        billing TEXT,
        latency_s REAL,
        ttft_s REAL,
        effort TEXT,
        response_id TEXT,
        tags TEXT,
        pid INTEGER
    )""",),
    # v2: spend queries and budget checks scan a time range. One index only: each one is another page
    # written per commit (a second index on alias or a UNIQUE record_id nearly doubled a commit's cost).
    ("CREATE INDEX calls_ts ON calls(ts)",),
    # v3: the gateway's virtual keys (router/gateway/keys.py). Only a sha256 of each key is stored, never the key.
    ("""CREATE TABLE gateway_keys (
        id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        key_prefix TEXT NOT NULL,
        name TEXT,
        created REAL NOT NULL,
        revoked REAL,
        max_budget TEXT,
        budget_period TEXT,
        models TEXT,
        rpm INTEGER,
        tags TEXT
    )""",),
    # v4: unpriced is not free. cost_pico is NULL for a call that used tokens of a model without a price (priced =
    # 0); sent_ts is when the request went out (the instant it was priced at); cache_write_1h_tokens splits the
    # cache writes. SQLite cannot drop NOT NULL in place, so the table is copied; older rows that used tokens but
    # carry no cost were unpriced calls stored as 0.
    ("""CREATE TABLE calls_v4 (
        id INTEGER PRIMARY KEY,
        record_id TEXT NOT NULL,
        ts REAL NOT NULL,
        vendor TEXT NOT NULL,
        model TEXT NOT NULL,
        alias TEXT,
        deployment TEXT,
        status TEXT NOT NULL,
        error TEXT,
        vendor_code TEXT,
        http_status INTEGER,
        stream INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        fallbacks INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        cached_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        reasoning_tokens INTEGER NOT NULL DEFAULT 0,
        cost_input TEXT,
        cost_cache_read TEXT,
        cost_cache_write TEXT,
        cost_output TEXT,
        cost_reasoning TEXT,
        cost_total TEXT,
        cost_pico INTEGER,
        cost_exact INTEGER NOT NULL DEFAULT 1,
        estimated INTEGER NOT NULL DEFAULT 0,
        billing TEXT,
        latency_s REAL,
        ttft_s REAL,
        effort TEXT,
        response_id TEXT,
        tags TEXT,
        pid INTEGER,
        priced INTEGER NOT NULL DEFAULT 1,
        sent_ts REAL
    )""",
     """INSERT INTO calls_v4 (
            id, record_id, ts, vendor, model, alias, deployment, status, error, vendor_code,
            http_status, stream, attempts, fallbacks, prompt_tokens, cached_tokens,
            cache_write_tokens, completion_tokens, reasoning_tokens, cost_input, cost_cache_read,
            cost_cache_write, cost_output, cost_reasoning, cost_total, cost_pico, cost_exact,
            estimated, billing, latency_s, ttft_s, effort, response_id, tags, pid, priced)
        SELECT
            id, record_id, ts, vendor, model, alias, deployment, status, error, vendor_code,
            http_status, stream, attempts, fallbacks, prompt_tokens, cached_tokens,
            cache_write_tokens, completion_tokens, reasoning_tokens, cost_input, cost_cache_read,
            cost_cache_write, cost_output, cost_reasoning, cost_total,
            CASE WHEN cost_total IS NULL AND prompt_tokens + completion_tokens > 0 THEN NULL ELSE cost_pico END,
            cost_exact, estimated, billing, latency_s, ttft_s, effort, response_id, tags, pid,
            CASE WHEN cost_total IS NULL AND prompt_tokens + completion_tokens > 0 THEN 0 ELSE 1 END
        FROM calls""",
     "DROP TABLE calls",
     "ALTER TABLE calls_v4 RENAME TO calls",
     "CREATE INDEX calls_ts ON calls(ts)"),
    # v5: a record id is stored once (a record delivered twice inserts nothing), and spend rollups per hour
    # and day (router/tracking/rollup.py), folded in from rows above rollup_mark; the rows already in now.
    ("DELETE FROM calls WHERE id NOT IN (SELECT MIN(id) FROM calls GROUP BY record_id)",
     "CREATE UNIQUE INDEX calls_record_id ON calls(record_id)",
     *rollup.SQLITE_DDL, *rollup.maintain("sqlite"),
     "CREATE TABLE rollup_mark (id INTEGER NOT NULL)",
     "INSERT INTO rollup_mark SELECT COALESCE(MAX(id), 0) FROM calls"),
)
SCHEMA_VERSION = len(MIGRATIONS)
# PRAGMA application_id of a Farebox ledger ("FBOX"): the header says whose file it is, so another program's
# SQLite database is recognised, read-only, before anything is written to it. Files from before it was set are
# recognised by their version and `calls` table, and get it on their next open.
APPLICATION_ID = 0x46424F58

COLUMNS = ("record_id", "ts", "vendor", "model", "alias", "deployment", "status", "error", "vendor_code",
           "http_status", "stream", "attempts", "fallbacks", "prompt_tokens", "cached_tokens", "cache_write_tokens",
           "completion_tokens", "reasoning_tokens", "cost_input", "cost_cache_read", "cost_cache_write",
           "cost_output", "cost_reasoning", "cost_total", "cost_pico", "cost_exact", "estimated", "billing",
           "latency_s", "ttft_s", "effort", "response_id", "tags", "pid", "priced", "sent_ts", "cache_write_1h_tokens")
ROWS_PER_STATEMENT = 200  # 200 x 37 parameters, well under SQLite's limit of 32766 per statement
_ROW = f"({', '.join('?' * len(COLUMNS))})"


@functools.lru_cache(maxsize=ROWS_PER_STATEMENT)
def insert_many(rows: int) -> str:
    """INSERT of `rows` rows in one statement."""
    return f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES {', '.join([_ROW] * rows)} " \
           "ON CONFLICT (record_id) DO NOTHING"
BUSY_TIMEOUT_S = 30.0


def default_path() -> Path:
    """$FAREBOX_LEDGER, else $XDG_DATA_HOME/farebox/ledger.sqlite (~/.local/share when unset)."""
    env = os.environ.get("FAREBOX_LEDGER")
    if env:
        return Path(env).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "farebox" / "ledger.sqlite"


def failure(path: Path, what: str, exc: BaseException) -> LedgerError:
    return LedgerError(f"cost ledger {str(path)!r}: {what}: {exc}",
                       hint="set FAREBOX_LEDGER to a writable file, configure(tracking='best-effort') to keep "
                            "calls going without it, or tracking='off'")


def connect(path: Path, *, migrate: bool = True) -> sqlite3.Connection:
    """An open, migrated connection in autocommit mode (explicit BEGIN IMMEDIATE for writes)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False,
                               cached_statements=2 * ROWS_PER_STATEMENT)
    except (OSError, sqlite3.Error) as exc:
        raise failure(path, "cannot open", exc) from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        version, app_id = _identify(conn, path)  # read-only: nothing is written to a file that is not ours
        # Per connection, not stored in the file: in WAL, a crash of the process loses no commit, and a
        # commit is a write() to the WAL, not an fsync (the default FULL costs ~0.4 ms a commit here).
        conn.execute("PRAGMA synchronous = NORMAL")
        if migrate:
            # WAL: readers never block the writer, and several processes can append to one file.
            conn.execute("PRAGMA journal_mode = WAL")
            if version < SCHEMA_VERSION or app_id != APPLICATION_ID:
                _migrate(conn, path)
    except LedgerError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise failure(path, "not a readable SQLite ledger", exc) from exc
    return conn


def _identify(conn: sqlite3.Connection, path: Path) -> tuple[int, int]:
    """(schema version, application_id) of a Farebox ledger or an empty file; LedgerError for anything else.

    Only reads: "file is not a database" shows on the first of them.
    """
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")}
    if app_id == APPLICATION_ID:
        _check_version(path, version)
        return version, app_id
    if app_id == 0 and version == 0 and not tables:
        return version, app_id  # a new (or empty) file
    if app_id == 0 and 1 <= version <= SCHEMA_VERSION and "calls" in tables:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(calls)")}
        if {"record_id", "cost_pico", "vendor"} <= columns:
            return version, app_id  # a Farebox ledger from before application_id
    owner = f" (application_id {app_id:#x})" if app_id else ""
    raise LedgerError(f"{str(path)!r} is an SQLite database but not a Farebox cost ledger{owner}; it was not "
                      "changed. Point FAREBOX_LEDGER at another file")


def _check_version(path: Path, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise LedgerError(f"cost ledger {str(path)!r} has schema version {version}, newer than this Farebox "
                          f"understands ({SCHEMA_VERSION}); upgrade Farebox or point FAREBOX_LEDGER elsewhere")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")  # two processes opening a new file: one migrates, the other waits
    try:
        version, _ = _identify(conn, path)  # again, under the write lock: another process may have migrated
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
