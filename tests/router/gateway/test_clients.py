"""Judged by real clients: the official openai and anthropic SDKs against the gateway parse every answer and error."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import anthropic
import openai
import pytest

from tests.router.gateway.conftest import MASTER, committed

HI = [{"role": "user", "content": "Hi"}]
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def oa(gateway: Any, key: str = MASTER) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)


def an(gateway: Any, key: str = MASTER) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=key, max_retries=0)


async def test_openai_async_client_json_and_stream(gateway: Any) -> None:
    async with openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key=MASTER, max_retries=0) as client:
        resp = await client.chat.completions.create(model="smart", messages=HI)
        assert "minimax emulator" in resp.choices[0].message.content
        assert resp.choices[0].message.model_extra["reasoning_content"]
        stream = await client.chat.completions.create(model="smart", messages=HI, stream=True,
                                                      stream_options={"include_usage": True})
        text, usage = "", None
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
            else:
                usage = chunk.usage
        assert "minimax emulator" in text and Decimal(usage.model_extra["cost"]) > 0


def test_openai_tools_round_trip(gateway: Any) -> None:
    client = oa(gateway)
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    resp = client.chat.completions.create(model="cheap", messages=ask, tools=[WEATHER_TOOL])
    call = resp.choices[0].message.tool_calls[0]
    assert resp.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments), dict)
    follow = [*ask, resp.choices[0].message.model_dump(exclude_none=True),
              {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"}]
    again = client.chat.completions.create(model="cheap", messages=follow, tools=[WEATHER_TOOL])
    assert "sunny" in again.choices[0].message.content
    # Streaming tool calls assemble the same way.
    chunks = list(client.chat.completions.create(model="cheap", messages=ask, tools=[WEATHER_TOOL], stream=True))
    names = [tc.function.name for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or () if
             tc.function and tc.function.name]
    assert names == ["get_weather"]


def test_openai_sdk_parses_every_error(gateway: Any, emu: Any, sleeps: list[float]) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        oa(gateway, "fb-not-a-key").chat.completions.create(model="cheap", messages=HI)
    assert info.value.body["code"] == "invalid_api_key" and "fb-not-a-key" not in str(info.value)
    with pytest.raises(openai.NotFoundError):
        oa(gateway).chat.completions.create(model="nope", messages=HI)
    with pytest.raises(openai.BadRequestError) as info:
        oa(gateway).chat.completions.create(model="cheap", messages=HI, extra_body={"temprature": 1})
    assert "temprature" in str(info.value) and "temperature" in str(info.value)
    emu.fault(vendor="deepseek", status=429, retry_after=0.01, times=-1)
    with pytest.raises(openai.RateLimitError) as info:
        oa(gateway).chat.completions.create(model="cheap", messages=HI)
    assert int(info.value.response.headers["retry-after"]) >= 1
    emu.clear()
    emu.fault(vendor="deepseek", status=500, times=-1)
    with pytest.raises(openai.APIStatusError) as info:
        list(oa(gateway).chat.completions.create(model="cheap", messages=HI, stream=True))
    assert info.value.status_code >= 500  # failed before the first keep-alive: a real status
    emu.clear()
    emu.fault(vendor="deepseek", status=500, times=-1, delay_s=0.5)
    with pytest.raises(openai.APIError) as late:  # after keep-alives went out: an SSE error event
        list(oa(gateway).chat.completions.create(model="cheap", messages=HI, stream=True))
    assert "every deployment" in str(late.value)


def test_anthropic_messages_json_with_thinking_signature_round_trip(gateway: Any, emu: Any) -> None:
    client = an(gateway)
    first = client.messages.create(model="claude", max_tokens=4000, messages=HI,
                                   thinking={"type": "enabled", "budget_tokens": 2048})
    thinking = first.content[0]
    assert thinking.type == "thinking" and thinking.signature and first.content[1].type == "text"
    assert first.usage.input_tokens > 0 and Decimal(first.usage.model_extra["cost"]) > 0
    # The emulator refuses a replayed thinking block whose signature does not match its text.
    follow = [*HI, {"role": "assistant", "content": [b.model_dump() for b in first.content]},
              {"role": "user", "content": "again"}]
    second = client.messages.create(model="claude", max_tokens=4000, messages=follow,
                                    thinking={"type": "enabled", "budget_tokens": 2048})
    assert "again" in second.content[-1].text
    sent = emu.last_request("anthropic").body["messages"][1]["content"][0]
    assert sent["signature"] == thinking.signature and sent["thinking"] == thinking.thinking


def test_anthropic_stream_with_thinking_and_cost(gateway: Any, emu: Any) -> None:
    client = an(gateway)
    with client.messages.stream(model="claude", max_tokens=4000, messages=HI,
                                thinking={"type": "enabled", "budget_tokens": 2048}) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert final.content[0].type == "thinking" and final.content[0].signature
    assert "anthropic emulator" in final.content[1].text
    follow = [*HI, {"role": "assistant", "content": [b.model_dump(exclude={"parsed_output"}) for b in final.content]},
              {"role": "user", "content": "more"}]
    again = client.messages.create(model="claude", max_tokens=4000, messages=follow,
                                   thinking={"type": "enabled", "budget_tokens": 2048})
    assert "more" in again.content[-1].text
    rows = committed(gateway.ledger)
    assert [r["status"] for r in rows] == ["ok", "ok"] and rows[0]["stream"] == 1 and Decimal(rows[0]["cost_total"]) > 0


def test_anthropic_raw_stream_carries_cost_on_message_delta(gateway: Any) -> None:
    events = list(an(gateway).messages.create(model="smart", max_tokens=500, messages=HI, stream=True))
    delta = next(e for e in events if e.type == "message_delta")
    assert Decimal(delta.usage.model_extra["cost"]) > 0
    assert any(e.type == "content_block_delta" and e.delta.type == "thinking_delta" for e in events)


def test_anthropic_tools(gateway: Any) -> None:
    tool = {"name": "get_weather", "description": "Weather", "input_schema": WEATHER_TOOL["function"]["parameters"]}
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    resp = an(gateway).messages.create(model="cheap", max_tokens=500, messages=ask, tools=[tool])
    use = next(b for b in resp.content if b.type == "tool_use")
    assert resp.stop_reason == "tool_use" and use.name == "get_weather" and isinstance(use.input, dict)
    follow = [*ask, {"role": "assistant", "content": [b.model_dump() for b in resp.content]},
              {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]}]
    again = an(gateway).messages.create(model="cheap", max_tokens=500, messages=follow, tools=[tool])
    assert "sunny" in again.content[-1].text


def test_anthropic_sdk_parses_errors(gateway: Any) -> None:
    with pytest.raises(anthropic.AuthenticationError):
        an(gateway, "fb-wrong").messages.create(model="claude", max_tokens=10, messages=HI)
    with pytest.raises(anthropic.NotFoundError):
        an(gateway).messages.create(model="nope", max_tokens=10, messages=HI)
    with pytest.raises(anthropic.BadRequestError) as info:
        an(gateway).messages.create(model="claude", max_tokens=10, messages=HI, extra_body={"bogus": 1})
    assert "bogus" in str(info.value)
