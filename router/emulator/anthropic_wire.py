"""Anthropic Messages wire: message JSON, the exact SSE event sequence, thinking signatures (docs/vendors.md §5)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

from .answers import Plan, pieces
from .openai_wire import argument_fragments
from .sse import Event

_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def sign(seed: int, thinking: str) -> str:
    """Deterministic base64 signature bound to exactly this thinking text (HMAC keyed by the seed)."""
    mac = hmac.new(f"farebox-emulator/{seed}".encode(), thinking.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(b"\x12\x30EMU" + mac + mac[:13]).decode("ascii")


def verify(seed: int, thinking: str, signature: Any) -> bool:
    return isinstance(signature, str) and hmac.compare_digest(sign(seed, thinking), signature)


def stop_reason(plan: Plan) -> str:
    return _STOP.get(plan.finish, plan.finish)


def usage(plan: Plan, output_tokens: int | None = None) -> dict[str, Any]:
    # input_tokens excludes cache reads on this wire; the router adds them back (docs/vendors.md §7.4).
    # cache_creation splits the writes by duration; cache_creation_input_tokens is their sum.
    written = plan.cache_write_5m_tokens + plan.cache_write_1h_tokens
    out: dict[str, Any] = {
        "input_tokens": plan.prompt_tokens - plan.cache_hit_tokens - written,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": plan.cache_hit_tokens,
        "output_tokens": plan.completion_tokens if output_tokens is None else output_tokens,
    }
    if written:
        out["cache_creation"] = {"ephemeral_5m_input_tokens": plan.cache_write_5m_tokens,
                                 "ephemeral_1h_input_tokens": plan.cache_write_1h_tokens}
    if plan.server_usage is not None and output_tokens is None:
        out["server_tool_use"] = dict(plan.server_usage)   # counted once the tools ran: not in message_start
    return out


def content_blocks(plan: Plan, seed: int) -> list[dict[str, Any]]:
    """thinking → server-tool blocks (use, result, ...) → text (with its citations) → tool_use."""
    blocks: list[dict[str, Any]] = []
    if plan.reasoning:
        blocks.append({"type": "thinking", "thinking": plan.reasoning, "signature": sign(seed, plan.reasoning)})
    blocks.extend(dict(b) for b in plan.server_blocks)
    if plan.text and plan.citations:
        blocks.append({"type": "text", "text": plan.text, "citations": [dict(c) for c in plan.citations]})
    elif plan.text:
        blocks.append({"type": "text", "text": plan.text})
    if plan.tool_call is not None:
        call = plan.tool_call
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments})
    return blocks


def message_body(msg_id: str, plan: Plan, seed: int) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": content_blocks(plan, seed),
        "stop_reason": stop_reason(plan),
        "stop_sequence": None,
        "usage": usage(plan),
        **({"container": dict(plan.container)} if plan.container else {}),
    }


def _block_events(index: int, block: dict[str, Any], chunk_words: int) -> Iterator[Event]:
    kind = block["type"]
    start: dict[str, Any]
    if kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces(block["thinking"], chunk_words)]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    elif kind == "text":
        start = {"type": "text", "text": ""}
        # Citations stream as citations_delta ahead of the text they cite (research/wire.md §1.4).
        deltas = [{"type": "citations_delta", "citation": c} for c in block.get("citations") or ()]
        deltas += [{"type": "text_delta", "text": p} for p in pieces(block["text"], chunk_words)]
    elif kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
        # server_tool_use opens without input, as Anthropic's web search streaming example shows.
        start = {k: v for k, v in block.items() if k != "input"}
        if kind != "server_tool_use":
            start["input"] = {}
        args = json.dumps(block["input"], ensure_ascii=False)
        deltas = [{"type": "input_json_delta", "partial_json": f} for f in argument_fragments(args)]
    else:
        # Results (and unknown future blocks) arrive whole in content_block_start, with no deltas.
        start, deltas = block, []
        if kind == "emulator_future_block":
            deltas = [{"type": "emulator_future_delta", "detail": "ignored by clients"}]
    yield Event.json({"type": "content_block_start", "index": index, "content_block": start}, "content_block_start")
    for delta in deltas:
        yield Event.json({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta")
    yield Event.json({"type": "content_block_stop", "index": index}, "content_block_stop")


def stream_events(msg_id: str, plan: Plan, seed: int, chunk_words: int = 3) -> Iterator[Event]:
    """message_start, blocks (thinking → text → tool_use), a ping, message_delta, message_stop."""
    start = message_body(msg_id, plan, seed)
    start.update(content=[], stop_reason=None, stop_sequence=None, usage=usage(plan, output_tokens=1))
    start.pop("container", None)
    yield Event.json({"type": "message_start", "message": start}, "message_start")
    blocks = content_blocks(plan, seed)
    if not blocks:
        yield Event.json({"type": "ping"}, "ping")
    for index, block in enumerate(blocks):
        yield from _block_events(index, block, chunk_words)
        if index == 0:
            yield Event.json({"type": "ping"}, "ping")  # pings can arrive between any events (§5)
    delta = {"type": "message_delta", "delta": {"stop_reason": stop_reason(plan), "stop_sequence": None}}
    if plan.container:
        delta["delta"]["container"] = dict(plan.container)   # the SDK copies it onto the message snapshot
    delta["usage"] = {"output_tokens": plan.completion_tokens}
    if plan.server_usage is not None:
        delta["usage"]["server_tool_use"] = dict(plan.server_usage)   # cumulative, as on message_delta
    yield Event.json(delta, "message_delta", final=True)
    yield Event.json({"type": "message_stop"}, "message_stop", final=True)


def error_event(payload: dict[str, Any]) -> Event:
    return Event.json(payload, "error")
