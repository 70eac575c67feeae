"""The only module that touches aiohttp: one pooled ClientSession per event loop, errors mapped to ours."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Mapping

import aiohttp

from vendors.errors import APIConnectionError, APITimeoutError, FareboxError

__all__ = ["ByteStream", "Transport", "aclose_all", "connection_error", "for_running_loop"]

DEFAULT_TIMEOUT = 600.0
CONNECT_TIMEOUT = 15.0

_transports: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Transport] = weakref.WeakKeyDictionary()


class Transport:
    """A pooled aiohttp session bound to one event loop, closed when that loop shuts down."""

    __slots__ = ("__weakref__", "_closer", "session")

    def __init__(self) -> None:
        connector = aiohttp.TCPConnector(limit=512, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=30)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=True, trust_env=False)
        self._closer: AsyncIterator[None] | None = None

    async def post(self, url: str, headers: Mapping[str, str], body: bytes, *, timeout: float | None,
                   vendor: str, model: str) -> tuple[int, Mapping[str, str], bytes]:
        """POST and read the whole reply: (status, headers, body bytes)."""
        total = timeout or DEFAULT_TIMEOUT
        client_timeout = aiohttp.ClientTimeout(total=total, connect=min(CONNECT_TIMEOUT, total))
        try:
            async with self.session.post(url, data=body, headers=headers, timeout=client_timeout) as resp:
                data = await resp.read()
                return resp.status, resp.headers, data
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise connection_error(exc, vendor=vendor, model=model) from exc

    async def open(self, url: str, headers: Mapping[str, str], body: bytes, *, timeout: float | None,
                   vendor: str, model: str) -> ByteStream:
        """POST for a stream: the reply once headers arrived; `timeout` bounds each wait for bytes."""
        idle = timeout or DEFAULT_TIMEOUT
        client_timeout = aiohttp.ClientTimeout(total=None, connect=min(CONNECT_TIMEOUT, idle), sock_read=idle)
        try:
            resp = await self.session.post(url, data=body, headers=headers, timeout=client_timeout)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise connection_error(exc, vendor=vendor, model=model) from exc
        return ByteStream(resp, vendor=vendor, model=model)

    async def close(self) -> None:
        if not self.session.closed:
            await self.session.close()


class ByteStream:
    """A reply being read: status and headers, then its body bytes; every read failure is a Farebox error."""

    __slots__ = ("_model", "_resp", "_vendor", "content_type", "headers", "status")

    def __init__(self, resp: aiohttp.ClientResponse, *, vendor: str, model: str) -> None:
        self._resp, self._vendor, self._model = resp, vendor, model
        self.status: int = resp.status
        self.headers: Mapping[str, str] = resp.headers
        self.content_type: str = resp.content_type

    async def read(self) -> bytes:
        """The whole (remaining) body."""
        try:
            return await self._resp.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise connection_error(exc, vendor=self._vendor, model=self._model) from exc

    async def readany(self) -> bytes:
        """The next bytes that arrived; b"" at the end of the body."""
        try:
            return await self._resp.content.readany()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise connection_error(exc, vendor=self._vendor, model=self._model) from exc

    @property
    def closed(self) -> bool:
        return self._resp.closed

    def release(self) -> None:
        """Hand the connection back to the pool (the body was read to its end)."""
        self._resp.release()

    def close(self) -> None:
        """Drop the connection: unread bytes mean it cannot be reused."""
        self._resp.close()


def connection_error(exc: BaseException, *, vendor: str, model: str) -> FareboxError:
    """Our error for an aiohttp/socket failure."""
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return APITimeoutError("the request timed out", vendor=vendor, model=model)
    return APIConnectionError(f"connection failed: {type(exc).__name__}: {exc}", vendor=vendor, model=model)


async def _close_at_shutdown(transport: Transport) -> AsyncIterator[None]:
    # An async generator the loop tracks: asyncio.run's shutdown_asyncgens() closes it, and so the session.
    try:
        yield
    finally:
        await transport.close()


async def for_running_loop() -> Transport:
    """The Transport of the running loop, created on first use."""
    loop = asyncio.get_running_loop()
    transport = _transports.get(loop)
    if transport is None or transport.session.closed:
        transport = Transport()
        _transports[loop] = transport
        closer = _close_at_shutdown(transport)
        await closer.__anext__()
        transport._closer = closer
    return transport


async def aclose_all() -> None:
    """Close the running loop's session now (tests, or an application's own shutdown)."""
    loop = asyncio.get_running_loop()
    transport = _transports.pop(loop, None)
    if transport is not None:
        await transport.close()


