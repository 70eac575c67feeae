"""The official openai SDK judges every OpenAI-surface profile of the emulator (bodies, streams, errors)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import openai
import pytest

from router.emulator import Emulator

MODELS = {
    "openai": "gpt-5.1",
    "compatible": "local-model",
    "deepseek": "deepseek-v4-flash",
    "moonshot": "kimi-k3",
    "zhipu": "glm-5.2",
    "minimax": "MiniMax-M3",
}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city", "unit"],
        },
    },
}
KEY = "sk-test-0123456789abcdef"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(seed=7) as e:
        yield e


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[Callable[[str], openai.AsyncOpenAI]]:
    made: list[openai.AsyncOpenAI] = []

    def make(profile: str) -> openai.AsyncOpenAI:
        made.append(openai.AsyncOpenAI(base_url=emu.base_url(profile), api_key=KEY, max_retries=0))
        return made[-1]

    yield make
    for c in made:
        await c.close()


async def collect(stream: openai.AsyncStream) -> dict:
    """Fold stream chunks the way a careful client would."""
    out = {"content": "", "reasoning": "", "args": "", "name": None, "id": None, "finish": None, "usage": None}
    out["chunks"] = 0
    async for chunk in stream:
        out["chunks"] += 1
        if chunk.usage is not None and chunk.usage.prompt_tokens:
            out["usage"] = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta
            out["content"] += delta.content or ""
            out["reasoning"] += (delta.model_extra or {}).get("reasoning_content") or ""
            for tc in delta.tool_calls or []:
                out["id"] = tc.id or out["id"]
                out["name"] = (tc.function and tc.function.name) or out["name"]
                out["args"] += (tc.function and tc.function.arguments) or ""
            out["finish"] = choice.finish_reason or out["finish"]
    return out


@pytest.mark.parametrize("profile", list(MODELS))
async def test_text_body_and_stream_agree(profile: str, client) -> None:
    c = client(profile)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]
    resp = await c.chat.completions.create(model=MODELS[profile], messages=messages)
    text = resp.choices[0].message.content
    assert f"Hello from the {profile} emulator ({MODELS[profile]}). You said: Hello there" in text
    assert resp.model == MODELS[profile]
    assert resp.choices[0].finish_reason == "stop"
    # prompt = words + 4 per message: (2 + 4) + (2 + 4)
    assert resp.usage.prompt_tokens == 12
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    stream = await c.chat.completions.create(
        model=MODELS[profile], messages=messages, stream=True, stream_options={"include_usage": True}
    )
    got = await collect(stream)
    assert got["content"] == text
    assert got["finish"] == "stop"
    assert got["usage"].completion_tokens == resp.usage.completion_tokens
    assert got["chunks"] > 3


@pytest.mark.parametrize("profile", list(MODELS))
async def test_tool_call_body_and_stream(profile: str, client) -> None:
    c = client(profile)
    kwargs = {
        "model": MODELS[profile],
        "messages": [{"role": "user", "content": "What's the weather in Paris?"}],
        "tools": [WEATHER_TOOL],
    }
    resp = await c.chat.completions.create(**kwargs)
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "c"}
    got = await collect(await c.chat.completions.create(**kwargs, stream=True))
    assert got["finish"] == "tool_calls"
    assert got["name"] == "get_weather" and got["id"]
    assert json.loads(got["args"]) == {"city": "Paris", "unit": "c"}


async def test_tool_result_turn_answers_with_text(client) -> None:
    c = client("deepseek")
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": "",
            "reasoning_content": "thinking",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny, 21C"},
    ]
    resp = await c.chat.completions.create(model="deepseek-v4-flash", messages=messages, tools=[WEATHER_TOOL])
    assert resp.choices[0].finish_reason == "stop"
    assert "The tool returned: sunny, 21C" in resp.choices[0].message.content


async def test_forced_tool_choice_and_none(client) -> None:
    c = client("openai")
    base = {"model": "gpt-5.1", "messages": [{"role": "user", "content": "hi"}], "tools": [WEATHER_TOOL]}
    forced = await c.chat.completions.create(**base, tool_choice="required")
    assert forced.choices[0].message.tool_calls[0].function.name == "get_weather"
    named = await c.chat.completions.create(
        **base, tool_choice={"type": "function", "function": {"name": "get_weather"}}
    )
    assert named.choices[0].finish_reason == "tool_calls"
    plain = await c.chat.completions.create(
        **{**base, "messages": [{"role": "user", "content": "weather"}]}, tool_choice="none"
    )
    assert plain.choices[0].message.tool_calls is None


async def test_max_tokens_truncates_with_length(client) -> None:
    c = client("openai")
    resp = await c.chat.completions.create(
        model="gpt-5.1", messages=[{"role": "user", "content": "hello"}], max_completion_tokens=3
    )
    assert resp.choices[0].finish_reason == "length"
    assert resp.choices[0].message.content == "Hello from the"
    assert resp.usage.completion_tokens == 3


async def test_openai_reasoning_is_hidden_but_counted(client) -> None:
    resp = await client("openai").chat.completions.create(
        model="gpt-5.1", messages=[{"role": "user", "content": "hi"}], reasoning_effort="high"
    )
    assert "reasoning_content" not in (resp.choices[0].message.model_extra or {})
    assert resp.usage.completion_tokens_details.reasoning_tokens > 0


async def test_deepseek_reasoning_before_content_and_cache_usage(emu: Emulator, client) -> None:
    emu.set_options("deepseek", cache_hit_tokens=4)
    c = client("deepseek")
    messages = [{"role": "user", "content": "Tell me something"}]
    resp = await c.chat.completions.create(model="deepseek-v4-pro", messages=messages)
    msg = resp.choices[0].message
    assert msg.model_extra["reasoning_content"] == "The user said 'Tell me something'; I will answer politely."
    extra = resp.usage.model_extra
    assert extra["prompt_cache_hit_tokens"] == 4 and extra["prompt_cache_miss_tokens"] == resp.usage.prompt_tokens - 4
    assert resp.usage.completion_tokens_details.reasoning_tokens == 10
    stream = await c.chat.completions.create(model="deepseek-v4-pro", messages=messages, stream=True)
    got = await collect(stream)
    assert got["reasoning"] == msg.model_extra["reasoning_content"]
    assert got["content"] == msg.content
    off = await c.chat.completions.create(
        model="deepseek-v4-pro", messages=messages, extra_body={"thinking": {"type": "disabled"}}
    )
    assert "reasoning_content" not in (off.choices[0].message.model_extra or {})


async def test_deepseek_finish_reason_option(emu: Emulator, client) -> None:
    emu.set_options("deepseek", finish_reason="insufficient_system_resource")
    resp = await client("deepseek").chat.completions.create(
        model="deepseek-v4-flash", messages=[{"role": "user", "content": "hi"}]
    )
    assert resp.choices[0].finish_reason == "insufficient_system_resource"


async def test_minimax_inline_think(client) -> None:
    c = client("minimax")
    messages = [{"role": "user", "content": "hello"}]
    resp = await c.chat.completions.create(model="MiniMax-M2.7", messages=messages)
    content = resp.choices[0].message.content
    assert content.startswith("<think>\nThe user said 'hello'; I will answer politely.\n</think>\n\nHello from")
    extra = resp.model_extra
    assert extra["base_resp"] == {"status_code": 0, "status_msg": ""}
    assert resp.choices[0].message.model_extra["name"] == "MiniMax AI"
    assert resp.usage.model_extra["total_characters"] == 0
    stream = await c.chat.completions.create(model="MiniMax-M2.7", messages=messages, stream=True)
    pieces = []
    async for chunk in stream:
        assert chunk.usage is None or chunk.usage.prompt_tokens is None  # usage null / partial only
        pieces.append(chunk.choices[0].delta.content or "")
    assert "".join(pieces) == content
    assert pieces[0] == "<thi"  # the <think> tag arrives split across chunks


async def test_minimax_reasoning_split_incremental_and_cumulative(emu: Emulator, client) -> None:
    c = client("minimax")
    kwargs = {
        "model": "MiniMax-M3",
        "messages": [{"role": "user", "content": "a fairly long question for you"}],
        "extra_body": {"reasoning_split": True},
    }
    resp = await c.chat.completions.create(**kwargs)
    msg = resp.choices[0].message
    reasoning = msg.model_extra["reasoning_content"]
    assert msg.model_extra["reasoning_details"][0] == {
        "type": "reasoning.text",
        "id": "reasoning-text-1",
        "format": "MiniMax-response-v1",
        "index": 0,
        "text": reasoning,
    }
    assert not msg.content.startswith("<think>")
    for mode in ("incremental", "cumulative"):
        emu.set_options("minimax", reasoning_mode=mode)
        texts, content = [], ""
        async for chunk in await c.chat.completions.create(**kwargs, stream=True):
            delta = chunk.choices[0].delta
            content += delta.content or ""
            texts += [d["text"] for d in (delta.model_extra or {}).get("reasoning_details") or []]
        assert content == msg.content
        assert len(texts) > 2
        if mode == "incremental":
            assert "".join(texts) == reasoning
        else:
            assert texts[-1] == reasoning and all(reasoning.startswith(t) for t in texts)


async def test_minimax_stream_usage_and_quirk_fields(emu: Emulator, client) -> None:
    c = client("minimax")
    kwargs = {
        "model": "MiniMax-M3",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    chunks = [chunk async for chunk in await c.chat.completions.create(**kwargs)]
    assert chunks[-1].usage.prompt_tokens == 5  # 1 word + 4
    assert chunks[-1].choices[0].finish_reason == "stop"  # finish on the last content chunk
    assert any(ch.choices[0].delta.role == "" for ch in chunks)
    assert any(ch.usage is not None and ch.usage.model_extra.get("total_characters") == 0 for ch in chunks[:-1])
    emu.set_options("minimax", stream_usage="never")
    chunks = [chunk async for chunk in await c.chat.completions.create(**kwargs)]
    assert all(ch.usage is None for ch in chunks)


async def test_minimax_content_as_parts(emu: Emulator, client) -> None:
    emu.set_options("minimax", content_as_parts=True)
    resp = await client("minimax").chat.completions.create(
        model="MiniMax-M3", messages=[{"role": "user", "content": "hi"}], extra_body={"reasoning_split": True}
    )
    assert resp.choices[0].message.content[0]["type"] == "text"


async def test_random_split_and_crlf_streams_parse(emu: Emulator, client) -> None:
    c = client("zhipu")
    messages = [{"role": "user", "content": "show me unicode please"}]
    plain = await c.chat.completions.create(model="glm-5.2", messages=messages)
    emu.set_options(None, split="random", crlf=True)
    got = await collect(await c.chat.completions.create(model="glm-5.2", messages=messages, stream=True))
    assert got["content"] == plain.choices[0].message.content
    assert "café ☕" in got["content"]


async def test_openai_sdk_error_classes(emu: Emulator, client) -> None:
    c = client("openai")
    kwargs = {"model": "gpt-5.1", "messages": [{"role": "user", "content": "hi"}]}
    emu.fault(status=429, retry_after=3, retry_after_ms=2500)
    with pytest.raises(openai.RateLimitError) as err:
        await c.chat.completions.create(**kwargs)
    assert err.value.response.headers["retry-after"] == "3"
    assert err.value.response.headers["retry-after-ms"] == "2500"
    assert err.value.code == "rate_limit_exceeded"
    emu.fault(status=401)
    with pytest.raises(openai.AuthenticationError):
        await c.chat.completions.create(**kwargs)
    emu.fault(status=503)
    with pytest.raises(openai.InternalServerError):
        await c.chat.completions.create(**kwargs)
    emu.fault(reset_after_chunks=0)
    with pytest.raises(openai.APIConnectionError):
        await c.chat.completions.create(**kwargs)
    emu.fault(error_after_chunks=2)
    with pytest.raises(openai.APIError, match="Internal server error"):
        await collect(await c.chat.completions.create(**kwargs, stream=True))
    resp = await c.chat.completions.create(**kwargs)  # faults are used up
    assert resp.choices[0].message.content


async def test_minimax_native_errors_through_sdk(emu: Emulator, client) -> None:
    c = client("minimax")
    emu.fault(vendor_code=1008)
    with pytest.raises(openai.RateLimitError) as err:
        await c.chat.completions.create(model="MiniMax-M3", messages=[{"role": "user", "content": "hi"}])
    body = err.value.response.json()
    assert body["error"] == {
        "type": "insufficient_balance_error",
        "message": "insufficient balance (1008)",
        "http_code": "429",
    }
    with pytest.raises(openai.BadRequestError, match=r"invalid chat setting \(2013\)"):
        await c.chat.completions.create(
            model="MiniMax-M3", messages=[{"role": "user", "content": "hi"}], reasoning_effort="high"
        )
