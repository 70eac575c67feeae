"""This process's routing and budget state (LocalState) and the pieces every State shares: Limit, Pick, Outage."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

__all__ = ["Limit", "LocalState", "Outage", "Over", "Pick", "State"]

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


class Over(Exception):
    """Budget `index` of the claims is exceeded: what was spent and held there."""

    def __init__(self, index: int, spent: Decimal, held: Decimal) -> None:
        super().__init__(index)
        self.index, self.spent, self.held = index, spent, held
