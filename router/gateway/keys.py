"""Virtual keys: created, listed, revoked and looked up in the ledger database, stored only as a sha256 hash."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from router.tracking.budgets import parse_period, sqlite_spent
from router.tracking.ledger_file import connect, failure
from vendors.errors import ConfigError

__all__ = ["KEY_PREFIX", "KeyStore", "VirtualKey", "hash_key"]

KEY_PREFIX = "fb-"
_FIELDS = "id, key_prefix, name, created, revoked, max_budget, budget_period, models, rpm, tags"


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class VirtualKey:
    """A client key's limits and tags. The raw key is shown once, at creation; only its hash is kept."""

    id: str
    prefix: str                     # the first characters of the raw key, to tell keys apart in listings
    name: str | None = None
    created: float = 0.0
    revoked: float | None = None
    max_budget: Decimal | None = None
    budget_period: str = "month"
    models: tuple[str, ...] | None = None   # None: every alias
    rpm: int | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def allows(self, model: str) -> bool:
        return self.models is None or model in self.models

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "prefix": self.prefix, "name": self.name, "created": self.created,
                "revoked": self.revoked, "max_budget": None if self.max_budget is None else str(self.max_budget),
                "budget_period": self.budget_period, "models": list(self.models) if self.models else None,
                "rpm": self.rpm, "tags": self.tags}

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> VirtualKey:
        kid, prefix, name, created, revoked, budget, period, models, rpm, tags = row
        return cls(id=kid, prefix=prefix, name=name, created=created, revoked=revoked,
                   max_budget=Decimal(budget) if budget is not None else None, budget_period=period or "month",
                   models=tuple(json.loads(models)) if models else None, rpm=rpm,
                   tags=json.loads(tags) if tags else {})


def check_limits(budget: Any, period: Any, models: Any, rpm: Any, tags: Any) -> tuple[Any, ...]:
    """Validated key limits, or ConfigError naming the bad one."""
    if budget is not None:
        try:
            budget = Decimal(str(budget))
        except InvalidOperation:
            raise ConfigError(f"budget must be a number of USD, got {budget!r}") from None
        if not budget.is_finite() or budget <= 0:
            raise ConfigError(f"budget must be a positive number of USD, got {budget}")
    period = parse_period(period or "month")
    if period not in ("day", "month"):
        raise ConfigError(f"period must be 'day' or 'month' (also daily, monthly), got {period!r}")
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    if models is not None and (not isinstance(models, list | tuple) or not all(isinstance(m, str) for m in models)):
        raise ConfigError("models must be a list of alias names")
    if rpm is not None and (type(rpm) is not int or rpm <= 0):
        raise ConfigError(f"rpm must be a positive integer, got {rpm!r}")
    tags = dict(tags or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise ConfigError("tags must map strings to strings")
    if "key_id" in tags:
        raise ConfigError("the tag 'key_id' is set by the gateway itself")
    return budget, period, tuple(models) if models else None, rpm, tags


class KeyStore:
    """Keys in the ledger's SQLite file (table gateway_keys, created by the ledger's migrations).

    `lookup` answers from memory; entries older than `ttl_s` are read again, so a key revoked by
    another process (the CLI, another gateway) stops working within `ttl_s` seconds.
    """

    def __init__(self, path: str | Path, *, ttl_s: float = 2.0) -> None:
        self.path = Path(path)
        self.ttl_s = ttl_s
        self._conn = connect(self.path)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, VirtualKey | None]] = {}

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise failure(self.path, "key table", exc) from exc

    def create(self, *, budget: Any = None, period: Any = "month", models: Any = None, rpm: Any = None,
               tags: Any = None, name: str | None = None) -> tuple[str, VirtualKey]:
        """A new key: (the raw key, shown once and never stored, and its record)."""
        budget, period, models, rpm, tags = check_limits(budget, period, models, rpm, tags)
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        key = VirtualKey(id="key_" + secrets.token_hex(6), prefix=raw[:9], name=name, created=time.time(),
                         max_budget=budget, budget_period=period, models=models, rpm=rpm, tags=tags)
        self._execute(
            f"INSERT INTO gateway_keys (key_hash, {_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (hash_key(raw), key.id, key.prefix, name, key.created, None,
             None if budget is None else str(budget), period, json.dumps(list(models)) if models else None, rpm,
             json.dumps(tags) if tags else None))
        return raw, key

    def list(self, *, include_revoked: bool = True) -> list[VirtualKey]:
        where = "" if include_revoked else " WHERE revoked IS NULL"
        return [VirtualKey.from_row(r) for r in self._execute(f"SELECT {_FIELDS} FROM gateway_keys{where} "
                                                              "ORDER BY created")]

    def get(self, key_id: str) -> VirtualKey | None:
        rows = self._execute(f"SELECT {_FIELDS} FROM gateway_keys WHERE id = ?", (key_id,))
        return VirtualKey.from_row(rows[0]) if rows else None

    def revoke(self, key_id: str) -> VirtualKey:
        """Revoke by id (or by the key's shown prefix); ConfigError when no such key."""
        rows = self._execute("SELECT id FROM gateway_keys WHERE id = ? OR key_prefix = ?", (key_id, key_id))
        if len(rows) != 1:
            raise ConfigError(f"no key {key_id!r}" if not rows else f"{key_id!r} matches {len(rows)} keys; give the id")
        self._execute("UPDATE gateway_keys SET revoked = ? WHERE id = ? AND revoked IS NULL", (time.time(), rows[0][0]))
        self._cache.clear()
        key = self.get(rows[0][0])
        assert key is not None
        return key

    def lookup(self, raw: str, now: float | None = None) -> VirtualKey | None:
        """The live (unrevoked) key whose hash matches `raw`, or None."""
        digest = hash_key(raw)
        now = time.monotonic() if now is None else now
        hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        rows = self._execute(f"SELECT {_FIELDS} FROM gateway_keys WHERE key_hash = ?", (digest,))
        key = VirtualKey.from_row(rows[0]) if rows else None
        if key is not None and key.revoked is not None:
            key = None
        if len(self._cache) > 10_000:  # random keys from a scanner must not grow memory without end
            self._cache.clear()
        self._cache[digest] = (now, key)
        return key

    def spent(self, key_id: str, since: float) -> Decimal:
        """The key's committed spend since `since` (Unix time), exact; from the day rollup when `since` is a UTC
        day boundary (a budget period's start: router.tracking.budgets.sqlite_spent)."""
        with self._lock:
            try:
                return sqlite_spent(self._conn, f"tag:key_id={key_id}", since)
            except sqlite3.Error as exc:
                raise failure(self.path, "key spend", exc) from exc
