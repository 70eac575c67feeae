"""The gateway's Anthropic Messages wire, the reverse of vendors/wires/anthropic_*: a client's Messages request
becomes OpenAI-shaped messages and parameters; a Response or a stream of Chunks becomes Messages JSON or SSE."""

from __future__ import annotations

import json
from typing import Any

from router.gateway.openai_codec import cost_text, nearest
from vendors.errors import InvalidRequestError

__all__ = ["ACCEPTED", "MessagesStream", "parse_request", "response_body"]

ACCEPTED = frozenset({"model", "messages", "system", "max_tokens", "stream", "temperature", "top_p", "top_k",
                      "stop_sequences", "tools", "tool_choice", "metadata", "thinking", "output_config"})
_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
_SEP = (",", ":")


def _bad(message: str, param: str | None = None) -> InvalidRequestError:
    return InvalidRequestError(message, body={"param": param} if param else None)


def _text_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _bad(f"{where} must be a string or a list of content blocks", where)
    for i, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _bad(f"{where}[{i}] must be a content block object with a 'type'", f"{where}[{i}]")
    return content


def _user_part(block: dict[str, Any]) -> dict[str, Any]:
    kind = block["type"]
    if kind == "image":
        source = block.get("source") or {}
        if source.get("type") == "base64":
            part = {"type": "image_url",
                    "image_url": {"url": f"data:{source.get('media_type')};base64,{source.get('data')}"}}
        else:
            part = {"type": "image_url", "image_url": {"url": source.get("url")}}
    else:
        part = dict(block)  # text, document, ...: the Anthropic encoder passes native blocks through
    return part


def _tool_result_text(content: Any) -> Any:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return [_user_part(b) for b in content if isinstance(b, dict)]


def _convert(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list) or not messages:
        raise _bad("'messages' is required and must be a non-empty list of {role, content} objects", "messages")
    out: list[dict[str, Any]] = []
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant"):
            raise _bad(f"{where} must be an object with role 'user' or 'assistant'", where)
        blocks = _text_blocks(msg.get("content"), f"{where}.content")
        if msg["role"] == "user":
            parts: list[dict[str, Any]] = []
            for block in blocks:
                if block["type"] == "tool_result":
                    # OpenAI's shape: one tool message per result, ahead of the user's own text.
                    out.append({"role": "tool", "tool_call_id": block.get("tool_use_id"),
                                "content": _tool_result_text(block.get("content"))})
                else:
                    parts.append(_user_part(block))
            if parts:
                simple = all(p.get("type") == "text" and set(p) <= {"type", "text"} for p in parts)
                out.append({"role": "user",
                            "content": "".join(p["text"] for p in parts) if simple and len(parts) == 1 else parts})
            continue
        text: list[str] = []
        reasoning: list[str] = []
        thinking: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        for block in blocks:
            kind = block["type"]
            if kind == "text":
                text.append(block.get("text") or "")
            elif kind == "thinking":
                reasoning.append(block.get("thinking") or "")
                if block.get("signature"):
                    thinking.append(block)  # signed: replayed verbatim; unsigned thinking is never sent back
            elif kind == "redacted_thinking":
                thinking.append(block)
            elif kind == "tool_use":
                calls.append({"id": block.get("id"), "type": "function",
                              "function": {"name": block.get("name"),
                                           "arguments": json.dumps(block.get("input") or {}, separators=_SEP)}})
        message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
        if thinking:
            message["thinking_blocks"] = thinking
        if reasoning and not thinking:
            message["reasoning_content"] = "".join(reasoning)
        if calls:
            message["tool_calls"] = calls
        out.append(message)
    return out


def _effort(thinking: Any, output_config: Any) -> str | None:
    if isinstance(output_config, dict) and isinstance(output_config.get("effort"), str):
        return output_config["effort"]
    if thinking is None:
        return None
    if not isinstance(thinking, dict):
        raise _bad("'thinking' must be an object such as {'type': 'enabled', 'budget_tokens': 4096}", "thinking")
    kind = thinking.get("type")
    if kind in ("disabled", "adaptive"):
        return kind
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int):
            return "enabled"
        # Farebox speaks one effort vocabulary; a budget maps onto it (each vendor's profile does the rest).
        return "low" if budget <= 2048 else "medium" if budget <= 8192 else "high"
    raise _bad(f"thinking.type must be enabled, adaptive or disabled, got {kind!r}", "thinking")


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise _bad("'tools' must be a list", "tools")
    out = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise _bad(f"tools[{i}] must be an object with a 'name'", f"tools[{i}]")
        fn: dict[str, Any] = {"name": tool["name"], "parameters": tool.get("input_schema") or {"type": "object"}}
        if tool.get("description"):
            fn["description"] = tool["description"]
        out.append({"type": "function", "function": fn})
    return out


def _tool_choice(choice: Any, kwargs: dict[str, Any]) -> None:
    if not isinstance(choice, dict):
        raise _bad("'tool_choice' must be an object such as {'type': 'auto'}", "tool_choice")
    kind = choice.get("type")
    if kind == "tool":
        kwargs["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
    elif kind in ("auto", "any", "none"):
        kwargs["tool_choice"] = {"auto": "auto", "any": "required", "none": "none"}[kind]
    else:
        raise _bad(f"tool_choice.type must be auto, any, tool or none, got {kind!r}", "tool_choice")
    if choice.get("disable_parallel_tool_use"):
        kwargs["parallel_tool_calls"] = False


def parse_request(body: Any, *, max_messages: int) -> tuple[str, list[dict[str, Any]], bool, dict[str, Any]]:
    """(model, OpenAI-shaped messages, stream, keyword arguments for Router.acompletion)."""
    if not isinstance(body, dict):
        raise _bad(f"the request body must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - ACCEPTED)
    if unknown:
        raise _bad(f"unknown field {unknown[0]!r}{nearest(unknown[0], ACCEPTED)}. Accepted: "
                   f"{', '.join(sorted(ACCEPTED))}", unknown[0])
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("'model' is required and must be a non-empty string", "model")
    max_tokens = body.get("max_tokens")
    if type(max_tokens) is not int or max_tokens < 1:
        raise _bad("'max_tokens' is required and must be a positive integer", "max_tokens")
    raw = body.get("messages")
    if isinstance(raw, list) and len(raw) > max_messages:
        raise _bad(f"'messages' has {len(raw)} items; this gateway accepts at most {max_messages}", "messages")
    messages = _convert(raw)
    system = body.get("system")
    if system is not None:
        blocks = _text_blocks(system, "system")
        plain = all(set(b) <= {"type", "text"} for b in blocks)
        messages.insert(0, {"role": "system",
                            "content": "\n\n".join(b.get("text", "") for b in blocks) if plain else blocks})
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad("'stream' must be true or false", "stream")
    kwargs: dict[str, Any] = {"max_tokens": max_tokens}
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            kwargs[name] = body[name]
    if body.get("stop_sequences"):
        kwargs["stop"] = body["stop_sequences"]
    if body.get("tools"):
        kwargs["tools"] = _tools(body["tools"])
    if body.get("tool_choice") is not None:
        _tool_choice(body["tool_choice"], kwargs)
    effort = _effort(body.get("thinking"), body.get("output_config"))
    if effort is not None:
        kwargs["reasoning_effort"] = effort
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and metadata.get("user_id"):
        kwargs["user"] = str(metadata["user_id"])
    return model, messages, stream, kwargs


def usage_body(usage: Any, cost: Any) -> dict[str, Any]:
    read, write = usage.cached_tokens, usage.cache_write_tokens
    return {"input_tokens": max(usage.prompt_tokens - read - write, 0), "output_tokens": usage.completion_tokens,
            "cache_read_input_tokens": read, "cache_creation_input_tokens": write,
            "cost": cost_text(cost), "cost_estimated": bool(usage.estimated or (cost is not None and cost.estimated))}


def _blocks(msg: Any) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [dict(b) for b in msg.thinking_blocks or ()]
    if not blocks and msg.reasoning_content:
        # Another vendor's reasoning: shown as thinking; unsigned, so it is not replayed to an Anthropic model.
        blocks.append({"type": "thinking", "thinking": msg.reasoning_content, "signature": ""})
    if msg.content:
        blocks.append({"type": "text", "text": msg.content})
    for call in msg.tool_calls or ():
        try:
            args = json.loads(call.function.arguments or "{}")
        except ValueError:
            args = {"_raw": call.function.arguments}
        blocks.append({"type": "tool_use", "id": call.id, "name": call.function.name, "input": args})
    return blocks


def response_body(resp: Any) -> dict[str, Any]:
    """A Response as a Messages `message` object; usage carries the cost."""
    choice = resp.choices[0] if resp.choices else None
    return {"id": resp.id or "msg_farebox", "type": "message", "role": "assistant", "model": resp.model,
            "content": _blocks(choice.message) if choice else [],
            "stop_reason": _STOP.get(choice.finish_reason or "stop", "end_turn") if choice else "end_turn",
            "stop_sequence": None, "usage": usage_body(resp.usage, resp.cost)}


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: ".encode() + json.dumps(data, separators=_SEP, ensure_ascii=False).encode() + b"\n\n"


class MessagesStream:
    """Chunks in, Messages SSE events out: message_start, one content block at a time, message_delta, message_stop."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.started = False
        self.index = -1
        self.open: str | None = None       # "thinking", "text" or "tool_use"
        self.tool: int | None = None       # the OpenAI tool index of the open tool_use block
        self.finish: str | None = None

    def _start(self, chunk: Any) -> bytes:
        self.started = True
        return _event("message_start", {"type": "message_start", "message": {
            "id": chunk.id or "msg_farebox", "type": "message", "role": "assistant", "model": chunk.model or self.model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0}}})

    def _close(self) -> bytes:
        if self.open is None:
            return b""
        self.open, self.tool = None, None
        return _event("content_block_stop", {"type": "content_block_stop", "index": self.index})

    def _begin(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close()
        self.index += 1
        self.open = kind
        return out + _event("content_block_start", {"type": "content_block_start", "index": self.index,
                                                    "content_block": block})

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return _event("content_block_delta", {"type": "content_block_delta", "index": self.index, "delta": delta})

    def chunk(self, chunk: Any) -> bytes:
        out = b"" if self.started else self._start(chunk)
        for choice in chunk.choices[:1]:
            d = choice.delta
            if d.reasoning_content:
                if self.open != "thinking":
                    out += self._begin("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                out += self._delta({"type": "thinking_delta", "thinking": d.reasoning_content})
            for block in d.thinking_blocks or ():
                # The vendor's complete block arrives at its end: its signature closes the open thinking block.
                if block.get("type") == "redacted_thinking":
                    out += self._begin("redacted_thinking", dict(block))
                    out += self._close()
                    continue
                if self.open != "thinking":
                    out += self._begin("thinking", {"type": "thinking", "thinking": "", "signature": ""})
                    if block.get("thinking"):
                        out += self._delta({"type": "thinking_delta", "thinking": block["thinking"]})
                if block.get("signature"):
                    out += self._delta({"type": "signature_delta", "signature": block["signature"]})
                out += self._close()
            if d.content:
                if self.open != "text":
                    out += self._begin("text", {"type": "text", "text": ""})
                out += self._delta({"type": "text_delta", "text": d.content})
            for call in d.tool_calls or ():
                if call.id is not None or self.open != "tool_use" or (call.index or 0) != self.tool:
                    out += self._begin("tool_use", {"type": "tool_use", "id": call.id, "name": call.function.name,
                                                    "input": {}})
                    self.tool = call.index or 0
                if call.function.arguments:
                    out += self._delta({"type": "input_json_delta", "partial_json": call.function.arguments})
            if choice.finish_reason is not None:
                self.finish = choice.finish_reason
        return out

    def end(self, response: Any) -> bytes:
        out = b"" if self.started else self._start(response)
        out += self._close()
        reason = self.finish or (response.choices[0].finish_reason if response.choices else None) or "stop"
        out += _event("message_delta", {"type": "message_delta",
                                        "delta": {"stop_reason": _STOP.get(reason, "end_turn"), "stop_sequence": None},
                                        "usage": usage_body(response.usage, response.cost)})
        return out + _event("message_stop", {"type": "message_stop"})

    def error(self, err: Any) -> bytes:
        return _event("error", json.loads(err.anthropic_body()))
