"""The gateway's OpenAI Chat Completions wire: check a client's request body, encode Responses and Chunks back."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from vendors.errors import InvalidRequestError
from vendors.types import Chunk, Response

__all__ = ["ACCEPTED", "chunk_bytes", "cost_text", "parse_request", "response_body", "usage_body"]

# What a client may send. Everything that would point the server somewhere else (api_key, base_url,
# extra_headers, extra_body, region, wire) is absent on purpose: vendor keys and hosts are the server's.
ACCEPTED = frozenset({
    "model", "messages", "stream", "stream_options", "reasoning_effort", "tools", "tool_choice",
    "parallel_tool_calls", "response_format", "temperature", "top_p", "max_tokens", "max_completion_tokens",
    "stop", "seed", "n", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
    "user", "metadata", "drop_params",
})
_JSON_SEPARATORS = (",", ":")


def nearest(name: str, known: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_request(body: Any, *, max_messages: int) -> tuple[str, list[Any], bool, dict[str, Any]]:
    """(model, messages, stream, keyword arguments for Router.acompletion) or InvalidRequestError naming the field."""
    if not isinstance(body, dict):
        raise InvalidRequestError(f"the request body must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - ACCEPTED)
    if unknown:
        raise InvalidRequestError(f"unknown field {unknown[0]!r}{nearest(unknown[0], ACCEPTED)}. "
                                  f"Accepted: {', '.join(sorted(ACCEPTED))}", body={"param": unknown[0]})
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequestError("'model' is required and must be a non-empty string", body={"param": "model"})
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("'messages' is required and must be a non-empty list of {role, content} objects",
                                  body={"param": "messages"})
    if len(messages) > max_messages:
        raise InvalidRequestError(f"'messages' has {len(messages)} items; this gateway accepts at most "
                                  f"{max_messages}", body={"param": "messages"})
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str):
            raise InvalidRequestError(f"messages[{i}] must be an object with a string 'role'",
                                      body={"param": f"messages[{i}]"})
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise InvalidRequestError("'stream' must be true or false", body={"param": "stream"})
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise InvalidRequestError("'stream_options' must be an object", body={"param": "stream_options"})
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidRequestError("'metadata' must be an object of string values", body={"param": "metadata"})
    kwargs = {k: v for k, v in body.items() if k not in ("model", "messages", "stream") and v is not None}
    return model, messages, stream, kwargs


def cost_text(cost: Any) -> str | None:
    """Exact decimal text of a Cost's total, None when unpriced."""
    return None if cost is None else format(cost.total, "f")


def usage_body(usage: Any, cost: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                           "total_tokens": usage.total_tokens or usage.prompt_tokens + usage.completion_tokens,
                           "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
                           "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
                           # Money as exact decimal text (as Response.model_dump(mode="json") gives it).
                           "cost": cost_text(cost),
                           "cost_estimated": bool(usage.estimated or (cost is not None and cost.estimated))}
    if usage.cache_write_tokens:
        out["prompt_tokens_details"]["cache_write_tokens"] = usage.cache_write_tokens
    return out


def _message(msg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"role": "assistant", "content": msg.content}
    if msg.reasoning_content is not None:
        out["reasoning_content"] = msg.reasoning_content
    if msg.tool_calls:
        out["tool_calls"] = [{"id": c.id, "type": c.type or "function",
                              "function": {"name": c.function.name, "arguments": c.function.arguments}}
                             for c in msg.tool_calls]
    # Replay material: a client that sends the message back keeps thinking signatures and reasoning details.
    if msg.thinking_blocks:
        out["thinking_blocks"] = msg.thinking_blocks
    if msg.reasoning_details:
        out["reasoning_details"] = msg.reasoning_details
    return out


def response_body(resp: Response) -> dict[str, Any]:
    """The OpenAI chat.completion object for a Response, usage.cost included."""
    return {
        "id": resp.id or "chatcmpl-farebox", "object": "chat.completion", "created": resp.created,
        "model": resp.model,
        "choices": [{"index": c.index, "message": _message(c.message), "finish_reason": c.finish_reason or "stop",
                     "logprobs": None} for c in resp.choices],
        "usage": usage_body(resp.usage, resp.cost),
        "system_fingerprint": None,
    }


def _delta(delta: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if delta.role is not None:
        out["role"] = delta.role
    if delta.content is not None:
        out["content"] = delta.content
    if delta.reasoning_content is not None:
        out["reasoning_content"] = delta.reasoning_content
    if delta.tool_calls:
        calls = []
        for c in delta.tool_calls:
            call: dict[str, Any] = {"index": c.index or 0}
            if c.id is not None:
                call["id"] = c.id
                call["type"] = c.type or "function"
            fn: dict[str, Any] = {}
            if c.function.name is not None:
                fn["name"] = c.function.name
            fn["arguments"] = c.function.arguments or ""
            call["function"] = fn
            calls.append(call)
        out["tool_calls"] = calls
    if delta.thinking_blocks:
        out["thinking_blocks"] = delta.thinking_blocks
    if delta.reasoning_details:
        out["reasoning_details"] = delta.reasoning_details
    return out


def chunk_dict(chunk: Chunk, *, usage: Any = None, cost: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": chunk.id or "chatcmpl-farebox", "object": "chat.completion.chunk", "created": chunk.created,
        "model": chunk.model,
        "choices": [{"index": c.index, "delta": _delta(c.delta), "finish_reason": c.finish_reason}
                    for c in chunk.choices],
    }
    if usage is not None:
        out["usage"] = usage_body(usage, cost)
    return out


def chunk_bytes(chunk: Chunk | Mapping[str, Any], **kw: Any) -> bytes:
    """One SSE `data:` event for a chunk (a Chunk, or an already-built dict)."""
    data = chunk if isinstance(chunk, Mapping) else chunk_dict(chunk, **kw)
    return b"data: " + json.dumps(data, separators=_JSON_SEPARATORS, ensure_ascii=False).encode() + b"\n\n"
