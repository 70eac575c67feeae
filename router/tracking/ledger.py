"""The call ledger: the process's one writer per SQLite file or PostgreSQL database, and the SQLite writer."""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
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
from router.tracking.rollup import fold_in
from router.tracking.writer import RETRY_ROWS, RETRY_S, Done, Writer, stats
from vendors.errors import LedgerError

__all__ = ["COLUMNS", "MIGRATIONS", "RETRY_ROWS", "SCHEMA_VERSION", "Ledger", "close_all", "connect", "default_path",
           "failure", "get", "is_url", "opened", "stats"]

log = logging.getLogger("farebox")


class Ledger(Writer):
    """The SQLite writer (router.tracking.writer's queue and thread); a failed commit's rows are kept and retried.

    Rows are committed by the writer thread or, for a sync call, on the caller's thread (write_here); either
    commit writes the rows kept from earlier failed ones first, so whichever succeeds next stores them.
    """

    def __init__(self, path: Path, *, batching: bool = False, batch_size: int = 500,
                 flush_interval: float = 1.0) -> None:
        super().__init__(path, batching=batching, batch_size=batch_size, flush_interval=flush_interval)
        # Rows written on callers' threads (write_here) use a second connection; this lock keeps it and the
        # writer's from meeting inside SQLite, whose busy handler would sleep in milliseconds. It also guards
        # the rows kept after a failed commit (`_retry`), which both commit.
        self._write_lock = threading.Lock()
        self._here: sqlite3.Connection | None = None

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
        get = self._queue.get
        while True:
            # Durable with rows kept from a failed commit: tried again every RETRY_S while no row comes.
            timeout = self.flush_interval if self.batching else (RETRY_S if self._retry else None)
            try:
                item = get(timeout=timeout)
            except queue.Empty:
                item = None
            self._commit(conn, self._take())
            if item is not None and not self._control(conn, item):
                with self._write_lock:
                    self._abandon()
                return

    def _commit(self, conn: sqlite3.Connection, pending: list[tuple[Any, Done | None]]) -> None:
        if not pending and not self._retry:
            return
        with self._write_lock:
            error, refused = self._write(lambda: conn, [row for row, _ in pending])
        for row, done in pending:
            if done is not None:
                try:
                    done(error if refused is None or id(row) in refused else None)
                except Exception:  # a waiter's loop may be gone; the row is written all the same
                    log.debug("ledger waiter failed", exc_info=True)

    def _write(self, conn: Callable[[], sqlite3.Connection], rows: list[tuple[Any, ...]]
               ) -> tuple[LedgerError | None, set[int] | None]:
        """Commit the kept rows, then `rows` (under _write_lock): (the error, the ids of the rows it concerns or
        None for all). A failure of the database (locked, full, read-only, I/O) keeps every row for the next
        commit; rows it refuses (a constraint, a trigger) are tried one by one and only the refused dropped."""
        kept = self._retry
        batch = kept + rows if kept else rows
        try:
            self._commit_rows(conn(), batch, fold=self.batching)
        except Exception as exc:
            if isinstance(exc, _REFUSED):
                try:
                    refused = self._one_by_one(conn(), batch)
                except Exception as again:
                    exc = again
                else:
                    error = self._failed(f"cannot write {len(refused)} of {len(batch)} call record(s)", exc)
                    self._refused(refused, len(rows))
                    if refused:
                        self.write_error = error
                    return (error, {id(r) for r in refused}) if refused else (None, None)
            error = self._failed(f"cannot write {len(batch)} call record(s) (kept to try again with the next "
                                 "commit)", exc)
            self.write_error = error
            self._keep(batch, len(rows))
            return error, None
        self._written()
        self._failing = False
        return None, None

    @staticmethod
    def _one_by_one(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Each row in a statement of its own, in one transaction (a refused statement undoes only itself); the
        rows refused. A failure that is not about a row (locked, full) raises and commits nothing."""
        refused = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                try:
                    conn.execute(insert_many(1), row)
                except _REFUSED:
                    refused.append(row)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return refused

    def _failed(self, what: str, exc: BaseException) -> LedgerError:
        error = exc if isinstance(exc, LedgerError) else failure(self.path, what, exc)
        # Logged once per run of failures: a full disk must not flood the log with one line per call.
        if not self._failing:
            log.error("%s", error)
        self._failing = True
        return error

    @staticmethod
    def _commit_rows(conn: sqlite3.Connection, rows: list[tuple[Any, ...]], fold: bool = False) -> None:
        """Insert `rows` in one transaction; `fold` (a batching writer): the spend rollups with them, so budget
        checks read them current (router/tracking/rollup.py). A durable commit leaves that to its readers: per
        call, folding costs ≈ 3× the commit itself."""
        # Few statements: the sqlite3 module lets go of the GIL around every statement, and taking it back
        # from a busy event loop thread can wait a whole switch interval (5 ms) each time. Few sizes too:
        # sqlite3 keeps every statement it compiled (up to 128), about 4 KB per row of an INSERT, so one
        # statement per batch size grew a batching writer by tens of MB; chunks of ROWS_PER_STATEMENT and then
        # powers of two need at most nine statements. One statement is a transaction of its own (autocommit).
        sizes = statement_sizes(len(rows))
        if len(sizes) == 1 and not fold:
            conn.execute(insert_many(len(rows)), list(itertools.chain.from_iterable(rows)))
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            start = 0
            for size in sizes:
                chunk = rows[start:start + size]
                start += size
                conn.execute(insert_many(size), list(itertools.chain.from_iterable(chunk)))
            if fold:
                _fold_with(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def write_here(self, row: tuple[Any, ...]) -> LedgerError | None:
        """Commit one row on the calling thread (a sync call's caller, never an event loop); the error, if any.

        A failed commit keeps the row (and those kept before it) for the next commit, on either thread."""
        if not self.ready:
            try:
                self.open()
            except LedgerError as exc:
                return exc
        with self._write_lock:
            if not self.closed:
                return self._write(self._here_connection, [row])[0]
        errors: list[Any] = [None]  # closed (exit, reconfiguration): on a connection of its own
        self._write_now(row, lambda error: errors.__setitem__(0, error))
        return errors[0]

    def _here_connection(self) -> sqlite3.Connection:
        conn = self._here
        if conn is None:
            conn = self._here = connect(self.path, migrate=False)  # the writer migrated it
        return conn

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
            self._lost_one()
        if done is not None:
            done(error)


def _fold_with(conn: sqlite3.Connection) -> None:
    """The rollups in the commit's transaction; a fold that fails (a sum past int64) never costs the rows their
    commit: it is undone alone, and readers fold those rows later."""
    conn.execute("SAVEPOINT fold")
    try:
        fold_in(conn)
    except sqlite3.Error:
        log.warning("cost ledger: the spend rollups could not be updated with a commit; readers will", exc_info=True)
        conn.execute("ROLLBACK TO fold")
    conn.execute("RELEASE fold")


# Errors about the rows themselves, the same on every retry (a constraint or trigger, a value SQLite cannot bind):
# not kept. Any other failure (locked, full, read-only, I/O, not opened) is the database's, and the rows wait.
_REFUSED = (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.ProgrammingError, sqlite3.InterfaceError,
            TypeError, ValueError, OverflowError)


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
