"""The call ledger on PostgreSQL (psycopg 3): the SQLite ledger's writer thread, records and spend, shared by hosts.

psycopg 3 rather than asyncpg: the ledger writes on its own thread (off every event loop, like the SQLite
writer) and spend()/doctor are sync, so a sync driver fits without running a loop per thread; psycopg also
maps NUMERIC to Decimal exactly, has COPY for bulk loads, and ships libpq in its binary wheel.

Rows are inserted in batches with ON CONFLICT (record_id) DO NOTHING, and the spend rollups are upserted for
the rows really inserted in the same transaction. When the database cannot be reached, rows go to the local
spool (router/tracking/spool.py) and are delivered, once, when it answers again.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from router.tracking import rollup
from router.tracking.ledger_file import COLUMNS
from router.tracking.spool import Spool
from router.tracking.writer import Control, Writer
from vendors.errors import LedgerError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PgLedger", "connect", "redact", "spend_rows", "spent"]

log = logging.getLogger("farebox")

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
_RETRY_S = 1.0  # while the database is away, a reconnect is tried at most this often


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def _driver() -> Any:
    try:
        import psycopg  # lazy: psycopg is the optional [postgres] extra, loaded only for a PostgreSQL ledger
    except ImportError as exc:
        raise LedgerError("a PostgreSQL ledger needs psycopg 3: pip install 'farebox[postgres]'") from exc
    return psycopg


def connect(url: str, *, migrate: bool = True, timeout: float = 3.0) -> Any:
    """An autocommit connection with the schema migrated; LedgerError for a schema this Farebox cannot use.

    psycopg.OperationalError (unreachable) is let through: the writer spools on it.
    """
    psycopg = _driver()
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
    psycopg = _driver()
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


class PgLedger(Writer):
    """The Ledger's queue and writer thread, writing to PostgreSQL; unreachable: rows go to the spool."""

    def __init__(self, url: str, *, batching: bool = False, batch_size: int = 500, flush_interval: float = 1.0,
                 spool: Spool | None = None, write_timeout: float = 5.0) -> None:
        super().__init__(url, batching=batching, batch_size=batch_size, flush_interval=flush_interval)
        self.where = redact(url)
        self.spool = spool or Spool(url)
        self.conn: Any = None
        self.schema_version: int | None = None
        self.spooled = 0    # rows this process sent to the spool
        self.delivered = 0  # rows delivered from a spool
        self._next_try = 0.0
        self._connecting = False
        self._fresh: Any = None  # a connection made by a reconnect thread, for the writer to take
        # A database that stops answering (overloaded, SIGSTOPped, a dead link) must not hold callers: a write
        # that takes longer is cut off (its socket shut down) and its rows are spooled. If it did commit, the
        # spool's delivery inserts nothing again (record ids are unique).
        self.write_timeout = write_timeout

    def _open_backend(self) -> None:
        self._reconnect(force=True)
        self._back()

    def _serve_backend(self, handle: Any) -> None:
        self._serve_pg()

    def _close_backend(self, handle: Any) -> None:
        if self.conn is not None:
            self.conn.close()
        self.spool.close()

    def _connect(self) -> Any:
        return connect(self.path)

    def _label(self) -> object:
        return self.where

    def _reconnect(self, force: bool = False) -> None:
        """Connect (and migrate) when not connected and a try is due; unreachable leaves it down.

        `force` (the writer starting): here and now, so open() reports a schema problem. Later tries run on a
        thread of their own: a database that does not answer never holds the writer, which spools meanwhile.
        """
        if self._fresh is not None:
            self.conn, self._fresh = self._fresh, None
            self._back()
        if self.conn is not None or (not force and (time.monotonic() < self._next_try or self._connecting)):
            return
        self._next_try = time.monotonic() + _RETRY_S
        if force:
            self._try_connect()
            if self._fresh is not None:
                self.conn, self._fresh = self._fresh, None
            return
        self._connecting = True
        threading.Thread(target=self._try_connect, name="farebox-ledger-connect", daemon=True).start()

    def _try_connect(self) -> None:
        psycopg = _driver()
        try:
            conn = connect(self.path)  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            self._down(exc)
        except LedgerError as exc:
            if self.ready:  # the schema changed under us (a newer Farebox migrated it): keep spooling, say why
                log.error("%s", exc)
            else:
                raise
        else:
            self.schema_version = SCHEMA_VERSION
            self._fresh = conn
            self._queue.put(None)  # wake the writer: the spool can go now
        finally:
            self._connecting = False

    def _back(self) -> None:
        if self._failing:
            log.warning("cost ledger %s answers again; delivering the spool", self.where)
        self._failing = False

    def _down(self, exc: BaseException) -> None:
        if not self._failing:
            log.warning("cost ledger %s is unreachable (%s); records are spooled to %s until it answers",
                        self.where, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                        self.spool.dir)
        self._failing = True

    def _serve_pg(self) -> None:
        get = self._queue.get
        while True:
            waiting = self.conn is None or self.spool.pending()
            timeout = self.flush_interval if self.batching else (_RETRY_S if waiting else None)
            try:
                item = get(timeout=timeout)
            except queue.Empty:
                item = None
            self._reconnect()
            self._deliver()
            self._commit_pg(self._take())
            if item is not None and item.stop and self.spool.rows:
                self._last_delivery()
            if item is not None and not self._control_pg(item):
                return

    def _last_delivery(self) -> None:
        """Stopping (exit, reconfiguration) with rows spooled: one last try here, so no orphan is left behind."""
        if self.conn is None and not self._connecting:
            self._reconnect(force=True)
        self._deliver()

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        self._guarded(insert, rows)

    def _guarded(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(conn, *args), cut off after write_timeout seconds (then psycopg.OperationalError)."""
        conn = self.conn
        timer = threading.Timer(self.write_timeout, _cut, (conn,))
        timer.daemon = True
        timer.start()
        try:
            return fn(conn, *args)
        finally:
            timer.cancel()

    def _deliver(self) -> None:
        if self.conn is None or not self.spool.pending():
            return
        psycopg = _driver()
        try:
            with self.spool.batches() as batches:
                for _, rows in batches:
                    if rows:
                        self._insert(rows)
                        self.delivered += len(rows)
        except psycopg.OperationalError as exc:
            self._lost(exc)

    def _lost(self, exc: BaseException) -> None:
        try:
            self.conn.close()
        except Exception:
            log.debug("closing a broken connection failed", exc_info=True)
        self.conn = None
        self._next_try = time.monotonic() + _RETRY_S
        self._down(exc)

    def _commit_pg(self, pending: list[tuple[Any, Any]]) -> None:
        if not pending:
            return
        psycopg = _driver()
        rows = [row for row, _ in pending]
        error: LedgerError | None = None
        if self.conn is not None and not self.spool.rows:  # rows already spooled go first, in order
            try:
                self._insert(rows)
                rows = []
            except psycopg.OperationalError as exc:
                self._lost(exc)
            except Exception as exc:  # a row the database refuses: the same for every retry, so not spooled
                error = LedgerError(f"cost ledger {self.where}: cannot write {len(rows)} call record(s): {exc}")
                log.error("%s", error)
                self.write_error, rows = error, []
        if rows:
            try:
                self.spool.append(rows)
                self.spooled += len(rows)
            except OSError as exc:
                error = LedgerError(f"cost ledger {self.where} is unreachable and the spool "
                                    f"{self.spool.dir} cannot be written: {exc}")
                log.error("%s", error)
                self.write_error = error
        for _, done in pending:
            if done is not None:
                try:
                    done(error)
                except Exception:
                    log.debug("ledger waiter failed", exc_info=True)

    def _control_pg(self, item: Control) -> bool:
        if item.fn is None:
            return self._control(None, item)  # type: ignore[arg-type]
        if self.conn is None:
            item.done(None, LedgerError(f"cost ledger {self.where} is unreachable; spend cannot be read"))
            return True
        psycopg = _driver()
        try:
            result = self._guarded(item.fn)
        except psycopg.OperationalError as exc:
            self._lost(exc)
            item.done(None, LedgerError(f"cost ledger {self.where} is unreachable; spend cannot be read"))
        except BaseException as exc:
            item.done(None, exc)
        else:
            item.done(result, None)
        return True

    # -- producers that go through the spool when the database is away -------------------------------------------
    def write_here(self, row: tuple[Any, ...]) -> LedgerError | None:
        """A sync call's row: through the writer (which spools if need be); its error, if any."""
        event, box = threading.Event(), [None]

        def done(error: Any) -> None:
            box[0] = error
            event.set()

        self.submit(row, done)
        event.wait(60)
        return box[0]

    def _write_now(self, row: tuple[Any, ...], done: Callable[[Any], None] | None) -> None:
        error = None
        try:  # after close(): no writer thread; one connection of its own, else the spool
            conn = connect(self.path)  # type: ignore[arg-type]
            try:
                insert(conn, [row])
            finally:
                conn.close()
        except Exception:
            try:
                self.spool.append([row])
            except OSError as exc:
                error = LedgerError(f"cost ledger {self.where}: cannot write a call record: {exc}")
        if done is not None:
            done(error)


def _cut(conn: Any) -> None:
    """Shut down a connection's socket from another thread: the blocked libpq call fails at once."""
    try:
        sock = socket.socket(fileno=os.dup(conn.fileno()))
    except (OSError, ValueError):
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()
    log.warning("a write to the cost ledger took over its write timeout; its records are spooled")


def spent(conn: Any, where: str, params: list[Any], start: float) -> Decimal:
    """A budget's spend since `start` (a UTC day boundary) from the day rollup; `where` uses %s."""
    row = conn.execute(f"SELECT COALESCE(SUM(cost), 0) FROM spend_day WHERE bucket >= %s{where}",
                       [int(start), *params]).fetchone()
    return Decimal(row[0])


_readers = threading.local()


def spend_rows(url: str, names: list[str], since: float | None, until: float | None,
               where: dict[str, Any] | None) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """spend() on PostgreSQL, from the rollups (else the rows); the caller commits its own queued records first."""
    psycopg = _driver()
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

