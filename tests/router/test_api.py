"""completion()/acompletion() on the OpenAI Chat wire, the pooled transport and the sync API, against the emulator."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import router
from router import errors
from router.emulator import Emulator, key_fingerprint

KEY = "sk-api-SECRET-abcdefghijklmnop"
ROOT = Path(__file__).resolve().parents[2]
HI = [{"role": "user", "content": "Hi"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city", "unit"],
        },
    },
}


def check_ok(resp: Any, vendor: str, model: str) -> None:
    """The fields every successful non-streamed call fills."""
    assert resp.vendor == vendor
    assert resp.model == model
    assert resp.id
    assert len(resp.attempts) == 1
    attempt = resp.attempts[0]
    assert (attempt.status, attempt.ok, attempt.error, attempt.vendor, attempt.model) == (200, True, None, vendor,
                                                                                          model)
    usage = resp.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert not usage.estimated


# -- item 2: the OpenAI Chat wire -------------------------------------------------------------------

def test_openai_sync(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    resp = router.completion("openai/gpt-5.1", HI, **openai_kw)
    check_ok(resp, "openai", "gpt-5.1")
    assert resp.choices[0].message.content == "Hello from the openai emulator (gpt-5.1). You said: Hi"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.choices[0].message.tool_calls is None
    assert resp.attempts[0].base_url == emu.base_url("openai")
    assert resp.cost is not None and resp.cost.total > 0
    rec = emu.last_request()
    assert (rec.method, rec.path, rec.vendor) == ("POST", "/openai/v1/chat/completions", "openai")
    assert rec.body == {"model": "gpt-5.1", "messages": HI}


async def test_openai_async(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    resp = await router.acompletion("openai/gpt-5.1", HI, **openai_kw)
    check_ok(resp, "openai", "gpt-5.1")
    assert resp.choices[0].message.content.endswith("You said: Hi")
    assert len(emu.requests) == 1


def test_message_roles_and_content_parts(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is the weather"},
                                     {"type": "text", "text": "in Oslo?"}]},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "-3C and snow"},
    ]
    resp = router.completion("openai/gpt-5.1", messages, tools=[WEATHER_TOOL], **openai_kw)
    assert resp.choices[0].message.content.endswith("The tool returned: -3C and snow")
    sent = emu.last_request().body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[1]["content"] == messages[1]["content"]
    assert sent[2]["tool_calls"] == [call]
    assert sent[3] == messages[3]


async def test_content_parts_answer_uses_all_text_parts(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    parts = [{"type": "text", "text": "first part"}, {"type": "text", "text": "second part"}]
    resp = await router.acompletion("openai/gpt-5.1", [{"role": "user", "content": parts}], **openai_kw)
    assert resp.choices[0].message.content.endswith("You said: first part second part")


@pytest.mark.parametrize("tool_choice", [None, "auto", {"type": "function", "function": {"name": "get_weather"}}])
def test_tool_call_openai_shaped(emu: Emulator, openai_kw: dict[str, Any], tool_choice: Any) -> None:
    resp = router.completion("openai/gpt-5.1", [{"role": "user", "content": "What's the weather in Paris?"}],
                             tools=[WEATHER_TOOL], tool_choice=tool_choice, **openai_kw)
    check_ok(resp, "openai", "gpt-5.1")
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "c"}
    dumped = choice.message.model_dump(exclude_none=True)["tool_calls"][0]
    assert set(dumped) == {"id", "type", "function"} and set(dumped["function"]) == {"name", "arguments"}
    body = emu.last_request().body
    assert body["tools"] == [WEATHER_TOOL]
    assert body.get("tool_choice") == tool_choice


def test_tool_choice_none_answers_text(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    resp = router.completion("openai/gpt-5.1", [{"role": "user", "content": "weather in Rome"}],
                             tools=[WEATHER_TOOL], tool_choice="none", **openai_kw)
    assert resp.choices[0].finish_reason == "stop"
    assert resp.choices[0].message.tool_calls is None


def test_response_format_json_object_and_schema(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    fmt = {"type": "json_object"}
    resp = router.completion("openai/gpt-5.1", HI, response_format=fmt, **openai_kw)
    assert json.loads(resp.choices[0].message.content)["answer"].endswith("You said: Hi")
    assert emu.last_request().body["response_format"] == fmt
    schema = {"type": "json_schema", "json_schema": {"name": "city", "schema": {
        "type": "object", "properties": {"city": {"type": "string"}, "pop": {"type": "integer"}},
        "required": ["city", "pop"]}}}
    resp = router.completion("openai/gpt-5.1", HI, response_format=schema, **openai_kw)
    assert json.loads(resp.choices[0].message.content) == {"city": "Paris", "pop": 1}
    assert emu.last_request().body["response_format"] == schema


def test_sampling_params_in_body(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    resp = router.completion("openai/gpt-5.1", HI, temperature=0.2, top_p=0.9, max_tokens=3, stop=["\n\n"],
                             user="user-42", **openai_kw)
    body = emu.last_request().body
    assert (body["temperature"], body["top_p"], body["stop"], body["user"]) == (0.2, 0.9, ["\n\n"], "user-42")
    assert body["max_completion_tokens"] == 3 and "max_tokens" not in body  # api.openai.com's field name
    assert resp.choices[0].finish_reason == "length"
    assert resp.choices[0].message.content == "Hello from the"


def test_compatible_keeps_max_tokens_name(emu: Emulator) -> None:
    router.completion("compatible/local-model", HI, base_url=emu.base_url("compatible"), max_tokens=7)
    body = emu.last_request().body
    assert body["max_tokens"] == 7 and "max_completion_tokens" not in body


@pytest.mark.parametrize("via", ["sync", "async"])
def test_extra_body_at_top_level(emu: Emulator, openai_kw: dict[str, Any], via: str) -> None:
    kwargs = {"extra_body": {"vendor_flag": {"x": [1, 2]}, "seed": 11, "my_unknown_knob": "on"}, **openai_kw}
    if via == "sync":
        router.completion("openai/gpt-5.1", HI, **kwargs)
    else:
        asyncio.run(router.acompletion("openai/gpt-5.1", HI, **kwargs))
    body = emu.last_request().body
    assert body["vendor_flag"] == {"x": [1, 2]}
    assert body["seed"] == 11
    assert body["my_unknown_knob"] == "on"
    assert "extra_body" not in body


@pytest.mark.parametrize("profile", ["compatible", "deepseek", "moonshot", "zhipu"])
def test_compatible_prefix_against_any_openai_server(emu: Emulator, profile: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPATIBLE_API_KEY", raising=False)
    resp = router.completion("compatible/local-model", HI, base_url=emu.base_url(profile), api_key=KEY,
                             extra_body={"thinking": {"type": "disabled"}})
    assert resp.vendor == "compatible"
    assert resp.choices[0].message.content.endswith("You said: Hi")
    assert resp.attempts[0].ok and resp.attempts[0].status == 200
    rec = emu.last_request()
    assert rec.vendor == profile and rec.body["model"] == "local-model"
    assert rec.key_fingerprint == key_fingerprint(KEY)


async def test_bare_unknown_model_with_base_url_is_compatible(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPATIBLE_API_KEY", raising=False)
    resp = await router.acompletion("my-local-llm", HI, base_url=emu.base_url("compatible"))
    assert resp.vendor == "compatible"
    assert resp.model == "my-local-llm"
    assert resp.usage.total_tokens > 0
    rec = emu.last_request()
    assert rec.body["model"] == "my-local-llm"
    assert rec.auth_kind is None  # no key configured: no auth header at all


# -- item 3: the transport -------------------------------------------------------------------------

def _background_transport() -> Any:
    from router import loop, transport

    return transport._transports[loop.loop()]


def _pooled(session: Any, port: int | None = None) -> list[Any]:
    """The idle keep-alive connections in the session's pool (aiohttp internals), to `port` if given (the
    background loop's session outlives each test: earlier tests may have left connections to other servers)."""
    return [proto for key, conns in session.connector._conns.items() if port is None or key.port == port
            for proto, _ in conns]


def test_sync_calls_share_one_session_and_one_connection(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    router.completion("openai/gpt-5.1", HI, **openai_kw)
    tp = _background_transport()
    session = tp.session
    port = urlsplit(emu.url).port
    (conn,) = _pooled(session, port)
    for i in range(4):
        resp = router.completion("openai/gpt-5.1", [{"role": "user", "content": f"n{i}"}], **openai_kw)
        assert resp.choices[0].message.content.endswith(f"You said: n{i}")
        assert _background_transport() is tp and tp.session is session and not session.closed
        assert _pooled(session, port) == [conn]  # the same TCP connection, back in the pool
        assert not session.connector._acquired
    assert len(emu.requests) == 5


async def test_async_calls_share_the_loops_session(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    from router import transport

    await router.acompletion("openai/gpt-5.1", HI, **openai_kw)
    tp = transport._transports[asyncio.get_running_loop()]
    (conn,) = _pooled(tp.session)
    await asyncio.gather(*(router.acompletion("openai/gpt-5.1", HI, **openai_kw) for _ in range(3)))
    await router.acompletion("openai/gpt-5.1", HI, **openai_kw)
    assert transport._transports[asyncio.get_running_loop()] is tp
    assert conn in _pooled(tp.session)
    assert tp is not _background_transport_if_any()


def _background_transport_if_any() -> Any:
    from router import loop, transport

    return transport._transports.get(loop._loop) if loop._loop is not None else None


def test_session_closed_when_its_loop_ends(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    from router import transport

    seen: list[Any] = []

    async def one() -> None:
        await router.acompletion("openai/gpt-5.1", HI, **openai_kw)
        seen.append(transport._transports[asyncio.get_running_loop()])

    asyncio.run(one())
    asyncio.run(one())
    first, second = seen
    assert first is not second  # a loop's session is never used from another loop
    assert first.session.closed and second.session.closed  # asyncio.run's shutdown closed them


EXIT_SCRIPT = """
import asyncio, sys
import router
from router.emulator import Emulator

with Emulator.running() as emu:
    kw = dict(api_key=KEY, base_url=emu.base_url("openai"))
    msgs = [{"role": "user", "content": "Hi"}]
    print(router.completion("openai/gpt-5.1", msgs, **kw).choices[0].message.content)
    print("".join(c.choices[0].delta.content or "" for c in
                  router.completion("openai/gpt-5.1", msgs, stream=True, **kw) if c.choices))

    async def main():
        resp = await router.acompletion("openai/gpt-5.1", msgs, **kw)
        if "abandon" in sys.argv:
            emu.fault(chunk_delay_s=0.2)
            stream = await router.acompletion("openai/gpt-5.1", msgs, stream=True, **kw)
            async for _ in stream:
                break  # dropped unfinished, without aclose()
        return resp.choices[0].message.content

    print(asyncio.run(main()))
    if "abandon" in sys.argv:
        emu.fault(chunk_delay_s=0.2)
        left_open = router.completion("openai/gpt-5.1", msgs, stream=True, **kw)
        next(iter(left_open))  # still streaming when the interpreter exits
print("done")
"""


@pytest.mark.parametrize("mode", ["tidy", "abandon"])
def test_clean_exit_prints_no_unclosed_warnings(tmp_path: Path, mode: str) -> None:
    script = tmp_path / "script.py"
    script.write_text(f"KEY = {KEY!r}\n" + EXIT_SCRIPT)
    proc = subprocess.run([sys.executable, "-W", "always::ResourceWarning", str(script), mode], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("You said: Hi") == 3 and proc.stdout.endswith("done\n"), proc.stdout
    for bad in ("unclosed", "task was destroyed", "traceback", "exception ignored"):
        assert bad not in proc.stderr.lower(), proc.stderr


def test_key_only_in_auth_header(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    router.completion("openai/gpt-5.1", HI, **openai_kw)
    rec = emu.last_request()
    assert rec.auth_kind == "bearer"
    assert rec.key_fingerprint == key_fingerprint(KEY)
    assert rec.headers["authorization"].startswith("Bearer sk-api")
    assert KEY not in json.dumps(rec.body)
    assert KEY not in json.dumps(rec.query) and KEY not in rec.path
    assert not any(KEY in value for name, value in rec.headers.items())


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_timeout_sync(emu: Emulator, openai_kw: dict[str, Any], stream: bool) -> None:
    emu.fault(delay_s=1.5)
    started = time.perf_counter()
    with pytest.raises(errors.APITimeoutError) as info:
        router.completion("openai/gpt-5.1", HI, timeout=0.2, num_retries=0, stream=stream, **openai_kw)
    assert time.perf_counter() - started < 1.2
    assert (info.value.vendor, info.value.model) == ("openai", "gpt-5.1")
    assert len(emu.requests) == 1


async def test_timeout_async(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    emu.fault(delay_s=1.5)
    with pytest.raises(errors.APITimeoutError):
        await router.acompletion("openai/gpt-5.1", HI, timeout=0.2, num_retries=0, **openai_kw)


def test_timeout_is_retried_then_succeeds(emu: Emulator, openai_kw: dict[str, Any], sleeps: list[float]) -> None:
    emu.fault(delay_s=1.5)
    resp = router.completion("openai/gpt-5.1", HI, timeout=0.3, num_retries=1, **openai_kw)
    assert [a.error for a in resp.attempts] == ["APITimeoutError", None]
    assert resp.attempts[0].status is None
    assert len(sleeps) == 1


# -- item 4: the sync API from scripts, threads and running loops ----------------------------------

def test_sync_from_eight_threads(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    start = threading.Barrier(8)

    def one(i: int) -> tuple[int, str, str]:
        start.wait(10)  # all eight calls in flight at once
        resp = router.completion("openai/gpt-5.1", [{"role": "user", "content": f"thread {i}"}], **openai_kw)
        return i, resp.choices[0].message.content, threading.current_thread().name

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(8)))
    for i, content, _ in results:
        assert content.endswith(f"You said: thread {i}")
    assert len({name for *_, name in results}) > 1
    assert len(emu.requests) == 8
    tp = _background_transport()
    assert not tp.session.connector._acquired
    assert len(_pooled(tp.session, urlsplit(emu.url).port)) <= 8


def test_sync_inside_running_loop(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    async def notebook_cell() -> tuple[str, str]:
        resp = router.completion("openai/gpt-5.1", HI, **openai_kw)  # blocks this loop, runs on Farebox's
        text = "".join(c.choices[0].delta.content or "" for c in
                       router.completion("openai/gpt-5.1", HI, stream=True, **openai_kw) if c.choices)
        return resp.choices[0].message.content, text

    plain, streamed = asyncio.run(asyncio.wait_for(notebook_cell(), timeout=20))
    assert plain == streamed == "Hello from the openai emulator (gpt-5.1). You said: Hi"


async def test_sync_inside_pytest_asyncio_loop(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    resp = router.completion("openai/gpt-5.1", HI, **openai_kw)
    assert resp.choices[0].message.content.endswith("You said: Hi")


def test_sync_api_uses_the_background_loop_thread(emu: Emulator, openai_kw: dict[str, Any],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from router import loop, transport

    router.completion("openai/gpt-5.1", HI, **openai_kw)
    names = [t.name for t in threading.enumerate()]
    assert names.count("farebox-loop") == 1
    bg = loop.loop()
    assert bg.is_running() and loop._thread is not None and loop._thread.is_alive()
    assert bg in transport._transports

    def no_new_loops(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the sync API must not start an event loop per request")

    monkeypatch.setattr(asyncio, "run", no_new_loops)
    monkeypatch.setattr(asyncio, "new_event_loop", no_new_loops)
    loops_before = len(transport._transports)
    for _ in range(3):
        router.completion("openai/gpt-5.1", HI, **openai_kw)
        list(router.completion("openai/gpt-5.1", HI, stream=True, **openai_kw))
    assert len(transport._transports) == loops_before
    assert [t.name for t in threading.enumerate()].count("farebox-loop") == 1


def test_sync_api_refuses_farebox_own_loop_thread(emu: Emulator, openai_kw: dict[str, Any]) -> None:
    from router import loop

    async def on_farebox_loop() -> None:
        router.completion("openai/gpt-5.1", HI, **openai_kw)

    future = asyncio.run_coroutine_threadsafe(on_farebox_loop(), loop.loop())
    with pytest.raises(RuntimeError, match="async API"):
        future.result(10)
