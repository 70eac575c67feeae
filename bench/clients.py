"""The two clients compared: a hand-written raw aiohttp client and Farebox's public API, doing the same work."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

import router

__all__ = ["MESSAGES", "MODEL", "Clients", "drive"]

MODEL = "bench-model"
API_KEY = "sk-bench"
MESSAGES = [{"role": "user", "content": "Say hello."}]

OneCall = Callable[[], Awaitable[int]]


class Clients:
    """Both clients pointed at one upstream; each `*_call` returns how many units (calls or chunks) it got."""

    def __init__(self, base_url: str, model: str = MODEL) -> None:
        self.base_url, self.model = base_url, model
        # "anthropic/..." models go over the Anthropic Messages wire (x-api-key, /v1/messages, max_tokens).
        self.anthropic = model.startswith("anthropic/")
        # What Farebox sends for this call, so the raw client pays the same bytes on the wire.
        self.headers = {"content-type": "application/json", "accept": "application/json",
                        "user-agent": "farebox/0.1"}
        plain: dict[str, Any] = {"model": model.rpartition("/")[2], "messages": MESSAGES}
        if self.anthropic:
            self.url = base_url.rstrip("/") + "/v1/messages"
            self.headers.update({"anthropic-version": "2023-06-01", "x-api-key": API_KEY})
            plain["max_tokens"] = 4096
            streamed = {**plain, "stream": True}
        else:
            self.url = base_url.rstrip("/") + "/chat/completions"
            self.headers["authorization"] = f"Bearer {API_KEY}"
            streamed = {**plain, "stream": True, "stream_options": {"include_usage": True}}
        self.plain_body = json.dumps(plain, separators=(",", ":")).encode()
        self.stream_body = json.dumps(streamed, separators=(",", ":")).encode()
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Clients:
        connector = aiohttp.TCPConnector(limit=512, limit_per_host=0)
        self.session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.session is not None:
            await self.session.close()
        await router.aclose()

    async def raw_call(self) -> int:
        assert self.session is not None
        async with self.session.post(self.url, data=self.plain_body, headers=self.headers) as resp:
            data = await resp.read()
        json.loads(data)
        return 1

    async def raw_stream(self) -> int:
        assert self.session is not None
        chunks, buf = 0, b""
        async with self.session.post(self.url, data=self.stream_body, headers=self.headers) as resp:
            content = resp.content
            while data := await content.readany():
                lines = (buf + data).split(b"\n")
                buf = lines.pop()
                for line in lines:
                    if line.startswith(b"data: ") and line != b"data: [DONE]":
                        json.loads(line[6:])
                        chunks += 1
        return chunks

    async def farebox_call(self) -> int:
        await router.acompletion(self.model, MESSAGES, base_url=self.base_url, api_key=API_KEY)
        return 1

    async def farebox_sync_calls(self, calls: int = 50) -> int:
        """`calls` sync `router.completion()` calls in a row on one worker thread (the sync API's own path)."""
        def block() -> None:
            for _ in range(calls):
                router.completion(self.model, MESSAGES, base_url=self.base_url, api_key=API_KEY)

        await asyncio.to_thread(block)
        return calls

    async def farebox_stream(self) -> int:
        chunks = 0
        stream = await router.acompletion(self.model, MESSAGES, base_url=self.base_url, api_key=API_KEY,
                                          stream=True)
        async for _ in stream:
            chunks += 1
        # The figure is per upstream chunk: Farebox folds the usage-only chunk into the last one, and the
        # Anthropic wire's framing events (message_start, block start/stop, message_delta) carry no chunk.
        return chunks + (3 if self.anthropic else 1)

    async def check(self, chunks: int) -> None:
        """Fail loudly when a client does not get what the server sends (a benchmark of a broken path)."""
        resp = await router.acompletion(self.model, MESSAGES, base_url=self.base_url, api_key=API_KEY)
        if resp.choices[0].message.content != "Hello from the bench server.":
            raise RuntimeError(f"unexpected Farebox reply: {resp.choices[0].message!r}")
        # OpenAI: content chunks + finish chunk + usage chunk; Anthropic: the N deltas + 5 framing events.
        expected = chunks + (5 if self.anthropic else 2)
        for name, one in (("raw", self.raw_stream), ("farebox", self.farebox_stream)):
            got = await one()
            if got != expected:
                raise RuntimeError(f"{name} stream yielded {got} chunks, expected {expected}")


async def drive(one: OneCall, total: int, concurrency: int) -> tuple[float, int]:
    """Run `total` calls on `concurrency` worker tasks; (wall seconds, units received)."""
    remaining = total

    async def worker() -> int:
        nonlocal remaining
        units = 0
        while remaining > 0:
            remaining -= 1
            units += await one()
        return units

    started = time.perf_counter()
    units = sum(await asyncio.gather(*(worker() for _ in range(concurrency))))
    return time.perf_counter() - started, units
