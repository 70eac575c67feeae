"""Check a caller's request against the target vendor's capabilities and build the ChatRequest."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

import pricing
from router.resolve import Target
from vendors.catalogue import vision
from vendors.effort import resolve_effort
from vendors.errors import InvalidRequestError, UnsupportedParamError
from vendors.spec import Caps
from vendors.types import ChatRequest

__all__ = ["CHECKED_EXTRA", "OPENAI_PARAMS", "RESERVED", "build_request"]

# Parameters with an OpenAI meaning: checked against the vendor's Caps. Other keyword arguments are
# vendor-specific body keys and go through verbatim.
OPENAI_PARAMS = frozenset(Caps().params | {"metadata", "top_k", "max_completion_tokens", "modalities",
                                           "prediction", "service_tier", "store", "reasoning"})
RESERVED = frozenset({"model", "messages", "stream"})
# Body keys the codecs build: given in extra_body they are checked and renamed like the named arguments,
# never sent around the capability checks (Reasonix reservedExtraBodyField, docs/vendors.md §7.3).
CHECKED_EXTRA = frozenset({"tools", "stream_options", "temperature", "max_tokens", "max_completion_tokens"})
_EFFORT_KEYS = frozenset({"thinking", "reasoning_effort", "output_config"})
_ROLES = frozenset({"system", "user", "assistant", "tool", "developer", "function"})


def _messages(messages: Any) -> list[dict[str, Any]]:
    if not isinstance(messages, list | tuple) or not messages:
        raise InvalidRequestError("messages must be a non-empty list of {'role': ..., 'content': ...} items")
    out: list[dict[str, Any]] = []
    for i, msg in enumerate(messages):
        if isinstance(msg, BaseModel):
            msg = msg.model_dump(exclude_none=True)
        if not isinstance(msg, Mapping):
            raise InvalidRequestError(
                f"messages[{i}] must be a dict with 'role' and 'content', got {type(msg).__name__}")
        role = msg.get("role")
        if role not in _ROLES:
            raise InvalidRequestError(f"messages[{i}].role is {role!r}; expected one of: {', '.join(sorted(_ROLES))}")
        content = msg.get("content")
        if content is not None and not isinstance(content, str | list):
            raise InvalidRequestError(f"messages[{i}].content must be a string or a list of parts")
        if role == "tool" and not msg.get("tool_call_id"):
            raise InvalidRequestError(f"messages[{i}] has role 'tool' but no tool_call_id")
        out.append(msg if isinstance(msg, dict) else dict(msg))
    return out


_IMAGE_PARTS = frozenset({"image_url", "image", "input_image"})


def _check_vision(target: Target, messages: list[dict[str, Any]]) -> None:
    """Image parts only go to models the catalogue says take them; unknown models are not refused."""
    where = next((f"messages[{i}].content[{j}]" for i, msg in enumerate(messages)
                  if isinstance(msg.get("content"), list)
                  for j, part in enumerate(msg["content"])
                  if isinstance(part, Mapping) and part.get("type") in _IMAGE_PARTS), None)
    if where is None or target.catalogue_id is None:
        return

    takes, others = vision(target.vendor, target.catalogue_id)
    if takes is False:
        hint = f"{target.vendor} models that take images: {', '.join(others)}" if others else \
            f"no {target.vendor} model in Farebox's catalogue takes images"
        raise UnsupportedParamError(f"{target.model} does not take image input ({where} is an image part)",
                                    vendor=target.vendor, model=target.model, hint=hint)


def _check_params(target: Target, params: dict[str, Any], drop: bool, dropped: list[str]) -> None:
    caps, vendor, model = target.spec.caps, target.vendor, target.model
    problems: list[tuple[str, str]] = []
    for name in list(params):
        if name not in caps.params and not (name == "max_completion_tokens" and "max_tokens" in caps.params):
            problems.append((name, f"{vendor} does not accept {name!r}"))
    if caps.max_n is not None and isinstance(params.get("n"), int) and params["n"] > caps.max_n:
        problems.append(("n", f"{vendor} accepts n up to {caps.max_n}"))
    fmt = params.get("response_format")
    if isinstance(fmt, Mapping) and fmt.get("type") not in caps.response_formats:
        problems.append(("response_format", f"{vendor} accepts response_format types: "
                                            f"{', '.join(sorted(caps.response_formats))}"))
    choice = params.get("tool_choice")
    mode = "function" if isinstance(choice, Mapping) else choice
    if mode is not None and mode not in caps.tool_choice:
        problems.append(("tool_choice", f"{vendor} accepts tool_choice: {', '.join(sorted(caps.tool_choice))}"))
    if target.spec.param_check is not None:
        problems.extend(target.spec.param_check(model, params))
    for name, why in problems:
        if not drop:
            raise UnsupportedParamError(f"{why} (parameter {name!r})", vendor=vendor, model=model,
                                        hint="pass drop_params=True to drop it and have it reported")
        params.pop(name, None)
        dropped.append(name)


def _check_tools(target: Target, params: dict[str, Any], drop: bool, dropped: list[str]) -> None:
    tools = params.get("tools")
    if tools is None:
        return
    caps, vendor, model = target.spec.caps, target.vendor, target.model
    if not isinstance(tools, list):
        raise InvalidRequestError("tools must be a list of tool definitions", vendor=vendor, model=model)
    kept = []
    for i, tool in enumerate(tools):
        kind = tool.get("type", "function") if isinstance(tool, Mapping) else None
        if kind is None:
            raise InvalidRequestError(f"tools[{i}] must be a dict", vendor=vendor, model=model)
        if kind in caps.tool_types or any(re.fullmatch(p, kind) for p in caps.tool_type_patterns):
            kept.append(tool)
        elif kind in caps.tool_degrade:
            kept.append({**tool, "type": caps.tool_degrade[kind]})
        elif drop:
            dropped.append(f"tools[{i}]")
        else:
            accepted = ", ".join([*sorted(caps.tool_types), *caps.tool_type_patterns])
            raise UnsupportedParamError(f"{vendor} does not accept tools of type {kind!r}; accepted: {accepted}",
                                        vendor=vendor, model=model)
    if caps.max_tools is not None and len(kept) > caps.max_tools:
        raise InvalidRequestError(f"{len(kept)} tools given; {vendor} accepts at most {caps.max_tools}",
                                  vendor=vendor, model=model)
    params["tools"] = kept


def _max_output(target: Target) -> int | None:
    """The model's maximum output tokens from the catalogue (None when unknown)."""
    if target.catalogue_id is None:
        return None

    try:
        return pricing.price(target.catalogue_id, vendor=target.vendor).max_output
    except LookupError:
        return None


def build_request(target: Target, messages: Any, params: dict[str, Any], extra: dict[str, Any], *,
                  effort: Any, stream: bool, drop_params: bool) -> tuple[ChatRequest, list[str], Any]:
    """(ChatRequest, dropped parameter names, EffortResult) — everything checked before any I/O."""
    msgs = _messages(messages)
    _check_vision(target, msgs)
    dropped: list[str] = []
    if extra:
        for key in RESERVED & extra.keys():
            raise InvalidRequestError(f"{key!r} cannot be set through extra body keys", vendor=target.vendor)
        for key in sorted(CHECKED_EXTRA & extra.keys()):
            if key in params:
                raise InvalidRequestError(f"{key!r} given both as an argument and in extra_body",
                                          vendor=target.vendor)
            params[key] = extra.pop(key)
    if params or target.spec.param_check is not None:
        _check_tools(target, params, drop_params, dropped)
        _check_params(target, params, drop_params, dropped)

    wire = target.wire
    max_tokens = params.get("max_tokens") or params.get("max_completion_tokens")
    if effort is None:  # the usual call: the same decision for every call with these inputs, kept on the target
        memo_key = ("effort", max_tokens, drop_params)
        result = target.memo.get(memo_key)
        if result is None:
            result = target.memo[memo_key] = resolve_effort(
                target.spec.effort_for(target.model, wire), None, wire=wire, vendor=target.vendor,
                model=target.model, max_tokens=max_tokens, drop_params=drop_params)
    else:
        result = resolve_effort(target.spec.effort_for(target.model, wire), effort, wire=wire, vendor=target.vendor,
                                model=target.model, max_tokens=max_tokens, drop_params=drop_params,
                                max_output=_max_output(target))
    for key in result.remove & extra.keys():
        if not drop_params:
            raise UnsupportedParamError(f"{target.vendor} {target.model} must not receive {key!r}",
                                        vendor=target.vendor, model=target.model,
                                        hint="use reasoning_effort=... and let Farebox send the vendor's shape")
        extra.pop(key)
        dropped.append(key)
    if result.dropped and result.requested:
        dropped.append("reasoning_effort")
    effort_body = dict(result.body)
    if extra:  # extra body keys beside the effort fragment: merged or refused, never silently overriding
        # Options inside the thinking object that the effort fragment does not set join it, e.g. Zhipu's
        # extra_body={"thinking": {"clear_thinking": False}} beside reasoning_effort (preserved thinking, §3).
        mine, theirs = effort_body.get("thinking"), extra.get("thinking")
        if isinstance(mine, Mapping) and isinstance(theirs, Mapping) and theirs and not (mine.keys() & theirs.keys()):
            effort_body["thinking"] = {**mine, **extra.pop("thinking")}
        # Extra body keys never silently override the effort fragment (docs/vendors.md §7.3 reserved fields).
        if result.requested is not None:
            clash = extra.keys() & (effort_body.keys() | _EFFORT_KEYS)
            if "thinking" not in effort_body and isinstance(theirs, Mapping) and "type" not in theirs:
                clash.discard("thinking")   # options only (clear_thinking), no switch: the effort sent none either
            if clash:
                raise InvalidRequestError(
                    f"reasoning_effort={result.requested!r} and extra body {', '.join(sorted(clash))} both set the "
                    "reasoning control; give one of them", vendor=target.vendor, model=target.model)
        else:  # no level asked: the caller's own fragment replaces the vendor default
            effort_body = {k: v for k, v in effort_body.items() if k not in extra}
    req = ChatRequest(model=target.model, messages=msgs, stream=stream, params=params, extra_body=extra,
                      effort_body=effort_body)
    return req, dropped, result
