"""Emulator core: recording with masked keys, routes, vendor checks, control API, sync mode, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from router.emulator import Emulator, key_fingerprint

KEY = "sk-cp-SECRETSECRET9f"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emu(own_emulator: Emulator) -> Emulator:
    """These tests drive a fresh emulator on their own loop (conftest's own_emulator)."""
    return own_emulator


async def post(session, url: str, body: dict, key: str = KEY, header: str = "bearer") -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {key}"} if header == "bearer" else {header: key}
    async with session.post(url, json=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


def chat(emu: Emulator, profile: str) -> str:
    return f"{emu.base_url(profile)}/chat/completions"


async def test_recording_masks_keys(emu, session) -> None:
    await post(session, chat(emu, "minimax"), {"model": "MiniMax-M2.7", "messages": [{"role": "user", "content": "x"}]})
    other = "sk-ant-api03-OTHERSECRET77"
    await post(
        session,
        f"{emu.base_url('anthropic')}/v1/messages",
        {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "y"}]},
        key=other,
        header="x-api-key",
    )
    first, second = emu.requests
    assert first.headers["authorization"] == "Bearer sk-cp-…9f"
    assert first.auth_kind == "bearer" and first.key_fingerprint == key_fingerprint(KEY)
    assert first.vendor == "minimax" and first.surface == "openai" and first.method == "POST"
    assert first.body["model"] == "MiniMax-M2.7" and first.model == "MiniMax-M2.7"
    assert first.raw_body_len > 0 and first.path == "/minimax/v1/chat/completions"
    assert second.headers["x-api-key"] == "sk-ant…77" and second.auth_kind == "x-api-key"
    assert second.surface == "anthropic" and emu.last_request("minimax") is first
    dumped = repr(emu.requests) + json.dumps([r.to_json() for r in emu.requests])
    async with session.get(f"{emu.url}/_emulator/requests") as resp:
        dumped += await resp.text()
    assert KEY not in dumped and other not in dumped
    assert "SECRET" not in dumped


async def test_short_keys_are_masked_harder(emu, session) -> None:
    await post(
        session, chat(emu, "openai"), {"model": "m", "messages": [{"role": "user", "content": "x"}]}, key="sk-test"
    )
    assert emu.last_request().headers["authorization"] == "Bearer sk-…"


async def test_routes_models_and_404s(emu, session) -> None:
    async with session.get(f"{emu.base_url('deepseek')}/models") as resp:
        assert resp.status == 200
        assert "deepseek-v4-flash" in [m["id"] for m in (await resp.json())["data"]]
    async with session.get(f"{emu.base_url('minimax')}/models") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["http_code"] == "404"  # MiniMax's envelope
    async with session.get(f"{emu.url}/nosuchvendor/v1/models") as resp:
        assert resp.status == 404
    async with session.post(f"{emu.base_url('zhipu')}/embeddings", json={}) as resp:
        assert resp.status == 404 and "code" in (await resp.json())["error"]
    assert emu.base_url("zhipu", "anthropic") == f"{emu.url}/zhipu/api/anthropic"
    assert emu.base_url("deepseek") == f"{emu.url}/deepseek"
    assert emu.base_url("anthropic") == f"{emu.url}/anthropic"
    with pytest.raises(ValueError):
        emu.base_url("openai", "anthropic")


async def test_region_is_recorded(emu, session) -> None:
    url = emu.base_url("minimax", region="cn")
    assert url.endswith("/minimax-cn/v1")
    status, _ = await post(
        session, f"{url}/chat/completions", {"model": "MiniMax-M3", "messages": [{"role": "user", "content": "x"}]}
    )
    assert status == 200 and emu.last_request().region == "cn" and emu.last_request().vendor == "minimax"


async def test_missing_key_is_401(emu, session) -> None:
    async with session.post(
        chat(emu, "openai"), json={"model": "m", "messages": [{"role": "user", "content": "x"}]}
    ) as r:
        assert r.status == 401
    async with session.post(
        chat(emu, "compatible"), json={"model": "m", "messages": [{"role": "user", "content": "x"}]}
    ) as r:
        assert r.status == 200  # local servers run keyless


async def test_valid_keys_option(emu, session) -> None:
    emu.set_options("minimax", valid_keys=["sk-api-GOODKEY12345"])
    body = {"model": "MiniMax-M2.7", "messages": [{"role": "user", "content": "x"}]}
    status, err = await post(session, chat(emu, "minimax"), body)
    assert status == 401 and err["error"]["message"] == "invalid api key (2049)"
    assert (await post(session, chat(emu, "minimax"), body, key="sk-api-GOODKEY12345"))[0] == 200
    assert "sk-api-GOODKEY12345" not in json.dumps(emu.options("minimax"), default=str)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"model": "MiniMax-M3", "reasoning_effort": "high"},
            "invalid params, invalid chat setting (2013)",
        ),
        ({"model": "MiniMax-M2.7", "n": 2}, "invalid params, invalid chat setting (2013)"),
        (
            {"model": "MiniMax-M2.7", "extra_system": True},
            "invalid params, chat content has invalid message role: system (2013)",
        ),
        ({"model": "MiniMax-M2.7-highspeed"}, "5-hour usage limit reached"),
    ],
)
async def test_minimax_rejections(emu, session, body, message) -> None:
    messages = [{"role": "user", "content": "x"}]
    if body.pop("extra_system", False):
        messages.append({"role": "system", "content": "late"})
    status, err = await post(session, chat(emu, "minimax"), {**body, "messages": messages})
    assert status in (400, 429)
    assert message in err["error"]["message"]


async def test_minimax_accepts_max_tokens_and_effort_on_m2(emu, session) -> None:
    body = {
        "model": "MiniMax-M2.7",
        "max_tokens": 50,
        "reasoning_effort": "high",
        "messages": [{"role": "user", "content": "x"}],
    }
    assert (await post(session, chat(emu, "minimax"), body, key="sk-api-PAYG1234567"))[0] == 200


@pytest.mark.parametrize(("profile", "model"), [("deepseek", "deepseek-v4-pro"), ("moonshot", "kimi-k3")])
async def test_reasoning_content_required_on_tool_turns(emu, session, profile, model) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    assistant = {"role": "assistant", "content": "", "tool_calls": [call]}
    messages = [{"role": "user", "content": "x"}, assistant, {"role": "tool", "tool_call_id": "c1", "content": "ok"}]
    status, err = await post(session, chat(emu, profile), {"model": model, "messages": messages})
    assert status == 400 and "reasoning_content" in err["error"]["message"]
    assistant["reasoning_content"] = ""
    assert (await post(session, chat(emu, profile), {"model": model, "messages": messages}))[0] == 200
    if profile == "deepseek":
        del assistant["reasoning_content"]
        body = {"model": model, "messages": messages, "thinking": {"type": "disabled"}}
        assert (await post(session, chat(emu, profile), body))[0] == 200


async def test_answers_are_deterministic_per_seed(session) -> None:
    body = {"model": "deepseek-v4-flash", "messages": [{"role": "user", "content": "same"}]}
    bodies = []
    for seed in (5, 5, 6):
        async with Emulator(seed=seed) as emu:
            bodies.append((await post(session, chat(emu, "deepseek"), body))[1])
    assert bodies[0] == bodies[1]
    assert bodies[0]["id"] != bodies[2]["id"]


async def test_control_api(emu, session) -> None:
    async with session.get(f"{emu.url}/_emulator/health") as r:
        assert (await r.json())["status"] == "ok"
    async with session.post(f"{emu.url}/_emulator/faults", json={"status": 503, "vendor": "zhipu"}) as r:
        assert r.status == 201
    async with session.post(f"{emu.url}/_emulator/faults", json={"nope": 1}) as r:
        assert r.status == 400
    async with session.get(f"{emu.url}/_emulator/faults") as r:
        assert [f["status"] for f in await r.json()] == [503]
    assert (
        await post(session, chat(emu, "zhipu"), {"model": "glm-5", "messages": [{"role": "user", "content": "x"}]})
    )[0] == 503
    async with session.post(f"{emu.url}/_emulator/options/zhipu", json={"cache_hit_tokens": 2}) as r:
        assert (await r.json())["cache_hit_tokens"] == 2
    async with session.post(f"{emu.url}/_emulator/options/zhipu", json={"bogus": 2}) as r:
        assert r.status == 400
    async with session.get(f"{emu.url}/_emulator/requests") as r:
        assert [x["vendor"] for x in await r.json()] == ["zhipu"]
    async with session.delete(f"{emu.url}/_emulator/requests") as r:
        assert r.status == 200
    assert emu.requests == []


def test_running_sync_mode() -> None:
    with Emulator.running(seed=1) as emu:
        req = urllib.request.Request(
            f"{emu.base_url('moonshot')}/chat/completions",
            data=json.dumps({"model": "kimi-k2.6", "messages": [{"role": "user", "content": "sync"}]}).encode(),
            headers={"Authorization": "Bearer sk-moon-1234567890", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            body = json.load(resp)
        assert body["choices"][0]["message"]["content"].endswith("You said: sync")
        assert emu.last_request().vendor == "moonshot"
        url = emu.url
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/_emulator/health", timeout=2)


def test_set_options_rejects_typos() -> None:
    emu = Emulator()
    with pytest.raises(ValueError, match="unknown emulator option"):
        emu.set_options("minimax", stream_usgae="never")
    with pytest.raises(ValueError):
        emu.set_options("nosuch", split="random")
    assert emu.set_options(None, split="random")["split"] == "random"
    assert emu.options("compatible")["keepalive"] is True


def test_cli_serves_until_interrupted() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "router.emulator", "--port", "0", "--seed", "2"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        first = proc.stdout.readline()
        url = first.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        banner = "".join(proc.stdout.readline() for _ in range(12))
        assert f"{url}/minimax/anthropic" in banner and f"{url}/zhipu/api/paas/v4" in banner
        with urllib.request.urlopen(f"{url}/_emulator/health", timeout=5) as resp:
            assert json.load(resp)["status"] == "ok"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0  # generous: a loaded 2-core CI machine
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
