"""Encode an OpenAI-shaped ChatRequest as an Anthropic Messages request body."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from vendors.errors import InvalidRequestError, UnsupportedParamError
from vendors.spec import RequestContext, VendorSpec
from vendors.types import PLAIN_BLOCKS, ChatRequest

__all__ = ["encode_request"]

_TOOL_CHOICE = {"auto": {"type": "auto"}, "required": {"type": "any"}, "any": {"type": "any"},
                "none": {"type": "none"}}
# OpenAI parameters with no Messages equivalent; the lead's capability check normally drops them first.
_NO_EQUIVALENT = frozenset({"seed", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs",
                            "logit_bias"})
_SYSTEM_ROLES = frozenset({"system", "developer"})


def encode_request(req: ChatRequest, spec: VendorSpec, ctx: RequestContext) -> dict[str, Any]:
    """The Messages body for `req`: system hoisted, roles alternating, params renamed."""
    system, messages = _convert_messages(req.messages)
    body: dict[str, Any] = {"model": req.model}
    if system is not None:
        body["system"] = system
    body["messages"] = messages
    _encode_params(body, req.params, spec, req.model)
    if req.stream:
        body["stream"] = True
    _merge(body, req.effort_body)
    _merge(body, req.extra_body)
    return body


def _merge(body: dict[str, Any], fragment: Mapping[str, Any]) -> None:
    # Nested merge so effort's output_config.effort and a caller's output_config.format coexist.
    for key, value in fragment.items():
        if isinstance(value, Mapping) and isinstance(body.get(key), dict):
            merged = dict(body[key])
            _merge(merged, value)
            body[key] = merged
        else:
            body[key] = value


def _unsupported(name: str, why: str, spec: VendorSpec, model: str) -> UnsupportedParamError:
    return UnsupportedParamError(f"{name} is not supported on the Anthropic Messages wire: {why}",
                                 vendor=spec.name, model=model)


def _encode_params(body: dict[str, Any], params: Mapping[str, Any], spec: VendorSpec, model: str) -> None:
    max_tokens = params.get("max_tokens", params.get("max_completion_tokens"))
    # Messages requires max_tokens; the spec's default stands in when the caller gave none.
    body["max_tokens"] = spec.default_max_tokens if max_tokens is None else max_tokens
    if not params:  # the usual call with no parameters: nothing below applies
        return
    for name in ("temperature", "top_p", "top_k"):
        if params.get(name) is not None:
            body[name] = params[name]
    stop = params.get("stop")
    if stop:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    metadata = params.get("metadata")
    # Messages metadata accepts only user_id; other keys are Farebox's own cost tags.
    user_id = params.get("user") or (metadata.get("user_id") if isinstance(metadata, Mapping) else None)
    if user_id:
        body["metadata"] = {"user_id": user_id}
    if params.get("tools"):
        body["tools"] = [_tool(t) for t in params["tools"]]
    # parallel_tool_calls=False alone only means something (and is only accepted) when tools are sent.
    serial = params.get("parallel_tool_calls") is False and bool(params.get("tools"))
    choice = _tool_choice(params.get("tool_choice"), serial)
    if choice is not None:
        body["tool_choice"] = choice
    fmt = params.get("response_format")
    fmt_type = fmt.get("type") if isinstance(fmt, Mapping) else fmt
    if fmt_type not in (None, "text"):
        raise _unsupported("response_format", f"{fmt_type!r} has no Messages equivalent", spec, model)
    for name in _NO_EQUIVALENT & params.keys():
        if params[name] is not None:
            raise _unsupported(name, "no Messages equivalent", spec, model)
    if params.get("n") not in (None, 1):
        raise _unsupported("n", "one choice per request", spec, model)


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    fn = tool.get("function")
    if not isinstance(fn, Mapping):
        return dict(tool)  # already Messages-shaped (server tools, input_schema given)
    out: dict[str, Any] = {"name": fn["name"]}
    if fn.get("description"):
        out["description"] = fn["description"]
    out["input_schema"] = fn.get("parameters") or {"type": "object"}
    if "cache_control" in tool:
        out["cache_control"] = tool["cache_control"]
    return out


def _tool_choice(choice: Any, serial: bool) -> dict[str, Any] | None:
    if choice is None:
        out = None
    elif isinstance(choice, str):
        if choice not in _TOOL_CHOICE:
            raise InvalidRequestError(f"unknown tool_choice {choice!r}")
        out = dict(_TOOL_CHOICE[choice])
    elif isinstance(choice, Mapping) and choice.get("type") == "function":
        out = {"type": "tool", "name": choice["function"]["name"]}
    else:
        out = dict(choice)  # already Messages-shaped
    if serial and (out is None or out.get("type") != "none"):
        out = out or {"type": "auto"}
        out["disable_parallel_tool_use"] = True
    return out


def _convert_messages(messages: list[Any]) -> tuple[Any, list[dict[str, Any]]]:
    system: list[Any] = []
    out: list[dict[str, Any]] = []
    for raw in messages:
        # A dict (as build_request leaves every message) first: hasattr on a dict raises and catches inside.
        msg = raw if type(raw) is dict else raw.model_dump(exclude_none=True) if hasattr(raw, "model_dump") else raw
        role = msg.get("role")
        if role in _SYSTEM_ROLES:
            system.append(_with_cache(msg, msg.get("content") or ""))
            continue
        if role == "assistant":
            content: Any = _assistant_blocks(msg)
            if not content:
                continue  # Messages rejects empty content; an empty turn carries nothing anyway
        elif role == "user":
            content = _with_cache(msg, _user_content(msg.get("content")))
        elif role == "tool":
            content = [_tool_result(msg)]
            role = "user"
        else:
            raise InvalidRequestError(f"unknown message role {role!r}")
        if out and out[-1]["role"] == role:
            # Messages requires alternating roles: tool results and a following user turn become one.
            out[-1]["content"] = _as_blocks(out[-1]["content"]) + _as_blocks(content)
        else:
            out.append({"role": role, "content": content})
    return _system(system), out


def _system(parts: list[Any]) -> Any:
    if not parts:
        return None
    blocks = [block for p in parts for block in _as_blocks(_user_content(p))]
    if not blocks:
        return None
    # A plain string unless some part asks for caching, which only a block can carry.
    if any("cache_control" in b for b in blocks):
        return blocks
    return "\n\n".join(b.get("text", "") for b in blocks)


def _with_cache(msg: Mapping[str, Any], content: Any) -> Any:
    # A message-level cache_control (LiteLLM convention) marks the message's last block.
    cache = msg.get("cache_control")
    if cache is None:
        return content
    blocks = _as_blocks(content)
    if blocks:
        blocks[-1] = {**blocks[-1], "cache_control": cache}
    return blocks


def _as_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [b for b in content if not (b.get("type") == "text" and not b.get("text"))]


def _user_content(content: Any) -> Any:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return [_part(p) for p in content]


def _part(part: Any) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    kind = part.get("type")
    if kind == "text":
        block: dict[str, Any] = {"type": "text", "text": part.get("text", "")}
    elif kind == "image_url":
        image = part["image_url"]
        block = _image(image["url"] if isinstance(image, Mapping) else image)
    else:
        return dict(part)  # a Messages-native block (document, image, ...) passes through
    if "cache_control" in part:
        block["cache_control"] = part["cache_control"]
    return block


def _image(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not sep or encoding != "base64":
            raise InvalidRequestError("image data URLs must be base64 (data:<type>;base64,<data>)")
        return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _unedited(msg: Mapping[str, Any], kept: list[Any]) -> bool:
    """True when content and tool_calls still say what `content_blocks` says (the caller changed neither)."""
    text = "".join(b.get("text") or "" for b in kept if b.get("type") == "text")
    content = msg.get("content")
    if not (content == text or (content is None and not text)):
        return False
    ids = [b.get("id") for b in kept if b.get("type") == "tool_use"]
    return ids == [c.get("id") for c in msg.get("tool_calls") or ()]


def _assistant_blocks(msg: Mapping[str, Any]) -> list[dict[str, Any]]:
    # A reply with server-tool (or other non-OpenAI) blocks is replayed exactly as received, in its order:
    # server_tool_use must precede its result, and citations live on the text blocks.
    kept = [b for b in msg.get("content_blocks") or () if isinstance(b, Mapping)]
    if kept and _unedited(msg, kept):
        return [dict(b) for b in kept]
    # Thinking blocks go first and verbatim: their signatures cover the exact content.
    # Bare reasoning_content without blocks is dropped: Messages refuses unsigned thinking.
    blocks = [dict(b) for b in msg.get("thinking_blocks") or ()]
    # Edited text or tool calls: the server-tool blocks keep their order, then the caller's content.
    blocks += [dict(b) for b in kept if b.get("type") not in PLAIN_BLOCKS]
    blocks += _as_blocks(_user_content(msg.get("content")))
    for call in msg.get("tool_calls") or ():
        fn = call.get("function") or {}
        blocks.append({"type": "tool_use", "id": call.get("id"), "name": fn.get("name"),
                       "input": _arguments(fn.get("arguments"), call.get("id"))})
    return blocks


def _arguments(arguments: Any, call_id: Any) -> Any:
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if not arguments:
        return {}
    try:
        value = json.loads(arguments)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"tool call {call_id}: arguments are not JSON") from exc
    if not isinstance(value, dict):
        raise InvalidRequestError(f"tool call {call_id}: arguments must be a JSON object")
    return value


def _tool_result(msg: Mapping[str, Any]) -> dict[str, Any]:
    call_id = msg.get("tool_call_id")
    if not call_id:
        raise InvalidRequestError("a tool message needs tool_call_id")
    content = _user_content(msg.get("content"))
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id, "content": content}
    if msg.get("cache_control") is not None:
        block["cache_control"] = msg["cache_control"]
    return block
