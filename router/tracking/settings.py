"""Tracking settings: configure(), the process-wide Tracker, listeners, flush, and the sync API's commit path."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import Any

from router import loop
from router.tracking import ledger as ledger_mod
from router.tracking import state as state_mod
from router.tracking.budgets import Budgets
from router.tracking.handoff import Handoff, claim
from router.tracking.record import Listener, Mode
from router.tracking.trace import Tracker
from vendors.errors import ConfigError, LedgerError

__all__ = ["active", "add_listener", "aflush", "configure", "flush", "ledger_path", "remove_listener", "reset",
           "run_sync", "shared_state", "state_url"]

_MODES = ("strict", "best-effort", "off")

_UNSET: Any = object()
_lock = threading.Lock()
_tracker: Tracker | None = None
_settings: dict[str, Any] = {}
_listeners: list[Listener] = []



def _forked() -> None:
    global _tracker, _lock
    _lock = threading.Lock()  # a lock held by another thread at fork stays held
    _tracker = None  # its ledger's writer thread stayed in the parent: rebuilt from the settings on first use


os.register_at_fork(after_in_child=_forked)


def _build(settings: Mapping[str, Any]) -> Tracker:
    mode = settings.get("tracking") or os.environ.get("FAREBOX_TRACKING", "").strip().lower()
    if not mode:
        # The ledger nobody asked for (no configure(ledger=...), no FAREBOX_LEDGER) never breaks a call: where it
        # cannot be opened (a read-only data directory in a container) one warning is logged and calls go on.
        implicit = "ledger" not in settings and not os.environ.get("FAREBOX_LEDGER")
        mode = "best-effort" if implicit else "strict"
    if mode not in _MODES:
        raise ConfigError(f"tracking must be one of {', '.join(_MODES)}, got {mode!r}")
    items = list(settings.get("budgets") or ())
    if settings.get("max_budget") is not None:  # the shorthand for one global budget
        items.append({"scope": "global", "max_budget": settings["max_budget"],
                      "period": settings.get("budget_period") or "day",
                      "unpriced": settings.get("unpriced") or "block"})
    budgets = Budgets(items, state=state_mod.open_state(_state_url(settings)) if items else None)
    where = settings.get("ledger", True)
    batching = bool(settings.get("batching", False))
    ledger = None
    if mode != "off" and where is not False:
        options = {"batching": batching, "batch_size": int(settings.get("batch_size", 500)),
                   "flush_interval": float(settings.get("flush_interval", 1.0))}
        if where is True or where is None:
            env = os.environ.get("FAREBOX_LEDGER", "")
            where = env if ledger_mod.is_url(env) else None
        ledger = ledger_mod.get(where if isinstance(where, str) and ledger_mod.is_url(where)
                                else (None if where is None else Path(where)), **options)
    if budgets and ledger is None:
        raise ConfigError("budgets need the ledger: tracking is off or ledger=False")
    # The listeners list is process-wide: it outlives reconfiguration.
    return Tracker(mode, ledger, batching=batching, budgets=budgets or None, listeners=_listeners)


def run_sync(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """A non-stream call from the sync API: run on the background loop; a durable record commits here."""
    tracker = active()
    if tracker is None or tracker.batching or tracker.ledger is None:
        return loop.run(make())
    box = Handoff()

    async def run() -> Any:
        claim(box)
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
              budget_period: str | None = None, unpriced: str | None = None, state: str | None = None) -> None:
    """Set how calls are tracked; unspecified settings keep their value.

    tracking: "strict" (ledger problems raise LedgerError), "best-effort" (logged once, calls go on) or "off"
    (no records at all; also FAREBOX_TRACKING=off). Unset, it is "strict" once a ledger is configured (here or
    by FAREBOX_LEDGER) and "best-effort" for the implicit default ledger, which so never breaks a call.
    ledger: a path, True for the default ($FAREBOX_LEDGER, else ~/.local/share/farebox/ledger.sqlite), False for
    none (listeners only).
    batching: records are committed every `batch_size` records or `flush_interval` seconds, at `flush()`
    and at exit, instead of before each call returns. budgets: Budget models or dicts
    ({"scope": "global" | "alias:NAME" | "tag:KEY=VALUE", "period": "day" | "month", "max_usd": "5.00"}, or
    {"alias": NAME, "max_budget": 5} / {"tag": {KEY: VALUE}, ...}). max_budget: one global budget in USD per
    `budget_period` ("day", the default, or "month"), added to `budgets`; unpriced: that budget's policy for
    a model without a price, "block" (default) or "allow".
    state: where cooldowns, rate limits, latency and budget reservations live: "local" (this process, the
    default; also $FAREBOX_STATE) or "redis://host:6379/0" shared by every process naming it (query options:
    prefix=farebox, timeout=0.5, reservation_ttl=300, budget_on_error=closed|open). Routers without a
    `state=` of their own use it.
    With a ledger in strict mode the file is opened here, so a bad path fails now, before any request.
    """
    global _tracker
    given = {"tracking": tracking, "ledger": ledger, "batching": batching, "batch_size": batch_size,
             "flush_interval": flush_interval, "budgets": budgets, "max_budget": max_budget,
             "budget_period": budget_period, "unpriced": unpriced, "state": state}
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


def _state_url(settings: Mapping[str, Any]) -> str | None:
    return settings.get("state") or os.environ.get("FAREBOX_STATE", "").strip() or None


def state_url() -> str | None:
    """The configured shared-state URL ($FAREBOX_STATE when unset); None: each Router keeps its own."""
    return _state_url(_settings)


def shared_state(explicit: Any = None) -> Any:
    """A State from an object, a URL, or (None) the process's configured state / $FAREBOX_STATE."""
    if explicit is not None and not isinstance(explicit, str):
        return explicit
    return state_mod.open_state(state_url() if explicit is None else explicit)


def ledger_target() -> str | Path:
    """Where calls are recorded: a PostgreSQL URL, else the ledger file (ledger_path())."""
    where = _settings.get("ledger", True)
    if isinstance(where, str) and ledger_mod.is_url(where):
        return where
    env = os.environ.get("FAREBOX_LEDGER", "")
    if (where is True or where is None) and ledger_mod.is_url(env):
        return env
    return ledger_path()


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
    if state_mod.pending() and loop.started():  # budget settlements on their way to shared state
        loop.run(state_mod.drain(), timeout)
    tracker = _tracker
    if tracker is not None and tracker.ledger is not None and tracker.ledger.ready:
        tracker.ledger.flush(timeout)


async def aflush() -> None:
    """`flush()` from a coroutine."""
    await state_mod.drain()
    tracker = _tracker
    if tracker is not None and tracker.ledger is not None and tracker.ledger.ready:
        await tracker.ledger.aflush()
