"""The gateway's pure codecs: the text fast path writes the same bytes as the general encoder; Anthropic requests
become the OpenAI-shaped messages the Router takes, signed thinking kept verbatim."""

from __future__ import annotations

import json

import pytest

from router.gateway import anthropic_codec
from router.gateway.app import OpenAIStream
from router.gateway.openai_codec import chunk_bytes
from vendors.errors import InvalidRequestError
from vendors.types import Chunk


@pytest.mark.parametrize("delta", [
    {"content": 'plain "quoted" \\ back\nslash, café ☕, \u2028'},
    {"reasoning_content": "thinking…"},
    {"content": ""},
    {"role": "assistant", "content": "hi"},
    {"role": "assistant", "reasoning_content": "hm"},
    {"role": "assistant"},
    {"content": "a", "reasoning_content": "b"},
    {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}]},
])
def test_text_fast_path_writes_the_general_encoders_bytes(delta: dict) -> None:
    encoder = OpenAIStream(include_usage=False)
    for chunk_id in ("chatcmpl-1", "", "chatcmpl-1"):
        chunk = Chunk(id=chunk_id, model="m\"odel", created=7, choices=[{"delta": delta}])
        out = encoder.chunk(chunk)
        assert out == chunk_bytes(chunk)
        if "tool_calls" not in delta:
            assert json.loads(out[6:])["choices"][0]["delta"] == delta


def test_anthropic_request_becomes_openai_messages() -> None:
    signed = {"type": "thinking", "thinking": "hmm", "signature": "sig=="}
    model, messages, stream, kwargs = anthropic_codec.parse_request({
        "model": "claude", "max_tokens": 100, "system": "Be brief.", "stream": True,
        "thinking": {"type": "enabled", "budget_tokens": 10000},
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": [signed, {"type": "text", "text": "Calling."},
                                              {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "42"},
                                         {"type": "text", "text": "and?"}]},
        ]}, max_messages=10)
    assert (model, stream) == ("claude", True)
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[2]["thinking_blocks"] == [signed] and messages[2]["content"] == "Calling."
    assert json.loads(messages[2]["tool_calls"][0]["function"]["arguments"]) == {"a": 1}
    assert messages[3] == {"role": "tool", "tool_call_id": "t1", "content": "42"}
    assert messages[4] == {"role": "user", "content": "and?"}
    assert kwargs["reasoning_effort"] == "high" and kwargs["tool_choice"] == "required"
    assert kwargs["parallel_tool_calls"] is False and kwargs["tools"][0]["function"]["name"] == "f"


@pytest.mark.parametrize(("body", "words"), [
    ({"model": "c", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
    ({"model": "c", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages[0]"),
    ({"model": "c", "max_tokens": 5, "messages": [], "stop": ["x"]}, "stop_sequences"),
    ({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
      "thinking": {"type": "sometimes"}}, "thinking.type"),
])
def test_anthropic_bad_requests_name_the_field(body: dict, words: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        anthropic_codec.parse_request(body, max_messages=10)
    assert words in str(info.value)
