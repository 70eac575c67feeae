"""Batching: a commit that fails (SQLITE_FULL, a read-only directory) loses no row; they go in with the next one."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest

import router
from router import tracking
from router.emulator import Emulator
from router.tracking import ledger as ledger_mod
from tests.conftest import KEY, ledger_rows
from vendors.errors import LedgerError

HI = [{"role": "user", "content": "Hi"}]


def _on_writer(path: Path, sql: str) -> Any:
    """Run one statement on the writer thread's own connection (a PRAGMA is per connection)."""
    done = threading.Event()
    box: list[Any] = [None, None]

    def finished(result: Any, error: BaseException | None) -> None:
        box[:] = [result, error]
        done.set()

    ledger_mod.get(path).run(lambda conn: conn.execute(sql).fetchall(), finished)
    assert done.wait(10)
    if box[1] is not None:
        raise box[1]
    return box[0]


def _calls(emu: Emulator, n: int) -> None:
    for _ in range(n):
        router.completion("openai/gpt-4o-mini", HI, api_key=KEY, base_url=emu.base_url("openai"), num_retries=0)


def test_a_full_database_loses_no_batched_row(emu: Emulator, tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "full.sqlite"
    tracking.configure(ledger=path, batching=True, batch_size=10**6, flush_interval=3600)
    before = ledger_mod.stats()
    try:
        _calls(emu, 3)
        router.flush()
        assert len(ledger_rows(path)) == 3
        [[pages]] = _on_writer(path, "PRAGMA page_count")
        _on_writer(path, f"PRAGMA max_page_count = {pages}")  # the next page SQLite needs: SQLITE_FULL
        _calls(emu, 400)
        with caplog.at_level(logging.WARNING, logger="farebox"), pytest.raises(LedgerError, match="full"):
            router.flush()
        assert len(ledger_rows(path)) == 3
        assert ledger_mod.stats()["pending"] - before["pending"] == 400
        assert any("kept to try again" in r.getMessage() for r in caplog.records)
        _calls(emu, 2)
        with pytest.raises(LedgerError):
            router.flush()  # still full: 402 kept now
        assert ledger_mod.stats()["pending"] - before["pending"] == 402
        assert ledger_mod.stats()["failed"] - before["failed"] == 402  # each row counted once
        _on_writer(path, "PRAGMA max_page_count = 1073741823")  # room again
        router.flush()
        assert len(ledger_rows(path)) == 405
        assert ledger_mod.stats()["pending"] == before["pending"]
    finally:
        tracking.reset()


def test_the_retry_buffer_is_bounded_and_counted(emu: Emulator, tmp_path: Path, monkeypatch: Any,
                                                 caplog: Any) -> None:
    monkeypatch.setattr(ledger_mod, "RETRY_ROWS", 5)
    path = tmp_path / "bounded.sqlite"
    tracking.configure(ledger=path, batching=True, batch_size=10**6, flush_interval=3600)
    before = ledger_mod.stats()
    try:
        _calls(emu, 1)
        router.flush()
        [[pages]] = _on_writer(path, "PRAGMA page_count")
        _on_writer(path, f"PRAGMA max_page_count = {pages}")
        _calls(emu, 400)
        with caplog.at_level(logging.ERROR, logger="farebox"), pytest.raises(LedgerError):
            router.flush()
        after = ledger_mod.stats()
        assert after["dropped"] - before["dropped"] == 395 and after["pending"] - before["pending"] == 5
        assert any("dropped" in r.getMessage() for r in caplog.records)
        from prometheus_client import CollectorRegistry, generate_latest

        from router.tracking import metrics

        registry = CollectorRegistry()
        m = metrics.attach(registry)
        try:
            text = generate_latest(registry).decode()
        finally:
            m.detach()
        assert f"farebox_ledger_dropped_rows_total {float(after['dropped'])}" in text
        assert f"farebox_ledger_retry_rows {float(after['pending'])}" in text
        _on_writer(path, "PRAGMA max_page_count = 1073741823")
        router.flush()
        assert len(ledger_rows(path)) == 6
    finally:
        tracking.reset()
