"""Pure tests of the Anthropic Messages codec: encode, decode, and stream decoding."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from vendors.errors import (
    AuthenticationError,
    InsufficientBalanceError,
    InvalidRequestError,
    MalformedResponseError,
    RateLimitError,
    ServiceUnavailableError,
    UnsupportedParamError,
)
from vendors.spec import RequestContext, Surface, VendorSpec, Wire
from vendors.types import ChatRequest, Chunk, Usage
from vendors.wires.anthropic_messages import StreamDecoder, decode_error, decode_response, encode_request

SPEC = VendorSpec(name="anthropic", surfaces=(Surface(
    wire=Wire.ANTHROPIC_MESSAGES, base_urls={"global": "https://api.anthropic.com"},
    path="/v1/messages", auth="x-api-key"),))
MODEL = "claude-sonnet-4-5"
CTX = RequestContext(model=MODEL, wire=Wire.ANTHROPIC_MESSAGES)
SIG = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+FAKE+SIG=="
THINKING = {"type": "thinking", "thinking": "Weather needs a tool.", "signature": SIG}
REDACTED = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"}
USER = {"role": "user", "content": "Hi"}


def encode(messages: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    return encode_request(ChatRequest(model=MODEL, messages=messages, **kw), SPEC, CTX)


# ---------------------------------------------------------------- encode: messages

@pytest.mark.parametrize("messages, system, out", [
    pytest.param([{"role": "system", "content": "Be brief."}, USER],
                 "Be brief.", [USER], id="system-extracted"),
    pytest.param([{"role": "system", "content": "A"}, {"role": "developer", "content": "B"}, USER,
                  {"role": "system", "content": "C"}],
                 "A\n\nB\n\nC", [USER], id="several-systems-joined"),
    pytest.param([{"role": "system", "content": [{"type": "text", "text": "A"}]}, USER],
                 "A", [USER], id="system-parts-without-cache-become-string"),
    pytest.param([{"role": "system", "content": "A"},
                  {"role": "system", "content": [{"type": "text", "text": "B",
                                                  "cache_control": {"type": "ephemeral"}}]}, USER],
                 [{"type": "text", "text": "A"},
                  {"type": "text", "text": "B", "cache_control": {"type": "ephemeral"}}],
                 [USER], id="system-cache-control-blocks"),
    pytest.param([USER, {"role": "user", "content": "again"}], None,
                 [{"role": "user", "content": [{"type": "text", "text": "Hi"},
                                               {"type": "text", "text": "again"}]}],
                 id="consecutive-users-merged"),
    pytest.param([USER, {"role": "assistant", "content": ""}, {"role": "user", "content": "?"}], None,
                 [{"role": "user", "content": [{"type": "text", "text": "Hi"},
                                               {"type": "text", "text": "?"}]}],
                 id="empty-assistant-skipped"),
    pytest.param([USER, {"role": "assistant", "content": "ok", "reasoning_content": "unsigned"}], None,
                 [USER, {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}],
                 id="unsigned-reasoning-dropped"),
])
def test_encode_messages(messages: list[dict[str, Any]], system: Any, out: list[dict[str, Any]]) -> None:
    body = encode(messages)
    assert body.get("system") == system
    assert body["messages"] == out


def test_encode_tool_calls_and_results_merge() -> None:
    messages = [
        USER,
        {"role": "assistant", "content": "Checking.", "thinking_blocks": [THINKING, REDACTED],
         "tool_calls": [
             {"id": "toolu_1", "type": "function",
              "function": {"name": "weather", "arguments": '{"city":"Paris"}'}},
             {"id": "toolu_2", "type": "function", "function": {"name": "clock", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": [{"type": "text", "text": "noon"}]},
        {"role": "user", "content": "and tomorrow?"},
    ]
    assert encode(messages)["messages"] == [
        USER,
        {"role": "assistant", "content": [
            THINKING, REDACTED, {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "clock", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "noon"}]},
            {"type": "text", "text": "and tomorrow?"}]},
    ]


@pytest.mark.parametrize("url, source", [
    ("data:image/png;base64,iVBORw0KGgo=", {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}),
    ("https://example.com/cat.jpg", {"type": "url", "url": "https://example.com/cat.jpg"}),
    ("http://example.com/cat.jpg", {"type": "url", "url": "http://example.com/cat.jpg"}),
])
def test_encode_images(url: str, source: dict[str, str]) -> None:
    cache = {"type": "ephemeral"}
    content = [{"type": "text", "text": "What is this?"},
               {"type": "image_url", "image_url": {"url": url}, "cache_control": cache}]
    body = encode([{"role": "user", "content": content}])
    assert body["messages"][0]["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image", "source": source, "cache_control": cache}]


@pytest.mark.parametrize("message", [
    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}]},
    {"role": "assistant", "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": "{oops"}}]},
    {"role": "assistant", "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": "[1]"}}]},
    {"role": "tool", "content": "no id"},
    {"role": "function", "content": "legacy"},
])
def test_encode_rejects(message: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        encode([USER, message])


# ---------------------------------------------------------------- encode: params

FN_TOOL = {"type": "function", "function": {"name": "g"}}
FN_BLOCK = {"name": "g", "input_schema": {"type": "object"}}


@pytest.mark.parametrize("params, expected", [
    pytest.param({}, {"max_tokens": 4096}, id="max-tokens-default-from-spec"),
    pytest.param({"max_tokens": 100}, {"max_tokens": 100}, id="max-tokens"),
    pytest.param({"max_completion_tokens": 50}, {"max_tokens": 50}, id="max-completion-tokens"),
    pytest.param({"temperature": 0.2, "top_p": 0.9}, {"temperature": 0.2, "top_p": 0.9}, id="sampling"),
    pytest.param({"stop": "END"}, {"stop_sequences": ["END"]}, id="stop-string"),
    pytest.param({"stop": ["a", "b"]}, {"stop_sequences": ["a", "b"]}, id="stop-list"),
    pytest.param({"user": "u-42"}, {"metadata": {"user_id": "u-42"}}, id="user-metadata"),
    pytest.param({"metadata": {"team": "x"}}, {}, id="farebox-metadata-not-sent"),
    pytest.param({"tool_choice": "auto"}, {"tool_choice": {"type": "auto"}}, id="choice-auto"),
    pytest.param({"tool_choice": "required"}, {"tool_choice": {"type": "any"}}, id="choice-required"),
    pytest.param({"tool_choice": "none"}, {"tool_choice": {"type": "none"}}, id="choice-none"),
    pytest.param({"tool_choice": {"type": "function", "function": {"name": "f"}}},
                 {"tool_choice": {"type": "tool", "name": "f"}}, id="choice-function"),
    pytest.param({"tools": [FN_TOOL], "tool_choice": "required", "parallel_tool_calls": False},
                 {"tools": [FN_BLOCK], "tool_choice": {"type": "any", "disable_parallel_tool_use": True}},
                 id="choice-no-parallel"),
    pytest.param({"tools": [FN_TOOL], "parallel_tool_calls": False},
                 {"tools": [FN_BLOCK], "tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
                 id="no-parallel-only"),
    pytest.param({"parallel_tool_calls": False}, {}, id="no-parallel-without-tools-dropped"),
    pytest.param({"tools": [
        {"type": "function", "function": {"name": "f", "description": "F.", "parameters": {
            "type": "object", "properties": {"x": {"type": "integer"}}}}},
        {"type": "function", "function": {"name": "g"}}]},
        {"tools": [{"name": "f", "description": "F.", "input_schema": {
            "type": "object", "properties": {"x": {"type": "integer"}}}},
            {"name": "g", "input_schema": {"type": "object"}}]}, id="tools"),
    pytest.param({"response_format": {"type": "text"}}, {}, id="response-format-text"),
])
def test_encode_params(params: dict[str, Any], expected: dict[str, Any]) -> None:
    body = encode([USER], params=params)
    mapped = {k: v for k, v in body.items() if k not in ("model", "messages")}
    assert mapped == {"max_tokens": 4096, **expected}


def test_encode_default_max_tokens_follows_spec() -> None:
    spec = replace(SPEC, default_max_tokens=1234)
    assert encode_request(ChatRequest(model=MODEL, messages=[USER]), spec, CTX)["max_tokens"] == 1234


@pytest.mark.parametrize("params, name", [
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}},
     "response_format"),
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"seed": 1}, "seed"),
    ({"n": 2}, "n"),
])
def test_encode_unsupported_param(params: dict[str, Any], name: str) -> None:
    with pytest.raises(UnsupportedParamError) as info:
        encode([USER], params=params)
    assert (info.value.vendor, info.value.model) == ("anthropic", MODEL)
    assert name in info.value.message


def test_encode_stream_effort_and_extra_body_merged_last() -> None:
    body = encode([USER], stream=True, params={"max_tokens": 2000, "temperature": 1},
                  effort_body={"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}},
                  extra_body={"output_config": {"format": {"type": "json_schema", "schema": {}}},
                              "temperature": 0.5, "top_k": 5})
    assert body["stream"] is True
    assert body["thinking"] == {"type": "adaptive"}
    assert body["output_config"] == {"effort": "high", "format": {"type": "json_schema", "schema": {}}}
    assert (body["temperature"], body["top_k"]) == (0.5, 5)


# ---------------------------------------------------------------- decode

def reply(content: list[dict[str, Any]], stop: str | None = "end_turn", usage: Any = None) -> dict[str, Any]:
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": usage if usage is not None else {"input_tokens": 10, "output_tokens": 7}}


def test_decode_full_reply() -> None:
    resp = decode_response(reply([THINKING, REDACTED, {"type": "text", "text": "Let me "},
                                  {"type": "text", "text": "check."},
                                  {"type": "tool_use", "id": "toolu_1", "name": "weather",
                                   "input": {"city": "Zürich"}}], "tool_use"), SPEC, model=MODEL)
    msg = resp.message
    assert (resp.id, resp.vendor, resp.model) == ("msg_01", "anthropic", "claude-sonnet-4-5-20250929")
    assert msg.content == "Let me check."
    assert msg.reasoning_content == "Weather needs a tool."
    assert msg.thinking_blocks == [THINKING, REDACTED]
    assert msg.tool_calls is not None and len(msg.tool_calls) == 1
    call = msg.tool_calls[0]
    assert (call.id, call.type, call.function.name) == ("toolu_1", "function", "weather")
    assert call.function.arguments == '{"city":"Zürich"}'
    assert resp.choices[0].finish_reason == "tool_calls"


def test_thinking_blocks_round_trip_byte_for_byte() -> None:
    raw = json.dumps(reply([THINKING, REDACTED, {"type": "text", "text": "Sunny."}]))
    original = json.loads(raw)["content"]
    resp = decode_response(json.loads(raw), SPEC, model=MODEL)
    body = encode([USER, resp.choices[0].message.to_request(), {"role": "user", "content": "More?"}])
    sent = body["messages"][1]["content"]
    assert json.dumps(sent[0]) == json.dumps(original[0])
    assert json.dumps(sent[1]) == json.dumps(original[1])
    assert sent[2] == {"type": "text", "text": "Sunny."}


@pytest.mark.parametrize("stop, finish", [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("pause_turn", "stop"), ("max_tokens", "length"),
    ("model_context_window_exceeded", "length"), ("tool_use", "tool_calls"), ("refusal", "content_filter"),
    ("something_new", "stop"),
])
def test_decode_stop_reason(stop: str, finish: str) -> None:
    resp = decode_response(reply([{"type": "text", "text": "x"}], stop), SPEC, model=MODEL)
    assert resp.choices[0].finish_reason == finish


USAGE_ROWS = [
    pytest.param({"input_tokens": 10, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100,
                  "output_tokens": 7}, (115, 7, 122, 100, 5, 0), id="vendors-7.4-anthropic-row"),
    pytest.param({"input_tokens": 10, "output_tokens": 7}, (10, 7, 17, 0, 0, 0), id="no-cache"),
    pytest.param({"input_tokens": 3, "cache_creation_input_tokens": None, "cache_read_input_tokens": None,
                  "output_tokens": 0}, (3, 0, 3, 0, 0, 0), id="null-cache-fields"),
    pytest.param({"input_tokens": 4, "output_tokens": 9, "output_tokens_details": {"thinking_tokens": 6}},
                 (4, 9, 13, 0, 0, 6), id="thinking-tokens"),
]


@pytest.mark.parametrize("usage, expected", USAGE_ROWS)
def test_decode_usage(usage: dict[str, Any], expected: tuple[int, ...]) -> None:
    u = decode_response(reply([], usage=usage), SPEC, model=MODEL).usage
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cached_tokens,
            u.cache_write_tokens, u.reasoning_tokens) == expected


@pytest.mark.parametrize("body", [
    pytest.param([], id="list-body"),
    pytest.param("oops", id="string-body"),
    pytest.param({"id": "msg", "type": "message"}, id="no-content"),
    pytest.param({"content": "text"}, id="content-not-list"),
    pytest.param({"content": ["text"]}, id="block-not-object"),
    pytest.param(reply([], usage={"input_tokens": "10", "output_tokens": 1}), id="usage-string"),
    pytest.param(reply([], usage={"input_tokens": -1, "output_tokens": 1}), id="usage-negative"),
    pytest.param(reply([], usage={"input_tokens": 1.5, "output_tokens": 1}), id="usage-float"),
    pytest.param(reply([], usage={"input_tokens": float("inf"), "output_tokens": 1}), id="usage-inf"),
    pytest.param(reply([], usage={"input_tokens": True, "output_tokens": 1}), id="usage-bool"),
    pytest.param(reply([], usage=[1, 2]), id="usage-not-object"),
])
def test_decode_malformed(body: Any) -> None:
    with pytest.raises(MalformedResponseError) as info:
        decode_response(body, SPEC, model=MODEL)
    assert info.value.vendor == "anthropic" and info.value.model


@pytest.mark.parametrize("status, etype, message, cls, code", [
    (200, "overloaded_error", "Overloaded", ServiceUnavailableError, None),
    (200, "rate_limit_error", "usage limit exceeded, resets at 2026-05-15T15:00:00Z (2056)", RateLimitError, 2056),
    (200, "api_error", "insufficient balance (1008)", ServiceUnavailableError, 1008),
    (200, "mystery_error", "?", ServiceUnavailableError, None),
    (401, "authentication_error", "invalid x-api-key", AuthenticationError, None),
    (400, "invalid_request_error", "bad", InvalidRequestError, None),
])
def test_decode_error(status: int, etype: str, message: str, cls: type, code: int | None) -> None:
    body = {"type": "error", "error": {"type": etype, "message": message}, "request_id": "req_1"}
    err = decode_error(body, SPEC, model=MODEL, status=status)
    assert type(err) is cls
    assert (err.vendor_code, err.request_id, err.vendor) == (code, "req_1", "anthropic")


def test_decode_error_uses_spec_hook() -> None:
    spec = replace(SPEC, error_code=lambda status, code, message: (InsufficientBalanceError, "top up", None))
    body = {"type": "error", "error": {"type": "api_error", "message": "insufficient balance (1008)"}}
    with pytest.raises(InsufficientBalanceError) as info:
        decode_response(body, spec, model=MODEL)
    assert info.value.hint == "top up"


# ---------------------------------------------------------------- stream

def sse(kind: str, **payload: Any) -> tuple[str, str]:
    return kind, json.dumps({"type": kind, **payload})


STREAM = [
    sse("message_start", message={
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 10, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100,
                  "output_tokens": 1}}),
    sse("content_block_start", index=0, content_block={"type": "thinking", "thinking": ""}),
    sse("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "Weather needs "}),
    ("ping", '{"type": "ping"}'),
    sse("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "a tool."}),
    sse("content_block_delta", index=0, delta={"type": "signature_delta", "signature": SIG[:20]}),
    sse("content_block_delta", index=0, delta={"type": "signature_delta", "signature": SIG[20:]}),
    sse("content_block_stop", index=0),
    sse("content_block_start", index=1, content_block=REDACTED),
    sse("content_block_stop", index=1),
    sse("content_block_start", index=2, content_block={"type": "text", "text": ""}),
    sse("content_block_delta", index=2, delta={"type": "text_delta", "text": "Let me "}),
    sse("content_block_delta", index=2, delta={"type": "text_delta", "text": "check."}),
    sse("content_block_stop", index=2),
    sse("content_block_start", index=3, content_block={
        "type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}),
    sse("content_block_delta", index=3, delta={"type": "input_json_delta", "partial_json": ""}),
    sse("content_block_delta", index=3, delta={"type": "input_json_delta", "partial_json": '{"city": '}),
    sse("content_block_delta", index=3, delta={"type": "input_json_delta", "partial_json": '"Zür'}),
    sse("content_block_delta", index=3, delta={"type": "input_json_delta", "partial_json": 'ich"}'}),
    sse("content_block_stop", index=3),
    sse("content_block_start", index=4, content_block={
        "type": "tool_use", "id": "toolu_2", "name": "clock", "input": {}}),
    sse("content_block_delta", index=4, delta={"type": "input_json_delta", "partial_json": "{}"}),
    sse("content_block_stop", index=4),
    sse("some_future_event", detail=1),
    sse("message_delta", delta={"stop_reason": "tool_use", "stop_sequence": None},
        usage={"output_tokens": 7}),
    sse("message_stop"),
]
EQUIVALENT = reply([THINKING, REDACTED, {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Zürich"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "clock", "input": {}}], "tool_use",
                   usage={"input_tokens": 10, "cache_creation_input_tokens": 5,
                          "cache_read_input_tokens": 100, "output_tokens": 7})


def assemble(chunks: list[Chunk]) -> dict[str, Any]:
    """Fold chunks the way a client would: concatenate text, reasoning and arguments by tool index."""
    out: dict[str, Any] = {"content": "", "reasoning": "", "blocks": [], "tools": {}, "finish": None}
    for chunk in chunks:
        delta = chunk.choices[0].delta
        out["content"] += delta.content or ""
        out["reasoning"] += delta.reasoning_content or ""
        out["blocks"] += delta.thinking_blocks or []
        for call in delta.tool_calls or []:
            slot = out["tools"].setdefault(call.index, {"id": None, "name": None, "arguments": ""})
            slot["id"] = call.id or slot["id"]
            slot["name"] = call.function.name or slot["name"]
            slot["arguments"] += call.function.arguments
        out["finish"] = chunk.choices[0].finish_reason or out["finish"]
    return out


def run(events: list[tuple[str, str]]) -> tuple[StreamDecoder, list[Chunk]]:
    decoder = StreamDecoder(SPEC, model=MODEL)
    chunks = [c for event, data in events for c in decoder.feed(event, data)]
    return decoder, chunks + decoder.finish()


def test_stream_matches_non_stream_decode() -> None:
    decoder, chunks = run(STREAM)
    assert decoder.done
    got = assemble(chunks)
    want = decode_response(EQUIVALENT, SPEC, model=MODEL)
    msg = want.message
    assert got["content"] == msg.content
    assert got["reasoning"] == msg.reasoning_content
    assert got["blocks"] == msg.thinking_blocks
    assert got["finish"] == want.choices[0].finish_reason == "tool_calls"
    assert msg.tool_calls is not None
    assert [t["id"] for t in got["tools"].values()] == [c.id for c in msg.tool_calls]
    assert [t["name"] for t in got["tools"].values()] == [c.function.name for c in msg.tool_calls]
    # Streams carry the vendor's own JSON spacing; the parsed arguments are what must agree.
    assert [json.loads(t["arguments"]) for t in got["tools"].values()] == [
        json.loads(c.function.arguments) for c in msg.tool_calls]
    assert list(got["tools"]) == [0, 1]
    for chunk in chunks:
        assert (chunk.id, chunk.model, chunk.vendor) == ("msg_01", "claude-sonnet-4-5-20250929", "anthropic")
        assert chunk.created > 0 and chunk.choices[0].index == 0
    assert [c.usage for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1].usage == want.usage == Usage(prompt_tokens=115, completion_tokens=7, total_tokens=122,
                                                  cached_tokens=100, cache_write_tokens=5)


def test_stream_thinking_round_trips_through_encode() -> None:
    got = assemble(run(STREAM)[1])
    body = encode([USER, {"role": "assistant", "content": got["content"], "thinking_blocks": got["blocks"]}])
    assert body["messages"][1]["content"][:2] == [THINKING, REDACTED]


def test_stream_usage_in_message_delta_wins() -> None:
    # Some compatible servers only report input and cache counts on message_delta.
    events = [sse("message_start", message={"id": "m", "model": "MiniMax-M2.1", "usage": {}}),
              sse("message_delta", delta={"stop_reason": "end_turn"},
                  usage={"input_tokens": 20, "cache_read_input_tokens": 30, "output_tokens": 4}),
              sse("message_stop")]
    usage = run(events)[1][-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.cached_tokens, usage.total_tokens) == (50, 30, 54)


def test_stream_without_usage_leaves_it_none_for_estimation() -> None:
    events = [sse("message_start", message={"id": "m"}), sse("message_delta", delta={"stop_reason": "end_turn"}),
              sse("message_stop")]
    last = run(events)[1][-1]
    assert last.usage is None and last.choices[0].finish_reason == "stop"


def test_stream_error_event_raises() -> None:
    decoder = StreamDecoder(SPEC, model=MODEL)
    for event, data in STREAM[:4]:
        decoder.feed(event, data)
    with pytest.raises(ServiceUnavailableError) as info:
        decoder.feed("error", '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')
    assert info.value.retryable and info.value.vendor == "anthropic"


def test_stream_error_event_minimax_code() -> None:
    decoder = StreamDecoder(SPEC, model="MiniMax-M2.1")
    data = '{"type":"error","error":{"type":"rate_limit_error","message":"usage limit exceeded (2056)"}}'
    with pytest.raises(RateLimitError) as info:
        decoder.feed("", data)  # no event: line; the data's type decides
    assert info.value.vendor_code == 2056


def test_stream_finish_without_message_stop() -> None:
    decoder = StreamDecoder(SPEC, model=MODEL)
    for event, data in STREAM[:12]:
        decoder.feed(event, data)
    with pytest.raises(MalformedResponseError):
        decoder.finish()


def test_stream_finish_after_stop_reason_closes() -> None:
    decoder, chunks = run(STREAM[:-1])  # message_delta seen, message_stop lost
    assert decoder.done and chunks[-1].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 122
    assert decoder.finish() == []


@pytest.mark.parametrize("event, data", [
    ("content_block_delta", "{not json"),
    ("content_block_delta", "[1, 2]"),
    ("content_block_delta", '{"type": "content_block_delta", "index": 0}'),
    ("content_block_delta", '{"type": "content_block_delta", "index": 9, '
                            '"delta": {"type": "input_json_delta", "partial_json": "{"}}'),
    ("content_block_delta", '{"type": "content_block_delta", "index": 0, '
                            '"delta": {"type": "text_delta", "text": 5}}'),
    ("message_delta", '{"type": "message_delta", "delta": {}, "usage": {"output_tokens": -3}}'),
])
def test_stream_malformed_event(event: str, data: str) -> None:
    with pytest.raises(MalformedResponseError):
        StreamDecoder(SPEC, model=MODEL).feed(event, data)


def test_stream_ignores_ping_unknown_and_events_after_stop() -> None:
    decoder, _ = run(STREAM)
    assert decoder.feed("ping", '{"type": "ping"}') == []
    assert StreamDecoder(SPEC, model=MODEL).feed("future", '{"type": "future"}') == []
    assert decoder.feed("content_block_delta", STREAM[2][1]) == []
