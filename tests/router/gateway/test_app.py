"""The gateway over real sockets: chat completions (JSON and SSE), models, health, metrics, cost headers, ledger."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

import openai
import pytest

from tests.conftest import ledger_rows
from tests.router.gateway.conftest import MASTER, committed

HI = [{"role": "user", "content": "Hi"}]


def client(gateway: Any, key: str = MASTER) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)


def test_chat_completion_json_carries_cost_headers_usage_cost_and_one_ledger_row(gateway: Any, emu: Any) -> None:
    raw = client(gateway).chat.completions.with_raw_response.create(model="cheap", messages=HI)
    resp = raw.parse()
    assert "deepseek emulator" in resp.choices[0].message.content
    cost = Decimal(raw.headers["x-farebox-cost"])
    assert cost > 0 and raw.headers["x-farebox-cost-estimated"] == "false"
    assert raw.headers["x-farebox-attempts"] == "1"
    assert Decimal(resp.usage.model_extra["cost"]) == cost
    rows = committed(gateway.ledger)
    assert len(rows) == 1 and rows[0]["alias"] == "cheap" and Decimal(rows[0]["cost_total"]) == cost
    assert json.loads(rows[0]["tags"]) == {"key_id": "master"}
    # The client's key never reaches a vendor; the vendor got the server's own key.
    assert MASTER not in json.dumps(emu.last_request().headers)


def test_fallback_and_attempts_header(gateway: Any, emu: Any) -> None:
    emu.fault(vendor="minimax", vendor_code=1008, status=429)
    raw = client(gateway).chat.completions.with_raw_response.create(model="smart", messages=HI)
    assert raw.parse().model.startswith("deepseek")
    assert raw.headers["x-farebox-attempts"] == "2" and raw.headers["x-farebox-vendor"] == "deepseek"
    assert committed(gateway.ledger)[0]["fallbacks"] == 1


def test_effort_is_normalised_per_vendor(gateway: Any, emu: Any) -> None:
    client(gateway).chat.completions.create(model="smart", messages=HI, reasoning_effort="off")
    body = emu.last_request("minimax").body
    assert body["thinking"] == {"type": "disabled"} and "reasoning_effort" not in body  # M3's own vocabulary
    with pytest.raises(openai.BadRequestError) as info:
        client(gateway).chat.completions.create(model="cheap", messages=HI, reasoning_effort="bogus")
    assert "bogus" in str(info.value)


def test_stream_relays_chunks_with_usage_cost_on_the_final_chunk(gateway: Any) -> None:
    stream = client(gateway).chat.completions.create(model="cheap", messages=HI, stream=True,
                                                     stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "deepseek emulator" in text
    assert chunks[-1].choices == [] and Decimal(chunks[-1].usage.model_extra["cost"]) > 0
    assert all(c.usage is None for c in chunks[:-1])
    row = committed(gateway.ledger)[0]
    assert row["stream"] == 1 and Decimal(row["cost_total"]) == Decimal(chunks[-1].usage.model_extra["cost"])


def test_stream_without_include_usage_puts_usage_on_the_last_chunk_with_choices(gateway: Any) -> None:
    chunks = list(client(gateway).chat.completions.create(model="cheap", messages=HI, stream=True))
    assert all(c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage is not None
    assert chunks[-1].usage.model_extra["cost"] is not None


def test_models_healthz_and_metrics(gateway: Any) -> None:
    import urllib.request

    assert sorted(m.id for m in client(gateway).models.list()) == ["cheap", "claude", "smart"]
    with urllib.request.urlopen(gateway.url + "/healthz") as r:
        assert json.load(r)["status"] == "ok"
    client(gateway).chat.completions.create(model="cheap", messages=HI)
    with urllib.request.urlopen(gateway.url + "/metrics") as r:
        text = r.read().decode()
    assert 'farebox_calls_total{model="deepseek-v4-flash",status="ok",vendor="deepseek"} 1.0' in text


def test_unknown_model_is_404_naming_the_models(gateway: Any, emu: Any) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client(gateway).chat.completions.create(model="gpt-9", messages=HI)
    assert "smart" in str(info.value) and emu.requests == []


def test_vendor_failure_is_an_openai_shaped_error(gateway: Any, emu: Any) -> None:
    emu.fault(vendor="deepseek", status=500, times=-1)
    with pytest.raises(openai.InternalServerError) as info:
        client(gateway).chat.completions.create(model="cheap", messages=HI)
    assert info.value.status_code in (502, 503)
    assert info.value.body["code"] == "all_deployments_failed" or "deepseek" in str(info.value)


def test_records_are_committed_after_the_answer_and_a_failed_commit_loses_none(gateway: Any, ledger: Any) -> None:
    """The gateway's ledger writer is the batched one (router/gateway/wiring.py): a full database (SQLITE_FULL)
    fails its commits while the clients still get their answers and costs (not a 503), and the rows it could not
    write are kept and go in once there is room again."""
    import threading

    from router import tracking
    from router.tracking import ledger as ledger_mod
    from vendors.errors import LedgerError

    def on_writer(sql: str) -> Any:
        done, box = threading.Event(), []
        ledger_mod.get(ledger).run(lambda conn: conn.execute(sql).fetchall(),
                                   lambda result, error: (box.append(result), done.set()))
        assert done.wait(10)
        return box[0]

    c = client(gateway)
    c.chat.completions.create(model="cheap", messages=HI)
    assert len(committed(ledger)) == 1
    [[pages]] = on_writer("PRAGMA page_count")
    on_writer(f"PRAGMA max_page_count = {pages}")  # the next page SQLite needs: SQLITE_FULL
    try:
        calls = 0
        while calls < 500:  # until a row needs a page the file may not have
            calls += 1
            raw = c.chat.completions.with_raw_response.create(model="cheap", messages=HI)
            assert raw.http_response.status_code == 200 and Decimal(raw.headers["x-farebox-cost"]) > 0
            try:
                tracking.flush()
            except LedgerError:
                break
        else:
            pytest.fail("the database never filled up")
        assert len(ledger_rows(ledger)) < calls + 1
    finally:
        on_writer("PRAGMA max_page_count = 1073741823")
    c.chat.completions.create(model="cheap", messages=HI)
    assert len(committed(ledger)) == calls + 2  # every call, the ones kept through the failed commit too


def test_farebox_serve_cli_runs_the_config(tmp_path: Any, emu: Any) -> None:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "farebox.yaml"
    config.write_text(f"""
deployments:
  - alias: fast
    model: deepseek/deepseek-v4-flash
    api_key: sk-cli-test
    base_url: {emu.base_url("deepseek")}
gateway:
  master_key: sk-cli-master
""")
    proc = subprocess.Popen([sys.executable, "-m", "router", "serve", "--config", str(config), "--port", str(port),
                             "--ledger", str(tmp_path / "l.sqlite")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, proc.stderr.read().decode()
                time.sleep(0.1)
        c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-cli-master", max_retries=0)
        assert "deepseek emulator" in c.chat.completions.create(model="fast", messages=HI).choices[0].message.content
    finally:
        proc.terminate()
        proc.wait(10)
    assert ledger_rows(tmp_path / "l.sqlite")[0]["alias"] == "fast"


def test_serve_demo_with_two_workers_as_the_readme_shows(tmp_path: Any) -> None:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "router", "serve", "--demo", "--port", str(port), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        pids: set[int] = set()
        deadline = time.time() + 60
        while len(pids) < 2:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    pids.add(json.load(r)["pid"])   # a new connection each time: SO_REUSEPORT spreads them
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                time.sleep(0.1)
            assert time.time() < deadline, pids
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", method="POST",
                                     data=json.dumps({"model": "smart", "messages": HI}).encode(),
                                     headers={"Authorization": "Bearer sk-farebox-demo",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert Decimal(r.headers["x-farebox-cost"]) > 0 and "emulator" in json.load(r)["choices"][0][
                "message"]["content"]
    finally:
        proc.terminate()
        proc.wait(20)
