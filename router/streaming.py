"""Streams: an async iterator over a live response, and a sync iterator fed from the background loop."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import time
from collections import deque
from typing import Any

from router import costing, loop, retry, tracking, transport
from router.call import Call
from vendors.errors import FareboxError, MalformedResponseError
from vendors.types import Chunk, Response
from vendors.wires.accumulate import Accumulator
from vendors.wires.sse import SSEParser

__all__ = ["AsyncStream", "SyncStream", "open_stream"]


class AsyncStream:
    """`async for chunk in stream`; `stream.response` is the assembled Response after the end."""

    def __init__(self, call: Call, resp: transport.ByteStream, started: float) -> None:
        self._call = call
        self._resp = resp
        self._started = started
        self._loop = asyncio.get_running_loop()
        self._parser = SSEParser(vendor=call.target.vendor, model=call.target.model)
        self._decoder = call.codec.stream_decoder(call.target.spec, model=call.target.model)
        self._acc = Accumulator(vendor=call.target.vendor, model=call.target.model)
        self._pending: deque[Chunk] = deque()
        self._events: deque[tuple[str, str]] = deque()
        self._eof = False
        self._closed = False
        self._usage_seen = False
        self.delivered = 0
        self.first_chunk_s: float | None = None
        self.response: Response | None = None
        self._trace: Any = None  # set once the stream is handed to the caller: it then reports its end

    def __aiter__(self) -> AsyncStream:
        return self

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _fill(self) -> None:
        """Read until at least one chunk is pending or the stream ended."""
        call, resp = self._call, self._resp
        events = self._events
        while not self._pending and not self._eof:
            if events:
                # Decode one event per chunk the caller pulls: chunks do not pile up and age into GC work.
                event, payload = events.popleft()
                self._take(self._decoder.feed(event, payload))
                continue
            data = await resp.readany()
            if data:
                events.extend(self._parser.feed(data))
                continue
            for event, payload in self._parser.close():
                self._take(self._decoder.feed(event, payload))
            self._take(self._decoder.finish())
            if not self._usage_seen:
                await costing.load_encodings(call.target)
            self._eof = True
            self._finalize()

    def _take(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            self._acc.add(chunk)
            if chunk.usage is not None:
                self._usage_seen = True
                chunk.cost = costing.cost_for(self._call.target, chunk.usage, self._call.req)
            self._pending.append(chunk)

    def _finalize(self) -> None:
        call, acc = self._call, self._acc
        if not self._usage_seen:
            acc.usage = costing.estimate_usage(call.target, call.req, text=acc.text, reasoning=acc.reasoning,
                                               tool_calls=acc.tool_calls())
            final = Chunk(id=acc.id, created=acc.created, model=acc.model, vendor=call.target.vendor,
                          usage=acc.usage, cost=costing.cost_for(call.target, acc.usage, call.req))
            self._pending.append(final)
        resp = acc.response()
        resp.cost = self._pending[-1].cost if self._pending else None
        if resp.cost is None and acc.usage is not None:
            resp.cost = costing.cost_for(call.target, acc.usage, call.req)
        call.record(self._started, self._resp.status, None, resp.cost)
        self.response = call.finish(resp)
        self._release()

    async def __anext__(self) -> Chunk:
        if not self._pending:
            if self._eof or self._closed:
                raise StopAsyncIteration
            try:
                await self._fill()
            except BaseException as exc:
                if isinstance(exc, FareboxError):
                    partial = await self._partial() if self.delivered else None
                    cost = partial.cost if partial is not None else None
                    self._call.record(self._started, self._resp.status, exc, cost)
                    if partial is not None:
                        exc.partial = self._call.finish(partial)  # type: ignore[attr-defined]
                self._release()
                self._closed = True
                if self._trace is not None and isinstance(exc, Exception):
                    # A cancelled task reports nothing here: aclose() or __del__ records what was received.
                    await tracking.settle(self._trace.failed(exc), quiet=True)
                raise
            if self._eof and self._trace is not None and not self._trace.done:
                await tracking.settle(self._trace.ok(self.response))
            if not self._pending:
                raise StopAsyncIteration
        chunk = self._pending.popleft()
        if self.delivered == 0:
            self.first_chunk_s = time.perf_counter() - self._started
        self.delivered += 1
        return chunk

    async def _handed(self, trace: Any) -> None:
        """open_stream gives the stream to the caller: from now on its end is the call's record."""
        self._trace = trace
        trace.ttft = time.perf_counter() - trace.started
        if self._eof and not trace.done:  # the whole reply arrived with the first read
            await tracking.settle(trace.ok(self.response))

    async def _partial(self) -> Response | None:
        """A stream cut after chunks reached the caller: what was received, with estimated usage and cost.

        The error carries it as `exc.partial` (a Response) and the attempt keeps the estimated cost.
        """
        call, acc = self._call, self._acc
        try:
            if acc.usage is None:
                await costing.load_encodings(call.target)
                acc.usage = costing.estimate_usage(call.target, call.req, text=acc.text, reasoning=acc.reasoning,
                                                   tool_calls=acc.tool_calls())
            resp = acc.response()
            resp.cost = costing.cost_for(call.target, acc.usage, call.req)
        except Exception:  # the vendor's error is what the caller must see
            return None
        return resp

    async def prime(self) -> None:
        """Read up to the first chunk, so failures before it can still be retried."""
        await self._fill()

    def _release(self) -> None:
        if not self._resp.closed:
            if self._eof:
                self._resp.release()
            else:
                self._resp.close()  # unread bytes: the connection cannot be reused

    async def aclose(self) -> None:
        """Stop early; the connection is released and the call recorded as cancelled with what was received."""
        self._closed = True
        self._release()
        trace = self._trace
        if trace is not None and not trace.done:
            partial = await self._partial() if self.delivered else None
            await tracking.settle(trace.cancelled(partial), quiet=True)

    def __del__(self) -> None:
        # Dropped unfinished without aclose() (a `break` out of `async for`): free the connection now,
        # on its own loop, rather than leave it to aiohttp's "Unclosed connection" finaliser.
        trace = self._trace
        if trace is not None and not trace.done:
            with contextlib.suppress(Exception):
                trace.cancelled(None, wait=False)
        resp = self._resp
        if resp.closed:
            return
        with contextlib.suppress(Exception):
            try:
                on_loop = asyncio.get_running_loop() is self._loop
            except RuntimeError:
                on_loop = False
            if on_loop:
                resp.close()
            elif not self._loop.is_closed():
                self._loop.call_soon_threadsafe(resp.close)


async def open_stream(call: Call) -> AsyncStream:
    """Open the stream with retries up to its first chunk (nothing reached the caller yet)."""
    t = call.target

    async def once() -> AsyncStream:
        started = time.perf_counter()
        status = None
        resp: transport.ByteStream | None = None
        recorded = len(call.attempts)
        try:
            tp = await transport.for_running_loop()
            call.mark_sent()
            resp = await tp.open(t.url, call.headers, call.body, timeout=call.timeout, vendor=t.vendor, model=t.model)
            status = resp.status
            if status >= 400 or resp.content_type == "application/json":
                # An error, or a JSON reply where a stream was asked for (MiniMax's HTTP 200 base_resp error).
                raw = await resp.read()
                resp.release()
                err = call.codec.decode_error(status, raw, resp.headers, t.spec, model=t.model)
                if status < 400 and err.vendor_code is None:
                    raise MalformedResponseError("expected an event stream, got a JSON reply", vendor=t.vendor,
                                                 model=t.model, status_code=status)
                raise err
            stream = AsyncStream(call, resp, started)
            await stream.prime()
        except BaseException as exc:
            if resp is not None and not resp.closed:
                resp.close()  # a failed attempt's unread bytes must not hold a pooled connection
            if len(call.attempts) == recorded:  # every failed attempt is recorded once
                call.record(started, status, exc)
            raise
        return stream

    stream = await retry.run_with_retries(once, call.num_retries)
    if call.trace is not None:
        await stream._handed(call.trace)
    return stream


_END = object()


class SyncStream:
    """`for chunk in stream` from any thread; the async stream runs on the background loop."""

    def __init__(self, astream: AsyncStream) -> None:
        self._astream = astream
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done = False
        self._bg = loop.loop()
        self._task = asyncio.run_coroutine_threadsafe(self._pump(), self._bg)

    async def _pump(self) -> None:
        try:
            async for chunk in self._astream:
                self._queue.put(chunk)
        except BaseException as exc:  # delivered to the consuming thread
            self._queue.put(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._queue.put(_END)

    @property
    def response(self) -> Response | None:
        return self._astream.response

    def __iter__(self) -> SyncStream:
        return self

    def __next__(self) -> Chunk:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is _END:
            self._done = True
            raise StopIteration
        if isinstance(item, BaseException):
            self._done = True
            raise item
        return item

    def __enter__(self) -> SyncStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop early and release the connection."""
        if self._done:
            return
        self._done = True
        bg = self._bg
        if not bg.is_running():
            return  # stopped at exit, its session closed: never start a new loop from __del__ at shutdown
        self._task.cancel()
        with contextlib.suppress(RuntimeError):
            if asyncio.get_running_loop() is bg:
                # __del__ can run on the background loop's own thread: waiting there would block it.
                bg.create_task(self._astream.aclose())
                return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._astream.aclose(), bg).result(5)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if not self._done:
                self.close()
