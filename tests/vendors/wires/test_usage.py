"""docs/vendors.md §7.4 usage mapping, row by row: vendors.wires.usage.parse_usage and the Anthropic codec (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import vendors
from vendors.errors import MalformedResponseError
from vendors.types import Usage
from vendors.wires import anthropic_messages
from vendors.wires.openai_chat import StreamDecoder, decode_response
from vendors.wires.usage import parse_usage

DEEPSEEK, MINIMAX, OPENAI, ANTHROPIC = (vendors.get(n) for n in ("deepseek", "minimax", "openai", "anthropic"))


def usage(raw: Any, spec: Any = OPENAI, *, stream: bool = False) -> Usage | None:
    return parse_usage(raw, spec=spec, model="m", stream=stream)


def row(u: Usage) -> tuple[int, int, int, int, int, int]:
    """(prompt, completion, total, cache_hit, cache_miss, reasoning) as in the §7.4 table."""
    return (u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cached_tokens,
            u.prompt_tokens - u.cached_tokens, u.reasoning_tokens)


# -- Reasonix normaliseUsage rows ---------------------------------------------------------------

def test_deepseek_hit_and_miss() -> None:
    raw = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120,
           "prompt_cache_hit_tokens": 80, "prompt_cache_miss_tokens": 20}
    assert row(usage(raw, DEEPSEEK)) == (100, 20, 120, 80, 20, 0)


def test_openai_minimax_cached_tokens() -> None:
    raw = {"prompt_tokens": 170, "completion_tokens": 303, "total_tokens": 473,
           "prompt_tokens_details": {"cached_tokens": 157}}
    assert row(usage(raw, MINIMAX)) == (170, 303, 473, 157, 13, 0)


def test_reasoning_tokens_are_not_lost() -> None:
    raw = {"prompt_tokens": 170, "completion_tokens": 303, "total_tokens": 473,
           "prompt_tokens_details": {"cached_tokens": 157}, "completion_tokens_details": {"reasoning_tokens": 180}}
    assert row(usage(raw, MINIMAX)) == (170, 303, 473, 157, 13, 180)


def test_anthropic_style_object() -> None:
    raw = {"input_tokens": 10, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100, "output_tokens": 7}
    u = usage(raw)
    assert row(u) == (115, 7, 122, 100, 15, 0)
    assert u.cache_write_tokens == 5


@pytest.mark.parametrize(("raw", "writes"), [
    # Anthropic's split of cache writes by duration (Errata): 5-minute and 1-hour, summed in cache_creation_input_tokens
    ({"input_tokens": 10, "cache_creation_input_tokens": 30, "cache_read_input_tokens": 0, "output_tokens": 1,
      "cache_creation": {"ephemeral_5m_input_tokens": 10, "ephemeral_1h_input_tokens": 20}}, (30, 20)),
    # a compatible server that sends only the split: the writes are its sum
    ({"input_tokens": 10, "output_tokens": 1,
      "cache_creation": {"ephemeral_5m_input_tokens": 4, "ephemeral_1h_input_tokens": 6}}, (10, 6)),
    # no split: every write is a 5-minute one
    ({"input_tokens": 10, "cache_creation_input_tokens": 7, "output_tokens": 1}, (7, 0)),
])
def test_anthropic_cache_writes_by_duration(raw: dict[str, Any], writes: tuple[int, int]) -> None:
    u = usage(raw, ANTHROPIC)
    assert (u.cache_write_tokens, u.cache_write_1h_tokens) == writes
    assert u.prompt_tokens == 10 + writes[0]


def test_anthropic_cache_split_must_be_counts() -> None:
    with pytest.raises(MalformedResponseError, match=r"cache_creation\.ephemeral_1h_input_tokens"):
        usage({"input_tokens": 1, "cache_creation": {"ephemeral_1h_input_tokens": -1}}, ANTHROPIC)


def test_anthropic_codec_reads_the_same_row() -> None:
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 10, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100,
                      "output_tokens": 7}}
    u = anthropic_messages.decode_response(body, ANTHROPIC, model="claude-sonnet-4-6").usage
    assert row(u) == (115, 7, 122, 100, 15, 0) and u.cache_write_tokens == 5


def test_anthropic_stream_usage_from_start_and_delta() -> None:
    dec = anthropic_messages.StreamDecoder(ANTHROPIC, model="claude-sonnet-4-6")
    events = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "content": [],
            "usage": {"input_tokens": 10, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100,
                      "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "hi"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": {"output_tokens": 7}}),  # cumulative: replaces the 1 of message_start
        ("message_stop", {"type": "message_stop"}),
    ]
    chunks = [c for name, obj in events for c in dec.feed(name, json.dumps(obj))] + dec.finish()
    with_usage = [c.usage for c in chunks if c.usage is not None]
    assert len(with_usage) == 1 and row(with_usage[0]) == (115, 7, 122, 100, 15, 0)


def test_total_zero_is_recomputed() -> None:
    assert row(usage({"prompt_tokens": 50, "completion_tokens": 0, "total_tokens": 0})) == (50, 0, 50, 0, 50, 0)


def test_no_cache_fields() -> None:
    """Reasonix reports cache_miss 0 when there is no hit; Farebox keeps no miss field: the uncached part
    is prompt - cached, which is what pricing bills at the input rate."""
    u = usage({"prompt_tokens": 40, "completion_tokens": 2, "total_tokens": 42,
               "prompt_tokens_details": {"cached_tokens": 0}})
    assert (u.cached_tokens, u.prompt_tokens) == (0, 40)
    assert usage({"prompt_tokens": 40, "completion_tokens": 2, "total_tokens": 42}).cached_tokens == 0


# -- GodeX mapMiniMaxUsage rows ------------------------------------------------------------------

def test_minimax_zeros_preserved() -> None:
    raw = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3,
           "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}
    assert row(usage(raw, MINIMAX)) == (1, 2, 3, 0, 1, 0)


def test_null_or_absent_usage_is_none() -> None:
    assert usage(None, MINIMAX) is None
    assert usage(None, MINIMAX, stream=True) is None


def test_partial_stream_usage_is_skipped() -> None:
    assert usage({"total_tokens": 0, "total_characters": 0}, MINIMAX, stream=True) is None
    dec = StreamDecoder(MINIMAX, model="MiniMax-M3")
    chunk = {"id": "x", "choices": [], "usage": {"total_tokens": 0, "total_characters": 0}}
    assert dec.feed("", json.dumps(chunk)) == []  # no usage delta emitted


@pytest.mark.parametrize(("raw", "what"), [
    ({"prompt_tokens": "1", "completion_tokens": 2, "total_tokens": 3}, "prompt_tokens"),
    ({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3,
      "completion_tokens_details": {"reasoning_tokens": "bad"}}, "reasoning_tokens"),
    ({"prompt_tokens": 1, "completion_tokens": float("nan"), "total_tokens": 3}, "completion_tokens"),
    ({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": float("inf")}, "total_tokens"),
    ({"prompt_tokens": -1, "completion_tokens": 2, "total_tokens": 3}, "prompt_tokens"),
    ({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3,
      "prompt_tokens_details": {"cached_tokens": 2.5}}, "cached_tokens"),
    ({"prompt_tokens": True, "completion_tokens": 2, "total_tokens": 3}, "prompt_tokens"),
    ([1, 2, 3], "object"),
])
def test_invalid_usage_is_malformed(raw: Any, what: str) -> None:
    with pytest.raises(MalformedResponseError, match=what) as info:
        usage(raw, MINIMAX)
    assert info.value.vendor == "minimax"


def test_invalid_usage_in_a_reply_is_malformed() -> None:
    body = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "a"},
                                    "finish_reason": "stop"}], "usage": {"prompt_tokens": "1"}}
    with pytest.raises(MalformedResponseError):
        decode_response(body, MINIMAX, model="MiniMax-M3")


def test_integral_floats_are_counts() -> None:
    assert row(usage({"prompt_tokens": 3.0, "completion_tokens": 2.0, "total_tokens": 5.0})) == (3, 2, 5, 0, 3, 0)


def test_godex_deepseek_hit_goes_to_cached() -> None:
    raw = {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11, "prompt_cache_hit_tokens": 4}
    assert usage(raw, DEEPSEEK).cached_tokens == 4


def test_anthropic_usage_rejects_bad_counts() -> None:
    body = {"id": "m", "type": "message", "role": "assistant", "content": [], "stop_reason": "end_turn",
            "usage": {"input_tokens": "10", "output_tokens": 1}}
    with pytest.raises(MalformedResponseError):
        anthropic_messages.decode_response(body, ANTHROPIC, model="claude-sonnet-4-6")


counts = st.integers(min_value=0, max_value=10**9)


@given(prompt=counts, completion=counts, cached=counts, reasoning=counts)
def test_parsed_usage_is_consistent(prompt: int, completion: int, cached: int, reasoning: int) -> None:
    raw = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
           "prompt_tokens_details": {"cached_tokens": cached},
           "completion_tokens_details": {"reasoning_tokens": reasoning}}
    u = usage(raw, MINIMAX)
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert 0 <= u.cached_tokens <= u.prompt_tokens and 0 <= u.reasoning_tokens <= u.completion_tokens


def test_anthropic_counts_take_integral_floats_and_thinking_tokens() -> None:
    # One parser for both Anthropic paths: the Messages codec and an Anthropic-style object on the OpenAI wire.
    raw = {"input_tokens": 12.0, "output_tokens": 9, "cache_read_input_tokens": 3.0,
           "output_tokens_details": {"thinking_tokens": 6.0}}
    via_messages = anthropic_messages.decode_response(
        {"id": "m", "type": "message", "role": "assistant", "content": [], "stop_reason": "end_turn", "usage": raw},
        ANTHROPIC, model="claude-sonnet-4-6").usage
    via_openai_wire = usage(raw, MINIMAX)
    for u in (via_messages, via_openai_wire):
        assert (u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.reasoning_tokens) == (15, 9, 3, 6)


@pytest.mark.parametrize("value", [12.5, float("nan"), -1, "12", True])
def test_anthropic_counts_refuse_what_is_not_a_count(value: Any) -> None:
    body = {"id": "m", "type": "message", "role": "assistant", "content": [], "stop_reason": "end_turn",
            "usage": {"input_tokens": value, "output_tokens": 1}}
    with pytest.raises(MalformedResponseError, match="input_tokens"):
        anthropic_messages.decode_response(body, ANTHROPIC, model="claude-sonnet-4-6")
    with pytest.raises(MalformedResponseError, match="input_tokens"):
        usage({"input_tokens": value, "output_tokens": 1}, MINIMAX)
