"""Streams to the client: SSE relayed chunk by chunk with backpressure, keep-alives before the first chunk,
and a client that goes away cancels the vendor request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from router.gateway.errors import GatewayError, from_exception

__all__ = ["Encoder", "relay"]

log = logging.getLogger("farebox.gateway")

KEEPALIVE = b": keep-alive\n\n"
_GONE = (ConnectionError, asyncio.CancelledError)


class Encoder(Protocol):
    """A wire's stream framing: bytes for each chunk, for the end (usage and cost) and for a late error."""

    def chunk(self, chunk: Any) -> bytes: ...
    def end(self, response: Any) -> bytes: ...
    def error(self, err: GatewayError) -> bytes: ...


class _KeepAlive:
    """While the stream opens (the handler awaits it in its own task, no hop through another task): past `every`
    seconds a timer sends the headers and a keep-alive comment, then one each period. A client gone meanwhile
    cancels the handler, and with it the vendor request."""

    def __init__(self, start: Callable[[], Awaitable[web.StreamResponse]], every: float) -> None:
        self.start, self.every = start, every
        self.resp: web.StreamResponse | None = None
        self.task: asyncio.Task[None] | None = None
        self.handler = asyncio.current_task()
        self.loop = asyncio.get_running_loop()
        self.timer: asyncio.TimerHandle | None = self.loop.call_later(every, self._fire)

    def _fire(self) -> None:
        self.timer = None
        self.task = self.loop.create_task(self._send())

    async def _send(self) -> None:
        try:
            if self.resp is None:
                self.resp = await self.start()
            await self.resp.write(KEEPALIVE)
        except Exception:  # the client went away (or its socket failed): stop waiting for the vendor
            if self.handler is not None:
                self.handler.cancel()
            return
        self.timer = self.loop.call_later(self.every, self._fire)

    async def stop(self) -> web.StreamResponse | None:
        """The stream opened (or failed): no more keep-alives; the response, if they already started it."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        task, self.task = self.task, None
        if task is not None and not task.done():
            await task  # a keep-alive mid-write finishes before the first chunk goes out
        if self.timer is not None:  # re-armed by that last keep-alive
            self.timer.cancel()
            self.timer = None
        return self.resp

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.task is not None:
            self.task.cancel()


async def relay(request: web.Request, open_stream: Awaitable[Any], encoder: Encoder, *, keepalive_s: float,
                headers: dict[str, str], error_response: Callable[[GatewayError], web.Response]) -> web.StreamResponse:
    """Serve one streamed call. Errors before any byte went out are plain JSON errors with their status."""
    resp: web.StreamResponse | None = None

    async def start() -> web.StreamResponse:
        r = _Stream(status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                                    "X-Accel-Buffering": "no", **headers})
        await r.prepare(request)
        return r

    stream: Any = None
    finished = False
    keepalive = _KeepAlive(start, keepalive_s)
    try:
        try:
            stream = await open_stream
        except Exception as exc:  # the call failed before its first chunk
            err = from_exception(exc)
            resp = await keepalive.stop()
            if resp is None:
                return error_response(err)
            await resp.write(encoder.error(err))
            await resp.write_eof()
            return resp
        resp = await keepalive.stop() or await start()
        pending: list[bytes] = []
        first = True
        async for chunk in stream:
            data = encoder.chunk(chunk)
            if data:
                pending.append(data)
            if pending and (first or not _buffered(stream)):
                # One write (one send) for the chunks that were already here; waits while the client's socket
                # buffer is full (backpressure), so a slow client slows the vendor read, never fills memory.
                # The first chunk goes out alone, at once (with the headers): time to first token is the
                # figure a streaming client feels.
                await resp.write(b"".join(pending))
                pending.clear()
                first = False
        finished = True
        pending.append(encoder.end(stream.response))
        await resp.write(b"".join(pending))
        await resp.write_eof()
        return resp
    except _GONE:
        raise  # the client went away: the finally below cancels the vendor request
    except Exception as exc:
        if resp is None or not resp.prepared:
            return error_response(from_exception(exc))
        err = from_exception(exc)
        if err.status >= 500 and not isinstance(exc, GatewayError):
            log.warning("stream failed mid-way: %s", err.message)
        with contextlib.suppress(*_GONE):
            await resp.write(encoder.error(err))
            await resp.write_eof()
        finished = True
        return resp
    finally:
        keepalive.cancel()
        if stream is not None and not finished:
            # Closing the stream closes the vendor connection and records the call cancelled, partial cost included.
            await asyncio.shield(_close(stream))


class _Stream(web.StreamResponse):
    """The headers wait for the first bytes of the body, so both leave in one send (aiohttp >= 3.11 reads this)."""

    _send_headers_immediately = False


def _buffered(stream: Any) -> bool:
    """Whether the stream's next chunk is already decoded or received (router.streaming.AsyncStream keeps both):
    then it comes without waiting, and this one can go out with it. Paced vendor chunks go out one by one."""
    return bool(getattr(stream, "_pending", None) or getattr(stream, "_events", None))


async def _close(stream: Any) -> None:
    with contextlib.suppress(Exception):
        await stream.aclose()
