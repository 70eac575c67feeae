"""MiniMax conformance (docs/vendors.md §1): what the emulator receives on both surfaces, the reply quirks
(reasoning_split, inline <think>, cumulative/incremental reasoning_details, role "", partial usage,
content parts), the three error envelopes and the §1.8 code table, Token Plan keys, regions."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import router
import vendors
from router.emulator import Emulator, key_fingerprint
from router.resolve import resolve
from vendors import errors as e
from vendors.wires.envelope import decode_error
from vendors.wires.openai_chat import StreamDecoder, decode_response

KEY = "sk-api-minimax-0123456789abcdef"
PLAN_KEY = "sk-cp-minimax-0123456789abcdef"
SPEC = vendors.get("minimax")
HI = [{"role": "user", "content": "hi"}]
# The emulator's deterministic answer to HI (router/emulator/answers.py).
REASONING = "The user said 'hi'; I will answer politely."
ANSWER = "Hello from the minimax emulator (MiniMax-M3). You said: hi"


def call(emu: Emulator, messages: list[dict[str, Any]] | None = None, *, model: str = "MiniMax-M3",
         surface: str | None = None, key: str = KEY, **kw: Any) -> Any:
    base = emu.base_url("minimax", surface) if surface else emu.base_url("minimax")
    return router.completion(f"minimax/{model}", messages or HI, api_key=key, base_url=base, num_retries=0, **kw)


def stream(emu: Emulator, messages: list[dict[str, Any]] | None = None, **kw: Any) -> tuple[list[Any], Any]:
    s = call(emu, messages, stream=True, **kw)
    chunks = list(s)
    return chunks, s.response


def joined(chunks: list[Any], field: str) -> str:
    return "".join(getattr(c.choices[0].delta, field) or "" for c in chunks if c.choices)


# -- what the emulator receives -----------------------------------------------------------------

HISTORY = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Hangzhou?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": '{ "city" : "Hangzhou" ,  "unit" :  "c" }'}},
        {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}},
        {"id": "call_3", "type": "function", "function": {"name": "bad", "arguments": '{"input":'}},
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
    {"role": "tool", "tool_call_id": "call_3", "content": "error"},
    {"role": "assistant", "content": "Sunny.", "reasoning_content": "The user is greeting me."},
    {"role": "user", "content": "Thanks"},
]


def test_openai_surface_exact_body_and_headers(emu: Emulator) -> None:
    call(emu, HISTORY, max_tokens=100, reasoning_effort="adaptive", temperature=0.5)
    rec = emu.last_request("minimax")
    assert rec.path == "/minimax/v1/chat/completions" and rec.surface == "openai"
    assert rec.body == {
        "model": "MiniMax-M3",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Hangzhou?"},
            {"role": "assistant", "content": "", "tool_calls": [  # "" not null on tool-call turns (§1.4.7)
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": '{"city":"Hangzhou","unit":"c"}'}},
                {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": "{}"}},
                {"id": "call_3", "type": "function", "function": {"name": "bad", "arguments": '{"input":'}},
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
            {"role": "tool", "tool_call_id": "call_3", "content": "error"},
            {"role": "assistant", "content": "Sunny.", "reasoning_content": "The user is greeting me."},
            {"role": "user", "content": "Thanks"},
        ],
        "temperature": 0.5,
        "max_completion_tokens": 100,        # max_tokens is deprecated (§1.4.4)
        "thinking": {"type": "adaptive"},
        "reasoning_split": True,             # top-level, not inside "extra_body" (§1.4.1)
    }
    assert rec.auth_kind == "bearer" and rec.key_fingerprint == key_fingerprint(KEY)
    assert rec.headers["authorization"].startswith("Bearer sk-api")
    assert rec.headers["content-type"] == "application/json"
    assert "x-api-key" not in rec.headers and "anthropic-version" not in rec.headers


@pytest.mark.parametrize("effort", ["none", "low", "medium", "high", "xhigh", "max", "adaptive", "disabled", None])
def test_reasoning_effort_never_reaches_minimax(emu: Emulator, effort: str | None) -> None:
    call(emu, reasoning_effort=effort)
    body = emu.last_request("minimax").body
    assert "reasoning_effort" not in body  # M3 rejects it (§1.4.2)
    assert body["thinking"]["type"] in ("adaptive", "disabled")


def test_thinking_enabled_becomes_adaptive(emu: Emulator) -> None:
    """GodeX minimaxPatchRequest: thinking.type enabled -> adaptive; the vendor knows only adaptive|disabled."""
    call(emu, extra_body={"thinking": {"type": "enabled"}})
    assert emu.last_request("minimax").body["thinking"] == {"type": "adaptive"}


def test_reasoning_effort_in_extra_body_is_refused_or_dropped(emu: Emulator) -> None:
    with pytest.raises(e.UnsupportedParamError, match="reasoning_effort"):
        call(emu, extra_body={"thinking": {"type": "enabled"}, "reasoning_effort": "medium"})
    assert emu.requests == []
    resp = call(emu, extra_body={"thinking": {"type": "enabled"}, "reasoning_effort": "medium"}, drop_params=True)
    body = emu.last_request("minimax").body
    assert "reasoning_effort" not in body and body["thinking"] == {"type": "adaptive"}
    assert "reasoning_effort" in resp.dropped_params


def test_several_system_messages_become_one_first(emu: Emulator) -> None:
    msgs = [{"role": "user", "content": "hi"}, {"role": "system", "content": "A"},
            {"role": "system", "content": [{"type": "text", "text": "B"}]}]
    call(emu, msgs)
    sent = emu.last_request("minimax").body["messages"]
    assert sent == [{"role": "system", "content": "A\n\nB"}, {"role": "user", "content": "hi"}]


def test_temperature_zero_is_clamped_for_m2_only(emu: Emulator) -> None:
    call(emu, model="MiniMax-M2.7", temperature=0)
    assert emu.last_request("minimax").body["temperature"] == 0.01  # M2.x: (0, 1] (§1.4.9)
    call(emu, model="MiniMax-M3", temperature=0)
    assert emu.last_request("minimax").body["temperature"] == 0


def test_stream_request_keeps_include_usage(emu: Emulator) -> None:
    stream(emu)
    body = emu.last_request("minimax").body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_anthropic_surface_exact_body_and_headers(emu: Emulator) -> None:
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}]
    resp = call(emu, msgs, surface="anthropic", max_tokens=64, reasoning_effort="disabled")
    rec = emu.last_request("minimax")
    assert rec.path == "/minimax/anthropic/v1/messages" and rec.surface == "anthropic"
    assert rec.body == {"model": "MiniMax-M3", "system": "S", "messages": [{"role": "user", "content": "hi"}],
                        "max_tokens": 64, "thinking": {"type": "disabled"}}
    # Bearer, not x-api-key: x-api-key fails with 1033 on CN (§1.2).
    assert rec.auth_kind == "bearer" and rec.key_fingerprint == key_fingerprint(KEY)
    assert "x-api-key" not in rec.headers
    assert rec.headers["anthropic-version"] == "2023-06-01"
    assert resp.choices[0].message.content.startswith("Hello from the minimax emulator")


def test_base_url_ending_in_anthropic_selects_the_anthropic_wire() -> None:
    for base in ("https://api.minimax.io/anthropic", "https://api.minimaxi.com/anthropic/", "http://127.0.0.1:9/x/anthropic"):
        target = resolve("minimax/MiniMax-M3", base_url=base, api_key=KEY)
        assert target.wire.value == "anthropic_messages" and target.url.endswith("/anthropic/v1/messages")
        assert "authorization" in target.headers and "x-api-key" not in target.headers


def test_region_cn_defaults_to_the_cn_host_without_a_network_call() -> None:
    assert resolve("minimax/MiniMax-M3", region="cn", api_key=KEY).url == "https://api.minimaxi.com/v1/chat/completions"
    assert resolve("minimax/MiniMax-M3", api_key=KEY).url == "https://api.minimax.io/v1/chat/completions"


def test_region_reaches_the_emulator(emu: Emulator) -> None:
    router.completion("minimax/MiniMax-M3", HI, api_key=KEY, base_url=emu.base_url("minimax", region="cn"),
                      region="cn")
    assert emu.last_request("minimax").region == "cn"


# -- reply quirks -------------------------------------------------------------------------------

def test_reasoning_split_fills_reasoning_content(emu: Emulator) -> None:
    resp = call(emu)
    msg = resp.choices[0].message
    assert (msg.reasoning_content, msg.content) == (REASONING, ANSWER)
    assert msg.reasoning_details and msg.reasoning_details[0]["text"] == REASONING  # kept for replay (§1.4.6)
    assert resp.usage.reasoning_tokens > 0 and not resp.usage.estimated


def test_inline_think_is_split_without_reasoning_split(emu: Emulator) -> None:
    resp = call(emu, extra_body={"reasoning_split": False})
    assert emu.last_request("minimax").body["reasoning_split"] is False
    msg = resp.choices[0].message
    assert (msg.reasoning_content, msg.content) == (REASONING, ANSWER)


@pytest.mark.parametrize("split", ["event", "random"])
def test_inline_think_split_across_stream_chunks(emu: Emulator, split: str) -> None:
    """The emulator cuts "<think>" and "</think>" themselves across chunks; "random" also cuts the bytes."""
    emu.set_options("minimax", split=split)
    chunks, resp = stream(emu, extra_body={"reasoning_split": False})
    assert joined(chunks, "reasoning_content") == REASONING
    assert joined(chunks, "content") == ANSWER
    assert resp.choices[0].message.reasoning_content == REASONING
    assert resp.choices[0].message.content == ANSWER


@pytest.mark.parametrize("mode", ["incremental", "cumulative"])
@pytest.mark.parametrize("split", ["event", "random"])
def test_reasoning_details_yield_the_text_exactly_once(emu: Emulator, mode: str, split: str) -> None:
    emu.set_options("minimax", reasoning_mode=mode, split=split, chunk_words=2)
    chunks, resp = stream(emu)
    assert joined(chunks, "reasoning_content") == REASONING
    assert joined(chunks, "content") == ANSWER
    assert resp.choices[0].message.reasoning_content == REASONING
    details = resp.choices[0].message.reasoning_details
    assert details and details[0]["text"] == REASONING and details[0]["type"] == "reasoning.text"


def test_stream_usage_null_chunks_and_the_partial_usage_are_skipped(emu: Emulator) -> None:
    chunks, resp = stream(emu)
    with_usage = [c for c in chunks if c.usage is not None]
    assert len(with_usage) == 1 and with_usage[0] is chunks[-1]
    usage = with_usage[0].usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0 and not usage.estimated
    assert all(c.choices[0].delta.role in (None, "assistant") for c in chunks if c.choices)
    assert resp.usage == usage


def test_no_stream_usage_is_estimated(emu: Emulator) -> None:
    emu.set_options("minimax", stream_usage="never")
    chunks, resp = stream(emu)
    assert resp.usage.estimated and resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0
    assert chunks[-1].usage is not None and chunks[-1].usage.estimated


def test_content_as_parts(emu: Emulator) -> None:
    emu.set_options("minimax", content_as_parts=True)
    assert call(emu).choices[0].message.content == ANSWER
    assert call(emu, extra_body={"reasoning_split": False}).choices[0].message.content == ANSWER


def test_tool_call_reply(emu: Emulator) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    resp = call(emu, [{"role": "user", "content": "weather please"}], tools=[tool])
    msg = resp.choices[0].message
    assert resp.choices[0].finish_reason == "tool_calls"
    assert msg.tool_calls[0].id.startswith("call_function_") and json.loads(msg.tool_calls[0].function.arguments)
    _, sresp = stream(emu, [{"role": "user", "content": "weather please"}], tools=[tool])
    assert sresp.choices[0].message.tool_calls[0].function.arguments == msg.tool_calls[0].function.arguments


# -- pure codec checks of the same quirks ---------------------------------------------------------

def _chunk(delta: dict[str, Any], *, finish: str | None = None, usage: Any = None) -> str:
    return json.dumps({"id": "x", "created": 1, "model": "MiniMax-M3", "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {"name": "MiniMax AI", "audio_content": "", **delta},
                                    "finish_reason": finish}], "usage": usage})


def _decode(payloads: list[str]) -> list[Any]:
    decoder = StreamDecoder(SPEC, model="MiniMax-M3")
    out = [c for p in payloads for c in decoder.feed("", p)]
    out += decoder.feed("", "[DONE]")
    return out


def test_codec_role_empty_string_and_null_usage() -> None:
    chunks = _decode([_chunk({"role": "assistant", "content": "a"}), _chunk({"role": "", "content": "b"},
                      usage={"total_tokens": 0, "total_characters": 0}),
                      _chunk({"role": "assistant", "content": "c"}, finish="stop",
                             usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
                                    "total_characters": 0})])
    assert [c.choices[0].delta.role for c in chunks[:3]] == ["assistant", None, "assistant"]
    assert [c.usage for c in chunks[:2]] == [None, None]
    assert chunks[2].usage.total_tokens == 5


@pytest.mark.parametrize("cut", range(1, len("<think>abc</think>xyz")))
def test_codec_think_tag_split_at_every_offset(cut: int) -> None:
    text = "<think>abc</think>xyz"
    chunks = _decode([_chunk({"content": text[:cut]}), _chunk({"content": text[cut:]}, finish="stop")])
    assert joined(chunks, "reasoning_content") == "abc"
    assert joined(chunks, "content") == "xyz"


def test_codec_structured_reasoning_wins_over_inline_think() -> None:
    """oh-my-pi#2434: M3 may send both; the structured field is authoritative (§1.5)."""
    chunks = _decode([_chunk({"reasoning_content": "abc", "reasoning_details": [{"text": "abc"}],
                              "content": "<think>abc</think>"}),
                      _chunk({"content": "xyz"}, finish="stop")])
    assert joined(chunks, "reasoning_content") == "abc"
    assert joined(chunks, "content") == "xyz"


@pytest.mark.parametrize("fragments", [["ab", "abcd", "abcdef"], ["ab", "cd", "ef"], ["ab", "ab", "ab"]])
def test_codec_reasoning_details_modes(fragments: list[str]) -> None:
    cumulative = fragments[1].startswith(fragments[0]) and len(fragments[1]) > len(fragments[0])
    chunks = _decode([_chunk({"reasoning_details": [{"type": "reasoning.text", "text": f}]}) for f in fragments]
                     + [_chunk({"content": "x"}, finish="stop")])
    assert joined(chunks, "reasoning_content") == (fragments[-1] if cumulative else "".join(fragments))


@pytest.mark.parametrize(("content", "text"), [
    ([{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}], "ab"),
    ([], ""),
    ("plain", "plain"),
    (None, None),
])
def test_codec_content_parts_and_null(content: Any, text: str | None) -> None:
    body = {"id": "x", "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
    assert decode_response(body, SPEC, model="MiniMax-M3").choices[0].message.content == text


@pytest.mark.parametrize("bad", ["1", float("nan"), float("inf"), -1, 1.5, True, [1], {"n": 1}])
@pytest.mark.parametrize("field", ["prompt_tokens", "completion_tokens", "total_tokens"])
def test_codec_non_numeric_usage_is_malformed(bad: Any, field: str) -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, field: bad}
    body = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "a"},
                                    "finish_reason": "stop"}], "usage": usage}
    with pytest.raises(e.MalformedResponseError):
        decode_response(body, SPEC, model="MiniMax-M3")


def test_codec_base_resp_on_http_200() -> None:
    body = {"id": "x", "base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}}
    with pytest.raises(e.InsufficientBalanceError) as info:
        decode_response(body, SPEC, model="MiniMax-M3")
    assert info.value.vendor_code == 1008


# -- errors: three envelopes, the §1.8 code table --------------------------------------------------

CODES = [
    (1008, e.InsufficientBalanceError),
    (1002, e.RateLimitError), (2045, e.RateLimitError), (1041, e.RateLimitError),
    (1004, e.AuthenticationError), (2049, e.AuthenticationError),
    (1026, e.ContentPolicyError), (1027, e.ContentPolicyError),
    (2013, e.InvalidRequestError),
    (2056, e.RateLimitError),
    (2061, e.PermissionDeniedError),
    (1000, e.ServiceUnavailableError), (1033, e.ServiceUnavailableError),
    (1039, e.InvalidRequestError), (1042, e.InvalidRequestError),
]


@pytest.mark.parametrize(("code", "cls"), CODES)
@pytest.mark.parametrize("envelope", ["openai", "anthropic", "base_resp"])
def test_error_code_table(emu: Emulator, code: int, cls: type[e.FareboxError], envelope: str) -> None:
    if envelope == "base_resp":
        emu.fault(http200_base_resp=code)  # HTTP 200 + base_resp.status_code (§1.8 envelope 1)
    else:
        emu.fault(vendor_code=code)        # OpenAI body with string http_code / Anthropic body (envelopes 2, 3)
    with pytest.raises(cls) as info:
        call(emu, surface=None if envelope == "base_resp" else envelope)
    err = info.value
    assert err.vendor_code == code and err.vendor == "minimax" and err.model == "MiniMax-M3"
    assert KEY not in str(err) and KEY not in repr(err)
    if code == 2049:
        assert "region" in err.hint and "api.minimaxi.com" in err.hint


def test_openai_envelope_fields(emu: Emulator) -> None:
    emu.fault(status=429, body={"type": "error", "error": {
        "type": "insufficient_balance_error", "message": "insufficient balance (1008)", "http_code": "429"},
        "request_id": "req-1008"})
    with pytest.raises(e.InsufficientBalanceError) as info:
        call(emu)
    assert (info.value.status_code, info.value.vendor_code, info.value.request_id) == (429, 1008, "req-1008")


def test_anthropic_envelope_1008_overrides_the_5xx(emu: Emulator) -> None:
    emu.fault(vendor_code=1008, surface="anthropic")
    with pytest.raises(e.InsufficientBalanceError) as info:
        call(emu, surface="anthropic")
    assert info.value.status_code == 500 and not info.value.retryable


@pytest.mark.parametrize(("message", "cls"), [
    ("invalid params, invalid chat setting (2013)", e.InvalidRequestError),
    ("invalid params, context window exceeds limit (2013)", e.ContextWindowExceededError),
    ("invalid params, chat content has invalid message role: system (2013)", e.InvalidRequestError),
])
def test_2013_by_message(emu: Emulator, message: str, cls: type[e.FareboxError]) -> None:
    emu.fault(status=400, body={"type": "error", "error": {"type": "bad_request_error", "message": message,
                                                           "http_code": "400"}, "request_id": "r"})
    with pytest.raises(cls) as info:
        call(emu)
    assert type(info.value) is cls and info.value.vendor_code == 2013
    if "role: system" in message:
        assert "system message" in info.value.hint


def test_2056_retry_after_from_the_reset_time(emu: Emulator) -> None:
    reset = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    message = (f"usage limit exceeded, 5-hour usage limit reached for Token Plan Starter (12/1500 used), "
               f"resets at {reset:%Y-%m-%dT%H:%M:%SZ} (2056)")
    emu.fault(status=429, surface="anthropic", body={"type": "error", "error": {"type": "rate_limit_error",
                                                                                "message": message}})
    with pytest.raises(e.RateLimitError) as info:
        call(emu, surface="anthropic")
    assert info.value.vendor_code == 2056
    assert 7000 < info.value.retry_after <= 7200
    assert "window" in info.value.hint


def test_plan_key_on_highspeed_gets_a_clear_hint(emu: Emulator) -> None:
    with pytest.raises(e.RateLimitError) as info:
        call(emu, model="MiniMax-M2.7-highspeed", key=PLAN_KEY)
    err = info.value
    assert err.vendor_code == 2056 and err.status_code == 429
    assert "-highspeed" in err.hint and "sk-api-" in err.hint and "base model" in err.hint
    assert PLAN_KEY not in str(err)
    assert emu.last_request("minimax").key_fingerprint == key_fingerprint(PLAN_KEY)
    assert call(emu, model="MiniMax-M2.7-highspeed", key=KEY).choices[0].message.content  # metered key works


def test_2061_model_not_on_plan_hint() -> None:
    body = {"type": "error", "error": {"type": "bad_request_error",
                                       "message": "your current token plan not support model (2061)"}}
    err = decode_error(400, body, {}, SPEC, model="MiniMax-M2.7-highspeed")
    assert isinstance(err, e.PermissionDeniedError) and "sk-api-" in err.hint


def test_1033_hints_at_bearer_auth() -> None:
    body = {"type": "error", "error": {"type": "api_error", "message": "system error (1033)"}}
    err = decode_error(500, body, {}, SPEC, model="MiniMax-M3")
    assert isinstance(err, e.ServiceUnavailableError) and err.retryable and "Bearer" in err.hint


def test_base_resp_on_a_stream_request(emu: Emulator) -> None:
    emu.fault(http200_base_resp=1008)
    with pytest.raises(e.InsufficientBalanceError):
        stream(emu)


# -- keys, models --------------------------------------------------------------------------------

def test_key_kinds() -> None:
    assert resolve("minimax/MiniMax-M3", api_key=PLAN_KEY).key_kind == "plan"
    assert resolve("minimax/MiniMax-M3", api_key=KEY).key_kind == "metered"
    assert resolve("minimax/MiniMax-M3", api_key="eyJhbGciOiJSUzI1NiJ9.legacy").key_kind == "metered"


def test_plan_key_is_billed_as_plan(emu: Emulator) -> None:
    resp = call(emu, model="MiniMax-M2.7", key=PLAN_KEY)
    assert resp.cost is not None and resp.cost.billing == "plan" and resp.cost.total == 0


def test_models_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("vendors.models() must not touch the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    ids = {m.id for m in vendors.models("minimax")}
    assert {"MiniMax-M3", "MiniMax-M2.7", "MiniMax-M2.7-highspeed", "MiniMax-M2.5", "MiniMax-M2.1"} <= ids
    m3 = next(m for m in vendors.models("minimax") if m.id == "MiniMax-M3")
    assert m3.context_window and m3.context_window >= 1_000_000


# -- docs/vendors.md §7.3: GodeX minimaxPatchRequest, row by row (encode + patch, no network) ----------------

def body_for(messages: list[dict[str, Any]] | None = None, *, model: str = "MiniMax-M3", **kw: Any) -> dict[str, Any]:
    from router.api import prepare

    return json.loads(prepare(f"minimax/{model}", messages or HI, api_key=KEY, **kw).body)


def test_godex_any_request_gets_reasoning_split() -> None:
    assert body_for()["reasoning_split"] is True
    assert body_for(model="MiniMax-M2.5")["reasoning_split"] is True


def test_godex_thinking_enabled_and_effort_medium() -> None:
    # GodeX's row carries both controls; in Farebox each alone gives the patched shape, and both at once
    # are refused rather than one silently overriding the other (docs/vendors.md §7.3 reserved extra_body keys).
    body = body_for(extra_body={"thinking": {"type": "enabled"}})
    assert body["thinking"] == {"type": "adaptive"} and "reasoning_effort" not in body
    body = body_for(reasoning_effort="medium")
    assert body["thinking"] == {"type": "adaptive"} and "reasoning_effort" not in body
    with pytest.raises(e.InvalidRequestError, match="reasoning control"):
        body_for(reasoning_effort="medium", extra_body={"thinking": {"type": "enabled"}})


def test_godex_thinking_disabled_stays() -> None:
    assert body_for(extra_body={"thinking": {"type": "disabled"}})["thinking"] == {"type": "disabled"}


def test_godex_no_thinking_no_key() -> None:
    # M2.x has no knob: nothing is added. On M3 Farebox follows Reasonix buildRequest (effort "" -> adaptive,
    # TestBuildRequestMiniMaxThinking) rather than GodeX's "absent stays absent".
    assert "thinking" not in body_for(model="MiniMax-M2.7")
    assert body_for()["thinking"] == {"type": "adaptive"}


def test_godex_max_tokens_renamed() -> None:
    body = body_for(max_tokens=100)
    assert body["max_completion_tokens"] == 100 and "max_tokens" not in body


def test_godex_assistant_reasoning_unchanged() -> None:
    msg = {"role": "assistant", "content": "Hello!", "reasoning_content": "The user is greeting me."}
    sent = body_for([{"role": "user", "content": "hi"}, msg, {"role": "user", "content": "again"}])["messages"][1]
    assert sent == msg and "reasoning_details" not in sent


def test_godex_system_user_tool_unchanged() -> None:
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": [{"type": "text", "text": "U"}]},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "T", "name": "f"}]
    assert body_for(msgs)["messages"] == msgs


@pytest.mark.parametrize(("call_", "expected_args"), [
    ({"id": "c", "type": "function", "function": {"name": "f", "arguments": '{ "city" : "Hangzhou" , "unit" :  "c" }'}},
     '{"city":"Hangzhou","unit":"c"}'),
    ({"id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}, "{}"),
    ({"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"input":'}}, '{"input":'),
    ({"id": "c", "type": "custom", "function": {"name": "f", "arguments": "{not-json"}}, "{not-json"),
    ({"id": "c", "type": "custom", "function": {"name": "f", "arguments": '{ "a" : 1 }'}}, '{ "a" : 1 }'),
])
def test_godex_tool_call_arguments(call_: dict[str, Any], expected_args: str) -> None:
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": [call_]},
            {"role": "tool", "tool_call_id": "c", "content": "r"}]
    sent = body_for(msgs)["messages"][1]
    assert sent["tool_calls"][0]["function"]["arguments"] == expected_args
    assert sent["tool_calls"][0]["type"] == call_["type"] and sent["content"] == ""
    if expected_args.startswith("{\"city"):
        assert json.loads(sent["tool_calls"][0]["function"]["arguments"]) == {"city": "Hangzhou", "unit": "c"}


@pytest.mark.parametrize(("effort", "thinking"), [
    ("none", "disabled"),
    ("low", "adaptive"),
    ("medium", "adaptive"),
    ("high", "adaptive"),
    # GodeX's bridge maps xhigh to adaptive; Farebox follows Reasonix §7.2 (xhigh → disabled), and says so in
    # resp.effort's note, so this row pins the deliberate difference instead of GodeX's value.
    ("xhigh", "disabled"),
])
def test_godex_bridge_effort(effort: str, thinking: str) -> None:
    body = body_for(reasoning_effort=effort)
    assert body["thinking"] == {"type": thinking} and "reasoning_effort" not in body
