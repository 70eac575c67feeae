"""The ledger writer thread: rows and control items on a queue, one daemon thread per backend, answers to callers."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from vendors.errors import LedgerError

__all__ = ["RETRY_ROWS", "RETRY_S", "Control", "Done", "Writer", "settle", "stats"]

log = logging.getLogger("farebox")

Done = Callable[[BaseException | None], None]

# Rows of failed commits kept for the next one, per writer at most this many (a few MB); the oldest dropped past it.
RETRY_ROWS = 20_000
# A durable writer holding rows of a failed commit tries again this often while no new row comes.
RETRY_S = 1.0
# Process-wide, every backend: rows kept for retry now, rows in a commit that failed (once each), rows given up
# on (past RETRY_ROWS, refused by the database, or still failing at exit).
_stats = {"pending": 0, "failed": 0, "dropped": 0}


def stats() -> dict[str, int]:
    """Rows of failed ledger commits: kept for retry now (`pending`), ever `failed`, `dropped` (given up on)."""
    return dict(_stats)


class Control:
    """A queue item that is not a row: flush, stop, or a function to run on the writer's connection."""

    __slots__ = ("done", "fn", "stop")

    def __init__(self, done: Callable[[Any, BaseException | None], None], fn: Callable[..., Any] | None = None,
                 stop: bool = False) -> None:
        self.done, self.fn, self.stop = done, fn, stop


class Writer:
    """Rows go on a list; one daemon thread commits them in batches (group commit) and reports back.

    Durable: the writer is woken when the list stops being empty and commits all it finds, then calls
    each row's `done`. Batching: nobody is woken per row; the writer commits every `flush_interval`
    seconds, when `batch_size` rows wait, at `flush()` and at exit.

    Either way the rows of a commit that failed (a locked file, a full disk, a database and spool out of reach)
    are kept, at most RETRY_ROWS, and written first by the next commit (`_retry`, `_keep`, `_written`); each
    waiter is still told of the failure. Rows the database refuses (the same on every retry) are given up on.

    A backend (router.tracking.ledger's SQLite Ledger, ledger_pg's PgLedger) supplies the writer thread's
    `_open_backend`, `_serve_backend`, `_close_backend`, a `_connect` for work after close, and `_write_now`.
    """

    def __init__(self, path: Any, *, batching: bool = False, batch_size: int = 500,
                 flush_interval: float = 1.0) -> None:
        self.path = path
        self.batching, self.batch_size, self.flush_interval = batching, batch_size, flush_interval
        self.error: LedgerError | None = None   # why the backend could not be opened
        self.ready = False
        self.write_error: LedgerError | None = None  # the last failed commit, raised by the next flush()
        self.closed = False
        self._rows: list[tuple[Any, Done | None]] = []
        self._queue: queue.SimpleQueue[Control | None] = queue.SimpleQueue()  # None: rows are waiting
        self._opened = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._failing = False
        # Rows of failed commits, oldest first, written before anything newer; the backend serializes access.
        self._retry: list[tuple[Any, ...]] = []
        self._gave_up = False  # a row was given up on since flush() last reported an error

    # -- the backend's part ------------------------------------------------------------------
    def _open_backend(self) -> Any:
        """On the writer thread: open (and migrate) the backend; LedgerError when it cannot be used."""
        raise NotImplementedError

    def _serve_backend(self, handle: Any) -> None:
        """On the writer thread: commit rows and run control items until a stop item."""
        raise NotImplementedError

    def _close_backend(self, handle: Any) -> None:
        raise NotImplementedError

    def _connect(self) -> Any:
        """A connection of its own, for `run()` after close."""
        raise NotImplementedError

    def _write_now(self, row: tuple[Any, ...], done: Done | None) -> None:
        """One row after close (interpreter exit, reconfiguration), when no writer thread is left."""
        raise NotImplementedError

    def _stopped(self, exc: BaseException) -> LedgerError:
        return LedgerError(f"cost ledger {self._label()}: the writer stopped: {exc}")

    def _label(self) -> object:
        return self.path

    def _after_close(self) -> None:
        """After the writer thread stopped: release what callers' threads held."""

    # -- rows of failed commits --------------------------------------------------------------
    def _keep(self, rows: list[tuple[Any, ...]], fresh: int) -> None:
        """Hold a failed commit's `rows` (the kept ones, then `fresh` new ones) for the next, bounded; counted."""
        _stats["failed"] += fresh
        dropped = max(0, len(rows) - RETRY_ROWS)
        kept = rows[dropped:]
        _stats["pending"] += len(kept) - len(self._retry)
        first, self._retry = not self._retry, kept
        if dropped:
            _stats["dropped"] += dropped
            self._gave_up = True
            log.error("cost ledger %r: %d call record(s) dropped: more than %d wait for a commit that keeps "
                      "failing", str(self._label()), dropped, RETRY_ROWS)
        elif first:  # one line per run of failures, not one per retry
            log.warning("cost ledger %r: commit failed; %d call record(s) kept to try again with the next commit",
                        str(self._label()), len(kept))

    def _written(self) -> None:
        """A commit succeeded, the kept rows first in it."""
        if not self._retry:
            return
        log.warning("cost ledger %r: %d call record(s) kept after a failed commit are now written",
                    str(self._label()), len(self._retry))
        _stats["pending"] -= len(self._retry)
        self._retry = []
        if not self._gave_up:
            self.write_error = None  # nothing was lost after all

    def _refused(self, refused: list[tuple[Any, ...]], fresh: int) -> None:
        """The database refused a commit; its rows went in one by one but for `refused`, given up on (counted)."""
        _stats["failed"] += fresh
        _stats["pending"] -= len(self._retry)
        self._retry = []
        if refused:
            _stats["dropped"] += len(refused)
            self._gave_up = True
            log.error("cost ledger %r: %d call record(s) refused by the database (error above) and dropped",
                      str(self._label()), len(refused))

    def _abandon(self) -> None:
        """Stopping (exit) while commits still fail: say what is lost."""
        if self._retry:
            log.error("cost ledger %r: %d call record(s) could not be written before exit", str(self._label()),
                      len(self._retry))
            _stats["pending"] -= len(self._retry)
            _stats["dropped"] += len(self._retry)
            self._retry = []

    def _lost_one(self) -> None:
        """A row written after close (no writer left to retry it) failed: counted as given up on."""
        _stats["failed"] += 1
        _stats["dropped"] += 1

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread (once); it opens the backend. Rows submitted meanwhile wait for it."""
        with self._lock:
            if self._thread is None:
                name = getattr(self.path, "name", "postgresql")
                self._thread = threading.Thread(target=self._run, name=f"farebox-ledger:{name}", daemon=True)
                self._thread.start()

    def open(self, timeout: float | None = None) -> None:
        """Start the writer (once) and wait until the backend is open and migrated; LedgerError if not."""
        self.start()
        self._opened.wait(timeout)
        if self.error is not None:
            raise self.error

    async def aopen(self) -> None:
        """`open()` without blocking the event loop."""
        if not self.ready:
            await asyncio.to_thread(self.open)
        elif self.error is not None:
            raise self.error

    def _run(self) -> None:
        """The writer thread: open the backend, serve it, and answer every caller if either fails."""
        try:
            handle = self._open_backend()
        except LedgerError as exc:
            self.error = exc
            self._opened.set()
            self._fail_all(exc)
            return
        self.ready = True
        self._opened.set()
        try:
            self._serve_backend(handle)
        except BaseException as exc:  # a bug here must not leave callers waiting on a dead thread
            log.exception("the ledger writer for %s stopped", self._label())
            self.error = self._stopped(exc)
            self._fail_all(self.error)
        finally:
            self._close_backend(handle)

    def _take(self) -> list[tuple[Any, Done | None]]:
        with self._lock:
            rows, self._rows = self._rows, []
        return rows

    def _fail_all(self, exc: LedgerError) -> None:
        # A backend that never opened: everything submitted (before or after) is answered with the error.
        while True:
            item = self._queue.get()
            for _, done in self._take():
                if done is not None:
                    done(exc)
            if item is not None:
                item.done(None, exc)
                if item.stop:
                    return

    def _control(self, conn: Any, item: Control) -> bool:
        """Answer a flush (with the last write error) or run a function; False for the stop item."""
        if item.fn is None:
            error, self.write_error, self._gave_up = self.write_error, None, False
            item.done(None, error)
            return not item.stop
        try:
            result = item.fn(conn)
        except BaseException as exc:
            item.done(None, exc)
        else:
            item.done(result, None)
        return True

    # -- producers ---------------------------------------------------------------------------
    def submit(self, row: tuple[Any, ...], done: Done | None = None) -> None:
        """Queue a row (CallRecord.to_row(), COLUMNS order); `done(error or None)` runs on the writer after commit."""
        with self._lock:  # never after the stop item, where no writer would see it
            if not self.closed:
                rows = self._rows
                rows.append((row, done))
                # Durable: wake the writer when the list stops being empty (it takes all it finds).
                # Batching: only a full batch wakes it; otherwise its timer does.
                wake = len(rows) == (self.batch_size if self.batching else 1)
                if wake:
                    self._queue.put(None)
                return
        self._write_now(row, done)

    def run(self, fn: Callable[[Any], Any], done: Callable[[Any, BaseException | None], None]) -> None:
        """Run `fn(connection)` on the writer thread after every row queued before it; then `done(result, exc)`."""
        with self._lock:
            if not self.closed:
                self._queue.put(Control(done, fn))
                return
        try:  # closed (exit, reconfiguration): on a connection of its own
            conn = self._connect()
            try:
                result = fn(conn)
            finally:
                conn.close()
        except BaseException as exc:
            done(None, exc)
        else:
            done(result, None)

    def flush(self, timeout: float | None = 30.0) -> None:
        """Commit everything queued so far; raises the last write error (LedgerError) if a commit failed."""
        if self._thread is None or self.closed:
            return  # close() committed what was queued
        event = threading.Event()
        box: list[BaseException | None] = [None]

        def done(_: Any, error: BaseException | None) -> None:
            box[0] = error
            event.set()

        self._queue.put(Control(done))
        if not event.wait(timeout):
            raise LedgerError(f"cost ledger {str(self._label())!r}: flush did not finish within {timeout:g}s")
        if box[0] is not None:
            raise box[0]

    async def aflush(self) -> None:
        """`flush()` from a coroutine, without blocking the event loop."""
        if self._thread is None or self.closed:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def done(_: Any, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(settle, future, error)

        self._queue.put(Control(done))
        await future

    def flush_quietly(self) -> None:
        """`flush()`, logging instead of raising (reconfiguration, exit)."""
        try:
            self.flush()
        except LedgerError as exc:
            log.error("%s", exc)

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is pending and stop the writer."""
        stopped = threading.Event()
        with self._lock:
            thread = self._thread
            if self.closed:
                return
            self.closed = True
            running = thread is not None and thread.is_alive()
            if running:
                self._queue.put(Control(lambda *_: stopped.set(), stop=True))
        if running:
            stopped.wait(timeout)
            thread.join(timeout)  # type: ignore[union-attr]
        self._after_close()


def settle(future: asyncio.Future[Any], error: BaseException | None, result: Any = None) -> None:
    """Resolve `future` with `error` or `result`, unless it is already done (cancelled)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
