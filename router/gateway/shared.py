"""Several gateway processes as one: keys in the PostgreSQL ledger, rpm windows on Redis, budgets from the
shared ledger's spend (router.tracking.state and ledger_pg)."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from router.gateway.guard import LocalLimits
from router.gateway.keys import KeyStore, VirtualKey
from router.tracking.spending import spend

__all__ = ["PgKeyStore", "SharedLimits"]

_DDL = """CREATE TABLE IF NOT EXISTS gateway_keys (
    id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, key_prefix TEXT NOT NULL, name TEXT,
    created DOUBLE PRECISION NOT NULL, revoked DOUBLE PRECISION, max_budget TEXT, budget_period TEXT,
    models TEXT, rpm INTEGER, tags TEXT)"""


class PgKeyStore(KeyStore):
    """The key table in the PostgreSQL ledger database (created beside the ledger's own tables)."""

    def __init__(self, url: str, *, ttl_s: float = 2.0) -> None:
        from router.tracking import ledger_pg  # lazy: only a PostgreSQL ledger loads psycopg

        self.url = url
        self.path = ledger_pg.redact(url)  # type: ignore[assignment]  # shown in errors, never the password
        self.ttl_s = ttl_s
        self._conn = ledger_pg.connect(url)
        self._conn.execute(_DDL)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, VirtualKey | None]] = {}

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            cur = self._conn.execute(sql.replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []

    def spent(self, key_id: str, since: float) -> Decimal:
        rows = spend((), since=since, ledger=self.url, where={"tag:key_id": key_id})
        return rows[0].cost if rows else Decimal(0)


class SharedLimits(LocalLimits):
    """rpm windows in the shared state (Redis), so every process counts the same minute; spend re-read from
    the shared ledger at most every `refresh_s`, plus this process's own calls since (LocalLimits.spent)."""

    def __init__(self, store: KeyStore, state: Any, *, refresh_s: float = 1.0) -> None:
        super().__init__(store, refresh_s=refresh_s)
        self.state = state

    async def hit(self, key_id: str, rpm: int, now: float) -> float | None:  # type: ignore[override]
        from router.tracking.state import Limit  # lazy: only a gateway with shared state loads its client

        pick = await self.state.pick([f"gateway-key:{key_id}"], [Limit(rpm=rpm)], 0)
        if pick.index is not None:
            return None
        return max(pick.wait, 0.001)
