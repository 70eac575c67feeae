"""Routing and budget state behind one interface: in this process (the default) or shared on Redis by URL.

What lives here, per deployment label: cooldowns and recent failures, rpm/tpm sliding windows, latency
statistics; per budget and period: reservations of calls in flight and, on Redis, the period's spend.

Fault policy (Redis down, slow or restarted), per feature:
    cooldowns, health, latency   fail open: this process's own state is used meanwhile; one warning per outage
    rpm / tpm limits             fail open: this process's own windows are used meanwhile; same warning
    budgets                      fail closed by default (BudgetExceededError naming the outage), or open
                                 (`budget_on_error="open"` in the URL query: the call goes on unreserved)
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from router.tracking.state_local import Limit, LocalState, Over, Pick, State
from router.tracking.state_redis import RedisState
from vendors.errors import ConfigError

__all__ = ["Limit", "LocalState", "Over", "Pick", "State", "aclose_all", "drain", "open_state", "pending",
           "run_soon"]

_states: dict[str, Any] = {}
_states_lock = threading.Lock()


def open_state(url: str | None) -> Any:
    """The process's state for `url` (one per URL): None or "local" is a fresh LocalState each time."""
    if url is None or url == "local":
        return LocalState()
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"state must be 'local' or a redis:// URL, got {url.split('@')[-1]!r}",
                          hint="state='redis://host:6379/0' (pip install 'farebox[redis]')")
    with _states_lock:
        found = _states.get(url)
        if found is None:
            options = dict(parse_qsl(parts.query))
            found = _states[url] = RedisState(url, **_redis_options(options))
        return found


def _redis_options(query: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in query.items():
        if key == "prefix":
            out["prefix"] = value
        elif key == "budget_on_error":
            if value not in ("closed", "open"):
                raise ConfigError(f"budget_on_error must be 'closed' or 'open', got {value!r}")
            out["budget_on_error"] = value
        elif key in ("timeout", "reservation_ttl"):
            try:
                out[key] = float(value)
            except ValueError:
                raise ConfigError(f"state URL: {key} must be seconds, got {value!r}") from None
    return out


def _forked() -> None:
    global _states_lock
    _states.clear()  # a client's sockets belong to the parent
    _states_lock = threading.Lock()


os.register_at_fork(after_in_child=_forked)


def run_soon(coro: Any) -> None:
    """Fire and forget on the running loop (latency samples, settlements): never on the caller's path."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        coro.close()
        return
    task = loop.create_task(coro)
    _pending.add(task)
    task.add_done_callback(_pending.discard)


_pending: set[asyncio.Task[Any]] = set()


async def drain() -> None:
    """Wait for fire-and-forget state updates started on this loop."""
    loop = asyncio.get_running_loop()
    mine = [t for t in _pending if t.get_loop() is loop]
    if mine:
        await asyncio.gather(*mine, return_exceptions=True)


def pending() -> bool:
    return bool(_pending)


async def aclose_all() -> None:
    """Close every shared state's connections made on this loop."""
    for state in list(_states.values()):
        await state.aclose()
