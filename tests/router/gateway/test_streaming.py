"""Streams through the gateway: chunk by chunk as they come, keep-alives while the first token is pending, and a
client that goes away cancels the vendor request, recorded cancelled with the partial cost."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

import aiohttp

from tests.conftest import ledger_rows
from tests.router.gateway.conftest import MASTER, committed

BODY = {"model": "cheap", "messages": [{"role": "user", "content": "Hi there, tell me something"}], "stream": True}
HEADERS = {"Authorization": f"Bearer {MASTER}"}


async def _lines(resp: aiohttp.ClientResponse) -> Any:
    started = time.perf_counter()
    async for raw in resp.content:
        line = raw.decode().rstrip("\n")
        if line:
            yield time.perf_counter() - started, line


async def test_keepalive_comments_while_the_first_token_is_pending(gateway: Any, emu: Any) -> None:
    emu.fault(vendor="deepseek", delay_s=0.9)   # gateway fixture: keepalive_s = 0.2
    async with aiohttp.ClientSession() as s, s.post(gateway.url + "/v1/chat/completions", json=BODY,
                                                    headers=HEADERS) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"
        lines = [line async for _, line in _lines(resp)]
    first_data = next(i for i, line in enumerate(lines) if line.startswith("data:"))
    assert lines[:first_data] and set(lines[:first_data]) == {": keep-alive"}
    assert len(lines[:first_data]) >= 3
    assert lines[-1] == "data: [DONE]"


async def test_chunks_are_relayed_as_they_come_not_buffered(gateway: Any, emu: Any) -> None:
    emu.fault(vendor="deepseek", chunk_delay_s=0.15)
    async with aiohttp.ClientSession() as s, s.post(gateway.url + "/v1/chat/completions", json=BODY,
                                                    headers=HEADERS) as resp:
        timed = [(t, line) for t, line in [x async for x in _lines(resp)] if line.startswith("data: {")]
    content = [(t, json.loads(line[6:])) for t, line in timed]
    texts = [(t, c["choices"][0]["delta"].get("content")) for t, c in content if c["choices"]]
    arrivals = [t for t, text in texts if text]
    assert len(arrivals) >= 3
    # Each piece arrives about one vendor chunk delay after the previous one, not all at the end.
    assert arrivals[-1] - arrivals[0] >= 0.15 * (len(arrivals) - 1) * 0.8


async def test_client_disconnect_cancels_the_vendor_request(gateway: Any, emu: Any) -> None:
    emu.fault(vendor="deepseek", chunk_delay_s=0.3)
    started = time.perf_counter()
    async with aiohttp.ClientSession() as s:
        resp = await s.post(gateway.url + "/v1/chat/completions", json=BODY, headers=HEADERS)
        got = 0
        async for _, line in _lines(resp):
            if line.startswith("data: {") and json.loads(line[6:])["choices"][0]["delta"].get("content"):
                got += 1
                if got == 2:
                    break
        resp.close()   # the client goes away mid-stream
        gone = time.perf_counter() - started
    for _ in range(100):
        rows = ledger_rows(gateway.ledger)
        if rows:
            break
        await asyncio.sleep(0.05)
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["status"] == "cancelled" and row["stream"] == 1
    assert row["completion_tokens"] > 0 and Decimal(row["cost_total"]) > 0 and row["estimated"] == 1
    # Recorded before the vendor would have finished: the same stream read to its end takes longer (no bound on
    # how soon after the disconnect: counting the partial usage may first load tiktoken's tables).
    emu.fault(vendor="deepseek", chunk_delay_s=0.3)
    whole = time.perf_counter()
    async with aiohttp.ClientSession() as s, s.post(gateway.url + "/v1/chat/completions", json=BODY,
                                                    headers=HEADERS) as resp:
        await resp.read()
    whole = time.perf_counter() - whole
    assert gone < whole and row["latency_s"] < whole, (row["latency_s"], gone, whole)
    assert json.loads(row["tags"])["key_id"] == "master"


async def test_a_client_gone_before_the_first_token_cancels_the_vendor_request(gateway: Any, emu: Any) -> None:
    """The stream opens in the handler's own task: a client that leaves while only keep-alives went out
    cancels the open, and the call is recorded cancelled, long before the vendor would have answered."""
    emu.fault(vendor="deepseek", delay_s=5.0)   # gateway fixture: keepalive_s = 0.2
    async with aiohttp.ClientSession() as s:
        resp = await s.post(gateway.url + "/v1/chat/completions", json=BODY, headers=HEADERS)
        async for _, line in _lines(resp):
            assert line == ": keep-alive"
            break
        resp.close()
    for _ in range(200):
        rows = ledger_rows(gateway.ledger)
        if rows:
            break
        await asyncio.sleep(0.05)
    assert [r["status"] for r in rows] == ["cancelled"]
    assert rows[0]["latency_s"] < 5.0 and rows[0]["completion_tokens"] == 0


async def test_anthropic_stream_keepalive_and_events(gateway: Any, emu: Any) -> None:
    emu.fault(vendor="anthropic", delay_s=0.5)
    body = {"model": "claude", "max_tokens": 2000, "messages": [{"role": "user", "content": "Hi"}], "stream": True}
    async with aiohttp.ClientSession() as s, s.post(gateway.url + "/v1/messages", json=body,
                                                    headers={"x-api-key": MASTER}) as resp:
        lines = [line async for _, line in _lines(resp)]
    assert lines[0] == ": keep-alive"
    events = [line[7:] for line in lines if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-2:] == ["message_delta", "message_stop"]


async def test_a_stream_has_no_cost_headers_its_cost_is_at_the_end_of_each_wire(gateway: Any) -> None:
    """The headers leave before the first token: the cost is on the final usage chunk (OpenAI) or on
    message_delta (Anthropic), as the README says, and it is the ledger's figure."""
    openai_body = {**BODY, "stream_options": {"include_usage": True}}
    anthropic_body = {"model": "claude", "max_tokens": 500, "stream": True, "messages": BODY["messages"]}
    costs = []
    async with aiohttp.ClientSession() as session:
        for path, body in (("/v1/chat/completions", openai_body), ("/v1/messages", anthropic_body)):
            async with session.post(gateway.url + path, json=body, headers=HEADERS) as resp:
                assert resp.status == 200 and resp.content_type == "text/event-stream"
                assert not [h for h in resp.headers if h.lower().startswith("x-farebox-cost")]
                events = [json.loads(line[6:]) async for _, line in _lines(resp)
                          if line.startswith("data: {")]
            if path == "/v1/messages":
                [delta] = [e for e in events if e["type"] == "message_delta"]
                costs.append(Decimal(delta["usage"]["cost"]))
            else:
                assert events[-1]["choices"] == [] and all("usage" not in e for e in events[:-1])
                costs.append(Decimal(events[-1]["usage"]["cost"]))
    rows = committed(gateway.ledger)
    assert all(c > 0 for c in costs) and [Decimal(r["cost_total"]) for r in rows] == costs
