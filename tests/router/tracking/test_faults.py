"""Slow backends (a SIGSTOPped redis-server or PostgreSQL): calls go on within the documented timeouts."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import router
from router import tracking
from router.tracking import ledger as ledger_mod
from tests.conftest import KEY

MODEL = "openai/gpt-4o-mini"
MSG = [{"role": "user", "content": "slow"}]


def stop(server: Any) -> None:
    for pid in [server.pid, *server_children(server)]:
        os.kill(pid, signal.SIGSTOP)


def resume(server: Any) -> None:
    for pid in [server.pid, *server_children(server)]:
        os.kill(pid, signal.SIGCONT)


def server_children(server: Any) -> list[int]:
    from tests.servers import descendants

    return descendants(server.pid)


def test_a_stalled_redis_costs_a_call_its_timeout_once_then_nothing(emu, redis_clean, ledger) -> None:
    dep = {"alias": "a", "model": MODEL, "api_key": KEY, "base_url": emu.base_url("openai"), "rpm": 100}
    r = router.Router([dep], state=redis_clean.url + "?prefix=slow&timeout=0.2")
    r.completion("a", MSG)
    stop(redis_clean)
    try:
        began = time.perf_counter()
        r.completion("a", MSG)  # fails open after the timeout (and its one retry)
        first = time.perf_counter() - began
        began = time.perf_counter()
        for _ in range(5):
            r.completion("a", MSG)  # Redis is left alone for a second: no timeout per call
        rest = (time.perf_counter() - began) / 5
    finally:
        resume(redis_clean)
    assert 0.2 <= first < 2.0 and rest < 0.15


def test_a_stalled_postgresql_spools_instead_of_holding_calls(emu, postgres_fresh, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FAREBOX_SPOOL", str(tmp_path / "spool"))
    tracking.reset()
    tracking.configure(ledger=postgres_fresh.url)
    led = tracking.active().ledger
    led.write_timeout = 0.5
    kw = {"api_key": KEY, "base_url": emu.base_url("openai")}
    try:
        router.completion(MODEL, MSG, **kw)
        stop(postgres_fresh)
        try:
            began = time.perf_counter()
            for _ in range(3):
                router.completion(MODEL, MSG, **kw)
            took = time.perf_counter() - began
        finally:
            resume(postgres_fresh)
        assert took < 4.0 and led.spooled >= 1
        deadline = time.time() + 10
        while led.spool.pending() and time.time() < deadline:
            time.sleep(0.2)
            led.flush()
        assert postgres_fresh.psql("SELECT count(*) FROM calls") == "4"
    finally:
        tracking.reset()
        ledger_mod.close_all()


def test_a_dead_process_spool_is_delivered_once_by_the_next_writer(postgres_fresh, tmp_path, monkeypatch) -> None:
    import subprocess
    import sys

    monkeypatch.setenv("FAREBOX_SPOOL", str(tmp_path / "spool"))
    url = postgres_fresh.url
    led = ledger_mod.get(url)
    led.open()  # the schema exists
    ledger_mod.close_all([led])
    postgres_fresh.kill()
    script = (
        "import os, sys, pricing\n"
        "from router.tracking import CallRecord, ledger\n"
        "led = ledger.get(sys.argv[1]); led.open()\n"
        "cost = pricing.cost('openai/gpt-4o-mini', {'prompt_tokens': 10, 'completion_tokens': 1})\n"
        "for i in range(3):\n"
        "    led.submit(CallRecord(ts=1.0 + i, vendor='openai', model='gpt-4o-mini', status='ok', cost=cost,\n"
        "                          record_id=f'orphan-{i}').to_row())\n"
        "led.flush()\n"
        "assert led.spooled == 3, led.spooled\n"
        "os._exit(0)  # dies with its spool undelivered (as SIGKILL would leave it)\n")
    out = subprocess.run([sys.executable, "-c", script, url], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(list((tmp_path / "spool").glob("*.jsonl"))) == 1
    postgres_fresh.start()
    led = ledger_mod.get(url)
    led.open()
    led.flush()
    assert postgres_fresh.psql("SELECT string_agg(record_id, ',' ORDER BY record_id) FROM calls") == \
        "orphan-0,orphan-1,orphan-2"
    assert led.delivered == 3 and not list((tmp_path / "spool").glob("*.jsonl"))
    led.flush()
    assert postgres_fresh.psql("SELECT count(*) FROM calls") == "3"
    ledger_mod.close_all([led])
