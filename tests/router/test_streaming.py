"""Streams, sync and async, against the emulator: deltas, assembly, usage on the last chunk, early close, faults."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

import router
from router import errors
from router.emulator import Emulator

KEY = "sk-api-SECRET-abcdefghijklmnop"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                       "required": ["city", "days"]},
    },
}
WEATHER = [{"role": "user", "content": "What's the weather in Paris? unicode please"}]
HI = [{"role": "user", "content": "Hi there, say unicode"}]


def deepseek(emu: Emulator) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": emu.base_url("deepseek")}


def openai(emu: Emulator) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": emu.base_url("openai")}


def fold(chunks: list[Any]) -> dict[str, Any]:
    """What a caller sees by reading the deltas itself."""
    out: dict[str, Any] = {"content": "", "reasoning": "", "calls": {}, "finish": None}
    for chunk in chunks:
        for choice in chunk.choices:
            delta = choice.delta
            out["content"] += delta.content or ""
            out["reasoning"] += delta.reasoning_content or ""
            for call in delta.tool_calls or ():
                slot = out["calls"].setdefault(call.index, {"id": None, "name": None, "args": ""})
                slot["id"] = call.id or slot["id"]
                slot["name"] = call.function.name or slot["name"]
                slot["args"] += call.function.arguments
            out["finish"] = choice.finish_reason or out["finish"]
    return out


def check_last_chunk(chunks: list[Any]) -> None:
    last = chunks[-1]
    assert last.usage is not None and last.usage.total_tokens > 0 and not last.usage.estimated
    assert last.cost is not None and last.cost.total > 0
    assert all(c.usage is None for c in chunks[:-1])


def same_message(streamed: Any, plain: Any) -> None:
    s, p = streamed.choices[0], plain.choices[0]
    assert s.finish_reason == p.finish_reason
    assert s.message.content == p.message.content
    assert s.message.reasoning_content == p.message.reasoning_content
    s_calls = [(c.type, c.function.name, c.function.arguments) for c in s.message.tool_calls or ()]
    p_calls = [(c.type, c.function.name, c.function.arguments) for c in p.message.tool_calls or ()]
    assert s_calls == p_calls
    assert streamed.usage.model_dump() == plain.usage.model_dump()


# -- content, reasoning, tool calls ----------------------------------------------------------------

def test_sync_stream_text_and_reasoning(emu: Emulator) -> None:
    stream = router.completion("deepseek/deepseek-reasoner", HI, stream=True, **deepseek(emu))
    chunks = list(stream)
    seen = fold(chunks)
    assert seen["reasoning"] == "The user said 'Hi there, say unicode'; I will answer politely."
    assert seen["content"].endswith("You said: Hi there, say unicode Unicode: café ☕ naïve")
    assert seen["finish"] == "stop"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) > 2  # really incremental
    check_last_chunk(chunks)
    resp = stream.response
    assert resp.vendor == "deepseek"
    assert resp.choices[0].message.content == seen["content"]
    assert resp.choices[0].message.reasoning_content == seen["reasoning"]
    assert resp.usage.reasoning_tokens > 0
    assert resp.cost == chunks[-1].cost
    assert [(a.status, a.ok) for a in resp.attempts] == [(200, True)]
    body = emu.last_request().body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    same_message(resp, router.completion("deepseek/deepseek-reasoner", HI, **deepseek(emu)))


def test_sync_stream_tool_call_fragments_joined(emu: Emulator) -> None:
    stream = router.completion("deepseek/deepseek-reasoner", WEATHER, tools=[WEATHER_TOOL], stream=True,
                               **deepseek(emu))
    chunks = list(stream)
    seen = fold(chunks)
    fragments = [c for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert len(fragments) > 2  # the arguments really arrived in pieces
    assert seen["finish"] == "tool_calls"
    (call,) = stream.response.choices[0].message.tool_calls
    assert call.id == seen["calls"][0]["id"] and call.id.startswith("call_")
    assert call.type == "function" and call.function.name == "get_weather"
    assert call.function.arguments == seen["calls"][0]["args"]
    assert json.loads(call.function.arguments) == {"city": "Paris", "days": 1}
    assert call.index is None  # an assembled message has no delta index
    assert stream.response.choices[0].finish_reason == "tool_calls"
    check_last_chunk(chunks)
    plain = router.completion("deepseek/deepseek-reasoner", WEATHER, tools=[WEATHER_TOOL], **deepseek(emu))
    same_message(stream.response, plain)


@pytest.mark.parametrize("tools", [False, True], ids=["text", "tool"])
async def test_async_stream_equals_plain(emu: Emulator, tools: bool) -> None:
    kw: dict[str, Any] = {"tools": [WEATHER_TOOL]} if tools else {}
    msgs = WEATHER if tools else HI
    stream = await router.acompletion("openai/gpt-5.1", msgs, stream=True, **kw, **openai(emu))
    chunks = [chunk async for chunk in stream]
    check_last_chunk(chunks)
    seen = fold(chunks)
    plain = await router.acompletion("openai/gpt-5.1", msgs, **kw, **openai(emu))
    same_message(stream.response, plain)
    assert stream.response.choices[0].message.content == (seen["content"] or None)
    assert stream.response.vendor == "openai"


async def test_async_stream_reasoning_on_compatible_server(emu: Emulator) -> None:
    emu.set_options("compatible", thinking=True)
    stream = await router.acompletion("compatible/local-model", HI, base_url=emu.base_url("compatible"), stream=True)
    async with stream:
        chunks = [chunk async for chunk in stream]
    seen = fold(chunks)
    assert seen["reasoning"].startswith("The user said")
    assert stream.response.choices[0].message.reasoning_content == seen["reasoning"]
    assert stream.response.choices[0].message.content == seen["content"]


def test_stream_without_vendor_usage_is_estimated(emu: Emulator) -> None:
    emu.set_options("minimax", stream_usage="never")
    stream = router.completion("minimax/MiniMax-M3", HI, stream=True, api_key=KEY, base_url=emu.base_url("minimax"))
    chunks = list(stream)
    last = chunks[-1]
    assert last.usage is not None and last.usage.estimated and last.usage.completion_tokens > 0
    assert last.cost is not None and last.cost.estimated
    assert stream.response.usage.estimated


# -- early close releases the connection -----------------------------------------------------------

def _acquired(session: Any) -> int:
    return len(session.connector._acquired)


def test_sync_early_close_releases_connection(emu: Emulator) -> None:
    from router import loop, transport

    emu.fault(chunk_delay_s=0.3)
    started = time.perf_counter()
    with router.completion("openai/gpt-5.1", HI, stream=True, **openai(emu)) as stream:
        for chunk in stream:
            assert chunk.choices
            break
    assert time.perf_counter() - started < 1.0  # did not wait for the remaining ~10 slow chunks
    session = transport._transports[loop.loop()].session
    assert _acquired(session) == 0
    assert stream.response is None  # never assembled: the caller stopped early
    resp = router.completion("openai/gpt-5.1", HI, **openai(emu))
    assert resp.choices[0].message.content.endswith("say unicode Unicode: café ☕ naïve")
    assert _acquired(session) == 0
    assert len(emu.requests) == 2


def test_sync_stream_close_without_iterating(emu: Emulator) -> None:
    from router import loop, transport

    emu.fault(chunk_delay_s=0.3)
    stream = router.completion("openai/gpt-5.1", HI, stream=True, **openai(emu))
    stream.close()
    assert list(stream) == []
    assert _acquired(transport._transports[loop.loop()].session) == 0


async def test_async_early_close_releases_connection(emu: Emulator) -> None:
    from router import transport

    emu.fault(chunk_delay_s=0.3)
    session = None
    started = time.perf_counter()
    async with await router.acompletion("openai/gpt-5.1", HI, stream=True, **openai(emu)) as stream:
        session = transport._transports[asyncio.get_running_loop()].session
        assert _acquired(session) == 1
        async for _ in stream:
            break
    assert time.perf_counter() - started < 1.0
    assert _acquired(session) == 0
    assert [c async for c in stream] == []  # closed: no more chunks
    resp = await router.acompletion("openai/gpt-5.1", HI, **openai(emu))
    assert resp.choices[0].finish_reason == "stop"


async def test_async_full_stream_returns_connection_to_pool(emu: Emulator) -> None:
    from router import transport

    stream = await router.acompletion("openai/gpt-5.1", HI, stream=True, **openai(emu))
    [c async for c in stream]
    session = transport._transports[asyncio.get_running_loop()].session
    assert _acquired(session) == 0
    pooled = [p for conns in session.connector._conns.values() for p, _ in conns]
    assert len(pooled) == 1  # read to the end: kept alive for the next call


# -- stream faults ---------------------------------------------------------------------------------

def test_truncated_stream_after_first_chunk_is_malformed_not_retried(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(truncate_after_chunks=3)
    stream = router.completion("openai/gpt-5.1", HI, stream=True, **openai(emu))
    got: list[Any] = []
    with pytest.raises(errors.MalformedResponseError) as info:
        for chunk in stream:
            got.append(chunk)
    assert len(got) >= 1 and fold(got)["content"]  # deltas reached the caller before the error
    assert (info.value.vendor, info.value.model) == ("openai", "gpt-5.1")
    assert len(emu.requests) == 1 and sleeps == []  # no retry once a delta reached the caller


async def test_truncated_stream_async(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(truncate_after_chunks=2)
    stream = await router.acompletion("openai/gpt-5.1", HI, stream=True, **openai(emu))
    with pytest.raises(errors.MalformedResponseError):
        async for _ in stream:
            pass
    assert len(emu.requests) == 1 and sleeps == []


def test_empty_stream_before_any_chunk_is_retried(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(truncate_after_chunks=0)
    stream = router.completion("openai/gpt-5.1", HI, stream=True, **openai(emu))
    assert fold(list(stream))["finish"] == "stop"
    assert len(emu.requests) == 2 and len(sleeps) == 1
    assert [a.error for a in stream.response.attempts] == ["MalformedResponseError", None]


@pytest.mark.parametrize("via", ["sync", "async"])
def test_reset_mid_stream_is_connection_error(emu: Emulator, sleeps: list[float], via: str) -> None:
    emu.fault(reset_after_chunks=3)

    async def consume_async() -> list[Any]:
        stream = await router.acompletion("openai/gpt-5.1", HI, stream=True, **openai(emu))
        return [c async for c in stream]

    with pytest.raises(errors.APIConnectionError) as info:
        if via == "sync":
            list(router.completion("openai/gpt-5.1", HI, stream=True, **openai(emu)))
        else:
            asyncio.run(consume_async())
    assert info.value.vendor == "openai"
    assert len(emu.requests) == 1 and sleeps == []


def test_in_stream_error_chunk(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(error_after_chunks=2, status=503)
    with pytest.raises(errors.ServiceUnavailableError):
        list(router.completion("openai/gpt-5.1", HI, stream=True, **openai(emu)))
    assert len(emu.requests) == 1


def test_stream_http_error_before_first_chunk_is_retried(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(status=429, retry_after=2)
    stream = router.completion("openai/gpt-5.1", HI, stream=True, **openai(emu))
    assert fold(list(stream))["finish"] == "stop"
    assert sleeps == [2]
    assert [(a.status, a.error) for a in stream.response.attempts] == [(429, "RateLimitError"), (200, None)]


def test_every_failed_stream_attempt_is_recorded(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(truncate_after_chunks=0, times=2)
    stream = router.completion("openai/gpt-5.1", HI, stream=True, **openai(emu))
    list(stream)
    assert len(emu.requests) == 3
    assert [(a.status, a.error) for a in stream.response.attempts] == [
        (200, "MalformedResponseError"), (200, "MalformedResponseError"), (200, None)]


async def test_failed_attempt_before_first_chunk_releases_its_connection(emu: Emulator,
                                                                         sleeps: list[float]) -> None:
    from router import transport

    for _ in range(3):
        # A broken JSON chunk right after the first one, then slow chunks: the connection is still busy.
        emu.fault(malformed=True, chunk_delay_s=0.3)
        try:
            stream = await router.acompletion("openai/gpt-5.1", HI, stream=True, num_retries=1, **openai(emu))
            async with stream:
                [c async for c in stream]
        except errors.MalformedResponseError:
            pass  # the broken chunk arrived after the first chunk was handed over: not retried
        session = transport._transports[asyncio.get_running_loop()].session
        assert _acquired(session) == 0


def test_error_right_after_first_chunk_is_deterministic(emu: Emulator, sleeps: list[float]) -> None:
    # The role chunk and the error event usually arrive in one read; the chunk still goes first.
    for _ in range(5):
        emu.clear()
        emu.fault(error_after_chunks=1, status=503)
        got: list[Any] = []
        with pytest.raises(errors.ServiceUnavailableError):
            for chunk in router.completion("openai/gpt-5.1", HI, stream=True, **openai(emu)):
                got.append(chunk)
        assert len(got) == 1 and got[0].choices[0].delta.role == "assistant"
        assert len(emu.requests) == 1 and sleeps == []


def test_abandoned_sync_stream_does_not_block_the_background_loop(emu: Emulator) -> None:
    def first_chunk_only() -> None:
        for _ in router.completion("openai/gpt-5.1", HI, stream=True, **openai(emu)):
            break  # neither `with` nor close(): the stream is dropped and collected later

    emu.fault(chunk_delay_s=0.05)
    first_chunk_only()
    time.sleep(0.6)  # the pump finishes the stream and drops the last reference on Farebox's loop thread
    started = time.perf_counter()
    router.completion("openai/gpt-5.1", HI, **openai(emu))
    assert time.perf_counter() - started < 1.0


def test_idle_timeout_mid_stream(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(chunk_delay_s=1.0)
    got: list[Any] = []
    started = time.perf_counter()
    with pytest.raises(errors.APITimeoutError) as info:
        for chunk in router.completion("openai/gpt-5.1", HI, stream=True, timeout=0.3, **openai(emu)):
            got.append(chunk)
    assert time.perf_counter() - started < 0.9
    assert len(got) == 1 and info.value.vendor == "openai"
    assert len(emu.requests) == 1 and sleeps == []


def test_stream_cut_after_chunks_carries_the_partial_response_and_an_estimated_cost(emu) -> None:
    emu.fault(vendor="minimax", truncate_after_chunks=4)
    stream = router.completion("minimax/MiniMax-M3", [{"role": "user", "content": "tell me something"}],
                               api_key="sk-api-partial-0001", base_url=emu.base_url("minimax"), stream=True)
    received = ""
    with pytest.raises(errors.MalformedResponseError) as info:
        for chunk in stream:
            received += "".join(c.delta.content or "" for c in chunk.choices)
    partial = info.value.partial
    assert partial.choices[0].message.content == received
    assert partial.usage.estimated and partial.usage.completion_tokens > 0
    assert partial.cost is not None and partial.cost.estimated and partial.cost.total > 0
    assert partial.attempts[-1].error == "MalformedResponseError"
    assert partial.attempts[-1].cost == partial.cost
