"""The call ledger: the process's one writer per SQLite file or PostgreSQL database, and the SQLite writer."""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from router.tracking.ledger_file import (
    COLUMNS,
    MIGRATIONS,
    ROWS_PER_STATEMENT,
    SCHEMA_VERSION,
    connect,
    default_path,
    failure,
    insert_many,
)
from router.tracking.ledger_pg import PgLedger
from router.tracking.writer import Done, Writer
from vendors.errors import LedgerError

__all__ = ["COLUMNS", "MIGRATIONS", "SCHEMA_VERSION", "Ledger", "close_all", "connect", "default_path", "failure",
           "get", "is_url", "opened", "stats"]

log = logging.getLogger("farebox")


class Ledger(Writer):
    """The SQLite writer (router.tracking.writer's queue and thread); failed batches are kept and retried."""

    def __init__(self, path: Path, *, batching: bool = False, batch_size: int = 500,
                 flush_interval: float = 1.0) -> None:
        super().__init__(path, batching=batching, batch_size=batch_size, flush_interval=flush_interval)
        # Rows written on callers' threads (write_here) use a second connection; this lock keeps it and the
        # writer's from meeting inside SQLite, whose busy handler would sleep in milliseconds.
        self._write_lock = threading.Lock()
        self._here: sqlite3.Connection | None = None
        # Batching: rows of a failed commit (a full disk, a read-only directory), tried again with the next
        # commit; at most RETRY_ROWS, the oldest dropped past that. Only the writer thread touches it.
        self._retry: list[tuple[Any, ...]] = []

    def _open_backend(self) -> sqlite3.Connection:
        return connect(self.path)

    def _close_backend(self, conn: sqlite3.Connection) -> None:
        conn.close()

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path)

    def _stopped(self, exc: BaseException) -> LedgerError:
        return failure(self.path, "the writer stopped", exc)

    def _after_close(self) -> None:
        with self._write_lock:  # write_here sees `closed` under this lock, so nobody is using it
            here, self._here = self._here, None
        if here is not None:
            here.close()

    def _serve_backend(self, conn: sqlite3.Connection) -> None:
        get, timeout = self._queue.get, (self.flush_interval if self.batching else None)
        while True:
            try:
                item = get(timeout=timeout)
            except queue.Empty:
                item = None
            self._commit(conn, self._take())
            if item is not None and not self._control(conn, item):
                if self._retry:  # stopping (exit) while commits still fail: say what is lost
                    log.error("cost ledger %r: %d call record(s) could not be written before exit",
                              str(self.path), len(self._retry))
                    _stats["pending"] -= len(self._retry)
                    _stats["dropped"] += len(self._retry)
                    self._retry = []
                return

    def _commit(self, conn: sqlite3.Connection, pending: list[tuple[Any, Done | None]]) -> None:
        retry = self._retry
        if not pending and not retry:
            return
        rows = [row for row, _ in pending]
        if retry:
            rows = retry + rows  # oldest first, as they were submitted
        error: LedgerError | None = None
        try:
            with self._write_lock:
                self._commit_rows(conn, rows)
        except Exception as exc:
            error = self._failed(len(rows), exc)
            self.write_error = error
            if self.batching:
                self._keep(rows)
        else:
            if retry:
                log.warning("cost ledger %r: %d call record(s) kept after a failed commit are now written",
                            str(self.path), len(retry))
                self.write_error = None  # nothing was lost after all
                self._retry = []
                _stats["pending"] -= len(retry)
            self._failing = False
        for _, done in pending:
            if done is not None:
                try:
                    done(error)
                except Exception:  # a waiter's loop may be gone; the row is written all the same
                    log.debug("ledger waiter failed", exc_info=True)

    def _keep(self, rows: list[tuple[Any, ...]]) -> None:
        """Hold a failed batch for the next commit, bounded; counted in router.tracking.metrics."""
        _stats["failed"] += len(rows) - len(self._retry)  # rows failing for the first time
        dropped = max(0, len(rows) - RETRY_ROWS)
        kept = rows[dropped:]
        _stats["pending"] += len(kept) - len(self._retry)
        first, self._retry = not self._retry, kept
        if dropped:
            _stats["dropped"] += dropped
            log.error("cost ledger %r: %d call record(s) dropped: more than %d wait for a commit that keeps "
                      "failing", str(self.path), dropped, RETRY_ROWS)
        elif first:  # one line per run of failures, not one per retry
            log.warning("cost ledger %r: commit failed; %d call record(s) kept to try again with the next commit",
                        str(self.path), len(kept))

    def _failed(self, rows: int, exc: BaseException) -> LedgerError:
        error = failure(self.path, f"cannot write {rows} call record(s)", exc)
        # Logged once per run of failures: a full disk must not flood the log with one line per call.
        if not self._failing:
            log.error("%s", error)
        self._failing = True
        return error

    @staticmethod
    def _commit_rows(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        # Few statements: the sqlite3 module lets go of the GIL around every statement, and taking it back
        # from a busy event loop thread can wait a whole switch interval (5 ms) each time. Few sizes too:
        # sqlite3 keeps every statement it compiled (up to 128), about 4 KB per row of an INSERT, so one
        # statement per batch size grew a batching writer by tens of MB; chunks of ROWS_PER_STATEMENT and then
        # powers of two need at most nine statements. One statement is a transaction of its own (autocommit).
        sizes = statement_sizes(len(rows))
        if len(sizes) == 1:
            conn.execute(insert_many(len(rows)), list(itertools.chain.from_iterable(rows)))
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            start = 0
            for size in sizes:
                chunk = rows[start:start + size]
                start += size
                conn.execute(insert_many(size), list(itertools.chain.from_iterable(chunk)))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def write_here(self, row: tuple[Any, ...]) -> LedgerError | None:
        """Commit one row on the calling thread (a sync call's caller, never an event loop); the error, if any."""
        if not self.ready:
            try:
                self.open()
            except LedgerError as exc:
                return exc
        with self._write_lock:
            if not self.closed:
                try:
                    conn = self._here
                    if conn is None:
                        conn = self._here = connect(self.path, migrate=False)  # the writer migrated it
                    self._commit_rows(conn, [row])
                except Exception as exc:
                    return exc if isinstance(exc, LedgerError) else self._failed(1, exc)
                self._failing = False
                return None
        errors: list[Any] = [None]  # closed (exit, reconfiguration): on a connection of its own
        self._write_now(row, lambda error: errors.__setitem__(0, error))
        return errors[0]

    def _write_now(self, row: tuple[Any, ...], done: Done | None) -> None:
        # After close() (interpreter exit): no writer thread any more, so this one row is written inline.
        error: LedgerError | None = None
        try:
            conn = connect(self.path)
            try:
                self._commit_rows(conn, [row])
            finally:
                conn.close()
        except Exception as exc:
            error = exc if isinstance(exc, LedgerError) else failure(self.path, "cannot write a call record", exc)
            log.error("%s", error)
        if done is not None:
            done(error)


# Batching rows kept after a failed commit, per Ledger at most this many (a few MB).
RETRY_ROWS = 20_000
# Process-wide: rows waiting to be retried, rows whose commit failed (once each), rows dropped past RETRY_ROWS.
_stats = {"pending": 0, "failed": 0, "dropped": 0}


def stats() -> dict[str, int]:
    """Batching rows of failed commits: kept for retry now (`pending`), ever `failed`, `dropped` over the bound."""
    return dict(_stats)


_ledgers: dict[Path, Writer] = {}
_ledgers_lock = threading.Lock()


def is_url(where: Any) -> bool:
    """Whether a ledger location is a PostgreSQL URL (else it is an SQLite file)."""
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


def get(path: str | os.PathLike[str] | None = None, **options: Any) -> Any:
    """The process's Ledger for `path` (default_path() when None; a postgresql:// URL: a PgLedger): one writer
    thread per file or database."""
    if is_url(path):
        with _ledgers_lock:
            found = _ledgers.get(path)  # type: ignore[call-overload]
            if found is not None and (found.error is not None or (options and _differs(found, options))):
                found.close()
                found = None
            if found is None:
                found = _ledgers[path] = PgLedger(path, **options)  # type: ignore[index]
            return found
    resolved = Path(path).expanduser() if path is not None else default_path()
    resolved = resolved.absolute()
    with _ledgers_lock:
        ledger = _ledgers.get(resolved)
        if ledger is not None and (ledger.error is not None or (options and _differs(ledger, options))):
            ledger.close()
            ledger = None
        if ledger is None:
            ledger = _ledgers[resolved] = Ledger(resolved, **options)
        return ledger


def _differs(ledger: Writer, options: dict[str, Any]) -> bool:
    return any(getattr(ledger, key) != value for key, value in options.items())


def close_all(ledgers: Iterable[Writer] | None = None) -> None:
    """Commit and stop every writer (at exit, and when tests reconfigure)."""
    with _ledgers_lock:
        targets = list(ledgers) if ledgers is not None else list(_ledgers.values())
        for ledger in targets:
            _ledgers.pop(ledger.path, None)
    for ledger in targets:
        try:
            ledger.close()
        except Exception:
            log.debug("closing the ledger failed", exc_info=True)


def opened(where: Path | str) -> Writer | None:
    """This process's writer for an SQLite file or a PostgreSQL URL, if one is running."""
    with _ledgers_lock:
        ledger = _ledgers.get(where)  # type: ignore[call-overload]
    return ledger if ledger is not None and ledger.ready and not ledger.closed else None


_orphans: list[Writer] = []


def _after_fork() -> None:
    # The writer threads did not survive the fork: the child starts its own on first use. The parent's
    # Ledger objects are kept, never closed here: SQLite forbids using a connection across fork().
    global _ledgers_lock
    _orphans.extend(_ledgers.values())
    _ledgers.clear()
    _ledgers_lock = threading.Lock()  # a lock held by another thread at fork stays held


# Registered when router.api is imported, before the background loop's own exit hook: atexit runs hooks
# in reverse, so the loop unwinds first (streams left open record themselves) and the writers commit after.
atexit.register(close_all)
os.register_at_fork(after_in_child=_after_fork)


def statement_sizes(rows: int) -> list[int]:
    """How many rows each INSERT of a commit takes: ROWS_PER_STATEMENT at a time, the rest in powers of two."""
    sizes = [ROWS_PER_STATEMENT] * (rows // ROWS_PER_STATEMENT)
    rest = rows % ROWS_PER_STATEMENT
    bit = 1 << rest.bit_length()
    while bit:
        if rest & bit:
            sizes.append(bit)
        bit >>= 1
    return sizes
