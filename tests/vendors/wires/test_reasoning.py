"""Inline <think>: the streamed answer and reasoning equal the plain decoder's for every split of the text."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import router
from router.emulator import Emulator
from tests.conftest import KEY
from vendors import registry
from vendors.wires.accumulate import Accumulator
from vendors.wires.openai_chat import CODEC
from vendors.wires.reasoning import ThinkSplitter, split_think

MINIMAX = registry.get("minimax")
TOKENS = st.sampled_from(["<think>", "</think>", "<thi", "nk>", "</th", "ink>", "\n", "\n\n", " ", "a", "b c", "é",
                          "☕", "<", ">", "think"])
TEXTS = st.lists(TOKENS, max_size=14).map("".join)
# What the emulator's MiniMax profile writes inline, and answers that themselves start with a tag.
RECORDED = ["<think>\nThe user says hi.\n</think>\n\nHello! How can I help?",
            "<think>\nr\n</think>\n\n<think>not reasoning</think> answer",
            "<think>unterminated thinking that was cut", "  <think> a </think>  b  ", "<thinking>x</thinking>",
            "plain answer <think>later</think>", "<think></think>\n\n", "\n\n<think>\nx\n</think>\n\ny"]


def _cuts(text: str) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, len(text)), max_size=8)


def _pieces(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(text)}), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _stream(pieces: list[str]) -> tuple[str, str]:
    splitter = ThinkSplitter()
    reasoning, answer = "", ""
    for piece in pieces:
        r, a = splitter.feed(piece)
        reasoning, answer = reasoning + r, answer + a
    r, a = splitter.close()
    return reasoning + r, answer + a


def _plain(text: str) -> tuple[str, str]:
    reasoning, answer = split_think(text)
    return reasoning or "", answer


@pytest.mark.parametrize("text", RECORDED)
def test_every_two_way_split_of_the_recorded_texts(text: str) -> None:
    for i in range(len(text) + 1):
        assert _stream([text[:i], text[i:]]) == _plain(text), i
    assert _stream(list(text)) == _plain(text)  # one character per chunk


def test_a_boundary_right_after_the_close_tag() -> None:
    assert _stream(["<think>r</think>", "\n\nHello"]) == ("r", "Hello") == _plain("<think>r</think>\n\nHello")


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_split_of_any_text(data: st.DataObject) -> None:
    text = data.draw(st.one_of(TEXTS, st.sampled_from(RECORDED)))
    assert _stream(_pieces(text, data.draw(_cuts(text)))) == _plain(text)


def _decode_stream(pieces: list[str]) -> tuple[str, str]:
    decoder = CODEC.stream_decoder(MINIMAX, model="MiniMax-M3")
    acc = Accumulator(vendor="minimax", model="MiniMax-M3")
    events = [{"id": "c", "choices": [{"index": 0, "delta": {"role": "assistant", "content": p}}]} for p in pieces]
    events.append({"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    for event in events:
        for chunk in decoder.feed("", json.dumps(event)):
            acc.add(chunk)
    for chunk in decoder.feed("", "[DONE]"):
        acc.add(chunk)
    return acc.reasoning, acc.text


def _decode_plain(text: str) -> tuple[str, str]:
    body = {"id": "c", "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
                                                                                  "content": text}}]}
    message = CODEC.decode_response(body, MINIMAX, model="MiniMax-M3").choices[0].message
    return message.reasoning_content or "", message.content or ""


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_minimax_decoders_agree_for_any_split(data: st.DataObject) -> None:
    text = data.draw(st.one_of(TEXTS, st.sampled_from(RECORDED)))
    assert _decode_stream(_pieces(text, data.draw(_cuts(text)))) == _decode_plain(text)


@pytest.mark.parametrize("prompt", ["Hi", "What is 2+2?", "Explain the weather in one line", "say unicode"])
def test_through_the_emulator_one_character_per_chunk(emu: Emulator, prompt: str) -> None:
    emu.set_options("minimax", inline_think_split="chars", thinking=True)
    kw: dict[str, Any] = {"api_key": KEY, "base_url": emu.base_url("minimax"), "num_retries": 0,
                          "extra_body": {"reasoning_split": False}}  # inline <think> in content
    messages = [{"role": "user", "content": prompt}]
    plain = router.completion("minimax/MiniMax-M3", messages, **kw).choices[0].message
    stream = router.completion("minimax/MiniMax-M3", messages, stream=True, **kw)
    for _ in stream:
        pass
    streamed = stream.response.choices[0].message
    assert plain.reasoning_content and plain.content
    assert (streamed.content, streamed.reasoning_content) == (plain.content, plain.reasoning_content)
    assert not streamed.content.startswith("\n")
