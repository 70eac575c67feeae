"""Call tracking: one CallRecord per user-level call, to listeners, budgets and the SQLite ledger."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from router import ledger as ledger_mod
from vendors.errors import ConfigError, LedgerError

__all__ = ["CallRecord", "Trace", "Tracker", "active", "add_listener", "aflush", "configure", "flush",
           "ledger_path", "remove_listener", "reset"]

log = logging.getLogger("farebox")

Mode = Literal["strict", "best-effort", "off"]
Listener = Callable[["CallRecord"], Any]
_MODES = ("strict", "best-effort", "off")
_ZERO = Decimal(0)
_PARTS = ("input", "cache_read", "cache_write", "output", "reasoning", "total")

# Record ids: a per-process random prefix and a counter — unique across processes, cheap on the hot path.
_prefix = uuid.uuid4().hex[:16]
_counter = itertools.count()


def _next_id() -> str:
    return f"{_prefix}-{next(_counter):x}"


@dataclass(slots=True)
class CallRecord:
    """What one user-level call did and cost. `status` is "ok", "error" or "cancelled" (a stream closed early)."""

    ts: float                       # Unix time (UTC) when the call ended
    vendor: str
    model: str                      # the vendor's model id as sent
    status: str
    alias: str | None = None        # the Router alias, None for a direct call
    deployment: str | None = None   # the Router deployment that answered (or failed last)
    error: str | None = None        # error class name
    vendor_code: str | None = None
    http_status: int | None = None
    stream: bool = False
    attempts: int = 0               # requests tried (0: rejected before any request)
    fallbacks: int = 0              # deployments tried beyond the first
    prompt_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Any = None                # pricing.Cost; None when unpriced or nothing was billed
    estimated: bool = False
    latency_s: float = 0.0
    ttft_s: float | None = None     # streams: time to the first chunk
    effort: str | None = None       # the reasoning level sent
    response_id: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)   # the caller's `metadata`
    record_id: str = field(default_factory=_next_id)
    pid: int = field(default_factory=os.getpid)

    @property
    def cost_total(self) -> Decimal:
        return self.cost.total if self.cost is not None else _ZERO

    @property
    def billing(self) -> str | None:
        return self.cost.billing if self.cost is not None else None

    def to_row(self) -> tuple[Any, ...]:
        """The ledger row (router.ledger.COLUMNS order); money as exact Decimal text."""
        cost = self.cost
        if cost is None:
            parts: list[str | None] = [None] * 6
            pico, exact = 0, 1
        else:
            parts = [format(getattr(cost, p), "f") for p in _PARTS]
            scaled = cost.total.scaleb(12)
            whole = scaled.to_integral_value()
            pico, exact = int(whole), int(whole == scaled)
        tags = json.dumps(self.tags, ensure_ascii=False, default=str, separators=(",", ":")) if self.tags else None
        return (self.record_id, self.ts, self.vendor, self.model, self.alias, self.deployment, self.status,
                self.error, self.vendor_code, self.http_status, int(self.stream), self.attempts, self.fallbacks,
                self.prompt_tokens, self.cached_tokens, self.cache_write_tokens, self.completion_tokens,
                self.reasoning_tokens, *parts, pico, exact, int(self.estimated), self.billing, self.latency_s,
                self.ttft_s, self.effort, self.response_id, tags, self.pid)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (the Cost as a dict of Decimals), e.g. for a JSON log listener."""
        data = asdict(self)
        data["cost"] = self.cost.model_dump() if self.cost is not None else None
        return data


class Trace:
    """One user-level call in progress: filled in by the API/Router/stream, turned into one CallRecord."""

    __slots__ = ("alias", "attempts", "call", "deployment", "done", "listeners", "metadata", "model",
                 "reservation", "started", "stream", "tracker", "tries", "ttft")

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
        self.reservation: Any = None
        self.done = False

    async def admit(self, estimate: Callable[[], Decimal]) -> None:
        """Before any request: the ledger opens (strict: LedgerError) and budgets reserve (BudgetExceededError)."""
        tracker = self.tracker
        ledger = tracker.ledger
        if ledger is not None and not ledger.ready:
            try:
                await ledger.aopen()
            except LedgerError as exc:
                if tracker.mode == "strict":
                    raise
                tracker.degrade(exc)
        budgets = tracker.budgets
        if budgets:
            target = self.call.target if self.call is not None else None
            self.reservation = await budgets.reserve(
                tracker.ledger, self.alias, self.metadata, estimate(),
                vendor=target.vendor if target else None, model=target.model if target else self.model)

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
            tags=dict(self.metadata) if self.metadata else {})
        if usage is not None:
            rec.prompt_tokens, rec.completion_tokens = usage.prompt_tokens, usage.completion_tokens
            rec.cached_tokens, rec.cache_write_tokens = usage.cached_tokens, usage.cache_write_tokens
            rec.reasoning_tokens, rec.estimated = usage.reasoning_tokens, usage.estimated
        if cost is not None:
            rec.estimated = rec.estimated or cost.estimated
        return rec

    def ok(self, resp: Any) -> asyncio.Future[None] | None:
        """The call answered: emit; a future to await when the record must be durable first."""
        return self.tracker.emit(self, self._record("ok", resp))

    def failed(self, exc: BaseException) -> asyncio.Future[None] | None:
        status = "cancelled" if isinstance(exc, asyncio.CancelledError | GeneratorExit) else "error"
        return self.tracker.emit(self, self._record(status, None, exc), wait=status == "error")

    def cancelled(self, partial: Any = None, *, wait: bool = True) -> asyncio.Future[None] | None:
        return self.tracker.emit(self, self._record("cancelled", partial), wait=wait)


async def settle(future: asyncio.Future[None] | None, *, quiet: bool = False) -> None:
    """Wait for a record's commit; `quiet` (a call that is failing anyway): the call's own error wins."""
    if future is None:
        return
    try:
        await future
    except LedgerError:
        if not quiet:
            raise


class Tracker:
    """The process's tracking settings: mode, ledger, listeners, budgets."""

    def __init__(self, mode: Mode = "strict", ledger: Any = None, *, batching: bool = False,
                 budgets: Any = None) -> None:
        self.mode, self.ledger, self.batching, self.budgets = mode, ledger, batching, budgets
        self.listeners = _listeners  # process-wide: they outlive reconfiguration
        self._tasks: set[asyncio.Task[Any]] = set()
        self._degraded = False

    def begin(self, model: str, metadata: Mapping[str, Any] | None, stream: bool, alias: str | None = None,
              listeners: tuple[Listener, ...] = ()) -> Trace:
        return Trace(self, model, metadata, stream, alias, listeners)

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
        reservation, budgets = trace.reservation, self.budgets
        if reservation is not None:
            budgets.settle(reservation, record.cost_total)
        ledger = self.ledger
        if ledger is None or ledger.error is not None:
            if reservation is not None:
                budgets.release(reservation)
            return None
        if ledger.error is None and not ledger.ready:
            ledger.start()  # a call rejected before admit(): its record still goes in
        future: asyncio.Future[None] | None = None
        loop: asyncio.AbstractEventLoop | None = None
        if wait and not self.batching:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                future = loop.create_future()
        strict = self.mode == "strict"
        wakeups = _wakeups_for(loop) if loop is not None else None

        def done(error: BaseException | None) -> None:
            if reservation is not None:
                budgets.release(reservation)
            if future is not None and wakeups is not None:
                wakeups.add(future, error if strict else None)

        ledger.submit(record, done if (future is not None or reservation is not None) else None)
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


class _Wakeups:
    """Commits reported to one event loop: one call_soon_threadsafe per batch of rows, not one per row."""

    __slots__ = ("items", "lock", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.items, self.lock = loop, [], threading.Lock()

    def add(self, future: asyncio.Future[None], error: BaseException | None) -> None:
        with self.lock:
            self.items.append((future, error))
            if len(self.items) > 1:
                return  # a drain is already scheduled and will take this one too
        try:
            self.loop.call_soon_threadsafe(self.drain)
        except RuntimeError:  # the loop is closed: nobody waits any more
            self.items.clear()

    def drain(self) -> None:
        with self.lock:
            items, self.items = self.items, []
        for future, error in items:
            ledger_mod.settle(future, error)


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


# -- the process-wide tracker --------------------------------------------------------------------

_UNSET: Any = object()
_lock = threading.Lock()
_tracker: Tracker | None = None
_settings: dict[str, Any] = {}
_listeners: list[Listener] = []


def _build(settings: Mapping[str, Any]) -> Tracker:
    from router.budgets import Budgets

    mode = settings.get("tracking") or os.environ.get("FAREBOX_TRACKING", "").strip().lower() or "strict"
    if mode not in _MODES:
        raise ConfigError(f"tracking must be one of {', '.join(_MODES)}, got {mode!r}")
    budgets = Budgets(settings.get("budgets") or ())
    where = settings.get("ledger", True)
    batching = bool(settings.get("batching", False))
    ledger = None
    if mode != "off" and where is not False:
        options = {"batching": batching, "batch_size": int(settings.get("batch_size", 500)),
                   "flush_interval": float(settings.get("flush_interval", 1.0))}
        ledger = ledger_mod.get(None if where is True or where is None else Path(where), **options)
    if budgets and ledger is None:
        raise ConfigError("budgets need the ledger: tracking is off or ledger=False")
    return Tracker(mode, ledger, batching=batching, budgets=budgets or None)


def active() -> Tracker | None:
    """The tracker for this call, or None when tracking is off (the hot path's only check)."""
    global _tracker
    tracker = _tracker
    if tracker is None:
        with _lock:
            if _tracker is None:
                _tracker = _build(_settings)
            tracker = _tracker
    return tracker if tracker.mode != "off" else None


def configure(*, tracking: Mode | None = None, ledger: str | os.PathLike[str] | bool | None = _UNSET,
              batching: bool | None = None, batch_size: int | None = None, flush_interval: float | None = None,
              budgets: Iterable[Any] | None = None) -> None:
    """Set how calls are tracked; unspecified settings keep their value.

    tracking: "strict" (default; ledger problems raise LedgerError), "best-effort" (logged once, calls go
    on) or "off" (no records at all; also FAREBOX_TRACKING=off). ledger: a path, True for the default
    ($FAREBOX_LEDGER, else ~/.local/share/farebox/ledger.sqlite), False for none (listeners only).
    batching: records are committed every `batch_size` records or `flush_interval` seconds, at `flush()`
    and at exit, instead of before each call returns. budgets: Budget models or dicts
    ({"scope": "global" | "alias:NAME" | "tag:KEY=VALUE", "period": "day" | "month", "max_usd": "5.00"}).
    With a ledger in strict mode the file is opened here, so a bad path fails now, before any request.
    """
    global _tracker
    given = {"tracking": tracking, "ledger": ledger, "batching": batching, "batch_size": batch_size,
             "flush_interval": flush_interval, "budgets": budgets}
    with _lock:
        settings = {**_settings, **{k: v for k, v in given.items() if v is not None and v is not _UNSET}}
        if ledger is None:
            settings["ledger"] = True
        tracker = _build(settings)
        old, _tracker = _tracker, tracker
        _settings.clear()
        _settings.update(settings)
    if old is not None and old.ledger is not None and old.ledger is not tracker.ledger:
        old.ledger.flush_quietly()
    if tracker.mode != "off" and tracker.ledger is not None:
        try:
            tracker.ledger.open()
        except LedgerError as exc:
            if tracker.mode == "strict":
                raise
            tracker.degrade(exc)


def reset() -> None:
    """Settings back to the environment's defaults (listeners stay); commits and stops every ledger writer."""
    global _tracker
    with _lock:
        _settings.clear()
        _tracker = None
    ledger_mod.close_all()


def ledger_path() -> Path:
    """The ledger file calls are recorded in (configured, else $FAREBOX_LEDGER, else the default)."""
    where = _settings.get("ledger", True)
    if where is True or where is None or where is False:
        return ledger_mod.default_path().absolute()
    return Path(where).expanduser().absolute()


def add_listener(fn: Listener) -> None:
    """Call `fn(record)` after every call (sync, or async: scheduled on the caller's loop). Errors are logged."""
    _listeners.append(fn)


def remove_listener(fn: Listener) -> None:
    if fn in _listeners:
        _listeners.remove(fn)


def flush(timeout: float | None = 30.0) -> None:
    """Commit every queued record now (batching mode); raises LedgerError if a commit failed."""
    tracker = _tracker
    if tracker is not None and tracker.ledger is not None and tracker.ledger.ready:
        tracker.ledger.flush(timeout)


async def aflush() -> None:
    """`flush()` from a coroutine."""
    tracker = _tracker
    if tracker is not None and tracker.ledger is not None and tracker.ledger.ready:
        await tracker.ledger.aflush()
