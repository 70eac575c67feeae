"""The transport: no redirect is followed with a key, default timeouts, reply size caps (real sockets)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

import router
from router import errors
from router.emulator import Emulator
from tests.conftest import KEY

HI = [{"role": "user", "content": "Hi"}]
SURFACES = [("anthropic", "anthropic/claude-sonnet-4-6", None), ("openai", "openai/gpt-5.1", None),
            ("minimax", "minimax/MiniMax-M3", "anthropic"), ("deepseek", "deepseek/deepseek-chat", "anthropic")]


@pytest.fixture(scope="module")
def other() -> Iterator[Emulator]:
    """Another origin (its own port): it must never receive anything of ours."""
    with Emulator.running(seed=5) as server:
        yield server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("profile", "model", "surface"), SURFACES)
def test_a_redirect_is_an_error_and_nothing_reaches_the_other_origin(
        emu: Emulator, other: Emulator, status: int, stream: bool, profile: str, model: str, surface: Any) -> None:
    other.clear()
    target = other.url.replace("127.0.0.1", "localhost")  # another host, as a real redirect would name
    emu.fault(redirect_to=target, status=status)
    with pytest.raises(errors.RedirectError) as info:
        result = router.completion(model, HI, api_key=KEY, base_url=emu.base_url(profile, surface),
                                   stream=stream, num_retries=2)
        list(result) if stream else None
    exc = info.value
    assert other.requests == []
    assert len(emu.requests) == 1  # not retried against the same redirecting target
    assert target in str(exc) and f"{status}" in str(exc)
    assert exc.location is not None and exc.location.startswith(target)
    for text in (str(exc), repr(exc), str(exc.args)):
        assert KEY not in text
    assert exc.fallback_ok and not exc.retryable


def test_a_redirect_location_with_user_info_is_shown_without_it(emu: Emulator) -> None:
    emu.fault(redirect_to=f"http://user:{KEY}@localhost:9", status=302)
    with pytest.raises(errors.RedirectError) as info:
        router.completion("openai/gpt-5.1", HI, api_key="sk-other-key-1234567", base_url=emu.base_url("openai"),
                          num_retries=0)
    assert KEY not in str(info.value) and "localhost:9" in str(info.value)


def test_a_redirecting_deployment_falls_back(emu: Emulator, other: Emulator) -> None:
    other.clear()
    emu.fault(redirect_to=other.url, status=307, vendor="anthropic")
    r = router.Router(deployments=[
        {"alias": "main", "model": "anthropic/claude-sonnet-4-6", "api_key": KEY,
         "base_url": emu.base_url("anthropic")},
        {"alias": "spare", "model": "openai/gpt-5.1", "api_key": KEY, "base_url": emu.base_url("openai")},
    ], fallbacks={"main": ["spare"]}, num_retries=0)
    resp = r.completion("main", HI)
    assert resp.vendor == "openai"
    assert other.requests == []


# -- a server that accepts and never answers ------------------------------------------------------------

@pytest.fixture
async def silent() -> Any:
    """A raw TCP server on loopback that accepts, reads, and never writes a byte."""
    import asyncio

    held: list[Any] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1"
    for w in held:
        w.close()
    server.close()


@pytest.fixture
def small_defaults() -> Iterator[None]:
    from router import transport

    saved = transport.limits()
    transport.configure(connect_timeout=0.5, read_timeout=0.3, timeout=0.6)
    yield
    transport.configure(**{k: saved[k] for k in ("connect_timeout", "read_timeout", "timeout")})


def test_the_defaults_a_user_expects() -> None:
    from router import transport

    lim = transport.limits()
    assert lim["connect_timeout"] == 10 and lim["read_timeout"] == 120 and lim["timeout"] == 600
    with pytest.raises(errors.ConfigError, match="read_timeout"):
        transport.configure(read_timeout=0)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_server_that_never_answers_times_out_by_the_defaults(silent: str, small_defaults: None,
                                                                     stream: bool) -> None:
    import asyncio
    import time

    started = time.perf_counter()
    with pytest.raises(errors.APITimeoutError):
        async with asyncio.timeout(10):  # before the defaults existed the call hung for 600 s
            result = await router.acompletion("compatible/local-model", HI, api_key=KEY, base_url=silent,
                                              stream=stream, num_retries=1)
            if stream:
                async for _ in result:
                    pass
    elapsed = time.perf_counter() - started
    per_attempt = 0.3 if stream else 0.6
    assert elapsed < 2 * per_attempt + 1.5  # two attempts (one retry) and the backoff between them


# -- size caps: a huge line is refused quickly and the loop stays responsive -----------------------------

async def _lag_while(work: Any) -> tuple[Any, float, float]:
    """Run `work` beside an asyncio.sleep(0.01) ticker: (result or exception, seconds, worst tick lag)."""
    import asyncio
    import time

    worst = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            worst = max(worst, time.perf_counter() - t - 0.01)

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    try:
        result: Any = await work
    except Exception as exc:
        result = exc
    elapsed = time.perf_counter() - started
    stop.set()
    await tick
    return result, elapsed, worst


async def test_a_32_mib_sse_line_is_refused_quickly_and_other_calls_go_on(emu: Emulator) -> None:
    import asyncio

    kw = {"api_key": KEY, "num_retries": 0}

    async def huge() -> Any:
        stream = await router.acompletion("openai/gpt-5.1", HI, base_url=emu.base_url("openai"), stream=True, **kw)
        async for _ in stream:
            pass

    async def others() -> list[Any]:
        return await asyncio.gather(*(router.acompletion("deepseek/deepseek-chat", HI,
                                                         base_url=emu.base_url("deepseek"), **kw) for _ in range(5)))

    await router.acompletion("openai/gpt-5.1", HI, base_url=emu.base_url("openai"), **kw)  # warm: imports, tables
    emu.clear()
    emu.fault(huge_line_bytes=32 * 1024 * 1024, vendor="openai")
    both = asyncio.gather(huge(), others(), return_exceptions=True)
    (err, answers), elapsed, lag = await _lag_while(both)
    assert isinstance(err, errors.MalformedResponseError), err
    assert "max_line_bytes" in str(err) and err.vendor == "openai"
    assert all(a.choices[0].message.content for a in answers)
    assert elapsed < 5.0, elapsed
    assert lag < 1.0, lag  # generous for a loaded 2-core machine; the old parser held the loop for 28.6 s


async def test_a_json_body_over_the_cap_is_refused(emu: Emulator) -> None:
    emu.fault(huge_line_bytes=17 * 1024 * 1024)
    err, elapsed, lag = await _lag_while(router.acompletion("openai/gpt-5.1", HI, api_key=KEY, num_retries=0,
                                                            base_url=emu.base_url("openai")))
    assert isinstance(err, errors.MalformedResponseError), err
    assert "max_event_bytes" in str(err)
    assert elapsed < 10.0 and lag < 1.0, (elapsed, lag)  # generous bounds: the old code stalled for seconds


# -- a vendor that sets cookies --------------------------------------------------------------------------

@pytest.fixture
async def cookie_setter() -> Any:
    """An OpenAI-shaped upstream on loopback that sets a cookie on every reply and records the Cookie header."""
    from aiohttp import web

    seen: list[str | None] = []

    async def chat(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie"))
        resp = web.json_response({"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": "hi"}}],
                                  "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
        resp.set_cookie("__cf_bm", "tenant-a-session", path="/")
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    # By name, not by IP: aiohttp's default jar keeps no cookies from an IP address.
    yield f"http://localhost:{port}/v1", seen
    await runner.cleanup()


async def test_a_vendors_cookie_never_rides_on_the_next_request(cookie_setter: Any) -> None:
    """The pooled session keeps no cookies: one caller's vendor cookie is not sent with anyone's next call."""
    url, seen = cookie_setter
    for key in ("sk-tenant-a-0123456789", "sk-tenant-b-0123456789"):
        resp = await router.acompletion("openai/gpt-4o-mini", [{"role": "user", "content": "hi"}], base_url=url,
                                        api_key=key)
        assert resp.choices[0].message.content == "hi"
    assert seen == [None, None]
