"""The call ledger on PostgreSQL: the writer thread (router.tracking.writer) committing to a database shared by hosts.

The SQL is in ledger_pg_sql.py. When the database cannot be reached, rows go to the local spool
(router/tracking/spool.py) and are delivered, once, when it answers again; a write that hangs is cut off.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from router.tracking.ledger_pg_sql import MIGRATIONS, SCHEMA_VERSION, connect, driver, insert, redact
from router.tracking.spool import Spool
from router.tracking.writer import Control, Writer
from vendors.errors import LedgerError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PgLedger", "connect", "redact"]

log = logging.getLogger("farebox")
_RETRY_S = 1.0  # while the database is away, a reconnect is tried at most this often


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
        self._spool_failing = False
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
        psycopg = driver()
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
            waiting = self.conn is None or self.spool.pending() or self._retry
            timeout = self.flush_interval if self.batching else (_RETRY_S if waiting else None)
            try:
                item = get(timeout=timeout)
            except queue.Empty:
                item = None
            self._reconnect()
            self._deliver()
            self._commit_pg(self._take())
            if item is not None and item.stop and (self.spool.rows or self._retry):
                self._last_delivery()
            if item is not None and not self._control_pg(item):
                self._abandon()
                return

    def _last_delivery(self) -> None:
        """Stopping (exit, reconfiguration) with rows spooled: one last try here, so no orphan is left behind."""
        if self.conn is None and not self._connecting:
            self._reconnect(force=True)
        self._deliver()
        self._commit_pg([])

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
        psycopg = driver()
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
        """Insert the kept rows, then the new ones; unreachable: to the spool; spool unwritable too: kept (bounded)
        for the next commit. Rows the database refuses are tried one by one and only the refused dropped."""
        if not pending and not self._retry:
            return
        psycopg = driver()
        fresh = [row for row, _ in pending]
        rows = self._retry + fresh if self._retry else fresh
        error: LedgerError | None = None
        refused: set[int] | None = None
        if self.conn is not None and not self.spool.rows:  # rows already spooled go first, in order
            try:
                self._insert(rows)
                rows = []
            except psycopg.OperationalError as exc:
                self._lost(exc)
            except Exception as exc:  # a row the database refuses: the same for every retry, so not spooled
                rows, bad = self._one_by_one(rows)
                self._refused(bad, len(fresh))
                fresh = []  # counted
                if bad:
                    error = LedgerError(f"cost ledger {self.where}: the database refused {len(bad)} call "
                                        f"record(s): {exc}")
                    log.error("%s", error)
                    self.write_error, refused = error, {id(r) for r in bad}
        if rows:
            try:
                self.spool.append(rows)
                self.spooled += len(rows)
            except OSError as exc:
                error = LedgerError(f"cost ledger {self.where} is unreachable and the spool {self.spool.dir} cannot "
                                    f"be written: {exc}; {len(rows)} call record(s) kept to try again")
                if not self._spool_failing:  # once per run of failures
                    log.error("%s", error)
                self._spool_failing = True
                self.write_error, refused = error, None
                self._keep(rows, len(fresh))
                rows = []
            else:
                self._spool_failing = False
                self._written()
        else:
            self._written()
        for row, done in pending:
            if done is not None:
                try:
                    done(error if refused is None or id(row) in refused else None)
                except Exception:
                    log.debug("ledger waiter failed", exc_info=True)

    def _one_by_one(self, rows: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """After a refused batch, each row in a transaction of its own: (rows left when the connection was lost,
        for the spool; the rows refused)."""
        psycopg = driver()
        refused = []
        for i, row in enumerate(rows):
            try:
                self._insert([row])
            except psycopg.OperationalError as exc:
                self._lost(exc)
                return rows[i:], refused
            except Exception:
                refused.append(row)
        return [], refused

    def _control_pg(self, item: Control) -> bool:
        if item.fn is None:
            return self._control(None, item)  # type: ignore[arg-type]
        if self.conn is None:
            item.done(None, LedgerError(f"cost ledger {self.where} is unreachable; spend cannot be read"))
            return True
        psycopg = driver()
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
                log.error("%s", error)
                self._lost_one()
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
