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
import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from vendors.errors import ConfigError

__all__ = ["Limit", "LocalState", "Pick", "State", "open_state", "resolve"]

log = logging.getLogger("farebox")
WINDOW_S = 60.0  # rpm / tpm: a sliding window of one minute


@dataclass(frozen=True, slots=True)
class Limit:
    """A deployment's request and token limits per minute (None: unlimited)."""

    rpm: int | None = None
    tpm: int | None = None


@dataclass(slots=True)
class Pick:
    """The first deployment admitted (its index in the order given, or None), and why others were not."""

    index: int | None
    cooled: list[str]
    limited: list[str]
    wait: float = 0.0  # when every candidate was rate-limited: seconds until the earliest one has room


class State(Protocol):
    """What Router and Budgets ask of shared state; LocalState and RedisState answer it."""

    url: str
    shared: bool

    async def pick(self, labels: Sequence[str], limits: Sequence[Limit | None], tokens: int) -> Pick:
        """Skip cooled deployments, take a slot in the first whose rpm/tpm windows have room."""

    async def latencies(self, labels: Sequence[str]) -> list[float | None]:
        """Smoothed latency per deployment (None before its first success)."""

    async def failed(self, label: str, *, cool_s: float | None, allowed_fails: int, fail_window_s: float,
                     cooldown_s: float) -> None:
        """`cool_s`: cool now for that long; None: count a failure, cool for `cooldown_s` at `allowed_fails`."""

    async def succeeded(self, label: str, latency: float) -> None: ...

    async def describe(self) -> dict[str, Any]:
        """For `doctor`: reachable, latency, what is kept."""

    async def aclose(self) -> None: ...


class _Health:
    __slots__ = ("cooled_until", "fails", "latency", "tokens", "used")

    def __init__(self) -> None:
        self.fails: deque[float] = deque()
        self.cooled_until = 0.0
        self.latency: float | None = None
        self.used: deque[float] = deque()              # request times in the rpm window
        self.tokens: deque[tuple[float, int]] = deque()  # (time, tokens) in the tpm window


class LocalState:
    """This process's state (thread-safe: the sync API's loop and callers' loops share it)."""

    url = "local"
    shared = False

    def __init__(self) -> None:
        self._health: dict[str, _Health] = {}
        self._lock = threading.Lock()

    def _get(self, label: str) -> _Health:
        health = self._health.get(label)
        if health is None:
            health = self._health.setdefault(label, _Health())
        return health

    def cooled(self, label: str, now: float | None = None) -> bool:
        return self._get(label).cooled_until > (time.time() if now is None else now)

    async def pick(self, labels: Sequence[str], limits: Sequence[Limit | None], tokens: int) -> Pick:
        return self.pick_now(labels, limits, tokens)

    def pick_now(self, labels: Sequence[str], limits: Sequence[Limit | None], tokens: int) -> Pick:
        now = time.time()
        cooled, limited, waits = [], [], []
        with self._lock:
            for i, (label, limit) in enumerate(zip(labels, limits, strict=True)):
                health = self._get(label)
                if health.cooled_until > now:
                    cooled.append(label)
                    continue
                if limit is None or (limit.rpm is None and limit.tpm is None):
                    return Pick(i, cooled, limited)
                wait = _admit(health, limit, tokens, now)
                if wait <= 0:
                    return Pick(i, cooled, limited)
                limited.append(label)
                waits.append(wait)
        return Pick(None, cooled, limited, min(waits, default=0.0))

    async def latencies(self, labels: Sequence[str]) -> list[float | None]:
        return [self._get(label).latency for label in labels]

    async def failed(self, label: str, *, cool_s: float | None, allowed_fails: int, fail_window_s: float,
                     cooldown_s: float) -> None:
        self.failed_now(label, cool_s=cool_s, allowed_fails=allowed_fails, fail_window_s=fail_window_s,
                        cooldown_s=cooldown_s)

    def failed_now(self, label: str, *, cool_s: float | None, allowed_fails: int, fail_window_s: float,
                   cooldown_s: float) -> None:
        now = time.time()
        with self._lock:
            health = self._get(label)
            if cool_s is not None:
                health.cooled_until = max(health.cooled_until, now + cool_s)
                return
            health.fails.append(now)
            while health.fails and health.fails[0] < now - fail_window_s:
                health.fails.popleft()
            if len(health.fails) >= allowed_fails:
                health.cooled_until = max(health.cooled_until, now + cooldown_s)
                health.fails.clear()

    async def succeeded(self, label: str, latency: float) -> None:
        self.succeeded_now(label, latency)

    def succeeded_now(self, label: str, latency: float) -> None:
        with self._lock:
            health = self._get(label)
            health.latency = latency if health.latency is None else 0.7 * health.latency + 0.3 * latency

    async def describe(self) -> dict[str, Any]:
        return {"backend": "local", "reachable": True, "deployments": len(self._health)}

    async def aclose(self) -> None:
        return None


def _admit(health: _Health, limit: Limit, tokens: int, now: float) -> float:
    """Take a slot in the windows (0.0), or the seconds until there is room (nothing taken)."""
    start = now - WINDOW_S
    used, spent = health.used, health.tokens
    while used and used[0] <= start:
        used.popleft()
    while spent and spent[0][0] <= start:
        spent.popleft()
    if limit.rpm is not None and len(used) >= limit.rpm:
        return used[0] + WINDOW_S - now
    if limit.tpm is not None and spent and sum(t for _, t in spent) + tokens > limit.tpm:
        return spent[0][0] + WINDOW_S - now
    used.append(now)
    spent.append((now, tokens))
    return 0.0


class Outage:
    """One warning per outage of a backend, and a short pause before the next try (no timeout per call)."""

    def __init__(self, what: str, retry_s: float = 1.0) -> None:
        self.what, self.retry_s = what, retry_s
        self.down_until = 0.0
        self.warned = False
        self.last_error: str | None = None

    @property
    def down(self) -> bool:
        return time.monotonic() < self.down_until

    def failed(self, exc: BaseException, policy: str) -> None:
        self.down_until = time.monotonic() + self.retry_s
        self.last_error = f"{type(exc).__name__}: {exc}"
        if not self.warned:
            self.warned = True
            log.warning("%s is unreachable (%s); %s until it answers again", self.what, self.last_error, policy)

    def ok(self) -> None:
        if self.warned:
            log.warning("%s answers again", self.what)
        self.warned = False
        self.down_until = 0.0
        self.last_error = None


_states: dict[str, Any] = {}
_states_lock = threading.Lock()
_ids = itertools.count()


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
            from router.tracking.state_redis import RedisState

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


def resolve(explicit: Any = None) -> Any:
    """A State from an object, a URL, or (None) the process's configured state / $FAREBOX_STATE."""
    if explicit is not None and not isinstance(explicit, str):
        return explicit
    if explicit is None:
        from router.tracking import settings

        explicit = settings.state_url()
    return open_state(explicit)


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
