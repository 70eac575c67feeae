"""DeepSeek conformance (docs/vendors.md §2): the body and headers the emulator receives, reasoning replay on
tool-call turns, cache-hit usage, the §2.6 error statuses, and the deepseek-chat / -reasoner aliases."""

from __future__ import annotations

from typing import Any

import pytest

import router
import vendors
from router.emulator import Emulator, key_fingerprint
from router.resolve import resolve
from vendors import errors as e
from vendors.wires.envelope import decode_error
from vendors.wires.usage import parse_usage

KEY = "sk-deepseek-0123456789abcdef"
SPEC = vendors.get("deepseek")
HI = [{"role": "user", "content": "hi"}]


def call(emu: Emulator, messages: list[dict[str, Any]] | None = None, *, model: str = "deepseek-v4-flash",
         surface: str | None = None, **kw: Any) -> Any:
    base = emu.base_url("deepseek", surface) if surface else emu.base_url("deepseek")
    return router.completion(f"deepseek/{model}", messages or HI, api_key=KEY, base_url=base, num_retries=0, **kw)


TOOL_CALL = {"id": "call_00_a", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
HISTORY = [
    {"role": "user", "content": "Weather in Paris?"},
    # Reasoning kept: replayed verbatim.
    {"role": "assistant", "tool_calls": [TOOL_CALL], "reasoning_content": "I should call the tool."},
    {"role": "tool", "tool_call_id": "call_00_a", "content": "sunny"},
    # Reasoning lost: an empty reasoning_content is added, content null stays a present key.
    {"role": "assistant", "content": None, "tool_calls": [{**TOOL_CALL, "id": "call_00_b"}]},
    {"role": "tool", "tool_call_id": "call_00_b", "content": "still sunny"},
    # A plain turn: reasoning is passed through (ignored by the vendor), nothing is added.
    {"role": "assistant", "content": "It is sunny.", "reasoning_content": "plain"},
    # No content key: one is added; Anthropic thinking blocks are not OpenAI-wire fields and are dropped.
    {"role": "assistant", "tool_calls": [{**TOOL_CALL, "id": "call_00_c"}], "reasoning_content": "again",
     "thinking_blocks": [{"type": "thinking", "thinking": "x", "signature": "s"}]},
    {"role": "tool", "tool_call_id": "call_00_c", "content": "sunny"},
    {"role": "user", "content": "Thanks"},
]


def test_exact_body_and_headers(emu: Emulator) -> None:
    call(emu, HISTORY, max_tokens=50, temperature=0)
    rec = emu.last_request("deepseek")
    assert rec.path == "/deepseek/chat/completions"
    assert rec.body == {
        "model": "deepseek-v4-flash",
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "tool_calls": [TOOL_CALL], "reasoning_content": "I should call the tool.",
             "content": ""},
            {"role": "tool", "tool_call_id": "call_00_a", "content": "sunny"},
            {"role": "assistant", "content": None, "tool_calls": [{**TOOL_CALL, "id": "call_00_b"}],
             "reasoning_content": ""},
            {"role": "tool", "tool_call_id": "call_00_b", "content": "still sunny"},
            {"role": "assistant", "content": "It is sunny.", "reasoning_content": "plain"},
            {"role": "assistant", "tool_calls": [{**TOOL_CALL, "id": "call_00_c"}], "reasoning_content": "again",
             "content": ""},
            {"role": "tool", "tool_call_id": "call_00_c", "content": "sunny"},
            {"role": "user", "content": "Thanks"},
        ],
        "max_tokens": 50,           # DeepSeek keeps max_tokens (only api.openai.com renames it, §6)
        "temperature": 0,           # 0 is sent, not dropped (Reasonix TestBuildRequestTemperatureSerialization)
    }
    assert rec.auth_kind == "bearer" and rec.key_fingerprint == key_fingerprint(KEY)
    assert rec.headers["content-type"] == "application/json" and "x-api-key" not in rec.headers


def test_every_tool_call_turn_carries_reasoning_and_content(emu: Emulator) -> None:
    """The emulator answers 400 for a tool-call turn without reasoning_content in thinking mode (§2.3)."""
    resp = call(emu, HISTORY)
    assert resp.choices[0].message.content.startswith("Hello from the deepseek emulator")
    for msg in emu.last_request("deepseek").body["messages"]:
        if msg["role"] == "assistant":
            assert "content" in msg
            if msg.get("tool_calls"):
                assert isinstance(msg["reasoning_content"], str)


def test_replaying_the_previous_message_round_trips(emu: Emulator) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    first = call(emu, [{"role": "user", "content": "weather in Paris"}], tools=[tool])
    msg = first.choices[0].message
    assert msg.tool_calls and msg.reasoning_content
    history = [{"role": "user", "content": "weather in Paris"}, msg,
               {"role": "tool", "tool_call_id": msg.tool_calls[0].id, "content": "sunny"}]
    second = call(emu, history, tools=[tool])
    sent = emu.last_request("deepseek").body["messages"][1]
    assert sent["reasoning_content"] == msg.reasoning_content and sent["content"] == ""
    assert second.choices[0].finish_reason == "stop"


def test_stream_body_and_reply(emu: Emulator) -> None:
    s = call(emu, stream=True)
    chunks = list(s)
    body = emu.last_request("deepseek").body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert "".join(c.choices[0].delta.reasoning_content or "" for c in chunks if c.choices)
    assert s.response.choices[0].message.content.startswith("Hello from the deepseek emulator")
    assert chunks[-1].usage is not None and not chunks[-1].usage.estimated


@pytest.mark.parametrize("stream", [False, True])
def test_prompt_cache_hit_tokens_become_cached_tokens(emu: Emulator, stream: bool) -> None:
    emu.set_options("deepseek", cache_hit_tokens=3)
    if stream:
        s = call(emu, stream=True)
        list(s)
        usage = s.response.usage
    else:
        usage = call(emu).usage
    assert usage.cached_tokens == 3 and usage.prompt_tokens > 3 and not usage.estimated


def test_usage_hit_and_miss_fields_alone() -> None:
    """GodeX deepseek/hooks.ts: prompt_cache_hit_tokens is the cached count even without prompt_tokens_details."""
    usage = parse_usage({"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
                         "prompt_cache_hit_tokens": 80, "prompt_cache_miss_tokens": 20}, spec=SPEC, model="m")
    assert (usage.prompt_tokens, usage.cached_tokens, usage.prompt_tokens - usage.cached_tokens) == (100, 80, 20)


@pytest.mark.parametrize(("status", "cls", "retryable"), [
    (400, e.InvalidRequestError, False),
    (401, e.AuthenticationError, False),
    (402, e.InsufficientBalanceError, False),
    (422, e.InvalidRequestError, False),
    (429, e.RateLimitError, True),
    (500, e.ServiceUnavailableError, True),
    (503, e.ServiceUnavailableError, True),
])
def test_error_statuses(emu: Emulator, status: int, cls: type[e.FareboxError], retryable: bool) -> None:
    emu.fault(status=status)
    with pytest.raises(cls) as info:
        call(emu)
    assert type(info.value) is cls and info.value.retryable is retryable
    assert info.value.status_code == status and info.value.vendor == "deepseek"
    assert KEY not in str(info.value)


def test_402_body_is_insufficient_balance() -> None:
    body = {"error": {"message": "Insufficient Balance", "type": "unknown_error", "param": None,
                      "code": "invalid_request_error"}}
    err = decode_error(402, body, {}, SPEC, model="deepseek-v4-flash")
    assert isinstance(err, e.InsufficientBalanceError) and err.message == "Insufficient Balance"


def test_missing_reasoning_400_gets_a_replay_hint(emu: Emulator) -> None:
    message = ("Missing `reasoning_content` field in the assistant message at message index 1. For more "
               "information, please refer to https://api-docs.deepseek.com/guides/thinking_mode#tool-calls")
    emu.fault(status=400, body={"error": {"message": message, "type": "invalid_request_error", "param": None,
                                          "code": "invalid_request_error"}})
    with pytest.raises(e.InvalidRequestError) as info:
        call(emu)
    assert "reasoning_content" in info.value.hint and not info.value.retryable


@pytest.mark.parametrize(("name", "canonical"), [
    # DeepSeek-V4.1-Flash serves every legacy flash name and bills them at its price: one catalogue row.
    ("deepseek-chat", "deepseek-flash"),
    ("deepseek-reasoner", "deepseek-flash"),
    ("deepseek/deepseek-chat", "deepseek-flash"),
    ("deepseek/deepseek-reasoner", "deepseek-flash"),
    ("deepseek-v4-flash", "deepseek-flash"),
    ("deepseek/deepseek-flash", "deepseek-flash"),
    ("deepseek-v4-pro", "deepseek-v4-pro"),
])
def test_aliases_resolve(name: str, canonical: str) -> None:
    target = resolve(name, api_key=KEY)
    assert target.vendor == "deepseek" and target.catalogue_id == canonical
    assert target.model == name.split("/")[-1]  # the alias is what goes on the wire
    assert target.url == "https://api.deepseek.com/chat/completions"


@pytest.mark.parametrize("alias", ["deepseek-chat", "deepseek-reasoner"])
def test_aliases_through_the_emulator(emu: Emulator, alias: str) -> None:
    resp = call(emu, model=alias)
    assert emu.last_request("deepseek").body["model"] == alias
    assert resp.cost is not None and resp.cost.total > 0  # priced as deepseek-flash


def test_anthropic_surface(emu: Emulator) -> None:
    call(emu, surface="anthropic", max_tokens=32)
    rec = emu.last_request("deepseek")
    assert rec.path == "/deepseek/anthropic/v1/messages"
    assert rec.headers["anthropic-version"] == "2023-06-01" and rec.auth_kind == "x-api-key"
    assert rec.body["max_tokens"] == 32 and rec.body["model"] == "deepseek-v4-flash"


def test_insufficient_system_resource_reads_as_length(emu: Emulator) -> None:
    emu.set_options("deepseek", finish_reason="insufficient_system_resource")
    assert call(emu).choices[0].finish_reason == "length"


def test_n_one_is_sent_and_more_is_refused_before_sending(emu: Emulator) -> None:
    call(emu, n=1)
    assert emu.last_request("deepseek").body["n"] == 1     # the vendor accepts n: 1 (docs/vendors.md Errata)
    emu.clear()
    with pytest.raises(e.UnsupportedParamError, match="n up to 1"):
        call(emu, n=2)
    assert emu.requests == []


async def test_emulator_refuses_n_above_one_like_the_server(emu: Emulator, session: Any) -> None:
    url = emu.base_url("deepseek") + "/chat/completions"
    body = {"model": "deepseek-v4-flash", "messages": HI, "n": 2}
    async with session.post(url, json=body, headers={"Authorization": f"Bearer {KEY}"}) as resp:
        assert resp.status == 400
        assert "n = 1" in (await resp.json())["error"]["message"]
    async with session.post(url, json={**body, "n": 1}, headers={"Authorization": f"Bearer {KEY}"}) as resp:
        assert resp.status == 200


@pytest.mark.parametrize("model", ["deepseek-v4-flash", "deepseek-v4-pro"])
def test_xhigh_is_sent_as_high(emu: Emulator, model: str) -> None:
    # DeepSeek's Thinking Mode guide (EN and ZH, checked 2026-12-01): xhigh → high on the server.
    resp = call(emu, model=model, reasoning_effort="xhigh")
    body = emu.last_request("deepseek").body
    assert (body["thinking"], body["reasoning_effort"]) == ({"type": "enabled"}, "high")
    assert resp.effort["level"] == "high"
