"""Call tracking: one CallRecord per user-level call, the ledger it is stored in, spend, budgets and metrics.

    record.py       CallRecord, what one call did and cost
    settings.py     configure(), listeners, flush, the process-wide Tracker
    trace.py        Trace (one call in progress) and Tracker (records to listeners and the ledger)
    handoff.py      settling a record: awaiting its commit, the sync API's commit on the caller's thread
    writer.py       the ledger's group-commit writer thread, shared by both backends
    ledger.py       the ledger per file or URL (get), and the SQLite writer; ledger_file.py its file and schema
    ledger_pg.py    the PostgreSQL writer (spool when unreachable); ledger_pg_sql.py its SQL; spool.py; rollup.py
    budgets.py      budgets checked before a request; spending.py spend queries; metrics.py Prometheus
    state.py        routing and budget state by URL; state_local.py this process's; state_redis.py on Redis
    doctor.py       what each backend is doing (python -m router doctor)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.tracking.handoff import Handoff, answered, defer_commits, handoff, settle, traced
    from router.tracking.record import CallRecord, Listener, Mode
    from router.tracking.settings import (
        active,
        add_listener,
        aflush,
        configure,
        flush,
        ledger_path,
        remove_listener,
        reset,
        run_sync,
    )
    from router.tracking.trace import Trace, Tracker

__all__ = ["CallRecord", "Handoff", "Listener", "Mode", "Trace", "Tracker", "active", "add_listener", "aflush",
           "answered", "configure", "defer_commits", "flush", "handoff", "ledger_path", "remove_listener", "reset",
           "run_sync", "settle", "traced"]

_LAZY: dict[str, tuple[str, str | None]] = {
    **{name: ("router.tracking.record", name) for name in ("CallRecord", "Listener", "Mode")},
    **{name: ("router.tracking.handoff", name)
       for name in ("Handoff", "answered", "defer_commits", "handoff", "settle", "traced")},
    **{name: ("router.tracking.trace", name) for name in ("Trace", "Tracker")},
    **{name: ("router.tracking.settings", name) for name in
       ("active", "add_listener", "aflush", "configure", "flush", "ledger_path", "remove_listener", "reset",
        "run_sync")},
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'router.tracking' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
