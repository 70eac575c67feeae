"""Streams as callers index them (every chunk has a choice unless include_usage) and streams dropped unfinished."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import pytest

import router
from router.emulator import Emulator
from tests.conftest import KEY

HI = [{"role": "user", "content": "Hi"}]
# A long prompt: the emulator echoes it, so the answer is ~50 words = ~50 chunks at chunk_words=1.
LONG = [{"role": "user", "content": " ".join(f"word{i}" for i in range(45))}]
TARGETS = {
    "openai": ("openai/gpt-5.1", "openai"),
    "anthropic": ("anthropic/claude-sonnet-4-6", "anthropic"),
    "minimax": ("minimax/MiniMax-M2.5", "minimax"),
    "deepseek": ("deepseek/deepseek-chat", "deepseek"),
}


def kw(emu: Emulator, vendor: str) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": emu.base_url(TARGETS[vendor][1])}


@pytest.mark.parametrize("vendor", sorted(TARGETS))
def test_every_chunk_has_a_choice_and_the_last_carries_usage(emu: Emulator, vendor: str) -> None:
    model = TARGETS[vendor][0]
    stream = router.completion(model, HI, stream=True, **kw(emu, vendor))
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)  # the everyday loop: no IndexError
    assert text == stream.response.choices[0].message.content
    assert all(c.choices for c in chunks)
    assert [c.usage is not None for c in chunks] == [False] * (len(chunks) - 1) + [True]
    last = chunks[-1]
    assert last.usage == stream.response.usage and last.usage.total_tokens > 0
    assert last.cost is not None and last.cost == stream.response.cost


@pytest.mark.parametrize("vendor", sorted(TARGETS))
def test_include_usage_gives_a_final_chunk_without_choices(emu: Emulator, vendor: str) -> None:
    model = TARGETS[vendor][0]

    async def run() -> tuple[list[Any], Any]:
        stream = await router.acompletion(model, HI, stream=True, stream_options={"include_usage": True},
                                          **kw(emu, vendor))
        return [c async for c in stream], stream.response

    chunks, resp = asyncio.run(run())
    assert chunks[-1].choices == [] and chunks[-1].usage == resp.usage and chunks[-1].cost == resp.cost
    assert all(c.choices and c.usage is None for c in chunks[:-1])


def test_stream_without_usage_still_ends_on_a_choice(emu: Emulator) -> None:
    emu.set_options("minimax", stream_usage="never")
    stream = router.completion(TARGETS["minimax"][0], HI, stream=True, **kw(emu, "minimax"))
    chunks = list(stream)
    assert all(c.choices for c in chunks)
    assert chunks[-1].usage is not None and chunks[-1].usage.estimated
    assert stream.response.usage.estimated


# -- item 4: abandoned streams stop -------------------------------------------------------------------------

def slow(emu: Emulator, vendor: str) -> None:
    emu.set_options(TARGETS[vendor][1], chunk_words=1)
    emu.fault(vendor=TARGETS[vendor][1], chunk_delay_s=0.05)


def wait_for_end(emu: Emulator, timeout: float = 3.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if emu.streams:
            return emu.streams[-1]
        time.sleep(0.02)
    raise AssertionError("the emulator never saw the stream end")


def wait_for_record(records: list[Any], timeout: float = 3.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not records:
        time.sleep(0.02)
    assert records, "no call record"
    return records[-1]


def check_cancelled(emu: Emulator, records: list[Any], started: float) -> None:
    end = wait_for_end(emu)
    assert not end.complete and end.chunks < end.total
    assert end.at - started < 2.0  # promptly: the full answer would take ≥ 2.5 s
    rec = wait_for_record(records)
    assert rec.status == "cancelled" and rec.attempts >= 1
    assert rec.completion_tokens > 0 and rec.prompt_tokens > 0 and rec.estimated
    assert rec.cost_total is not None and rec.cost_total > 0


@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_sync_break_without_close_cancels(emu: Emulator, records: list[Any], vendor: str) -> None:
    slow(emu, vendor)
    started = time.monotonic()

    def consume() -> None:
        stream = router.completion(TARGETS[vendor][0], LONG, stream=True, **kw(emu, vendor))
        for i, _chunk in enumerate(stream):
            if i == 3:
                break

    consume()  # the stream goes out of scope here, never closed
    gc.collect()
    check_cancelled(emu, records, started)


def test_sync_exception_in_the_loop_cancels(emu: Emulator, records: list[Any]) -> None:
    slow(emu, "openai")
    started = time.monotonic()

    def consume() -> None:
        for i, _chunk in enumerate(router.completion(TARGETS["openai"][0], LONG, stream=True, **kw(emu, "openai"))):
            if i == 2:
                raise KeyError("caller bug")

    with pytest.raises(KeyError):
        consume()
    gc.collect()
    check_cancelled(emu, records, started)


@pytest.mark.parametrize("how", ["break", "aclose"])
@pytest.mark.parametrize("vendor", ["openai", "anthropic"])
def test_async_abandon_cancels(emu: Emulator, records: list[Any], vendor: str, how: str) -> None:
    slow(emu, vendor)
    started = time.monotonic()

    async def run() -> None:
        stream = await router.acompletion(TARGETS[vendor][0], LONG, stream=True, **kw(emu, vendor))
        async for i, _chunk in _aenumerate(stream):
            if i == 3:
                break
        if how == "aclose":
            await stream.aclose()
        del stream
        gc.collect()
        await asyncio.sleep(0.3)  # the finaliser's task runs on this loop

    asyncio.run(run())
    check_cancelled(emu, records, started)


async def _aenumerate(stream: Any) -> Any:
    i = 0
    async for chunk in stream:
        yield i, chunk
        i += 1


def test_sync_close_records_attempt_and_tokens(emu: Emulator, records: list[Any]) -> None:
    slow(emu, "openai")
    started = time.monotonic()
    stream = router.completion(TARGETS["openai"][0], LONG, stream=True, **kw(emu, "openai"))
    next(stream), next(stream)
    stream.close()
    check_cancelled(emu, records, started)


def test_sync_stream_reads_ahead_a_bounded_amount(emu: Emulator) -> None:
    from router.streaming import READ_AHEAD

    emu.set_options("openai", chunk_words=1)
    many = [{"role": "user", "content": " ".join(f"w{i}" for i in range(45))}]
    with router.completion(TARGETS["openai"][0], many * 3, stream=True, **kw(emu, "openai")) as stream:
        next(stream)
        time.sleep(0.5)  # a slow reader: the pump must wait for it
        assert stream._astream.delivered <= READ_AHEAD + 1
        rest = list(stream)
    assert stream.response is not None and len(rest) > READ_AHEAD
