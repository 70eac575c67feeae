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
from vendors.types import Chunk, ChunkChoice, Response
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
        self._recorded = False
        # Chunks after the first finish_reason wait here until the end, so usage and cost can ride on the last
        # chunk that has choices (unless the caller asked for include_usage: then a final choices == [] chunk).
        self._held: list[Chunk] = []
        options = call.req.params.get("stream_options")
        self._include_usage = bool(options and options.get("include_usage"))
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
        held = self._held
        for chunk in chunks:
            self._acc.add(chunk)
            choices = chunk.choices
            if chunk.usage is not None:
                self._usage_seen = True
                chunk.usage = None  # usage and cost go out once, on the stream's last chunk (_finalize)
                if not choices:
                    continue
            # The first choice's finish_reason answers for the usual single-choice stream without a generator.
            if held or (not self._include_usage and choices and (choices[0].finish_reason or (
                    len(choices) > 1 and any(c.finish_reason for c in choices)))):
                held.append(chunk)
            else:
                self._pending.append(chunk)

    def _finalize(self) -> None:
        call, acc = self._call, self._acc
        if not self._usage_seen:
            acc.usage = costing.estimate_usage(call.target, call.req, text=acc.text, reasoning=acc.reasoning,
                                               tool_calls=acc.tool_calls())
        usage = acc.usage
        cost = costing.cost_for(call.target, usage, call.req) if usage is not None else None
        held, pending = self._held, self._pending
        if self._include_usage or not (held or pending):
            last = Chunk(id=acc.id, created=acc.created, model=acc.model, vendor=call.target.vendor)
            if not self._include_usage:
                last.choices = [ChunkChoice()]
            held.append(last)
        elif not held:
            held.append(pending.pop())
        held[-1].usage, held[-1].cost = usage, cost
        pending.extend(held)
        held.clear()
        resp = acc.response()
        resp.cost = cost
        self._record(None, cost)
        self.response = call.finish(resp)
        self._release()

    def _record(self, error: BaseException | None, cost: Any) -> None:
        """The stream's attempt, recorded once (it ended, failed, or was cancelled)."""
        if not self._recorded:
            self._recorded = True
            self._call.record(self._started, self._resp.status, error, cost)

    async def __anext__(self) -> Chunk:
        if not self._pending:
            if self._eof or self._closed:
                raise StopAsyncIteration
            try:
                events = self._events
                while events and not self._pending:
                    # Events already read are decoded here, without a coroutine for _fill (per chunk).
                    event, payload = events.popleft()
                    self._take(self._decoder.feed(event, payload))
                if not self._pending:
                    await self._fill()
            except BaseException as exc:
                if isinstance(exc, FareboxError):
                    partial = await self._partial() if self.delivered else None
                    cost = partial.cost if partial is not None else None
                    self._record(exc, cost)
                    if partial is not None:
                        exc.partial = self._call.finish(partial)  # type: ignore[attr-defined]
                self._release()
                self._closed = True
                if self._trace is not None and isinstance(exc, Exception):
                    # A cancelled task reports nothing here: aclose() or __del__ records what was received.
                    await tracking.settle(self._trace.failed(exc), quiet=True)
                raise
            if self._eof and self._trace is not None and not self._trace.done:
                await tracking.settle(tracking.answered(self._trace, self.response))
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
            await tracking.settle(tracking.answered(trace, self.response))

    async def _partial(self) -> Response | None:
        """A stream cut after chunks reached the caller: what was received, with estimated usage and cost.

        The error carries it as `exc.partial` (a Response) and the attempt keeps the estimated cost.
        """
        return await _received(self._call, self._acc)

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
        if self._recorded and (self._trace is None or self._trace.done):
            return
        partial = await self._partial()
        self._record(asyncio.CancelledError("the caller stopped reading the stream"),
                     partial.cost if partial is not None else None)
        trace = self._trace
        if trace is not None and not trace.done:
            await tracking.settle(trace.cancelled(partial), quiet=True)

    def __del__(self) -> None:
        # Dropped unfinished without aclose() (a `break` out of `async for`, an exception, garbage collection):
        # close the connection now (the vendor stops generating) and record what was received, on the stream's
        # own loop. The task holds the call's pieces, never this object.
        if self._recorded and (self._trace is None or self._trace.done) and self._resp.closed:
            return
        with contextlib.suppress(Exception):
            args = (self._call, self._acc, self._resp, self._trace, self._recorded)
            try:
                on_loop = asyncio.get_running_loop() is self._loop
            except RuntimeError:
                on_loop = False
            if on_loop:
                _spawn(_abandoned(*args, self._started))
            elif not self._loop.is_closed():
                self._loop.call_soon_threadsafe(_spawn, _abandoned(*args, self._started))


_tasks: set[asyncio.Task[Any]] = set()


def _spawn(coro: Any) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    _tasks.add(task)  # a task only the loop references can be garbage-collected mid-way
    task.add_done_callback(_tasks.discard)


async def _received(call: Call, acc: Accumulator) -> Response | None:
    """What a stream delivered before it stopped: the text so far, usage estimated where none came, its cost."""
    try:
        if acc.usage is None:
            await costing.load_encodings(call.target)
            acc.usage = costing.estimate_usage(call.target, call.req, text=acc.text, reasoning=acc.reasoning,
                                               tool_calls=acc.tool_calls())
        resp = acc.response()
        resp.cost = costing.cost_for(call.target, acc.usage, call.req)
    except Exception:  # a record of what was received must never cost the caller anything
        return None
    return call.finish(resp)


async def _abandoned(call: Call, acc: Accumulator, resp: transport.ByteStream, trace: Any, recorded: bool,
                     started: float) -> None:
    """A stream dropped unfinished: its connection closed, its attempt and call recorded `cancelled`."""
    if not resp.closed:
        resp.close()
    partial = await _received(call, acc)
    if not recorded:
        call.record(started, resp.status, asyncio.CancelledError("the stream was dropped unfinished"),
                    partial.cost if partial is not None else None)
    if trace is not None and not trace.done:
        if partial is not None:
            partial.attempts = list(call.attempts)
        await tracking.settle(trace.cancelled(partial, wait=False), quiet=True)


async def open_stream(call: Call) -> AsyncStream:
    """Open the stream with retries up to its first chunk (nothing reached the caller yet)."""
    t = call.target

    async def once() -> AsyncStream:
        started = time.perf_counter()
        status = None
        resp: transport.ByteStream | None = None
        stream: AsyncStream | None = None
        recorded = len(call.attempts)
        try:
            tp = transport.current() or await transport.for_running_loop()
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
            if stream is not None:
                stream._recorded = True  # recorded below, once: its finaliser must not record it again
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
READ_AHEAD = 32   # chunks a sync stream reads ahead of its consumer (backpressure on a slow reader)
_CREDIT_BATCH = READ_AHEAD // 2


async def _pump(astream: AsyncStream, out: queue.SimpleQueue[Any], credits: asyncio.Semaphore,
                me: list[asyncio.Task[Any]]) -> None:
    """Move chunks to the consuming thread, at most READ_AHEAD ahead of it. Holds no SyncStream reference,
    so a SyncStream dropped by its caller is garbage-collected and stops this pump (_stop)."""
    me.append(asyncio.current_task())  # type: ignore[arg-type]
    try:
        while True:
            await credits.acquire()
            try:
                chunk = await astream.__anext__()
            except StopAsyncIteration:
                break
            out.put(chunk)
    except BaseException as exc:  # delivered to the consuming thread
        out.put(exc)
        if isinstance(exc, asyncio.CancelledError):
            await astream.aclose()  # record what was received, whoever cancelled
            raise
    finally:
        out.put(_END)


async def _stop(me: list[asyncio.Task[Any]], astream: AsyncStream) -> None:
    """Cancel the pump and wait for it: its stream is closed and recorded (durably, when that is the mode)."""
    for task in me:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
    await astream.aclose()


def _credit(credits: asyncio.Semaphore, n: int) -> None:
    for _ in range(n):
        credits.release()


class SyncStream:
    """`for chunk in stream` from any thread; the async stream runs on the background loop."""

    def __init__(self, astream: AsyncStream) -> None:
        self._astream = astream
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._done = False
        self._taken = 0
        self._bg = loop.loop()
        self._credits = asyncio.Semaphore(READ_AHEAD)  # created off-loop: bound to the loop on first wait
        self._pumps: list[asyncio.Task[Any]] = []
        self._task = asyncio.run_coroutine_threadsafe(_pump(astream, self._queue, self._credits, self._pumps),
                                                      self._bg)

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
        self._taken += 1
        if self._taken == _CREDIT_BATCH:  # one loop wake-up per batch, not per chunk
            self._taken = 0
            self._bg.call_soon_threadsafe(_credit, self._credits, _CREDIT_BATCH)
        return item

    def __enter__(self) -> SyncStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, wait: bool = True) -> None:
        """Stop early: the vendor request is cancelled, the connection released, the call recorded `cancelled`."""
        if self._done:
            return
        self._done = True
        bg = self._bg
        if not bg.is_running():
            return  # stopped at exit, its session closed: never start a new loop from __del__ at shutdown
        stop = _stop(self._pumps, self._astream)
        with contextlib.suppress(RuntimeError):
            if asyncio.get_running_loop() is bg:
                _spawn(stop)  # __del__ on the background loop's own thread: waiting there would block it
                return
        done = asyncio.run_coroutine_threadsafe(stop, bg)
        if wait:
            with contextlib.suppress(Exception):
                done.result(5)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if not self._done:
                self.close(wait=False)  # a finaliser never blocks its thread
