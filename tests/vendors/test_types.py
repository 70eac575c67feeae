"""The objects built without validation on the hot paths are the ones validation would build."""

from __future__ import annotations

import json

import pytest

from vendors import registry
from vendors.errors import MalformedResponseError
from vendors.types import Attempt, Chunk, Usage, text_chunk, trusted
from vendors.wires import anthropic_messages, openai_chat


def same(built, validated) -> None:
    assert built == validated
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
    assert built.model_fields_set == validated.model_fields_set


@pytest.mark.parametrize("field", ["content", "reasoning_content"])
def test_text_chunk_is_the_validated_chunk(field) -> None:
    same(text_chunk("c1", 7, "m", "openai", field, "hi", 0, None),
         Chunk.model_validate({"id": "c1", "created": 7, "model": "m", "vendor": "openai",
                               "choices": [{"index": 0, "delta": {field: "hi"}, "finish_reason": None}],
                               "usage": None}))
    same(text_chunk("c1", 7, "m", "anthropic", field, "hi"),
         Chunk(id="c1", created=7, model="m", vendor="anthropic", choices=[{"delta": {field: "hi"}}]))


def test_a_text_chunk_is_independent_and_mutable() -> None:
    a, b = text_chunk("c", 1, "m", "v", "content", "x", 0, "stop"), text_chunk("c", 1, "m", "v", "content", "y")
    a.usage = Usage(prompt_tokens=1)
    assert b.usage is None and a.choices is not b.choices and b.choices[0].delta.content == "y"
    assert a["choices"][0]["finish_reason"] == "stop"


def test_trusted_takes_defaults_and_factories_as_validation_does() -> None:
    same(trusted(Usage, prompt_tokens=3, completion_tokens=2, total_tokens=5),
         Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5))
    one = trusted(Attempt, vendor="openai", model="m", base_url="https://api.openai.com/v1", ok=True)
    same(one, Attempt(vendor="openai", model="m", base_url="https://api.openai.com/v1", ok=True))


def test_decoded_text_deltas_match_validation_and_junk_still_fails() -> None:
    spec = registry.get("openai")
    got = openai_chat.CODEC.stream_decoder(spec, model="m").feed(
        "", '{"id":"x","created":5,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}')
    same(got[0], Chunk.model_validate({"id": "x", "created": 5, "model": "m", "vendor": "openai", "usage": None,
                                       "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}))
    with pytest.raises(MalformedResponseError):
        openai_chat.CODEC.stream_decoder(spec, model="m").feed(
            "", '{"id":"x","choices":[{"index":0,"delta":{"role":5},"finish_reason":null}]}')
    decoder = anthropic_messages.CODEC.stream_decoder(registry.get("anthropic"), model="m")
    decoder.feed("message_start", '{"type":"message_start","message":{"id":"m1","model":"c","usage":{}}}')
    with pytest.raises(MalformedResponseError):
        decoder.feed("content_block_delta",
                     '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":5}}')


@pytest.mark.parametrize("role", [None, "assistant", "first"])
@pytest.mark.parametrize(("vendor", "field", "index"), [("openai", "content", 0), ("openai", "content", 2),
                                                        ("deepseek", "reasoning_content", 0)])
def test_the_decoders_usual_text_chunk_is_the_validated_one(vendor, field, index, role) -> None:
    """OpenAI-wire chunks of one text field (and a first chunk's role with it) take a direct path in
    StreamDecoder.feed: the same chunk."""
    decoder = openai_chat.StreamDecoder(registry.get(vendor), model="m")
    delta = {field: "hé"} if role is None else {"role": "assistant", field: "hé"}
    if role == "first":
        delta = {field: "hé", "role": "assistant"}
    event = {"id": "c1", "created": 7, "model": "m2",
             "choices": [{"index": index, "delta": delta, "finish_reason": None, "logprobs": None}]}
    [built] = decoder.feed("", json.dumps(event))
    same(built, Chunk.model_validate({"id": "c1", "created": 7, "model": "m2", "vendor": vendor, "usage": None,
                                      "choices": [{"index": index, "delta": delta, "finish_reason": None}]}))


@pytest.mark.parametrize("delta", [{"role": "", "content": "hi"}, {"role": 5, "content": "hi"},
                                   {"role": "assistant", "content": ""}, {"role": "assistant", "refusal": "no"}])
def test_a_first_chunk_the_direct_path_does_not_take_decodes_as_before(delta) -> None:
    """MiniMax's empty role, a wrong role, empty content: the general path decides, as it always did."""
    decoder = openai_chat.CODEC.stream_decoder(registry.get("openai"), model="m")
    event = json.dumps({"id": "c1", "created": 7, "model": "m2", "choices": [{"index": 0, "delta": delta}]})
    if delta["role"] == 5:
        with pytest.raises(MalformedResponseError):
            decoder.feed("", event)
        return
    [built] = decoder.feed("", event)
    want = {k: v for k, v in delta.items() if v and k in ("role", "content")}
    assert built.choices[0].delta.model_dump(exclude_none=True) == want


def test_minimax_text_still_goes_through_its_think_tag_splitter() -> None:
    decoder = openai_chat.StreamDecoder(registry.get("minimax"), model="MiniMax-M2")
    chunks = [c for text in ("<think>plan", "ning</think>", "Hi") for c in decoder.feed("", json.dumps(
        {"id": "c1", "created": 7, "model": "m", "choices": [{"index": 0, "delta": {"content": text}}]}))]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hi"
    assert "".join(c.choices[0].delta.reasoning_content or "" for c in chunks) == "planning"
