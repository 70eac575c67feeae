"""Call tracking: the CallRecord, one per user-level call, and the settings (configure, listeners, flush)."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import json
import os
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from router import ledger as ledger_mod
from vendors.errors import ConfigError, LedgerError

if TYPE_CHECKING:
    from router.tracer import Tracker

__all__ = ["CallRecord", "Handoff", "active", "add_listener", "aflush", "configure", "flush", "ledger_path",
           "remove_listener", "reset", "run_sync", "settle"]


Mode = Literal["strict", "best-effort", "off"]
Listener = Callable[["CallRecord"], Any]
_MODES = ("strict", "best-effort", "off")
_ZERO = Decimal(0)
_PARTS = ("input", "cache_read", "cache_write", "output", "reasoning", "total")

# Record ids: a per-process random prefix and a counter — unique across processes, cheap on the hot path.
_prefix = uuid.uuid4().hex[:16]
_counter = itertools.count()
_pid = os.getpid()


def _next_id() -> str:
    return f"{_prefix}-{next(_counter):x}"


def _pid_now() -> int:
    return _pid


def _forked() -> None:
    global _prefix, _pid, _tracker, _lock
    _prefix, _pid = uuid.uuid4().hex[:16], os.getpid()
    _lock = threading.Lock()  # a lock held by another thread at fork stays held
    _tracker = None  # its ledger's writer thread stayed in the parent: rebuilt from the settings on first use


os.register_at_fork(after_in_child=_forked)


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
    pid: int = field(default_factory=_pid_now)

    # The words for some fields, read-only: rec.time, rec.latency, rec.ttft, rec.error_class, rec.metadata.
    @property
    def time(self) -> datetime:
        """`ts` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.ts, UTC)

    @property
    def latency(self) -> float:
        return self.latency_s

    @property
    def ttft(self) -> float | None:
        return self.ttft_s

    @property
    def error_class(self) -> str | None:
        return self.error

    @property
    def metadata(self) -> dict[str, Any]:
        return self.tags

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


async def settle(future: asyncio.Future[None] | None, *, quiet: bool = False) -> None:
    """Wait for a record's commit; `quiet` (a call that is failing anyway): the call's own error wins."""
    if future is None:
        return
    try:
        await future
    except LedgerError:
        if not quiet:
            raise


# -- the process-wide tracker --------------------------------------------------------------------

_UNSET: Any = object()
_lock = threading.Lock()
_tracker: Tracker | None = None
_settings: dict[str, Any] = {}
_listeners: list[Listener] = []


def _build(settings: Mapping[str, Any]) -> Tracker:
    from router.budgets import Budgets
    from router.tracer import Tracker

    mode = settings.get("tracking") or os.environ.get("FAREBOX_TRACKING", "").strip().lower() or "strict"
    if mode not in _MODES:
        raise ConfigError(f"tracking must be one of {', '.join(_MODES)}, got {mode!r}")
    items = list(settings.get("budgets") or ())
    if settings.get("max_budget") is not None:  # the shorthand for one global budget
        items.append({"scope": "global", "max_budget": settings["max_budget"],
                      "period": settings.get("budget_period") or "day"})
    budgets = Budgets(items)
    where = settings.get("ledger", True)
    batching = bool(settings.get("batching", False))
    ledger = None
    if mode != "off" and where is not False:
        options = {"batching": batching, "batch_size": int(settings.get("batch_size", 500)),
                   "flush_interval": float(settings.get("flush_interval", 1.0))}
        ledger = ledger_mod.get(None if where is True or where is None else Path(where), **options)
    if budgets and ledger is None:
        raise ConfigError("budgets need the ledger: tracking is off or ledger=False")
    # The listeners list is process-wide: it outlives reconfiguration.
    return Tracker(mode, ledger, batching=batching, budgets=budgets or None, listeners=_listeners)


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
            await settle(trace.ok(result))
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


def run_sync(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """A non-stream call from the sync API: run on the background loop; a durable record commits here."""
    from router import loop

    tracker = active()
    if tracker is None or tracker.batching or tracker.ledger is None:
        return loop.run(make())
    box = Handoff()

    async def run() -> Any:
        _handoff.set(box)  # this task's own context: nested calls (a listener's) start claimed-out
        return await make()

    try:
        result = loop.run(run())
    except BaseException:
        box.commit(quiet=True)
        raise
    box.commit(result)
    return result


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
              budgets: Iterable[Any] | None = None, max_budget: Any = None,
              budget_period: str | None = None) -> None:
    """Set how calls are tracked; unspecified settings keep their value.

    tracking: "strict" (default; ledger problems raise LedgerError), "best-effort" (logged once, calls go
    on) or "off" (no records at all; also FAREBOX_TRACKING=off). ledger: a path, True for the default
    ($FAREBOX_LEDGER, else ~/.local/share/farebox/ledger.sqlite), False for none (listeners only).
    batching: records are committed every `batch_size` records or `flush_interval` seconds, at `flush()`
    and at exit, instead of before each call returns. budgets: Budget models or dicts
    ({"scope": "global" | "alias:NAME" | "tag:KEY=VALUE", "period": "day" | "month", "max_usd": "5.00"}, or
    {"alias": NAME, "max_budget": 5} / {"tag": {KEY: VALUE}, ...}). max_budget: one global budget in USD per
    `budget_period` ("day", the default, or "month"), added to `budgets`.
    With a ledger in strict mode the file is opened here, so a bad path fails now, before any request.
    """
    global _tracker
    given = {"tracking": tracking, "ledger": ledger, "batching": batching, "batch_size": batch_size,
             "flush_interval": flush_interval, "budgets": budgets, "max_budget": max_budget,
             "budget_period": budget_period}
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
