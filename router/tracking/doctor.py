"""`python -m router doctor`: what each backend is doing — state (local/Redis), ledger (SQLite/PostgreSQL), spool."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from router.tracking import ledger as ledger_mod
from router.tracking import ledger_file, ledger_pg_sql, settings
from router.tracking.spool import Spool
from router.tracking.state import open_state

__all__ = ["diagnose"]


def diagnose(state: str | None = None, ledger: str | None = None) -> dict[str, Any]:
    """A report per backend: reachable, latency, schema version, rows, spool size (nothing is changed)."""
    state_url = state or settings.state_url()
    shared = open_state(state_url)
    state_report = asyncio.run(_describe(shared))
    target = ledger if ledger is not None else settings.ledger_target()
    if ledger_mod.is_url(target):
        ledger_report = _pg(str(target))
    else:
        ledger_report = _sqlite(Path(target).expanduser())
    return {"state": state_report, "ledger": ledger_report}


async def _describe(state: Any) -> dict[str, Any]:
    try:
        return await state.describe()
    finally:
        await state.aclose()


def _sqlite(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"backend": "sqlite", "path": str(path), "exists": path.exists(),
                           "schema_expected": ledger_file.SCHEMA_VERSION}
    if not path.exists():
        return out
    began = time.perf_counter()
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            out["schema_version"] = conn.execute("PRAGMA user_version").fetchone()[0]
            out["rows"] = conn.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0]
            out["rollups"] = bool(conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'calls_rollup'").fetchone()[0])
        finally:
            conn.close()
        out["reachable"] = True
    except sqlite3.Error as exc:
        out.update(reachable=False, error=f"{type(exc).__name__}: {exc}")
    out["latency_ms"] = round((time.perf_counter() - began) * 1000, 3)
    out["size_bytes"] = path.stat().st_size
    return out


def _pg(url: str) -> dict[str, Any]:
    files, size = Spool(url).size()
    out: dict[str, Any] = {"backend": "postgresql", "url": ledger_pg_sql.redact(url),
                           "schema_expected": ledger_pg_sql.SCHEMA_VERSION,
                           "spool_files": files, "spool_bytes": size}
    began = time.perf_counter()
    try:
        import psycopg  # lazy: the optional [postgres] extra; without it the report says the import failed

        with psycopg.connect(url, autocommit=True, connect_timeout=3) as conn:
            out["latency_ms"] = round((time.perf_counter() - began) * 1000, 3)
            out["server"] = conn.execute("SHOW server_version").fetchone()[0]
            has = conn.execute("SELECT to_regclass('farebox_schema')").fetchone()[0]
            out["schema_version"] = conn.execute("SELECT version FROM farebox_schema").fetchone()[0] if has else 0
            if has:
                out["rows"] = conn.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = 'calls'").fetchone()[0]
        out["reachable"] = True
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        out.update(reachable=False, error=f"{type(exc).__name__}: {first}")
    return out
