"""Junk-typed reply fields to every decoder, plain and streamed: a value or a MalformedResponseError, never raw."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vendors import registry
from vendors.errors import FareboxError, MalformedResponseError
from vendors.secrets import register_secret
from vendors.spec import Wire
from vendors.wires.accumulate import Accumulator
from vendors.wires.anthropic_messages import CODEC as ANTHROPIC
from vendors.wires.openai_chat import CODEC as OPENAI

KEY = "sk-api-SECRET-abcdefghijklmnop"
register_secret(KEY)
CODECS = {Wire.OPENAI_CHAT: OPENAI, Wire.ANTHROPIC_MESSAGES: ANTHROPIC}
TARGETS = [(spec, surface.wire) for spec in registry.all_specs() for surface in spec.surfaces]
IDS = [f"{spec.name}-{wire.value}" for spec, wire in TARGETS]


def _deep(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


JUNK = st.one_of(
    st.sampled_from([None, {}, [], "", "x", ["x"], [None], [{}], 0, -1, 1.5, float("inf"), True, False, 10**40,
                     {"a": 1}, {"": None}, KEY]),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                 max_leaves=6),
)

OPENAI_REPLY = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1767225600, "model": "m",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": "<think>hm</think>\n\nHello", "reasoning_content": "because",
        "reasoning_details": [{"type": "reasoning.text", "text": "because"}],
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12,
              "prompt_tokens_details": {"cached_tokens": 1}, "completion_tokens_details": {"reasoning_tokens": 2}},
}
OPENAI_EVENTS = [
    {"id": "c1", "created": 1, "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
    {"id": "c1", "choices": [{"index": 0, "delta": {"reasoning_content": "because",
                                                    "reasoning_details": [{"type": "reasoning.text", "text": "b"}]}}]},
    {"id": "c1", "choices": [{"index": 0, "delta": {"content": "<think>x</think>\n\nHel"}}]},
    {"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\""}}]}}]},
    {"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}}]},
    {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls",
                              "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}]},
    {"id": "c1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12,
                                          "prompt_tokens_details": {"cached_tokens": 1}}},
    "[DONE]",
]
ANTHROPIC_REPLY = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "stop_reason": "tool_use",
    "stop_sequence": None,
    "content": [{"type": "thinking", "thinking": "hm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "abc"},
                {"type": "text", "text": "Hello"},
                {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}],
    "usage": {"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": 1, "cache_creation_input_tokens": 0},
}
ANTHROPIC_EVENTS = [
    {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
                                          "content": [], "usage": {"input_tokens": 5, "output_tokens": 1}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f",
                                                                  "input": {}}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":1}"}},
    {"type": "content_block_stop", "index": 2},
    {"type": "ping"},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None},
     "usage": {"output_tokens": 7}},
    {"type": "message_stop"},
]
SAMPLES = {Wire.OPENAI_CHAT: (OPENAI_REPLY, OPENAI_EVENTS),
           Wire.ANTHROPIC_MESSAGES: (ANTHROPIC_REPLY, ANTHROPIC_EVENTS)}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside `value` (dict keys and list positions)."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], junk: Any) -> Any:
    value = copy.deepcopy(value)
    node = value
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = junk
    return value


def _check(exc: BaseException, spec: Any) -> None:
    assert isinstance(exc, FareboxError), f"{type(exc).__name__}: {exc}"
    for text in (str(exc), repr(exc), str(exc.args)):
        assert KEY not in text
    if isinstance(exc, MalformedResponseError):
        assert exc.vendor == spec.name and exc.fallback_ok
        assert exc.__cause__ is None or isinstance(exc.__cause__, FareboxError)


def decode_plain(spec: Any, wire: Wire, body: Any) -> None:
    try:
        CODECS[wire].decode_response(body, spec, model="m")
    except BaseException as exc:
        _check(exc, spec)


def decode_stream(spec: Any, wire: Wire, events: list[Any]) -> None:
    decoder = CODECS[wire].stream_decoder(spec, model="m")
    acc = Accumulator(vendor=spec.name, model="m")
    try:
        for event in events:
            data = event if isinstance(event, str) else json.dumps(event)
            name = event.get("type", "") if isinstance(event, dict) and wire is Wire.ANTHROPIC_MESSAGES else ""
            for chunk in decoder.feed(name if isinstance(name, str) else "", data):
                acc.add(chunk)
        for chunk in decoder.finish():
            acc.add(chunk)
        acc.response()
    except BaseException as exc:
        _check(exc, spec)


@pytest.mark.parametrize(("spec", "wire"), TARGETS, ids=IDS)
def test_the_samples_decode(spec: Any, wire: Wire) -> None:
    reply, events = SAMPLES[wire]
    CODECS[wire].decode_response(copy.deepcopy(reply), spec, model="m")
    decoder = CODECS[wire].stream_decoder(spec, model="m")
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event)
        decoder.feed(event.get("type", "") if isinstance(event, dict) else "", data)
    decoder.finish()


@pytest.mark.parametrize(("spec", "wire"), TARGETS, ids=IDS)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_junk_fields_in_a_plain_reply(spec: Any, wire: Wire, data: st.DataObject) -> None:
    reply = SAMPLES[wire][0]
    path = data.draw(st.sampled_from(_paths(reply)))
    decode_plain(spec, wire, _replace(reply, path, data.draw(JUNK)))


@pytest.mark.parametrize(("spec", "wire"), TARGETS, ids=IDS)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_junk_fields_in_a_stream(spec: Any, wire: Wire, data: st.DataObject) -> None:
    events = SAMPLES[wire][1]
    paths = [(i, *p) for i, e in enumerate(events) for p in [(), *_paths(e)] if not isinstance(e, str) or not p]
    path = data.draw(st.sampled_from(paths))
    junk = data.draw(JUNK)
    if len(path) == 1:
        mutated = [*events[: path[0]], junk, *events[path[0] + 1:]]
    else:
        mutated = _replace(events, path, junk)
    decode_stream(spec, wire, mutated)


ISSUE_CASES = [
    ("finish_reason", ("choices", 0, "finish_reason"), {}),
    ("index", ("choices", 0, "index"), None),
    ("tool_calls", ("choices", 0, "message", "tool_calls"), ["x"]),
    ("message", ("choices", 0, "message"), []),
    ("content", ("choices", 0, "message", "content"), {"a": 1}),
    ("usage", ("usage", "prompt_tokens"), "many"),
    ("deep", ("choices", 0, "message", "tool_calls", 0, "function", "arguments"), _deep(50_000)),
]


@pytest.mark.parametrize(("name", "path", "junk"), ISSUE_CASES, ids=[c[0] for c in ISSUE_CASES])
@pytest.mark.parametrize(("spec", "wire"), [t for t in TARGETS if t[1] is Wire.OPENAI_CHAT],
                         ids=[i for i, t in zip(IDS, TARGETS, strict=True) if t[1] is Wire.OPENAI_CHAT])
def test_the_issue_cases_plain(spec: Any, wire: Wire, name: str, path: tuple[Any, ...], junk: Any) -> None:
    decode_plain(spec, wire, _replace(OPENAI_REPLY, path, junk))


STREAM_CASES = [
    ("finish_reason", (5, "choices", 0, "finish_reason"), {}),
    ("index", (2, "choices", 0, "index"), None),
    ("delta", (2, "choices", 0, "delta"), []),
    ("tool_calls", (3, "choices", 0, "delta", "tool_calls"), ["x"]),
    ("choices", (2, "choices"), {"0": 1}),
    ("usage", (6, "usage"), [1]),
]


@pytest.mark.parametrize(("name", "path", "junk"), STREAM_CASES, ids=[c[0] for c in STREAM_CASES])
@pytest.mark.parametrize(("spec", "wire"), [t for t in TARGETS if t[1] is Wire.OPENAI_CHAT],
                         ids=[i for i, t in zip(IDS, TARGETS, strict=True) if t[1] is Wire.OPENAI_CHAT])
def test_the_issue_cases_streamed(spec: Any, wire: Wire, name: str, path: tuple[Any, ...], junk: Any) -> None:
    decode_stream(spec, wire, _replace(OPENAI_EVENTS, path, junk))


@pytest.mark.parametrize(("spec", "wire"), TARGETS, ids=IDS)
def test_deeply_nested_json_text_is_malformed(spec: Any, wire: Wire) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    decoder = CODECS[wire].stream_decoder(spec, model="m")
    with pytest.raises(MalformedResponseError) as info:
        decoder.feed("message_start", deep)
    assert info.value.__cause__ is None and info.value.__context__ is None  # no JSONDecodeError.doc kept
    decode_plain(spec, wire, _deep(100_000))
