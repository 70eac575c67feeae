"""Across processes, on real redis-server and PostgreSQL: one budget, shared cooldowns and rpm limits, and a ledger
that keeps every call exactly once while PostgreSQL restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import router
from router import tracking
from router.emulator import Emulator
from router.estimate import expected_cost
from tests.conftest import KEY

ROOT = Path(__file__).resolve().parents[3]
MODEL = "openai/gpt-4o-mini"
KW = {"max_tokens": 40}


def database(pg: Any) -> str:
    """A fresh database on the session's PostgreSQL (its URL)."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    pg.psql(f"CREATE DATABASE {name}")
    return pg.url.rsplit("/", 1)[0] + f"/{name}"


def deployments(emu: Emulator, **first: Any) -> list[dict[str, Any]]:
    return [{"alias": "a", "model": MODEL, "api_key": KEY, "base_url": emu.base_url("openai"), "name": "oa", **first},
            {"alias": "a", "model": "deepseek/deepseek-v4-flash", "api_key": KEY, "base_url": emu.base_url("deepseek"),
             "name": "ds"}]


def spawn(spec: dict[str, Any], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.router.tracking.scale_worker", json.dumps(spec)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def collect(procs: list[subprocess.Popen[str]], timeout: float = 90) -> list[dict[str, Any]]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        assert p.returncode == 0, stderr[-3000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "spool"
    monkeypatch.setenv("FAREBOX_SPOOL", str(path))
    return path


def test_four_processes_share_one_budget_and_spend_adds_up(emu, redis_clean, postgres_server, spool) -> None:
    url = database(postgres_server)
    estimate = expected_cost(MODEL, [{"role": "user", "content": "call 00"}], KW)
    budget = estimate * 60  # room for about 60 of the 200 calls
    spec = {"state": redis_clean.url, "ledger": url, "calls": 50, "concurrency": 50, "kwargs": KW,
            "router": {"deployments": deployments(emu)[:1], "max_budget": str(budget)},
            "start_at": time.time() + 2.0}
    results = collect([spawn(spec) for _ in range(4)])
    calls = [c for r in results for c in r["results"]]
    answered = [Decimal(c["cost"]) for c in calls if "cost" in c]
    refused = [c for c in calls if c.get("error") == "BudgetExceededError"]
    assert len(answered) + len(refused) == 200 and refused and answered
    spent = sum(answered, Decimal(0))
    # reservations are the dearest estimate: overspend is at most what real costs exceeded their estimates
    slack = sum((max(c - estimate, Decimal(0)) for c in answered), Decimal(0))
    assert spent <= budget + slack, (spent, budget, slack)
    assert spent >= budget - 200 * estimate / 4  # the budget was used, not refused wholesale
    [total] = router.spend(ledger=url)
    assert total.cost == spent and total.calls == 200  # refused calls are recorded too, at no cost
    assert total.failures == len(refused)


def test_a_cooldown_set_by_one_process_is_honoured_by_another(emu, redis_clean, spool, tmp_path) -> None:
    state = redis_clean.url + "?prefix=cool"
    r = router.Router(deployments(emu), state=state, allowed_fails=1, cooldown_s=30, num_retries=0)
    emu.fault(vendor="openai", status=500, times=1)
    resp = r.completion("a", [{"role": "user", "content": "x"}], **KW)
    assert resp.vendor == "deepseek"  # oa failed once, which cools it down (allowed_fails=1)
    seen = len([q for q in emu.requests if q.vendor == "openai"])
    spec = {"state": state, "ledger": str(tmp_path / "l.sqlite"), "calls": 3, "concurrency": 1, "kwargs": KW,
            "router": {"deployments": deployments(emu), "num_retries": 0}}
    [result] = collect([spawn(spec)])
    assert [c["vendor"] for c in result["results"]] == ["deepseek"] * 3
    assert len([q for q in emu.requests if q.vendor == "openai"]) == seen  # the other process never tried oa


def test_an_rpm_limit_holds_across_processes(emu, redis_clean, spool, tmp_path) -> None:
    spec = {"state": redis_clean.url + "?prefix=rpm", "ledger": str(tmp_path / "l.sqlite"), "calls": 10,
            "concurrency": 5, "kwargs": KW, "router": {"deployments": deployments(emu, rpm=7)},
            "start_at": time.time() + 1.5}
    results = collect([spawn(spec) for _ in range(4)])
    vendors = [c["vendor"] for r in results for c in r["results"]]
    assert len(vendors) == 40
    assert vendors.count("openai") == 7  # the limited deployment took exactly its rpm; the rest went on
    assert vendors.count("deepseek") == 33


def test_the_ledger_keeps_every_call_once_while_postgres_restarts(emu, postgres_fresh, spool) -> None:
    url = postgres_fresh.url
    spec = {"ledger": url, "calls": 60, "concurrency": 4, "kwargs": KW, "pause_s": 0.1,
            "router": {"deployments": deployments(emu)}, "start_at": time.time() + 1.5}
    procs = [spawn(spec) for _ in range(4)]
    deadline = time.time() + 30
    while time.time() < deadline and int(postgres_fresh.psql("SELECT count(*) FROM pg_tables "
                                                             "WHERE tablename = 'calls'")) == 0:
        time.sleep(0.05)
    while time.time() < deadline and int(postgres_fresh.psql("SELECT count(*) FROM calls")) < 40:
        time.sleep(0.05)
    postgres_fresh.kill()  # a crash mid-run: writes fail, records go to each process's spool
    time.sleep(1.0)
    postgres_fresh.start()
    results = collect(procs)
    tracking.reset()
    led = tracking.ledger.get(url)  # any process writing to the database delivers a dead process's spool
    led.open()
    deadline = time.time() + 15
    while True:
        led.flush()
        if not led.spool.pending() or time.time() > deadline:
            break
        time.sleep(0.2)
    ids = [i for r in results for i in r["ids"]]
    assert len(ids) == 240 == len(set(ids))
    assert int(postgres_fresh.psql("SELECT count(*) FROM calls")) > 40
    stored = postgres_fresh.psql("SELECT record_id FROM calls").split()
    assert sorted(stored) == sorted(ids)  # nothing lost, nothing twice
    costs = [Decimal(c["cost"]) for r in results for c in r["results"] if c.get("cost")]
    [total] = router.spend(ledger=url)
    assert total.calls == 240 and total.cost == sum(costs, Decimal(0))
    assert sum(r["spooled"] for r in results) > 0  # the restart was felt, and the spool carried those records
    tracking.ledger.close_all([led])


def test_a_killed_process_reservation_expires(emu, redis_clean, spool, tmp_path) -> None:
    state = redis_clean.url + "?prefix=kill&reservation_ttl=2"
    estimate = expected_cost(MODEL, [{"role": "user", "content": "call 0"}], KW)
    ledger = str(tmp_path / "l.sqlite")
    spec = {"state": state, "ledger": ledger, "calls": 1, "kwargs": KW,
            "router": {"deployments": deployments(emu)[:1], "max_budget": str(estimate * 3 / 2)}}
    emu.fault(vendor="openai", delay_s=30)  # the call hangs, holding its reservation
    proc = spawn(spec)
    deadline = time.time() + 15
    while not emu.requests and time.time() < deadline:
        time.sleep(0.05)
    assert emu.requests, "the worker never sent its call"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = time.time()
    r = router.Router(deployments(emu)[:1], state=state, max_budget=estimate * 3 / 2)
    tracking.configure(ledger=ledger)
    msg = [{"role": "user", "content": "call 0"}]
    with pytest.raises(router.errors.BudgetExceededError, match="in flight"):
        r.completion("a", msg, **KW)  # the dead process's claim still counts...
    time.sleep(max(0.0, killed + 2.2 - time.time()))
    assert r.completion("a", msg, **KW).cost.total > 0  # ...until it expires
    tracking.reset()
