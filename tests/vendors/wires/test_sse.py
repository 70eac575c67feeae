"""SSEParser at every byte boundary (pure and property-based), then real random-split and CRLF streams."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import router
from router.emulator import Emulator
from vendors.wires.sse import SSEParser

Event = tuple[str, str]
KEY = "sk-api-SECRET-abcdefghijklmnop"


def parse(pieces: list[bytes]) -> list[Event]:
    parser = SSEParser()
    out: list[Event] = []
    for piece in pieces:
        out.extend(parser.feed(piece))
    out.extend(parser.close())
    return out


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def every_two_way_split(data: bytes) -> list[list[bytes]]:
    return [[data[:i], data[i:]] for i in range(len(data) + 1)]


# -- fixed examples -------------------------------------------------------------------------------

SAMPLE = (
    'data: {"a":1}\n\n'
    ": keep-alive\n\n"
    "event: message_start\n"
    'data: {"type":"message_start","text":"café ☕"}\n\n'
    'data:{"nospace":true}\n\n'
    "data: line one\n"
    "data: line two\n\n"
    "data: [DONE]\n\n"
).encode()
SAMPLE_EVENTS = [
    ("", '{"a":1}'),
    ("message_start", '{"type":"message_start","text":"café ☕"}'),
    ("", '{"nospace":true}'),
    ("", "line one\nline two"),
    ("", "[DONE]"),
]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_line_endings_whole(newline: str) -> None:
    data = SAMPLE.decode().replace("\n", newline).encode()
    assert parse([data]) == SAMPLE_EVENTS


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_every_two_way_split(newline: str) -> None:
    data = SAMPLE.decode().replace("\n", newline).encode()
    for pieces in every_two_way_split(data):
        assert parse(pieces) == SAMPLE_EVENTS, pieces


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_byte_at_a_time(newline: str) -> None:
    data = SAMPLE.decode().replace("\n", newline).encode()
    assert parse([data[i : i + 1] for i in range(len(data))]) == SAMPLE_EVENTS


def test_split_inside_utf8_character() -> None:
    data = 'data: ☕ café\n\n'.encode()
    first_multi = next(i for i, b in enumerate(data) if b >= 0x80)
    for cut in range(first_multi + 1, first_multi + 3):  # inside the 3-byte ☕
        assert parse([data[:cut], data[cut:]]) == [("", "☕ café")]


def test_split_between_cr_and_lf_is_one_line_end() -> None:
    # "\r" then "\n" in the next read is one CRLF, not a line end plus an empty line (which would dispatch).
    pieces = [b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]
    assert parse(pieces) == [("", "a\nb")]


def test_comments_and_keepalives_only() -> None:
    assert parse([b": ping\n\n:\n\n: keep-alive\r\n\r\n"]) == []


def test_event_name_resets_after_dispatch() -> None:
    data = b"event: ping\ndata: {}\n\ndata: x\n\n"
    assert parse([data]) == [("ping", "{}"), ("", "x")]


def test_event_without_data_is_not_dispatched() -> None:
    assert parse([b"event: lonely\n\ndata: y\n\n"]) == [("", "y")]


def test_only_one_leading_space_is_stripped() -> None:
    assert parse([b"data:  two spaces\n\n"]) == [("", " two spaces")]
    assert parse([b"data:\n\n"]) == [("", "")]


def test_unterminated_last_event_dispatched_at_close() -> None:
    assert parse([b"data: tail"]) == [("", "tail")]
    assert parse([b"data: tail\r"]) == [("", "tail")]


def test_id_field_and_unknown_fields() -> None:
    parser = SSEParser()
    events = parser.feed(b"id: 42\nretry: 100\nfoo: bar\ndata: z\n\n")
    assert events == [("", "z")]
    assert parser.last_event_id == "42"


# -- property: serialise random events, split anywhere, parse back ---------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=30)
_event = st.tuples(
    st.one_of(st.just(""), st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=12)),
    st.lists(_text, min_size=1, max_size=3),
)


def serialise(events: list[tuple[str, list[str]]], newline: str, comments: bool) -> bytes:
    out: list[str] = []
    for name, lines in events:
        if comments:
            out.append(": keep-alive" + newline)
        if name:
            out.append(f"event: {name}{newline}")
        out.extend(f"data: {line}{newline}" for line in lines)
        out.append(newline)
    return "".join(out).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(_event, max_size=6),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    comments=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=25),
)
def test_roundtrip_any_split(events: list[tuple[str, list[str]]], newline: str, comments: bool,
                             cuts: list[int]) -> None:
    data = serialise(events, newline, comments)
    expected = [(name, "\n".join(lines)) for name, lines in events]
    assert parse(split_at(data, [c % (len(data) + 1) for c in cuts])) == expected


# -- through real sockets: the emulator re-splits its bytes at random offsets ----------------------

_PROMPT = [{"role": "user", "content": "say unicode and weather-free things"}]


def _stream_text(emu: Emulator, **opts: Any) -> tuple[str, Any, str]:
    emu.set_options(None, **opts)
    kw = {"api_key": KEY, "base_url": emu.base_url("openai")}
    stream = router.completion("openai/gpt-5.1", _PROMPT, stream=True, **kw)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    emu.set_options(None, split="event", crlf=False)
    plain = router.completion("openai/gpt-5.1", _PROMPT, **kw)
    return text, stream.response, plain.choices[0].message.content


@pytest.mark.parametrize("opts", [{"split": "random"}, {"crlf": True}, {"split": "random", "crlf": True}],
                         ids=["random-split", "crlf", "random-split+crlf"])
def test_emulator_stream_assembles(emu: Emulator, opts: dict[str, Any]) -> None:
    text, response, plain = _stream_text(emu, **opts)
    assert "café ☕ naïve" in text
    assert text == plain
    assert response.choices[0].message.content == plain
    assert response.choices[0].finish_reason == "stop"
    assert response.usage.total_tokens > 0 and not response.usage.estimated


async def test_emulator_stream_assembles_async_random_split_keepalive(emu: Emulator) -> None:
    # The compatible profile sends ": keep-alive" comment lines by default.
    emu.set_options("compatible", split="random", crlf=True)
    stream = await router.acompletion("compatible/local-model", _PROMPT, base_url=emu.base_url("compatible"),
                                      stream=True)
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts).endswith("café ☕ naïve")
    assert stream.response.choices[0].message.content == "".join(parts)


# -- caps, BOM, linear time ---------------------------------------------------------------------------

def test_an_over_long_line_is_malformed_whichever_way_it_arrives() -> None:
    from vendors.errors import MalformedResponseError

    line = b"data: " + b"x" * 5000
    for pieces in ([line], [line[:100], line[100:]], [line + b"\n\n"]):
        parser = SSEParser(vendor="openai", max_line_bytes=4096)
        with pytest.raises(MalformedResponseError, match="max_line_bytes") as info:
            for piece in pieces:
                parser.feed(piece)
            parser.close()
        assert info.value.vendor == "openai"


def test_an_over_long_event_is_malformed() -> None:
    from vendors.errors import MalformedResponseError

    parser = SSEParser(max_line_bytes=4096, max_event_bytes=8192)
    with pytest.raises(MalformedResponseError, match="max_event_bytes"):
        for _ in range(10):
            parser.feed(b"data: " + b"y" * 1000 + b"\n")


def test_the_default_caps() -> None:
    from vendors.wires import sse

    assert sse.get_limits() == (8 * 1024 * 1024, 16 * 1024 * 1024)


@pytest.mark.parametrize("cut", range(0, 8))
def test_a_leading_bom_keeps_the_first_event(cut: int) -> None:
    data = b"\xef\xbb\xbfdata: one\n\ndata: two\n\n"
    assert parse([data[:cut], data[cut:]]) == [("", "one"), ("", "two")]
    assert parse([b"data: x\n\n\xef\xbb\xbfdata: y\n\n"]) == [("", "x")]  # only a leading BOM is skipped


def test_a_16_mib_line_fed_in_64_kib_reads_is_one_event() -> None:
    # Linear time is shown by `python -m bench.sse_parse` (timings do not belong in tests on a shared machine).
    size = 16 << 20
    data = b"data: " + b"x" * size + b"\n\n"
    parser = SSEParser(max_line_bytes=size + 16, max_event_bytes=size + 16)
    events = []
    for i in range(0, len(data), 65536):
        events += parser.feed(data[i : i + 65536])
    assert [(name, len(text)) for name, text in events] == [("", size)]
