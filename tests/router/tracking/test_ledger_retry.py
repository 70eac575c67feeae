"""A commit that fails (SQLITE_FULL, a locked file), batching or durable, loses no row: they go in with the next one."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import router
from router import tracking
from router.emulator import Emulator
from router.tracking import ledger as ledger_mod
from router.tracking import ledger_file, writer
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
    monkeypatch.setattr(writer, "RETRY_ROWS", 5)
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


def _ids(path: Path) -> list[str]:
    return [r["record_id"] for r in ledger_rows(path)]


@pytest.mark.parametrize("mode", ["strict", "best-effort"])
def test_a_durable_commit_that_fails_keeps_its_rows_for_the_next(emu: Emulator, tmp_path: Path, monkeypatch: Any,
                                                                 records: list[Any], mode: str) -> None:
    # A short busy timeout, so a file another connection holds locked fails a commit at once ("database is
    # locked"), as a transient lock held past the timeout would.
    monkeypatch.setattr(ledger_file, "BUSY_TIMEOUT_S", 0.05)
    path = tmp_path / "locked.sqlite"
    tracking.configure(ledger=path, tracking=mode)
    before = ledger_mod.stats()
    lock = sqlite3.connect(path, isolation_level=None)
    try:
        _calls(emu, 1)
        lock.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        if mode == "strict":  # the caller is told, as before, with the answer it paid for
            with pytest.raises(LedgerError, match="database is locked") as info:
                _calls(emu, 1)  # a sync call: committed on its own thread (write_here)
            assert "kept to try again" in str(info.value) and info.value.response.cost.total > 0
            with pytest.raises(LedgerError, match="locked"):
                asyncio.run(router.acompletion("openai/gpt-4o-mini", HI, api_key=KEY,
                                               base_url=emu.base_url("openai"), num_retries=0))  # the writer thread
        else:  # best-effort: calls go on
            _calls(emu, 1)
            asyncio.run(router.acompletion("openai/gpt-4o-mini", HI, api_key=KEY, base_url=emu.base_url("openai"),
                                           num_retries=0))
        assert len(_ids(path)) == 1
        assert ledger_mod.stats()["pending"] - before["pending"] == 2
        lock.execute("ROLLBACK")
        _calls(emu, 1)  # the next commit that succeeds writes the kept rows first
        ids = _ids(path)
        assert len(ids) == 4 and sorted(ids) == sorted(r.record_id for r in records)  # each once, none lost
        after = ledger_mod.stats()
        assert after["pending"] == before["pending"] and after["failed"] - before["failed"] == 2
        assert after["dropped"] == before["dropped"]
    finally:
        lock.close()
        tracking.reset()


def test_durable_rows_kept_are_written_by_a_flush_without_new_calls(emu: Emulator, tmp_path: Path,
                                                                    monkeypatch: Any) -> None:
    monkeypatch.setattr(ledger_file, "BUSY_TIMEOUT_S", 0.05)
    path = tmp_path / "flush.sqlite"
    tracking.configure(ledger=path, tracking="best-effort")
    lock = sqlite3.connect(path, isolation_level=None)
    try:
        _calls(emu, 1)
        lock.execute("BEGIN EXCLUSIVE")
        _calls(emu, 3)
        with pytest.raises(LedgerError, match="locked"):
            router.flush()  # still locked: the last failure is reported, the rows stay kept
        lock.execute("ROLLBACK")
        router.flush()  # nothing lost after all: no error
        assert len(set(_ids(path))) == len(_ids(path)) == 4
    finally:
        lock.close()
        tracking.reset()


def test_a_row_the_database_refuses_does_not_hold_back_the_others(tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "refuse.sqlite"
    led = ledger_mod.get(path, batching=True, batch_size=10**6, flush_interval=3600)
    led.open()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON calls WHEN NEW.vendor = 'bad' "
                 "BEGIN SELECT RAISE(ABORT, 'no bad vendors'); END")
    conn.commit()
    conn.close()
    before = ledger_mod.stats()
    answers: dict[str, Any] = {}
    try:
        for i, vendor in enumerate(["openai", "bad", "openai", "openai"]):
            row = tracking.CallRecord(ts=1.0 + i, vendor=vendor, model="m", status="ok", record_id=f"r{i}").to_row()
            led.submit(row, lambda error, i=i: answers.__setitem__(f"r{i}", error))
        with caplog.at_level(logging.ERROR, logger="farebox"), pytest.raises(LedgerError, match="no bad vendors"):
            led.flush()
        assert _ids(path) == ["r0", "r2", "r3"]
        assert [k for k, v in sorted(answers.items()) if v is not None] == ["r1"]  # only its waiter is told
        after = ledger_mod.stats()
        assert after["dropped"] - before["dropped"] == 1 and after["pending"] == before["pending"]
        assert any("refused by the database" in r.getMessage() for r in caplog.records)
        led.flush()  # reported once; nothing kept that would fail the next commit
    finally:
        ledger_mod.close_all([led])


def test_postgresql_away_and_the_spool_unwritable_keeps_rows_until_it_answers(emu: Emulator, postgres_fresh: Any,
                                                                              tmp_path: Path, monkeypatch: Any,
                                                                              records: list[Any]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("the spool directory cannot be made under a file")
    monkeypatch.setenv("FAREBOX_SPOOL", str(blocker / "spool"))
    tracking.reset()
    tracking.configure(ledger=postgres_fresh.url)  # strict, durable
    led = tracking.active().ledger
    before = ledger_mod.stats()
    try:
        _calls(emu, 1)
        postgres_fresh.kill()
        for _ in range(2):
            with pytest.raises(LedgerError, match="spool") as info:
                _calls(emu, 1)
            assert "kept to try again" in str(info.value) and info.value.response.cost.total > 0
        assert ledger_mod.stats()["pending"] - before["pending"] == 2
        postgres_fresh.start()
        deadline = time.time() + 20  # the writer reconnects on its own (a try a second) and writes the kept rows
        while ledger_mod.stats()["pending"] > before["pending"] and time.time() < deadline:
            time.sleep(0.2)
        led.flush()  # nothing was lost after all: no error left to report
        stored = postgres_fresh.psql("SELECT record_id FROM calls").split()
        assert len(stored) == 3 and sorted(stored) == sorted(r.record_id for r in records)
        assert ledger_mod.stats()["dropped"] == before["dropped"]
    finally:
        tracking.reset()


def test_a_row_postgresql_refuses_does_not_hold_back_the_others(postgres_server: Any, tmp_path: Path,
                                                                 monkeypatch: Any) -> None:
    import uuid

    import psycopg

    monkeypatch.setenv("FAREBOX_SPOOL", str(tmp_path / "spool"))
    name = f"refuse_{uuid.uuid4().hex[:10]}"
    postgres_server.psql(f"CREATE DATABASE {name}")
    url = postgres_server.url.rsplit("/", 1)[0] + f"/{name}"
    led = ledger_mod.get(url, batching=True, batch_size=10**6, flush_interval=3600)
    led.open()
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.vendor = 'bad' THEN "
                 "RAISE EXCEPTION 'no bad vendors'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql")
    conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON calls FOR EACH ROW EXECUTE FUNCTION refuse()")
    before = ledger_mod.stats()
    answers: dict[str, Any] = {}
    try:
        for i, vendor in enumerate(["openai", "bad", "openai"]):
            row = tracking.CallRecord(ts=1.0 + i, vendor=vendor, model="m", status="ok", record_id=f"p{i}").to_row()
            led.submit(row, lambda error, i=i: answers.__setitem__(f"p{i}", error))
        with pytest.raises(LedgerError, match="no bad vendors"):
            led.flush()
        stored = [r[0] for r in conn.execute("SELECT record_id FROM calls ORDER BY record_id").fetchall()]
        assert stored == ["p0", "p2"] and led.spooled == 0  # refused, not spooled for ever
        assert [k for k, v in sorted(answers.items()) if v is not None] == ["p1"]
        assert ledger_mod.stats()["dropped"] - before["dropped"] == 1
    finally:
        conn.close()
        ledger_mod.close_all([led])
