"""Who may call: the master key or a virtual key, its model list, its requests per minute and its budget."""

from __future__ import annotations

import asyncio
import hmac
import inspect
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from router.gateway.errors import GatewayError
from router.gateway.keys import KeyStore, VirtualKey
from router.tracking.budgets import period_start

__all__ = ["Guard", "LocalLimits", "Principal", "bearer"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the master key (key None) or a virtual key."""

    key: VirtualKey | None

    @property
    def master(self) -> bool:
        return self.key is None

    @property
    def key_id(self) -> str:
        return "master" if self.key is None else self.key.id

    def tags(self) -> dict[str, str]:
        return {**(self.key.tags if self.key else {}), "key_id": self.key_id}


def bearer(headers: Any) -> str | None:
    """The client's key from `Authorization: Bearer …` or `x-api-key` (what the anthropic SDK sends)."""
    auth = headers.get("Authorization")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return headers.get("x-api-key") or None


def period_end(period: str, now: datetime) -> datetime:
    start = period_start(period, now)
    if period == "day":
        return datetime.fromtimestamp(start.timestamp() + 86400, UTC)
    return start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)


def fresh(entry: list[Any] | None, mono: float, start: float, committed: Decimal) -> list[Any]:
    """A key's spend entry after re-reading the ledger: never below what this process already counted in the
    same period, since records are committed a moment after their answers (router/gateway/wiring.py) and
    the ledger may not hold the latest of this process's own calls yet. Both figures only undercount."""
    if entry is not None and entry[1] == start:
        committed = max(committed, entry[2] + entry[3])
    return [mono, start, committed, Decimal(0)]


class LocalLimits:
    """Requests per minute and recent spend kept in this process (one gateway instance).

    Spend: what the ledger had committed when last read (at most `refresh_s` ago) plus every record this
    process emitted since, so a key's own calls count at once and other processes' within `refresh_s`.
    """

    def __init__(self, store: KeyStore, *, refresh_s: float = 1.0) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._hits: dict[str, deque[float]] = {}
        self._spend: dict[str, list[Any]] = {}   # key id -> [read at (monotonic), period start, committed, local]
        self._lock = threading.Lock()

    def hit(self, key_id: str, rpm: int, now: float) -> float | None:
        """Count one request; the seconds to wait when the key already made `rpm` in the last minute."""
        with self._lock:
            window = self._hits.setdefault(key_id, deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= rpm:
                return window[0] + 60.0 - now
            window.append(now)
            return None

    async def spent(self, key: VirtualKey, now: datetime) -> Decimal:
        start = period_start(key.budget_period, now).timestamp()
        entry = self._spend.get(key.id)
        mono = time.monotonic()
        if entry is None or mono - entry[0] > self.refresh_s or entry[1] != start:
            # A sum over the period's rows: on a thread, never on the loop that serves every other request.
            committed = await asyncio.to_thread(self.store.spent, key.id, start)
            with self._lock:
                entry = self._spend[key.id] = fresh(self._spend.get(key.id), mono, start, committed)
        return entry[2] + entry[3]

    def record(self, record: Any) -> None:
        """A tracking listener: a finished call's cost counts against its key at once."""
        key_id = record.tags.get("key_id") if record.tags else None
        if key_id is None or record.cost is None:
            return
        with self._lock:
            entry = self._spend.get(key_id)
            if entry is not None:
                entry[3] += record.cost.total


class Guard:
    """Authenticates and admits requests before any vendor request is made."""

    def __init__(self, store: KeyStore | None, master_key: str | None, *, limits: Any = None,
                 open_access: bool = False) -> None:
        self.store = store
        self.master_key = master_key
        self.open_access = open_access
        self.limits = limits if limits is not None else (LocalLimits(store) if store is not None else None)

    def authenticate(self, headers: Any) -> Principal:
        token = bearer(headers)
        if token is None:
            if self.open_access:
                return Principal(None)
            raise GatewayError(401, "no API key: send 'Authorization: Bearer <key>' (or x-api-key) with a Farebox "
                                    "virtual key", type="authentication_error", code="missing_api_key")
        if self.master_key and hmac.compare_digest(token.encode(), self.master_key.encode()):
            return Principal(None)
        key = self.store.lookup(token) if self.store is not None else None
        if key is None:
            # Never echo the key, not even in part: a pasted vendor key must not land in a client's log.
            raise GatewayError(401, "invalid API key: not a live Farebox virtual key (unknown or revoked)",
                               type="authentication_error", code="invalid_api_key")
        return Principal(key)

    def require_master(self, headers: Any) -> None:
        if self.authenticate(headers).master:
            return
        raise GatewayError(403, "this needs the gateway's master key", type="permission_error",
                           code="master_key_required")

    async def admit(self, who: Principal, model: str) -> None:
        """403 for a model the key may not use; 429 (Retry-After) over its rpm or its budget."""
        key = who.key
        if key is None:
            return
        if not key.allows(model):
            raise GatewayError(403, f"this key may not use model {model!r}; it may use: {', '.join(key.models or ())}",
                               type="permission_error", code="model_not_allowed", param="model")
        if key.rpm is not None and self.limits is not None:
            wait = await _maybe(self.limits.hit(key.id, key.rpm, time.time()))
            if wait is not None:
                raise GatewayError(429, f"rate limit: this key may make {key.rpm} requests per minute",
                                   type="rate_limit_error", code="rate_limit_exceeded", retry_after=wait)
        if key.max_budget is not None and self.limits is not None:
            now = datetime.now(UTC)
            spent = await _maybe(self.limits.spent(key, now))
            if spent >= key.max_budget:
                wait = (period_end(key.budget_period, now) - now).total_seconds()
                raise GatewayError(429, f"budget exceeded: this key has spent ${spent:.6f} of its "
                                        f"${key.max_budget} per {key.budget_period}",
                                   type="insufficient_quota", code="budget_exceeded", retry_after=wait)


async def _maybe(value: Any) -> Any:
    """Local limits answer at once; shared ones (router/gateway/shared.py) are coroutines."""
    return await value if inspect.isawaitable(value) else value
