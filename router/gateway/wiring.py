"""A gateway's Guard from its settings: the key table in the ledger database, rpm and budget limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from router import tracking
from router.gateway.guard import Guard, LocalLimits
from router.gateway.keys import KeyStore
from router.gateway.settings import GatewaySettings
from router.gateway.shared import PgKeyStore, SharedLimits

__all__ = ["is_pg", "key_store", "make_guard"]


def is_pg(ledger: Any) -> bool:
    return isinstance(ledger, str) and ledger.startswith(("postgresql://", "postgres://"))


def key_store(ledger: Any, ttl_s: float = 2.0) -> Any:
    """The key table in the ledger database: the SQLite file, or PostgreSQL for a postgresql:// ledger."""
    if is_pg(ledger):
        return PgKeyStore(ledger, ttl_s=ttl_s)
    return KeyStore(Path(ledger).expanduser() if ledger else tracking.ledger_path(), ttl_s=ttl_s)


def make_guard(settings: GatewaySettings) -> Guard:
    """Keys live in the ledger database the calls are recorded in; rpm windows in the shared state if any."""
    # The batched writer: one commit per group instead of one per call (at one client a per-call commit on the
    # same core cost a sixth of the request's CPU and more of its p50), and it keeps a failed commit's rows.
    options: dict[str, Any] = {"batching": True, "flush_interval": 1.0 if settings.ledger_batching
                               else settings.ledger_flush_s}
    if settings.ledger:
        options["ledger"] = settings.ledger
    if settings.state:
        options["state"] = settings.state
    tracking.configure(**options)
    store = key_store(settings.ledger, settings.key_cache_s)
    if settings.state:
        from router.tracking.state import open_state  # lazy: only a gateway with shared state loads its client

        limits: Any = SharedLimits(store, open_state(settings.state), refresh_s=settings.spend_refresh_s)
    else:
        limits = LocalLimits(store, refresh_s=settings.spend_refresh_s)
    tracking.add_listener(limits.record)
    return Guard(store, settings.master(), limits=limits, open_access=settings.open_access)
