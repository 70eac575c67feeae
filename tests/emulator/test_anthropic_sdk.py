"""The official anthropic SDK judges the emulator's Anthropic surfaces (first party, MiniMax, DeepSeek, Zhipu)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import aiohttp
import anthropic
import pytest

from router.emulator import Emulator

KEY = "sk-ant-api03-0123456789abcdef"
WEATHER = {
    "name": "get_weather",
    "description": "Current weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
THINK = {"type": "enabled", "budget_tokens": 2048}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(seed=3) as e:
        yield e


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[Callable[..., anthropic.AsyncAnthropic]]:
    made: list[anthropic.AsyncAnthropic] = []

    def make(profile: str = "anthropic", *, x_api_key: bool = False) -> anthropic.AsyncAnthropic:
        # This SDK sends api_key as "Authorization: Bearer"; an explicit header forces x-api-key.
        auth = {"api_key": None, "default_headers": {"x-api-key": KEY}} if x_api_key else {"auth_token": KEY}
        made.append(anthropic.AsyncAnthropic(base_url=emu.base_url(profile, "anthropic"), max_retries=0, **auth))
        return made[-1]

    yield make
    for c in made:
        await c.close()


async def test_message_with_thinking_and_signature(client) -> None:
    msg = await client().messages.create(
        model="claude-sonnet-4-6",
        max_tokens=4096,
        thinking=THINK,
        messages=[{"role": "user", "content": "Hello"}],
    )
    assert [b.type for b in msg.content] == ["thinking", "text"]
    assert msg.content[0].thinking == "The user said 'Hello'; I will answer politely."
    assert msg.content[0].signature
    assert msg.content[1].text == "Hello from the anthropic emulator (claude-sonnet-4-6). You said: Hello"
    assert msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens == 5
    assert msg.usage.output_tokens == 8 + 9  # words of thinking + words of text


async def test_stream_final_message_matches_create(client) -> None:
    c = client()
    kwargs = {
        "model": "claude-opus-4-6",
        "max_tokens": 4096,
        "thinking": {"type": "adaptive"},
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "What is the weather in unicode land?"}],
    }
    made = await c.messages.create(**kwargs)
    async with c.messages.stream(**kwargs) as stream:
        final = await stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text", "tool_use"]
    assert final.stop_reason == "tool_use"
    assert final.content[2].input == {"city": "Paris"}
    assert final.content[0].signature == made.content[0].signature
    assert final.content[0].thinking == made.content[0].thinking
    assert final.usage.output_tokens == made.usage.output_tokens


async def test_thinking_round_trip_and_signature_validation(client) -> None:
    c = client()
    first = await c.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=4096,
        thinking=THINK,
        tools=[WEATHER],
        messages=[{"role": "user", "content": "weather in Paris?"}],
    )
    tool_use = first.content[-1]
    history = [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "sunny"}]},
    ]
    second = await c.messages.create(
        model="claude-sonnet-4-6", max_tokens=4096, thinking=THINK, tools=[WEATHER], messages=history
    )
    assert "The tool returned: sunny" in second.content[-1].text
    history[1]["content"][0]["thinking"] += " (edited)"
    with pytest.raises(anthropic.BadRequestError, match="Invalid signature in thinking block"):
        await c.messages.create(model="claude-sonnet-4-6", max_tokens=4096, messages=history)


async def test_max_tokens_stop_reason(client) -> None:
    msg = await client().messages.create(
        model="claude-haiku-4-5", max_tokens=2, messages=[{"role": "user", "content": "hi"}]
    )
    assert msg.stop_reason == "max_tokens"
    assert msg.content[0].text == "Hello from"


@pytest.mark.parametrize(
    ("profile", "model"),
    [("minimax", "MiniMax-M2.7"), ("deepseek", "deepseek-v4-flash"), ("zhipu", "glm-5.1")],
)
async def test_compatible_anthropic_surfaces(profile: str, model: str, client) -> None:
    c = client(profile)
    kwargs = {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": "hello"}]}
    msg = await c.messages.create(**kwargs)
    assert msg.content[0].type == "thinking"  # these vendors think by default
    assert msg.content[-1].text.startswith(f"Hello from the {profile} emulator")
    async with c.messages.stream(**kwargs) as stream:
        final = await stream.get_final_message()
    assert final.content[-1].text == msg.content[-1].text


async def test_minimax_anthropic_rejects_x_api_key(emu: Emulator, client) -> None:
    with pytest.raises(anthropic.InternalServerError) as err:
        await client("minimax", x_api_key=True).messages.create(
            model="MiniMax-M2.7", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        )
    assert err.value.body["error"] == {"type": "api_error", "message": "system error (1033)"}
    assert emu.last_request("minimax").auth_kind == "x-api-key"


async def test_minimax_anthropic_error_envelope(emu: Emulator, client) -> None:
    emu.fault(vendor="minimax", vendor_code=1008)
    with pytest.raises(anthropic.InternalServerError) as err:
        await client("minimax").messages.create(
            model="MiniMax-M2.7", max_tokens=100, messages=[{"role": "user", "content": "hi"}]
        )
    assert err.value.status_code == 500
    assert err.value.body["error"] == {"type": "api_error", "message": "insufficient balance (1008)"}


async def test_overloaded_and_mid_stream_error(emu: Emulator, client) -> None:
    c = client()
    kwargs = {"model": "claude-sonnet-4-6", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
    emu.fault(status=529)
    with pytest.raises(anthropic.APIStatusError) as err:
        await c.messages.create(**kwargs)
    assert err.value.status_code == 529
    assert err.value.body["error"]["type"] == "overloaded_error"
    emu.fault(error_after_chunks=3)
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        async with c.messages.stream(**kwargs) as stream:
            await stream.get_final_message()


async def test_exact_stream_event_sequence(emu: Emulator) -> None:
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 4096,
        "stream": True,
        "thinking": THINK,
        "tools": [WEATHER],
        "messages": [{"role": "user", "content": "weather please"}],
    }
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.base_url('anthropic')}/v1/messages", json=body, headers=headers) as resp,
    ):
        raw = (await resp.read()).decode()
    events = [block.split("\n") for block in raw.strip().split("\n\n")]
    names = [lines[0].removeprefix("event: ") for lines in events]
    datas = [json.loads(lines[1].removeprefix("data: ")) for lines in events]
    assert all(d["type"] == n for n, d in zip(names, datas, strict=True))
    assert names[0] == "message_start" and datas[0]["message"]["usage"]["output_tokens"] == 1
    assert names[-2:] == ["message_delta", "message_stop"]
    assert datas[-2]["delta"]["stop_reason"] == "tool_use"
    assert "ping" in names
    kinds = [d["delta"]["type"] for d in datas if d["type"] == "content_block_delta"]
    assert kinds.index("signature_delta") > kinds.index("thinking_delta")
    assert kinds.index("text_delta") > kinds.index("signature_delta")
    assert kinds[-1] == "input_json_delta"
    starts = [d["content_block"]["type"] for d in datas if d["type"] == "content_block_start"]
    assert starts == ["thinking", "text", "tool_use"]


async def test_first_party_request_checks(emu: Emulator) -> None:
    url = f"{emu.base_url('anthropic')}/v1/messages"
    msgs = [{"role": "user", "content": "hi"}]
    async with aiohttp.ClientSession() as session:
        no_max = {"model": "claude-sonnet-4-6", "messages": msgs}
        async with session.post(url, json=no_max, headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"}) as r:
            assert r.status == 400
            assert (await r.json())["error"] == {
                "type": "invalid_request_error",
                "message": "max_tokens: Field required",
            }
        ok = {**no_max, "max_tokens": 10}
        async with session.post(url, json=ok, headers={"x-api-key": KEY}) as r:
            assert r.status == 400 and "anthropic-version" in (await r.json())["error"]["message"]
        async with session.post(url, json=ok, headers={"anthropic-version": "2023-06-01"}) as r:
            assert r.status == 401 and (await r.json())["error"]["type"] == "authentication_error"


async def test_x_api_key_random_split_and_crlf_stream(emu: Emulator, client) -> None:
    c = client(x_api_key=True)
    kwargs = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 4096,
        "thinking": THINK,
        "messages": [{"role": "user", "content": "unicode please"}],
    }
    made = await c.messages.create(**kwargs)
    assert emu.last_request().auth_kind == "x-api-key"
    emu.set_options("anthropic", split="random", crlf=True)
    async with c.messages.stream(**kwargs) as stream:
        final = await stream.get_final_message()
    assert final.content[-1].text == made.content[-1].text and "café ☕" in final.content[-1].text
    assert final.content[0].signature == made.content[0].signature
