"""Fault injection observed on the wire with a raw aiohttp client: envelopes, ordering, resets, truncation."""

from __future__ import annotations

import json
import random
import time

import aiohttp
import pytest

from router.emulator import Emulator, Fault
from router.emulator.sse import split_bytes

AUTH = {"Authorization": "Bearer sk-test-0123456789abcdef", "anthropic-version": "2023-06-01"}
MSGS = [{"role": "user", "content": "hello there unicode"}]


@pytest.fixture
def emu(own_emulator: Emulator) -> Emulator:
    """These tests drive a fresh emulator on their own loop (conftest's own_emulator)."""
    return own_emulator


def chat_url(emu: Emulator, profile: str = "openai") -> str:
    return f"{emu.base_url(profile)}/chat/completions"


async def post(session, url: str, body: dict) -> tuple[int, dict, bytes]:
    async with session.post(url, json=body, headers=AUTH) as resp:
        return resp.status, dict(resp.headers), await resp.read()


def data_lines(raw: bytes) -> list[str]:
    return [line[6:] for line in raw.decode().splitlines() if line.startswith("data: ")]


async def test_faults_consumed_fifo_with_times_and_matching(emu, session) -> None:
    emu.fault(vendor="deepseek", status=500)
    emu.fault(status=429, times=2)
    emu.fault(Fault(model="other-model", status=400))
    body = {"model": "gpt-5.1", "messages": MSGS}
    assert (await post(session, chat_url(emu), body))[0] == 429  # the deepseek fault does not match
    assert (await post(session, chat_url(emu), body))[0] == 429
    assert (await post(session, chat_url(emu), body))[0] == 200
    assert [f.status for f in emu.faults] == [500, 400]
    assert (await post(session, chat_url(emu, "deepseek"), {**body, "model": "deepseek-v4-flash"}))[0] == 500
    assert (await post(session, chat_url(emu), {**body, "model": "other-model"}))[0] == 400
    emu.fault(status=503, times=-1)
    for _ in range(3):
        assert (await post(session, chat_url(emu), body))[0] == 503
    emu.clear()
    assert emu.faults == [] and emu.requests == []
    assert (await post(session, chat_url(emu), body))[0] == 200


@pytest.mark.parametrize(
    ("profile", "surface", "fault", "status", "error"),
    [
        ("openai", "openai", {"status": 429}, 429, {"type": "requests", "code": "rate_limit_exceeded"}),
        ("deepseek", "openai", {"status": 402}, 402, {"message": "Insufficient Balance", "type": "unknown_error"}),
        ("zhipu", "openai", {"status": 400}, 400, {"code": "1214"}),
        ("zhipu", "openai", {"vendor_code": 1113}, 429, {"code": "1113"}),
        ("moonshot", "openai", {"status": 429}, 429, {"type": "rate_limit_reached_error"}),
        (
            "minimax",
            "openai",
            {"vendor_code": 2056},
            429,
            {
                "type": "rate_limit_error",
                "message": "usage limit exceeded, 5-hour usage limit reached for Token Plan Starter (0/0 used), "
                "resets at 2026-05-15T15:00:00Z (2056)",
                "http_code": "429",
            },
        ),
        ("minimax", "openai", {"status": 400}, 400, {"type": "bad_request_error", "message": "invalid params (2013)"}),
        ("minimax", "anthropic", {"vendor_code": 2049}, 401, {"type": "authentication_error"}),
        ("anthropic", "anthropic", {"status": 529}, 529, {"type": "overloaded_error", "message": "Overloaded"}),
        ("deepseek", "anthropic", {"status": 500}, 500, {"type": "api_error"}),
    ],
)
async def test_native_error_envelopes(emu, session, profile, surface, fault, status, error) -> None:
    emu.fault(**fault)
    url = emu.base_url(profile, surface) + ("/v1/messages" if surface == "anthropic" else "/chat/completions")
    got_status, _, raw = await post(session, url, {"model": "m", "max_tokens": 5, "messages": MSGS})
    assert got_status == status
    body = json.loads(raw)
    assert error.items() <= body["error"].items()
    if profile == "minimax" or surface == "anthropic":
        assert body["type"] == "error" and body["request_id"].startswith("req_")


async def test_custom_body_and_headers(emu, session) -> None:
    emu.fault(status=502, body="<html>bad gateway</html>", headers={"x-extra": "1"}, retry_after=1.5)
    async with session.post(chat_url(emu), json={"model": "m", "messages": MSGS}, headers=AUTH) as resp:
        assert resp.status == 502
        assert resp.content_type == "text/html"
        assert resp.headers["x-extra"] == "1" and resp.headers["Retry-After"] == "1.5"
        assert await resp.text() == "<html>bad gateway</html>"


async def test_http200_base_resp(emu, session) -> None:
    emu.fault(http200_base_resp=1002)
    status, _, raw = await post(session, chat_url(emu, "minimax"), {"model": "MiniMax-M3", "messages": MSGS})
    body = json.loads(raw)
    assert status == 200
    assert body["base_resp"] == {"status_code": 1002, "status_msg": "rate limit"}
    assert "choices" not in body


async def test_delays(emu, session) -> None:
    emu.fault(delay_s=0.2)
    start = time.monotonic()
    assert (await post(session, chat_url(emu), {"model": "m", "messages": MSGS}))[0] == 200
    assert time.monotonic() - start >= 0.2
    emu.fault(chunk_delay_s=0.02)
    start = time.monotonic()
    status, _, raw = await post(session, chat_url(emu), {"model": "m", "messages": MSGS, "stream": True})
    assert status == 200 and len(data_lines(raw)) >= 8
    assert time.monotonic() - start >= 0.02 * 7


async def test_reset_mid_stream_and_before_body(emu, session) -> None:
    emu.fault(reset_after_chunks=2)
    got = b""
    with pytest.raises(aiohttp.ClientPayloadError):
        async with session.post(
            chat_url(emu), json={"model": "m", "messages": MSGS, "stream": True}, headers=AUTH
        ) as r:
            assert r.status == 200
            async for piece in r.content.iter_any():
                got += piece
    assert len(data_lines(got)) == 2
    emu.fault(reset_after_chunks=0)
    with pytest.raises(aiohttp.ClientConnectionError):
        await post(session, chat_url(emu), {"model": "m", "messages": MSGS})
    emu.fault(reset_after_chunks=10)
    with pytest.raises(aiohttp.ClientPayloadError):
        await post(session, chat_url(emu), {"model": "m", "messages": MSGS})
    assert len(emu.requests) == 3  # recorded even though the connection died


@pytest.mark.parametrize("profile", ["openai", "minimax"])
async def test_truncate_ends_cleanly_without_finish(emu, session, profile) -> None:
    emu.fault(truncate_after_chunks=3)
    status, _, raw = await post(
        session, chat_url(emu, profile), {"model": "MiniMax-M2.7", "messages": MSGS, "stream": True}
    )
    lines = data_lines(raw)
    assert status == 200 and len(lines) == 3
    assert "[DONE]" not in lines
    assert all(json.loads(line)["choices"][0]["finish_reason"] is None for line in lines)


async def test_truncate_anthropic_has_no_message_stop(emu, session) -> None:
    emu.fault(truncate_after_chunks=4)
    url = f"{emu.base_url('anthropic')}/v1/messages"
    status, _, raw = await post(session, url, {"model": "c", "max_tokens": 99, "messages": MSGS, "stream": True})
    assert status == 200
    assert b"message_stop" not in raw and b"message_delta" not in raw
    assert raw.count(b"event: ") == 4


async def test_malformed_body_and_stream(emu, session) -> None:
    emu.fault(malformed=True)
    status, _, raw = await post(session, chat_url(emu), {"model": "m", "messages": MSGS})
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(raw)
    emu.fault(malformed=True)
    status, _, raw = await post(session, chat_url(emu), {"model": "m", "messages": MSGS, "stream": True})
    bad = []
    for line in data_lines(raw):
        if line != "[DONE]":
            try:
                json.loads(line)
            except ValueError:
                bad.append(line)
    assert len(bad) == 1 and data_lines(raw)[-1] == "[DONE]"


async def test_error_after_chunks_openai_surface(emu, session) -> None:
    emu.fault(vendor="deepseek", error_after_chunks=2, status=503)
    url = chat_url(emu, "deepseek")
    status, _, raw = await post(session, url, {"model": "deepseek-v4-flash", "messages": MSGS, "stream": True})
    lines = data_lines(raw)
    assert status == 200 and len(lines) == 3
    assert json.loads(lines[-1])["error"]["message"] == "Server Overloaded"


async def test_random_split_and_crlf_bytes(emu, session) -> None:
    body = {"model": "m", "messages": MSGS, "stream": True}
    _, _, plain = await post(session, chat_url(emu), body)
    emu.set_options("openai", split="random")
    pieces = []
    async with session.post(chat_url(emu), json=body, headers=AUTH) as resp:
        async for piece in resp.content.iter_any():
            pieces.append(piece)
    joined = b"".join(pieces)
    contents = lambda raw: [  # noqa: E731
        json.loads(x)["choices"][0]["delta"].get("content") for x in data_lines(raw) if x.startswith("{")
    ]
    assert contents(joined) == contents(plain)
    assert "café ☕".encode() in joined
    emu.set_options("openai", split="event", crlf=True)
    _, _, crlf = await post(session, chat_url(emu), body)
    assert crlf.count(b"\r\n\r\n") == len(data_lines(crlf)) and b"\n\n" not in crlf.replace(b"\r\n", b"")


def test_split_bytes_cuts_inside_utf8() -> None:
    data = 'data: {"content":"café ☕"}\n\n'.encode()
    parts = split_bytes(data, random.Random(1))
    assert b"".join(parts) == data
    first_multi = data.index("é".encode())
    assert any(len(b"".join(parts[:i])) == first_multi + 1 for i in range(1, len(parts)))


async def test_compatible_keepalive_comments(emu, session) -> None:
    status, _, raw = await post(
        session, chat_url(emu, "compatible"), {"model": "local-model", "messages": MSGS, "stream": True}
    )
    assert status == 200 and b": keep-alive\n\n" in raw


def test_fault_validation() -> None:
    with pytest.raises(ValueError):
        Fault(times=0)
    with pytest.raises(ValueError):
        Fault(surface="grpc")
    with pytest.raises(ValueError, match="unknown Fault field"):
        Fault.from_json({"stauts": 500})
