"""The emit path: a Trace follows one user-level call; the Tracker sends its CallRecord on to listeners and ledger."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from router.tracking.handoff import handoff
from router.tracking.record import CallRecord, Listener, Mode
from router.tracking.writer import settle
from vendors.errors import LedgerError

__all__ = ["Trace", "Tracker"]

log = logging.getLogger("farebox")


class Trace:
    """One user-level call in progress: filled in by the API/Router/stream, turned into one CallRecord."""

    __slots__ = ("alias", "attempts", "call", "deployment", "done", "listeners", "metadata", "model",
                 "reservations", "started", "stream", "tracker", "tries", "ttft")

    def __init__(self, tracker: Tracker, model: str, metadata: Mapping[str, Any] | None, stream: bool,
                 alias: str | None = None, listeners: tuple[Listener, ...] = ()) -> None:
        self.tracker, self.model, self.metadata, self.stream = tracker, model, metadata, stream
        self.alias, self.listeners = alias, listeners
        self.started = time.perf_counter()
        self.call: Any = None           # the router.call.Call that answered or ran last
        self.attempts: list[Any] | None = None  # the Router's shared attempt list; else call.attempts
        self.deployment: str | None = None
        self.tries = 0
        self.ttft: float | None = None
        self.reservations: list[Any] = []  # budget claims (router.tracking.budgets.Reservation), released after commit
        self.done = False

    async def admit(self, estimate: Callable[[], Decimal], extra: Any = None) -> None:
        """Before any request: the ledger opens (strict: LedgerError) and budgets reserve (BudgetExceededError).

        `extra`: a Router's own budgets (router.tracking.budgets.Budgets), checked after the process-wide ones.
        """
        tracker = self.tracker
        ledger = tracker.ledger
        if ledger is not None and not ledger.ready:
            try:
                await ledger.aopen()
            except LedgerError as exc:
                if tracker.mode == "strict":
                    raise
                tracker.degrade(exc)
        groups = [b for b in (tracker.budgets, extra) if b]
        if groups:
            target = self.call.target if self.call is not None else None
            expected = estimate()
            for budgets in groups:
                reservation = await budgets.reserve(
                    tracker.ledger, self.alias, self.metadata, expected,
                    vendor=target.vendor if target else None, model=target.model if target else self.model)
                if reservation is not None:
                    self.reservations.append(reservation)

    def _record(self, status: str, resp: Any = None, exc: BaseException | None = None) -> CallRecord:
        call = self.call
        target = call.target if call is not None else None
        attempts = self.attempts if self.attempts is not None else (call.attempts if call is not None else [])
        last = attempts[-1] if attempts else None
        if resp is None and exc is not None:
            resp = getattr(exc, "partial", None)  # a stream cut after chunks: what was received
        cost = resp.cost if resp is not None else (last.cost if last is not None else None)
        usage = resp.usage if resp is not None else None
        code = getattr(exc, "vendor_code", None)
        if code is None and last is not None and exc is not None:
            code = last.vendor_code
        effort = call.effort if call is not None else None
        rec = CallRecord(
            ts=time.time(), vendor=target.vendor if target else (getattr(exc, "vendor", None) or ""),
            model=target.model if target else self.model, status=status, alias=self.alias,
            deployment=self.deployment, error=type(exc).__name__ if exc is not None else None,
            vendor_code=None if code is None else str(code), http_status=last.status if last is not None else None,
            stream=self.stream, attempts=len(attempts), fallbacks=max(self.tries - 1, 0), cost=cost,
            latency_s=time.perf_counter() - self.started, ttft_s=self.ttft,
            effort=effort.level if effort is not None else None,
            response_id=(resp.id or None) if resp is not None else None,
            tags=_tags(self.metadata))
        if usage is not None:
            rec.prompt_tokens, rec.completion_tokens = usage.prompt_tokens, usage.completion_tokens
            rec.cached_tokens, rec.cache_write_tokens = usage.cached_tokens, usage.cache_write_tokens
            rec.reasoning_tokens, rec.estimated = usage.reasoning_tokens, usage.estimated
            rec.cache_write_1h_tokens = getattr(usage, "cache_write_1h_tokens", 0)
            # Tokens were used and no price priced them: unknown, never $0 (a free model has a Cost of 0).
            rec.priced = cost is not None or not (usage.prompt_tokens or usage.completion_tokens)
        if call is not None:
            rec.sent_at = getattr(call.req, "sent_at", None)
        if cost is not None:
            rec.estimated = rec.estimated or cost.estimated
        return rec

    def ok(self, resp: Any) -> asyncio.Future[None] | None:
        """The call answered: emit; a future to await when the record must be durable first."""
        return self._emit("ok", resp)

    def ok_soon(self, resp: Any, sink: Callable[[asyncio.Future[None]], None]) -> None:
        """The call answered, for a server that answers first: the record is built and emitted on the loop's
        next turn, after the answer went out (one turn later, seen by whatever the loop runs next); the trace
        counts as done at once, so nothing else records this call. The commit's future goes to `sink`."""
        if self.done:
            return
        self.done = True

        def emit() -> None:
            self.done = False
            future = self._emit("ok", resp)
            if future is not None:
                sink(future)

        asyncio.get_running_loop().call_soon(emit)

    def failed(self, exc: BaseException) -> asyncio.Future[None] | None:
        status = "cancelled" if isinstance(exc, asyncio.CancelledError | GeneratorExit) else "error"
        return self._emit(status, None, exc, wait=status == "error")

    def cancelled(self, partial: Any = None, *, wait: bool = True) -> asyncio.Future[None] | None:
        return self._emit("cancelled", partial, wait=wait)

    def _emit(self, status: str, resp: Any = None, exc: BaseException | None = None, *,
              wait: bool = True) -> asyncio.Future[None] | None:
        if self.done:
            return None
        try:
            record = self._record(status, resp, exc)
        except Exception:  # a record that cannot be built must not cost the caller its answer
            log.exception("no call record for this %s call; the call is not affected", self.model)
            self.done = True
            _release(self.reservations)
            return None
        return self.tracker.emit(self, record, wait=wait)


def _tags(metadata: Any) -> dict[str, Any]:
    if not metadata:
        return {}
    return dict(metadata) if isinstance(metadata, Mapping) else {"metadata": metadata}


class Tracker:
    """The process's tracking settings: mode, ledger, listeners, budgets."""

    def __init__(self, mode: Mode = "strict", ledger: Any = None, *, batching: bool = False,
                 budgets: Any = None, listeners: list[Listener] | None = None) -> None:
        self.mode, self.ledger, self.batching, self.budgets = mode, ledger, batching, budgets
        self.listeners = listeners if listeners is not None else []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._degraded = False

    def begin(self, model: str, metadata: Mapping[str, Any] | None, stream: bool, alias: str | None = None,
              listeners: tuple[Listener, ...] = ()) -> Trace:
        trace = Trace(self, model, metadata, stream, alias, listeners)
        box = handoff()
        if box is not None and box.trace is None and not stream:
            box.trace = trace  # a sync call: its record is committed on the caller's thread (Handoff)
        return trace

    @property
    def gated(self) -> bool:
        """Whether a call must `await trace.admit()` (ledger not open yet, or budgets to check)."""
        return bool(self.budgets) or (self.ledger is not None and not self.ledger.ready)

    def degrade(self, exc: LedgerError) -> None:
        """best-effort: the ledger is unusable; calls go on, records reach listeners only. Logged once."""
        if not self._degraded:
            self._degraded = True
            log.warning("%s; tracking continues without the ledger (tracking='best-effort')", exc)
        self.ledger = None

    def emit(self, trace: Trace, record: CallRecord, *, wait: bool = True) -> asyncio.Future[None] | None:
        if trace.done:
            return None
        trace.done = True
        if trace.call is not None:  # call.trace <-> trace.call: a cycle the GC would otherwise have to find
            trace.call.trace = trace.call = None
        for listener in (*self.listeners, *trace.listeners):
            self._notify(listener, record)
        reservations = trace.reservations
        for reservation in reservations:
            reservation.owner.settle(reservation, record.cost_total or Decimal(0))
        ledger = self.ledger
        if ledger is None or ledger.error is not None:
            _release(reservations)
            return None
        if ledger.error is None and not ledger.ready:
            ledger.start()  # a call rejected before admit(): its record still goes in
        try:
            # Built here, not on the writer: a writer thread busy with Python code contends for the GIL with
            # this loop, which costs more than building the row (measured with bench --tracking).
            row = record.to_row()
        except Exception:
            log.exception("call record %s cannot be stored; the call is not affected", record.record_id)
            _release(reservations)
            return None
        strict = self.mode == "strict"
        wait = wait and not self.batching
        if wait:
            box = handoff()
            if box is not None and box.trace is trace:
                if box.take(ledger, row, lambda _: _release(reservations), strict):
                    return None  # the sync caller's thread commits it (Handoff)
                wait = False  # that thread stopped waiting (interrupted): the writer stores the row
        future: asyncio.Future[None] | None = None
        wakeups: _Wakeups | None = None
        if wait:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                future = loop.create_future()
                wakeups = _wakeups_for(loop)

        def done(error: BaseException | None) -> None:
            _release(reservations)
            if future is not None and wakeups is not None:
                wakeups.add(future, error if strict else None)

        ledger.submit(row, done if (future is not None or reservations) else None)
        return future

    def _notify(self, listener: Listener, record: CallRecord) -> None:
        try:
            result = listener(record)
            if inspect.isawaitable(result):
                task = asyncio.get_running_loop().create_task(_guarded(listener, result))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except Exception:
            log.exception("call-record listener %r failed; the call is not affected", listener)


def _release(reservations: list[Any]) -> None:
    """The call's record is committed (or will never be): its budget claims end."""
    for reservation in reservations:
        reservation.owner.release(reservation)


class _Wakeups:
    """Commits reported to one event loop: one call_soon_threadsafe per batch of rows, not one per row."""

    __slots__ = ("items", "lock", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # A weak reference: this object is the value of a WeakKeyDictionary keyed by the same loop.
        self.loop, self.items, self.lock = weakref.ref(loop), [], threading.Lock()

    def add(self, future: asyncio.Future[None], error: BaseException | None) -> None:
        with self.lock:
            self.items.append((future, error))
            if len(self.items) > 1:
                return  # a drain is already scheduled and will take this one too
        loop = self.loop()
        try:
            if loop is None:
                raise RuntimeError("the loop is gone")
            loop.call_soon_threadsafe(self.drain)
        except RuntimeError:  # the loop is closed: nobody waits any more
            with self.lock:
                self.items.clear()

    def drain(self) -> None:
        with self.lock:
            items, self.items = self.items, []
        for future, error in items:
            settle(future, error)


_wakeups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Wakeups] = weakref.WeakKeyDictionary()


def _wakeups_for(loop: asyncio.AbstractEventLoop) -> _Wakeups:
    found = _wakeups.get(loop)
    if found is None:
        found = _wakeups.setdefault(loop, _Wakeups(loop))
    return found


async def _guarded(listener: Listener, awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("call-record listener %r failed; the call is not affected", listener)
