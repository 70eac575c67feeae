"""The only module that touches aiohttp: one pooled ClientSession per event loop, errors mapped to ours."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Mapping

import aiohttp

from vendors.errors import (
    APIConnectionError,
    APITimeoutError,
    ConfigError,
    FareboxError,
    MalformedResponseError,
    RedirectError,
)
from vendors.secrets import redact_url
from vendors.wires import sse

__all__ = ["ByteStream", "Transport", "aclose_all", "configure", "connection_error", "current", "for_running_loop",
           "limits"]

# Defaults when a call gives no `timeout` (README "Timeouts"): seconds to connect; longest silence of a
# stream (before its first byte and between chunks); the whole of a plain reply per attempt (a plain
# reply legitimately sends nothing until the model is done, so it has no shorter read limit).
_limits: dict[str, float | None] = {"connect_timeout": 10.0, "read_timeout": 120.0, "timeout": 600.0}


def configure(*, connect_timeout: float | None = None, read_timeout: float | None = None,
              timeout: float | None = None, max_line_bytes: int | None = None,
              max_event_bytes: int | None = None) -> dict[str, float | int | None]:
    """Set process-wide transport defaults (None keeps one); returns them all.

    `max_line_bytes` / `max_event_bytes` cap an SSE line and event; `max_event_bytes` caps a JSON body too.
    """
    for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout),
                        ("timeout", timeout)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigError(f"{name} must be a number of seconds > 0, got {value!r}")
            _limits[name] = float(value)
    sse.set_limits(line=max_line_bytes, event=max_event_bytes)
    return limits()


def limits() -> dict[str, float | int | None]:
    """The transport defaults in force (timeouts in seconds, sizes in bytes)."""
    line, event = sse.get_limits()
    return {**_limits, "max_line_bytes": line, "max_event_bytes": event}


_timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}


def _timeout(*, total: float | None, sock_connect: float, sock_read: float | None = None) -> aiohttp.ClientTimeout:
    """The (immutable) ClientTimeout for these limits, built once: calls repeat the same few."""
    key = (total, sock_connect, sock_read)
    found = _timeouts.get(key)
    if found is None:
        if len(_timeouts) >= 256:
            _timeouts.clear()
        found = _timeouts[key] = aiohttp.ClientTimeout(total=total, sock_connect=sock_connect, sock_read=sock_read)
    return found


_transports: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Transport] = weakref.WeakKeyDictionary()


class Transport:
    """A pooled aiohttp session bound to one event loop, closed when that loop shuts down."""

    __slots__ = ("__weakref__", "_closer", "session")

    def __init__(self) -> None:
        connector = aiohttp.TCPConnector(limit=512, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=30)
        # No cookie jar: a vendor's Set-Cookie (Cloudflare's __cf_bm on api.openai.com) must not ride along on the
        # next caller's request over the shared pool, a gateway's other tenants included; and no cookies to
        # filter on every request.
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=True, trust_env=False,
                                             cookie_jar=aiohttp.DummyCookieJar())
        self._closer: AsyncIterator[None] | None = None

    async def post(self, url: str, headers: Mapping[str, str], body: bytes, *, timeout: float | None,
                   vendor: str, model: str) -> tuple[int, Mapping[str, str], bytes]:
        """POST and read the whole reply: (status, headers, body bytes); `timeout` bounds the attempt."""
        total = timeout or _limits["timeout"]
        client_timeout = _timeout(total=total, sock_connect=min(_limits["connect_timeout"], total))
        try:
            # Never follow a redirect: aiohttp would carry x-api-key (and the prompt) to the new host.
            async with self.session.post(url, data=body, headers=headers, timeout=client_timeout,
                                         allow_redirects=False) as resp:
                if 300 <= resp.status < 400:
                    raise redirect_error(resp, vendor=vendor, model=model)
                # The usual reply is read here, without _read_capped's coroutine.
                data = await resp.read() if _one_read(resp) else await _read_capped(resp, vendor=vendor, model=model)
                return resp.status, resp.headers, data
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise connection_error(exc, vendor=vendor, model=model) from exc

    async def open(self, url: str, headers: Mapping[str, str], body: bytes, *, timeout: float | None,
                   vendor: str, model: str) -> ByteStream:
        """POST for a stream: the reply once headers arrived; `timeout` bounds each wait for bytes."""
        idle = timeout or _limits["read_timeout"]
        client_timeout = _timeout(total=None, sock_connect=min(_limits["connect_timeout"], idle), sock_read=idle)
        try:
            resp = await self.session.post(url, data=body, headers=headers, timeout=client_timeout,
                                           allow_redirects=False)
            if 300 <= resp.status < 400:
                resp.close()
                raise redirect_error(resp, vendor=vendor, model=model)
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
            return await _read_capped(self._resp, vendor=self._vendor, model=self._model)
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


def _one_read(resp: aiohttp.ClientResponse) -> bool:
    """A known length within the cap and no content encoding: exactly that many bytes arrive, one read does."""
    length = resp.content_length
    return length is not None and length <= sse.get_limits()[1] and not resp.headers.get("Content-Encoding")


async def _read_capped(resp: aiohttp.ClientResponse, *, vendor: str, model: str) -> bytes:
    if _one_read(resp):
        return await resp.read()
    cap = sse.get_limits()[1]
    length = resp.content_length
    if length is not None and length > cap:
        raise _too_big(resp, cap, vendor=vendor, model=model)
    data = bytearray()
    async for piece in resp.content.iter_any():
        data += piece
        if len(data) > cap:
            raise _too_big(resp, cap, vendor=vendor, model=model)
    return bytes(data)


def _too_big(resp: aiohttp.ClientResponse, cap: int, *, vendor: str, model: str) -> MalformedResponseError:
    resp.close()
    return MalformedResponseError(f"the reply body is larger than {cap} bytes (max_event_bytes); not read further",
                                  vendor=vendor, model=model, status_code=resp.status)


def redirect_error(resp: aiohttp.ClientResponse, *, vendor: str, model: str) -> RedirectError:
    """A 3xx as an error naming where it pointed (without user-info); the request was not sent there."""
    location = redact_url(resp.headers.get("Location", ""))[:300] or None
    where = f" to {location}" if location else " (no Location)"
    return RedirectError(f"the base URL answered {resp.status}, a redirect{where}; Farebox does not follow "
                         "redirects, since the request carries the API key", vendor=vendor, model=model,
                         status_code=resp.status, location=location,
                         hint="if that address is the vendor's, set base_url to it")


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


def current() -> Transport | None:
    """The running loop's open Transport, if it has one (no coroutine: every call asks, on the hot path)."""
    transport = _transports.get(asyncio.get_running_loop())
    return None if transport is None or transport.session.closed else transport


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


