"""Settling a call's record: awaiting its commit, and the sync API's hand-off of a durable row to its own thread."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from vendors.errors import LedgerError

__all__ = ["Handoff", "answered", "claim", "defer_commits", "handoff", "settle", "traced"]

_deferred: contextvars.ContextVar[Callable[[asyncio.Future[None]], None] | None] = contextvars.ContextVar(
    "farebox_deferred_commits", default=None)


def defer_commits(sink: Callable[[asyncio.Future[None]], None]) -> None:
    """This task's calls return without waiting for their records' commits; each commit's future goes to `sink`.

    For a server that answers first (router/gateway): the writer still commits each row at once, the answer
    just does not wait for it. `sink` owns the future: it must retrieve its result (a LedgerError in strict mode).
    """
    _deferred.set(sink)


def answered(trace: Any, resp: Any) -> asyncio.Future[None] | None:
    """`trace.ok(resp)`; under defer_commits (a server that answers first) its record is emitted one loop turn
    later instead, after the answer went out: building it, the listeners and the metrics are off the reply's path."""
    sink = _deferred.get()
    if sink is not None:
        trace.ok_soon(resp, sink)
        return None
    return trace.ok(resp)


async def settle(future: asyncio.Future[None] | None, *, quiet: bool = False) -> None:
    """Wait for a record's commit; `quiet` (a call that is failing anyway): the call's own error wins."""
    if future is None:
        return
    sink = _deferred.get()
    if sink is not None:
        sink(future)
        return
    try:
        await future
    except LedgerError:
        if not quiet:
            raise



async def traced(trace: Any, stream: bool, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run `work()` under `trace`: a failure settles it as failed and re-raises; a plain result settles as ok.

    A stream settles itself when it ends, so only its opening is covered here.
    """
    try:
        result = await work()
    except BaseException as exc:
        await settle(trace.failed(exc), quiet=True)
        raise
    if not stream:
        try:
            await settle(answered(trace, result))
        except LedgerError as exc:
            exc.response = result  # strict: the record is not stored, but the answer (and its cost) is not lost
            raise
    return result


class Handoff:
    """A sync call's durable record, committed on the caller's thread instead of awaited on the loop.

    The caller's thread waits for the answer anyway, so writing the row there spares the call a round
    trip to the writer thread and back (two thread wake-ups). Only the trace that claimed it hands off.
    """

    __slots__ = ("done", "ledger", "lock", "over", "row", "strict", "trace")

    def __init__(self) -> None:
        self.trace: Any = None
        self.ledger: Any = None
        self.row: tuple[Any, ...] | None = None
        self.done: Callable[[BaseException | None], None] | None = None
        self.strict = False
        self.over = False
        self.lock = threading.Lock()

    def take(self, ledger: Any, row: tuple[Any, ...], done: Callable[[BaseException | None], None],
             strict: bool) -> bool:
        """On the loop: keep the row for the caller's thread; False when that thread no longer waits."""
        with self.lock:
            if self.over:
                return False
            self.ledger, self.row, self.done, self.strict = ledger, row, done, strict
            return True

    def commit(self, result: Any = None, *, quiet: bool = False) -> None:
        """On the caller's thread, after the call: write the row; strict and not quiet: LedgerError on failure."""
        with self.lock:
            self.over = True
            row, ledger, done = self.row, self.ledger, self.done
            self.row = self.done = None
        if row is None:
            return
        error = ledger.write_here(row)
        if done is not None:
            done(error)
        if error is not None and self.strict and not quiet:
            error.response = result
            raise error


_handoff: contextvars.ContextVar[Handoff | None] = contextvars.ContextVar("farebox_handoff", default=None)


def handoff() -> Handoff | None:
    return _handoff.get()


def claim(box: Handoff) -> None:
    """Make `box` this task's hand-off (set in the task's own context: nested calls start claimed-out)."""
    _handoff.set(box)
