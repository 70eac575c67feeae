"""Many instances: two gateway processes on different ports, one Redis and one PostgreSQL ledger, enforce one
key's rpm and budget together (real redis-server and PostgreSQL, tests/servers.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.servers import free_port

HI = [{"role": "user", "content": "Hi"}]
MASTER = "sk-farebox-instances"


@contextmanager
def gateway_process(config: Path, port: int) -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-m", "router", "serve", "--config", str(config), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1)
                break
            except OSError as exc:
                if proc.poll() is not None or time.time() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    raise RuntimeError(f"gateway did not start: {out}") from exc
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def call(url: str, key: str) -> Any:
    client = openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0)
    return client.chat.completions.with_raw_response.create(model="cheap", messages=HI)


def test_two_gateways_share_one_keys_rpm_and_budget(emu: Any, redis_clean: Any, postgres_fresh: Any,
                                                     tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    from router.gateway.server import key_store

    config = tmp_path / "farebox.yaml"
    config.write_text(json.dumps({
        "deployments": [{"alias": "cheap", "model": "deepseek/deepseek-v4-flash", "api_key": "sk-instances",
                         "base_url": emu.base_url("deepseek")}],
        "num_retries": 0,
        "gateway": {"master_key": MASTER, "ledger": postgres_fresh.url, "state": redis_clean.url,
                    "spend_refresh_s": 0.1, "key_cache_s": 0}}))
    # Keys made with the CLI go to the same PostgreSQL database.
    made = subprocess.run([sys.executable, "-m", "router", "keys", "create", "--rpm", "4", "--json",
                           "--config", str(config)], capture_output=True, text=True, timeout=60, check=True)
    limited = json.loads(made.stdout)["key"]
    with gateway_process(config, free_port()) as a, gateway_process(config, free_port()) as b:
        # A budget of one and a half calls (the price of one call, measured with the master key).
        one = Decimal(call(a, MASTER).headers["x-farebox-cost"])
        store = key_store(postgres_fresh.url)
        try:
            budget_key, budget_info = store.create(budget=one * 3 / 2, period="day")
        finally:
            store.close()
        # rpm 4 across both: 2 + 2 pass, the fifth is refused wherever it lands.
        for url in (a, b, a, b):
            assert call(url, limited).http_response.status_code == 200
        before = len(emu.requests)
        for url in (a, b):
            with pytest.raises(openai.RateLimitError) as info:
                call(url, limited)
            assert info.value.body["code"] == "rate_limit_exceeded"
            assert int(info.value.response.headers["retry-after"]) >= 1
        assert len(emu.requests) == before
        # One call on each gateway fits (the second one sees the first's spend and goes over), then both refuse.
        first = call(a, budget_key)
        time.sleep(0.3)   # B re-reads the shared ledger's spend at most every spend_refresh_s
        second = call(b, budget_key)
        assert sum(Decimal(r.headers["x-farebox-cost"]) for r in (first, second)) > one * 3 / 2
        time.sleep(0.3)
        for url in (a, b):
            with pytest.raises(openai.RateLimitError) as info:
                call(url, budget_key)
            assert info.value.body["code"] == "budget_exceeded"
    # One PostgreSQL ledger holds every call from both processes, each with the key's id.
    import psycopg

    with psycopg.connect(postgres_fresh.url) as conn:
        rows = conn.execute("SELECT tags FROM calls ORDER BY ts").fetchall()
    key_ids = [json.loads(r[0])["key_id"] if isinstance(r[0], str) else r[0]["key_id"] for r in rows]
    assert key_ids.count(budget_info.id) == 2 and key_ids.count("master") == 1 and len(key_ids) == 7
