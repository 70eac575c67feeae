"""The SQLite ledger: concurrency (tasks, threads, processes), durability under SIGKILL, bad files, schema."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import router
from router import tracking
from router.emulator import Emulator
from router.errors import LedgerError
from router.tracking import ledger as ledger_mod
from router.tracking import ledger_file
from tests.conftest import KEY, ledger_rows

ROOT = Path(__file__).resolve().parents[3]


def ask(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"question {i} " + "word " * (i % 17)}]  # costs differ call to call


def openai(emu: Emulator) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": emu.base_url("openai")}


async def test_concurrent_tasks_and_threads_are_each_recorded_once_with_their_cost(emu, ledger) -> None:
    async def one(i: int) -> Any:
        return await router.acompletion("openai/gpt-4o-mini", ask(i), metadata={"n": f"a{i}"}, **openai(emu))

    sync_resps: dict[str, Any] = {}

    def worker(t: int) -> None:
        for i in range(25):
            sync_resps[f"t{t}-{i}"] = router.completion("openai/gpt-4o-mini", ask(t * 25 + i),
                                                        metadata={"n": f"t{t}-{i}"}, **openai(emu))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    async_resps = await asyncio.gather(*(one(i) for i in range(200)))
    await asyncio.to_thread(lambda: [thread.join() for thread in threads])
    expected = {f"a{i}": r.cost.total for i, r in enumerate(async_resps)} | {
        k: r.cost.total for k, r in sync_resps.items()}
    rows = ledger_rows(ledger)
    assert len(rows) == 400 == len(expected)
    got = {json.loads(r["tags"])["n"]: Decimal(r["cost_total"]) for r in rows}
    assert got == expected
    assert len({r["record_id"] for r in rows}) == 400
    [total] = router.spend()
    assert total.calls == 400 and total.cost == sum(expected.values())


CHILD = """
import os, sys, threading
import router
tag, n = sys.argv[1], int(sys.argv[2])
kw = dict(api_key="sk-child-000000001", base_url=os.environ["EMU_URL"])

def work(t):
    for i in range(t, n, 4):
        router.completion("openai/gpt-4o-mini", [{"role": "user", "content": f"{tag} {i}"}],
                          metadata={"proc": tag, "i": i}, **kw)

threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print("done", flush=True)
"""


def child_env(emu: Emulator, path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "FAREBOX_LEDGER": str(path), "EMU_URL": emu.base_url("openai"), **extra}


def test_two_processes_write_one_ledger_concurrently(emu, tmp_path) -> None:
    path = tmp_path / "shared.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, tag, "40"], cwd=ROOT, env=child_env(emu, path),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for tag in ("p1", "p2")]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    rows = ledger_rows(path)
    keys = sorted((json.loads(r["tags"])["proc"], json.loads(r["tags"])["i"]) for r in rows)
    assert keys == sorted((tag, i) for tag in ("p1", "p2") for i in range(40))
    assert len({r["pid"] for r in rows}) == 2 and all(r["status"] == "ok" for r in rows)


KILLED = """
import os, sys, time
import router
batching = sys.argv[1] == "batching"
if batching:
    router.configure(batching=True, batch_size=10**6, flush_interval=3600)  # only flush() commits
kw = dict(api_key="sk-child-000000002", base_url=os.environ["EMU_URL"])
for i in range(100000):
    router.completion("openai/gpt-4o-mini", [{"role": "user", "content": f"call {i}"}], metadata={"i": i}, **kw)
    if batching and i == 19:
        router.flush()
        print("flushed", i + 1, flush=True)
    elif not batching:
        print("returned", i, flush=True)
"""


def run_and_kill(emu: Emulator, path: Path, mode: str, lines: int) -> list[str]:
    proc = subprocess.Popen([sys.executable, "-c", KILLED, mode], cwd=ROOT, env=child_env(emu, path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = []
    try:
        while len(seen) < lines:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            seen.append(line.strip())
        time.sleep(0.3)  # more calls happen: in batching mode they are queued, not committed
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        seen += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]
    finally:
        if proc.poll() is None:
            proc.kill()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode == -signal.SIGKILL
    return seen


def assert_readable(path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    return ledger_rows(path)


def test_sigkill_in_batching_mode_keeps_every_flushed_record(emu, tmp_path) -> None:
    path = tmp_path / "killed.sqlite"
    assert run_and_kill(emu, path, "batching", 1) == ["flushed 20"]
    rows = assert_readable(path)
    flushed = {json.loads(r["tags"])["i"] for r in rows}
    assert set(range(20)) <= flushed
    assert len(emu.requests) > 20 and len(rows) == 20  # the calls after the flush were lost with the process


def test_sigkill_in_durable_mode_keeps_every_returned_call(emu, tmp_path) -> None:
    path = tmp_path / "killed.sqlite"
    returned = {int(line.split()[1]) for line in run_and_kill(emu, path, "durable", 15)}
    rows = assert_readable(path)
    assert returned <= {json.loads(r["tags"])["i"] for r in rows} and len(returned) >= 15


def test_batching_commits_at_flush_batch_size_interval_and_exit(emu, tmp_path) -> None:
    path = tmp_path / "batch.sqlite"
    tracking.configure(ledger=path, batching=True, batch_size=10**6, flush_interval=3600)
    try:
        router.completion("openai/gpt-4o-mini", ask(1), **openai(emu))
        assert ledger_rows(path) == []  # queued, not committed
        router.flush()
        assert len(ledger_rows(path)) == 1
        tracking.configure(batch_size=3)
        for i in range(3):
            router.completion("openai/gpt-4o-mini", ask(i), **openai(emu))
        wait_for(lambda: len(ledger_rows(path)) == 4)
        tracking.configure(batch_size=10**6, flush_interval=0.05)
        router.completion("openai/gpt-4o-mini", ask(9), **openai(emu))
        wait_for(lambda: len(ledger_rows(path)) == 5)
    finally:
        tracking.reset()
    script = ("import os, router\nrouter.configure(batching=True, flush_interval=3600)\nfor i in range(3):\n"
              "    router.completion('openai/gpt-4o-mini', [{'role': 'user', 'content': 'x'}], "
              "api_key='sk-exit-00000001', base_url=os.environ['EMU_URL'])\n")
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=child_env(emu, path), check=True, timeout=60)
    assert len(ledger_rows(path)) == 8  # committed by the exit hook


async def test_aflush_commits_from_a_coroutine(emu, tmp_path) -> None:
    path = tmp_path / "abatch.sqlite"
    tracking.configure(ledger=path, batching=True, flush_interval=3600)
    try:
        await router.acompletion("openai/gpt-4o-mini", ask(1), **openai(emu))
        assert ledger_rows(path) == []
        await router.aflush()
        assert len(ledger_rows(path)) == 1
    finally:
        tracking.reset()


def wait_for(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# -- bad files ------------------------------------------------------------------------------------

GARBAGE = b"this is not a database at all\n" * 200


def test_a_corrupt_file_is_a_clear_error_naming_the_path_and_is_left_untouched(tmp_path) -> None:
    path = tmp_path / "corrupt.sqlite"
    path.write_bytes(GARBAGE)
    with pytest.raises(LedgerError) as info:
        tracking.configure(ledger=path)
    tracking.reset()
    assert str(path) in str(info.value) and "not a readable SQLite ledger" in str(info.value)
    assert path.read_bytes() == GARBAGE


def test_a_corrupt_default_ledger_stops_the_call_before_any_request(emu, tmp_path, monkeypatch) -> None:
    path = tmp_path / "corrupt.sqlite"
    path.write_bytes(GARBAGE)
    monkeypatch.setenv("FAREBOX_LEDGER", str(path))
    tracking.reset()
    try:
        with pytest.raises(LedgerError, match=r"corrupt\.sqlite"):
            router.completion("openai/gpt-4o-mini", ask(1), **openai(emu))
    finally:
        monkeypatch.undo()
        tracking.reset()
    assert emu.requests == [] and path.read_bytes() == GARBAGE


def test_an_unwritable_path_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "afile").write_text("a regular file, not a directory")
    path = tmp_path / "afile" / "ledger.sqlite"
    with pytest.raises(LedgerError) as info:
        tracking.configure(ledger=path)
    tracking.reset()
    assert str(path) in str(info.value) and "cannot open" in str(info.value)
    assert info.value.response is None  # raised before any request: no answer to carry


@pytest.mark.parametrize("kind", ["corrupt", "unwritable"])
def test_best_effort_keeps_calls_going_with_one_warning(emu, tmp_path, caplog, records, kind) -> None:
    if kind == "corrupt":
        path = tmp_path / "corrupt.sqlite"
        path.write_bytes(GARBAGE)
    else:
        (tmp_path / "afile").write_text("x")
        path = tmp_path / "afile" / "ledger.sqlite"
    with caplog.at_level(logging.WARNING, logger="farebox"):
        tracking.configure(ledger=path, tracking="best-effort")
        try:
            for i in range(3):
                assert router.completion("openai/gpt-4o-mini", ask(i), **openai(emu)).cost is not None
        finally:
            tracking.reset()
    warnings = [r for r in caplog.records if str(path) in r.getMessage()]
    assert len(warnings) == 1 and "best-effort" in warnings[0].getMessage()
    assert len(records) == 3  # listeners still see every call
    if kind == "corrupt":
        assert path.read_bytes() == GARBAGE


@pytest.mark.parametrize("mode", ["strict", "best-effort"])
def test_a_failing_write_keeps_what_was_recorded(emu, tmp_path, caplog, mode) -> None:
    path = tmp_path / "ledger.sqlite"
    tracking.configure(ledger=path, tracking=mode)
    try:
        router.completion("openai/gpt-4o-mini", ask(1), **openai(emu))
        conn = sqlite3.connect(path)
        conn.execute("CREATE TRIGGER no_more BEFORE INSERT ON calls BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
        conn.commit()
        conn.close()
        with caplog.at_level(logging.ERROR, logger="farebox"):
            for i in range(2):
                if mode == "strict":
                    with pytest.raises(LedgerError, match="disk on fire") as info:
                        router.completion("openai/gpt-4o-mini", ask(i), **openai(emu))
                    assert str(path) in str(info.value)
                else:
                    router.completion("openai/gpt-4o-mini", ask(i), **openai(emu))
    finally:
        tracking.reset()
    assert len(ledger_rows(path)) == 1  # the earlier record is intact
    assert len([r for r in caplog.records if "disk on fire" in r.getMessage()]) == 1  # logged once


def _refuse_inserts(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TRIGGER no_more BEFORE INSERT ON calls BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("api", ["sync", "async"])
def test_strict_ledger_error_after_the_vendor_answered_carries_the_answer(emu, tmp_path, api) -> None:
    path = tmp_path / "ledger.sqlite"
    tracking.configure(ledger=path, tracking="strict")
    try:
        router.completion("openai/gpt-4o-mini", ask(1), **openai(emu))  # opens the file (and its writers)
        _refuse_inserts(path)
        with pytest.raises(LedgerError, match="disk on fire") as info:
            if api == "sync":
                router.completion("openai/gpt-4o-mini", ask(2), **openai(emu))
            else:
                asyncio.run(router.acompletion("openai/gpt-4o-mini", ask(2), **openai(emu)))
    finally:
        tracking.reset()
    resp = info.value.response
    assert resp.choices[0].message.content and resp.cost.total > 0  # the answer and its cost, not lost
    assert len(emu.requests) == 2


def test_a_forked_child_records_its_own_calls(emu, tmp_path) -> None:
    # The parent's background loop and ledger writer threads do not survive fork(); the child must start
    # its own instead of queueing records for a writer that is not there (and hanging on them).
    path = tmp_path / "ledger.sqlite"
    tracking.configure(ledger=path)
    try:
        router.completion("openai/gpt-4o-mini", ask(1), metadata={"who": "parent"}, **openai(emu))
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            code = 1
            try:
                signal.alarm(30)
                router.completion("openai/gpt-4o-mini", ask(2), metadata={"who": "child"}, **openai(emu))
                code = 0
            finally:
                os._exit(code)
        deadline = time.monotonic() + 60
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if done[0] == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        assert os.waitstatus_to_exitcode(done[1]) == 0
        router.completion("openai/gpt-4o-mini", ask(3), metadata={"who": "parent"}, **openai(emu))  # still works
    finally:
        tracking.reset()
    assert sorted(json.loads(r["tags"])["who"] for r in ledger_rows(path)) == ["child", "parent", "parent"]


# -- schema ---------------------------------------------------------------------------------------

def test_a_new_ledger_is_versioned_and_in_wal_mode(ledger) -> None:
    conn = sqlite3.connect(ledger)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == ledger_mod.SCHEMA_VERSION >= 2
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = [r[1] for r in conn.execute("PRAGMA table_info(calls)")]
    finally:
        conn.close()
    assert set(ledger_mod.COLUMNS) <= set(columns)
    assert len(tracking.CallRecord(ts=0, vendor="v", model="m", status="ok").to_row()) == len(ledger_mod.COLUMNS)


def test_a_version_1_ledger_is_migrated_and_keeps_its_rows(tmp_path) -> None:
    path = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(path)
    for statement in ledger_mod.MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO calls (record_id, ts, vendor, model, status, cost_total, cost_pico) "
                 "VALUES ('old-1', ?, 'openai', 'gpt-4o-mini', 'ok', '0.5', 500000000000)", (time.time(),))
    conn.commit()
    conn.close()
    tracking.configure(ledger=path)
    tracking.reset()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == ledger_mod.SCHEMA_VERSION
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        conn.close()
    assert "calls_ts" in indexes
    [row] = router.spend(ledger=path)
    assert row.calls == 1 and row.cost == Decimal("0.5")


def test_a_newer_ledger_is_refused_with_a_clear_error(tmp_path) -> None:
    path = tmp_path / "future.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {ledger_mod.SCHEMA_VERSION + 1}")
    conn.execute(f"PRAGMA application_id = {ledger_file.APPLICATION_ID}")
    conn.close()
    with pytest.raises(LedgerError, match="newer than this Farebox") as info:
        tracking.configure(ledger=path)
    tracking.reset()
    assert str(path) in str(info.value)


def test_another_sqlite_database_is_not_taken_over(tmp_path) -> None:
    path = tmp_path / "app.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER)")
    conn.close()
    with pytest.raises(LedgerError, match="not a Farebox cost ledger"):
        tracking.configure(ledger=path)
    tracking.reset()


def test_a_commit_uses_few_statement_sizes() -> None:
    """sqlite3 keeps each compiled statement (about 4 KB per row of an INSERT): a batching writer whose commits
    took one statement per batch size grew by tens of MB, so a commit's INSERTs come in a few fixed sizes."""
    from router.tracking.ledger import ROWS_PER_STATEMENT, statement_sizes

    allowed = {ROWS_PER_STATEMENT} | {1 << i for i in range(ROWS_PER_STATEMENT.bit_length())}
    used: set[int] = set()
    for rows in range(1, 3 * ROWS_PER_STATEMENT + 2):
        sizes = statement_sizes(rows)
        assert sum(sizes) == rows and set(sizes) <= allowed
        assert len(sizes) <= rows // ROWS_PER_STATEMENT + ROWS_PER_STATEMENT.bit_length()
        used.update(sizes)
    assert len(used) <= 9
