"""Anthropic server tools (issue 14 item 1, research/wire.md §1): server_tool_use and its results, MCP blocks and
unknown block types decoded in JSON and streams into message.content_blocks (never tool_calls), replayed
verbatim, their tool types passed through, the betas they need sent; the anthropic SDK parses the same bytes."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import anthropic
import pytest

import router
from router.emulator import Emulator
from vendors import errors as e

KEY = "sk-ant-api03-0123456789abcdef"
MODEL = "claude-sonnet-4-6"
HI = [{"role": "user", "content": "Find quantum news"}]
SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
FETCH = {"type": "web_fetch_20250910", "name": "web_fetch"}
CODE = {"type": "code_execution_20250825", "name": "code_execution"}
CODE_LEGACY = {"type": "code_execution_20250522", "name": "code_execution"}
TOOL_SEARCH = {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
MCP = [{"type": "url", "url": "https://mcp.example.com/sse", "name": "example-mcp"}]


@pytest.fixture
async def twins() -> AsyncIterator[tuple[Emulator, Emulator]]:
    """Two emulators with one seed: the n-th request to each gets byte-identical answers."""
    async with Emulator(seed=7) as a, Emulator(seed=7) as b:
        yield a, b


async def farebox(emu: Emulator, *, stream: bool = False, messages: list[Any] | None = None, **kw: Any) -> Any:
    resp = await router.acompletion(f"anthropic/{MODEL}", messages or HI, api_key=KEY,
                                    base_url=emu.base_url("anthropic"), num_retries=0, stream=stream,
                                    max_tokens=1024, **kw)
    if not stream:
        return resp, None
    chunks = [c async for c in resp]
    return resp.response, chunks


def sdk_client(emu: Emulator) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=emu.base_url("anthropic"), api_key=KEY, max_retries=0)


async def sdk(emu: Emulator, *, stream: bool, beta: bool = False, **kw: Any) -> list[dict[str, Any]]:
    """The anthropic SDK's parse of the same request: its message content as plain dicts."""
    client = sdk_client(emu)
    messages = client.beta.messages if beta else client.messages
    args = {"model": MODEL, "max_tokens": 1024, "messages": HI, **kw}
    try:
        if stream:
            async with messages.stream(**args) as s:
                final = await s.get_final_message()
        else:
            final = await messages.create(**args)
    finally:
        await client.close()
    return [b.to_dict() for b in final.content]


def anthropic_tools(*tools: dict[str, Any]) -> list[dict[str, Any]]:
    """Farebox's OpenAI-shaped function tools as the SDK sends them (server tools are the same on both)."""
    out = []
    for t in tools:
        fn = t.get("function")
        out.append({"name": fn["name"], "input_schema": fn["parameters"]} if fn else t)
    return out


# ── decoding: Farebox and the SDK agree on the same emulator bytes ───────────────────────────────────────
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("tools", [[SEARCH], [FETCH], [CODE], [CODE_LEGACY], [TOOL_SEARCH, WEATHER],
                                   [SEARCH, FETCH, CODE, WEATHER]],
                         ids=["search", "fetch", "code", "code-legacy", "tool-search", "all"])
async def test_server_tool_blocks_match_the_sdk(twins: tuple[Emulator, Emulator], stream: bool,
                                                tools: list[dict[str, Any]]) -> None:
    ours, theirs = twins
    prompt = [{"role": "user", "content": "weather and news from https://example.com/a"}]
    resp, chunks = await farebox(ours, stream=stream, tools=tools, messages=prompt)
    client = sdk_client(theirs)
    try:
        args = {"model": MODEL, "max_tokens": 1024, "messages": prompt, "tools": anthropic_tools(*tools)}
        if stream:
            async with client.messages.stream(**args) as s:
                final = await s.get_final_message()
        else:
            final = await client.messages.create(**args)
    finally:
        await client.close()
    expected = [b.to_dict() for b in final.content]
    msg = resp.message
    assert msg.content_blocks == expected
    kinds = {b["type"] for b in msg.server_tool_blocks}
    assert kinds and kinds <= {"server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
                               "code_execution_tool_result", "bash_code_execution_tool_result",
                               "text_editor_code_execution_tool_result", "tool_search_tool_result"}
    # tool_calls hold client tools only: the server ran its own.
    assert [c.function.name for c in msg.tool_calls or ()] == (["get_weather"] if WEATHER in tools else [])
    assert msg.content == "".join(b.text for b in final.content if b.type == "text")
    if stream:
        live = [b for c in chunks for ch in c.choices for b in ch.delta.server_tool_blocks or ()]
        assert live == msg.server_tool_blocks      # each block shows up once it is complete
        names = {tc.function.name for c in chunks for ch in c.choices for tc in ch.delta.tool_calls or ()
                 if tc.function.name}
        assert names <= {"get_weather"}


async def test_web_search_usage_is_carried_and_priced(twins: tuple[Emulator, Emulator]) -> None:
    for stream in (False, True):
        resp, _ = await farebox(twins[0], stream=stream, tools=[SEARCH, FETCH])
        assert (resp.usage.web_search_requests, resp.usage.web_fetch_requests) == (1, 1)
        assert not resp.usage.estimated
        # $10 per 1,000 searches; fetches cost only their tokens (Anthropic pricing page, research/wire.md §1.5).
        cost = resp.cost
        assert (cost.web_search, cost.web_search_requests) == (Decimal("0.010"), 1)
        assert cost.total == cost.input + cost.cache_read + cost.cache_write + cost.output + Decimal("0.01")
    plain, _ = await farebox(twins[0], tools=[FETCH])
    assert plain.cost.web_search == 0 and plain.usage.web_fetch_requests == 1


async def test_mcp_blocks_match_the_beta_sdk_and_send_the_beta(twins: tuple[Emulator, Emulator]) -> None:
    ours, theirs = twins
    for stream in (False, True):
        resp, _ = await farebox(ours, stream=stream, extra_body={"mcp_servers": MCP})
        rec = ours.last_request("anthropic")
        assert rec.headers["anthropic-beta"] == "mcp-client-2025-11-20"
        assert rec.body["mcp_servers"] == MCP
        expected = await sdk(theirs, stream=stream, beta=True, mcp_servers=MCP, betas=["mcp-client-2025-11-20"])
        assert resp.message.content_blocks == expected
        assert [b["type"] for b in resp.message.server_tool_blocks] == ["mcp_tool_use", "mcp_tool_result"]
        assert resp.message.tool_calls is None


async def test_the_callers_betas_are_kept_and_merged(twins: tuple[Emulator, Emulator]) -> None:
    emu = twins[0]
    await farebox(emu, extra_body={"mcp_servers": MCP}, extra_headers={"anthropic-beta": "context-1m-2025-08-07"})
    assert emu.last_request().headers["anthropic-beta"] == "context-1m-2025-08-07,mcp-client-2025-11-20"
    # A caller who picked the newer MCP connector version keeps it alone.
    await farebox(emu, extra_body={"mcp_servers": MCP}, extra_headers={"Anthropic-Beta": "mcp-client-2026-09-15"})
    assert emu.last_request().headers["anthropic-beta"] == "mcp-client-2026-09-15"
    # GA server tools need no beta at all.
    await farebox(emu, tools=[SEARCH, FETCH, CODE])
    assert "anthropic-beta" not in emu.last_request().headers


async def test_computer_use_gets_its_beta(twins: tuple[Emulator, Emulator], session: Any) -> None:
    emu = twins[0]
    computer = {"type": "computer_20251124", "name": "computer", "display_width_px": 1024,
                "display_height_px": 768}
    await farebox(emu, tools=[computer])
    rec = emu.last_request()
    assert rec.headers["anthropic-beta"] == "computer-use-2025-11-24" and rec.body["tools"] == [computer]
    # Without it the emulator refuses, as the API does.
    body = {"model": MODEL, "max_tokens": 10, "messages": HI, "tools": [computer]}
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    async with session.post(emu.base_url("anthropic") + "/v1/messages", json=body, headers=headers) as r:
        assert r.status == 400 and "computer-use-2025-11-24" in (await r.json())["error"]["message"]


async def test_server_tool_types_pass_through_and_unknown_ones_are_refused(twins: tuple[Emulator, Emulator]) -> None:
    emu = twins[0]
    dated = [{"type": "web_search_20260318", "name": "web_search", "response_inclusion": "full"},
             {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"},
             {"type": "memory_20250818", "name": "memory"},
             {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}]
    await farebox(emu, tools=dated)
    assert emu.last_request().body["tools"] == dated           # verbatim
    emu.clear()
    with pytest.raises(e.UnsupportedParamError, match=r"'bogus_20250101'.*web_search_"):
        await farebox(emu, tools=[{"type": "bogus_20250101", "name": "x"}])
    assert emu.requests == []
    with pytest.raises(e.UnsupportedParamError, match="web_search_20250305"):   # not on other vendors
        await router.acompletion("deepseek/deepseek-v4-flash", HI, api_key=KEY, tools=[SEARCH],
                                 base_url=emu.base_url("deepseek"))


# ── replay: the assistant turn goes back byte for byte, as thinking blocks do ──────────────────────────────
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_server_tool_turn_round_trips_verbatim(twins: tuple[Emulator, Emulator], stream: bool) -> None:
    emu = twins[0]
    resp, _ = await farebox(emu, stream=stream, tools=[SEARCH, CODE], reasoning_effort="high")
    blocks = copy.deepcopy(resp.message.content_blocks)
    assert blocks[0]["type"] == "thinking" and any(b.get("citations") for b in blocks if b["type"] == "text")
    history = [*HI, resp.message, {"role": "user", "content": "thanks"}]
    await farebox(emu, messages=history, tools=[SEARCH, CODE])
    sent = emu.last_request().body["messages"]
    assert sent[1] == {"role": "assistant", "content": blocks}
    # A tampered result is refused by the emulator as the API refuses a broken server-tool history.
    bad = resp.message.model_copy(deep=True)
    next(b for b in bad.content_blocks if b["type"] == "web_search_tool_result")["content"][0]["url"] = "x"
    with pytest.raises(e.InvalidRequestError, match="encrypted_content"):
        await farebox(emu, messages=[*HI, bad, {"role": "user", "content": "again"}], tools=[SEARCH])


async def test_edited_message_keeps_server_blocks_in_order(twins: tuple[Emulator, Emulator]) -> None:
    emu = twins[0]
    resp, _ = await farebox(emu, tools=[SEARCH])
    edited = resp.message.model_copy(update={"content": "shorter"})
    await farebox(emu, messages=[*HI, edited, {"role": "user", "content": "ok"}], tools=[SEARCH])
    sent = emu.last_request().body["messages"][1]["content"]
    assert sent == [*resp.message.server_tool_blocks, {"type": "text", "text": "shorter"}]


async def test_openai_wire_never_receives_content_blocks(twins: tuple[Emulator, Emulator]) -> None:
    emu = twins[0]
    resp, _ = await farebox(emu, tools=[SEARCH])
    await router.acompletion("deepseek/deepseek-v4-flash", [*HI, resp.message, {"role": "user", "content": "ok"}],
                             api_key=KEY, base_url=emu.base_url("deepseek"))
    assert "content_blocks" not in emu.last_request("deepseek").body["messages"][1]


# ── unknown future blocks are tolerated and kept ──────────────────────────────────────────────────────────
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_unknown_block_types_are_kept(twins: tuple[Emulator, Emulator], stream: bool) -> None:
    ours, theirs = twins
    for emu in twins:
        emu.set_options("anthropic", future_blocks=True)
    resp, _ = await farebox(ours, stream=stream, tools=[SEARCH])
    future = [b for b in resp.message.content_blocks if b["type"] == "emulator_future_block"]
    assert future == [{"type": "emulator_future_block", "id": future[0]["id"], "detail": {"kept": True}}]
    assert future[0] in resp.message.server_tool_blocks
    assert resp.message.content_blocks == await sdk(theirs, stream=stream, tools=[SEARCH])
    await farebox(ours, messages=[*HI, resp.message, {"role": "user", "content": "ok"}], tools=[SEARCH])
    assert ours.last_request().body["messages"][1]["content"] == resp.message.content_blocks


async def test_plain_replies_have_no_content_blocks(twins: tuple[Emulator, Emulator]) -> None:
    for stream in (False, True):
        resp, _ = await farebox(twins[0], stream=stream, tools=[WEATHER],
                                messages=[{"role": "user", "content": "weather?"}])
        assert resp.message.content_blocks is None and resp.message.server_tool_blocks == []
        assert resp.message.tool_calls[0].function.name == "get_weather"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_code_execution_container_is_exposed(twins: tuple[Emulator, Emulator], stream: bool) -> None:
    ours, theirs = twins
    resp, _ = await farebox(ours, stream=stream, tools=[CODE])
    client = sdk_client(theirs)
    try:
        args = {"model": MODEL, "max_tokens": 1024, "messages": HI, "tools": [CODE]}
        if stream:
            async with client.messages.stream(**args) as s:
                final = await s.get_final_message()
        else:
            final = await client.messages.create(**args)
    finally:
        await client.close()
    container = resp.message.container
    assert container["id"] == final.container.id and container["id"].startswith("container_")
    # Reused only when asked: the id goes back through extra_body, never by itself.
    await farebox(ours, messages=[*HI, resp.message, {"role": "user", "content": "again"}], tools=[CODE])
    assert "container" not in ours.last_request().body
    await farebox(ours, messages=[*HI, resp.message, {"role": "user", "content": "again"}], tools=[CODE],
                  extra_body={"container": container["id"]})
    assert ours.last_request().body["container"] == container["id"]
    plain, _ = await farebox(ours, stream=stream, tools=[SEARCH])
    assert plain.message.container is None


async def test_twins_serve_the_same_bytes(twins: tuple[Emulator, Emulator], session: Any) -> None:
    # What makes the SDK comparisons above fair: both parsers read one byte stream, served twice.
    body = {"model": MODEL, "max_tokens": 64, "messages": HI, "stream": True, "tools": [SEARCH, CODE],
            "mcp_servers": MCP}
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01", "anthropic-beta": "mcp-client-2025-11-20"}
    raw = []
    for emu in twins:
        async with session.post(emu.base_url("anthropic") + "/v1/messages", json=body, headers=headers) as r:
            raw.append(await r.read())
    assert raw[0] == raw[1] and b"server_tool_use" in raw[0] and b"mcp_tool_result" in raw[0]
