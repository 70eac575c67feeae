"""The OpenAI Chat Completions wire: encode requests, decode replies and stream events (pure)."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Mapping
from typing import Any

from vendors.errors import MalformedResponseError, ServiceUnavailableError
from vendors.spec import RequestContext, VendorSpec, Wire
from vendors.types import (
    ChatRequest,
    Chunk,
    ChunkChoice,
    Delta,
    Response,
    Usage,
    text_chunk,
)
from vendors.wires import Codec, jsontext
from vendors.wires.envelope import GuardedStream, decode_error, guard_decode
from vendors.wires.reasoning import ReasoningStream, ThinkSplitter, split_think
from vendors.wires.usage import parse_usage

__all__ = ["CODEC", "StreamDecoder", "decode_response", "encode_request"]

_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "content_filter",
           "function_call": "tool_calls", "eos": "stop", "end_turn": "stop",
           # DeepSeek: the server ran out of resources mid-answer; the output is cut short (§2.4).
           "insufficient_system_resource": "length",
           # Zhipu (docs.z.ai chat-completion, checked 2026-11-21): flagged output, window exhausted.
           "sensitive": "content_filter", "model_context_window_exceeded": "length"}
# Zhipu reports a failure inside the answer as a finish_reason, not an error body (docs.z.ai api-code).
_FAILED = frozenset({"network_error"})


def encode_request(req: ChatRequest, spec: VendorSpec, ctx: RequestContext) -> dict[str, Any]:
    """The JSON body for `POST …/chat/completions`."""
    body: dict[str, Any] = {"model": req.model, "messages": _messages(req.messages, spec)}
    max_field = spec.caps.max_tokens_field
    for key, value in req.params.items():
        if key in ("max_tokens", "max_completion_tokens"):
            body[max_field] = value
        else:
            body[key] = value
    if req.stream:
        body["stream"] = True
        if req.include_usage and spec.caps.stream_usage:
            options = dict(body.get("stream_options") or {})
            options.setdefault("include_usage", True)
            body["stream_options"] = options
    if req.effort_body:
        body.update(req.effort_body)
    if req.extra_body:
        body.update(req.extra_body)
    return body


# Assistant-message fields another wire's replies fill in; OpenAI rejects unknown keys (see Quirks.replay_fields).
_WIRE_ONLY = frozenset({"reasoning_content", "reasoning_details", "thinking_blocks", "content_blocks", "container"})


def _one_system_first(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """MiniMax takes one system message, first: a later or second one is a 2013 error (§1.4.7)."""
    systems = [i for i, m in enumerate(messages) if m.get("role") == "system"]
    if not systems or systems == [0]:
        return messages
    text = "\n\n".join(t for t in (_text(messages[i].get("content")) for i in systems) if t)
    rest = [m for m in messages if m.get("role") != "system"]
    return [{"role": "system", "content": text}, *rest]


def _messages(messages: list[dict[str, Any]], spec: VendorSpec) -> list[dict[str, Any]]:
    quirks = spec.quirks
    keep = quirks.replay_fields
    if quirks.single_system_first:
        messages = _one_system_first(messages)
    out: list[dict[str, Any]] = []
    for msg in messages:
        if msg.get("role") != "assistant":
            out.append(msg)
            continue
        item = {k: v for k, v in msg.items()
                if k not in _WIRE_ONLY or k in keep}
        calls = item.get("tool_calls")
        if calls:
            if quirks.canonical_tool_args:
                item["tool_calls"] = [_canonical_call(c) for c in calls]
            if quirks.content_not_null and item.get("content") is None:
                item["content"] = ""
            if quirks.replay_reasoning and "reasoning_content" not in item:
                # DeepSeek/Kimi: a tool-call turn without reasoning_content is a 400 (§2.3, §4).
                item["reasoning_content"] = quirks.empty_reasoning_placeholder
        if quirks.replay_reasoning and "content" not in item:
            item["content"] = ""  # DeepSeek rejects a missing content key (§2.3)
        out.append(item)
    return out


def _canonical_call(call: Any) -> Any:
    """MiniMax wants compact JSON arguments and "{}" for empty ones (docs/vendors.md §1.4.5)."""
    if not isinstance(call, Mapping) or call.get("type", "function") != "function":
        return call
    fn = call.get("function")
    if not isinstance(fn, Mapping):
        return call
    args = fn.get("arguments")
    if args is None or args == "":
        new_args = "{}"
    elif isinstance(args, str):
        try:
            new_args = json.dumps(json.loads(args), separators=(",", ":"), ensure_ascii=False)
        except ValueError:
            return call  # invalid JSON is left untouched
    else:
        new_args = json.dumps(args, separators=(",", ":"), ensure_ascii=False)
    return {**call, "function": {**fn, "arguments": new_args}}


def _text(content: Any) -> str | None:
    """Content as a string; MiniMax may send an array of parts (§1.5)."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, Mapping) and p.get("type") == "text" and isinstance(p.get("text"), str))
    return ""


def _details_text(details: Any) -> str | None:
    if not isinstance(details, list):
        return None
    parts = [d.get("text") for d in details if isinstance(d, Mapping) and isinstance(d.get("text"), str)]
    return "".join(parts) if parts else None


def _malformed(spec: VendorSpec, model: str, what: str) -> MalformedResponseError:
    return MalformedResponseError(what, vendor=spec.name, model=model)


def _check_base_resp(body: Mapping[str, Any], spec: VendorSpec, model: str) -> None:
    base = body.get("base_resp")
    if isinstance(base, Mapping) and base.get("status_code") not in (0, None):
        raise decode_error(200, body, {}, spec, model=model)


def decode_response(body: Any, spec: VendorSpec, *, model: str) -> Response:
    """A Response from a chat.completion body."""
    if not isinstance(body, dict | Mapping):   # the dict test first: a JSON object is one
        raise _malformed(spec, model, "reply is not a JSON object")
    if "base_resp" in body:
        _check_base_resp(body, spec, model)
    if "error" in body and body.get("error"):
        raise decode_error(200, body, {}, spec, model=model)
    raw_choices = body.get("choices")
    if not isinstance(raw_choices, list) or not raw_choices:
        raise _malformed(spec, model, "reply has no choices")
    choices = []
    for i, raw in enumerate(raw_choices):
        if not isinstance(raw, dict | Mapping) or not isinstance(raw.get("message"), dict | Mapping):
            raise _malformed(spec, model, f"choice {i} has no message")
        _check_failed(raw.get("finish_reason"), spec, model)
        choices.append({"index": raw.get("index", i), "message": _message(raw["message"], spec),
                        "finish_reason": _finish(raw.get("finish_reason"))})
    usage = parse_usage(body.get("usage"), spec=spec, model=model) or Usage()
    fields = {"id": str(body.get("id") or ""), "created": _created(body), "model": str(body.get("model") or model),
              "vendor": spec.name, "choices": choices, "usage": usage}
    tier = body.get("service_tier")
    if isinstance(tier, str) and tier:
        # The tier that served the request (OpenAI: "default", "flex", "priority"; for an "auto" request the one
        # it chose), which is the one billed: resp.service_tier, and the cost is priced at it.
        fields["service_tier"] = tier
    # One nested validation instead of one per object (a per-call hot path).
    return _validate_response(fields)


def _message(raw: Mapping[str, Any], spec: VendorSpec) -> dict[str, Any]:
    content = _text(raw.get("content"))
    details = raw.get("reasoning_details")
    reasoning = _details_text(details) or raw.get("reasoning_content") or raw.get("reasoning") or None
    if spec.quirks.think_tags and content:
        inline, content = split_think(content)
        reasoning = reasoning or inline  # a structured field is authoritative (§1.5)
    calls = raw.get("tool_calls")
    return {
        "role": "assistant",
        "content": content,
        "reasoning_content": reasoning if isinstance(reasoning, str) else None,
        "tool_calls": calls if isinstance(calls, list) and calls else None,
        "reasoning_details": details if isinstance(details, list) and details else None,
    }


def _check_failed(reason: Any, spec: VendorSpec, model: str) -> None:
    if reason in _FAILED:
        raise ServiceUnavailableError(f"the answer was cut off by the vendor (finish_reason {reason!r})",
                                      vendor=spec.name, model=model)


def _finish(reason: Any) -> str | None:
    if reason is None or reason == "":
        return None
    return _FINISH.get(reason, "stop")


def _created(body: Mapping[str, Any]) -> int:
    created = body.get("created")
    return created if isinstance(created, int) else int(time.time())


class StreamDecoder:
    """Turns `data:` payloads of a chat.completion.chunk stream into Chunks."""

    __slots__ = ("_created", "_details_sent", "_id", "_model", "_per_choice", "_reasoning", "_seen_finish", "_spec",
                 "_think", "done", "model")

    def __init__(self, spec: VendorSpec, *, model: str) -> None:
        self._spec = spec
        self.model = model
        self._model = model
        self._id = ""
        self._created = 0
        self._think = ThinkSplitter() if spec.quirks.think_tags else None
        self._reasoning = ReasoningStream() if spec.quirks.reasoning_details or spec.quirks.think_tags else None
        self._seen_finish = False
        self._details_sent = False
        self._per_choice: dict[Any, Usage] = {}
        self.done = False

    def feed(self, event: str, data: str) -> list[Chunk]:
        if data == "[DONE]":
            self.done = True
            return self._flush()
        try:
            obj = jsontext.loads(data)
        except (ValueError, RecursionError):
            obj = _NOT_JSON  # raised below, outside the handler: no JSONDecodeError (its .doc the raw event) chained
        if obj is _NOT_JSON:
            raise _malformed(self._spec, self.model, f"stream chunk is not JSON: {data[:80]!r}")
        if not isinstance(obj, dict):
            raise _malformed(self._spec, self.model, "stream chunk is not a JSON object")
        if obj.get("error"):
            raise decode_error(500, obj, {}, self._spec, model=self.model)
        if "base_resp" in obj:
            _check_base_resp(obj, self._spec, self.model)
        if not self._id:
            self._id = str(obj.get("id") or "")
            self._model = str(obj.get("model") or self.model)
            created = obj.get("created")
            self._created = created if isinstance(created, int) else int(time.time())
        raw_choices = obj.get("choices")
        if type(raw_choices) is list and len(raw_choices) == 1 and obj.get("usage") is None:
            # The usual chunk, one choice whose delta is one non-empty text field and nothing else: built
            # directly, as the path below would build it (no think tags to split, no reasoning to track).
            raw = raw_choices[0]
            if type(raw) is dict and raw.get("finish_reason") is None and raw.get("usage") is None:
                delta_raw = raw.get("delta")
                index = raw.get("index", 0)
                if type(delta_raw) is dict and type(index) is int:
                    role = text = None
                    if len(delta_raw) == 1:
                        (field, text), = delta_raw.items()
                    elif len(delta_raw) == 2 and "role" in delta_raw:
                        # A stream's first chunk: its role with the first text, the same direct path.
                        first, second = delta_raw.items()
                        (_, role), (field, text) = (first, second) if first[0] == "role" else (second, first)
                        if type(role) is not str or not role:
                            text = None
                    if type(text) is str and text and (
                            (field == "content" and self._think is None)
                            or (field == "reasoning_content" and self._reasoning is None)):
                        return [text_chunk(self._id, self._created, self._model, self._spec.name, field, text,
                                           index, None, role)]
        raw_choices = [raw for raw in raw_choices or () if isinstance(raw, dict)]
        choices = [self._choice(raw) for raw in raw_choices]
        usage = parse_usage(obj.get("usage"), spec=self._spec, model=self.model, stream=True)
        if usage is None:
            usage = self._choice_usage(raw_choices)
        if not choices and usage is None:
            return []
        if usage is None and len(choices) == 1:
            choice = choices[0]
            delta = choice["delta"]
            if len(delta) == 1 and type(choice["index"]) is int:
                (field, text), = delta.items()
                if field in _TEXT_FIELDS and type(text) is str:   # the usual text fragment: built directly
                    return [text_chunk(self._id, self._created, self._model, self._spec.name, field, text,
                                       choice["index"], choice["finish_reason"])]
        # One nested validation per chunk: cheaper than building Delta, ChunkChoice and Chunk one by one.
        return [_validate_chunk({"id": self._id, "created": self._created, "model": self._model,
                                 "vendor": self._spec.name, "choices": choices, "usage": usage})]

    def _choice_usage(self, raw_choices: list[dict[str, Any]]) -> Usage | None:
        """Moonshot/Kimi put usage inside choices[i] of the finish chunk (platform.moonshot.cn streaming guide).

        Per choice when n > 1: the prompt is counted once, the completions added up [INF]. A top-level usage,
        when one also comes, replaces this one (the Accumulator keeps the last), so nothing is counted twice.
        """
        seen = False
        for raw in raw_choices:
            if raw.get("usage") is None:  # the usual chunk: no per-choice usage
                continue
            found = parse_usage(raw["usage"], spec=self._spec, model=self.model, stream=True)
            if found is not None:
                self._per_choice[raw.get("index", 0)] = found
                seen = True
        if not seen:
            return None
        parts = list(self._per_choice.values())
        if len(parts) == 1:
            return parts[0]
        prompt = max(u.prompt_tokens for u in parts)
        completion = sum(u.completion_tokens for u in parts)
        return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                     cached_tokens=max(u.cached_tokens for u in parts),
                     reasoning_tokens=sum(u.reasoning_tokens for u in parts))

    def _choice(self, raw: dict[str, Any]) -> dict[str, Any]:
        delta_raw = raw.get("delta") or {}
        content = _text(delta_raw.get("content"))
        reasoning = None
        if self._reasoning is not None:
            details = delta_raw.get("reasoning_details")
            fragment = _details_text(details) or delta_raw.get("reasoning_content")
            if isinstance(fragment, str) and fragment:
                reasoning = self._reasoning.add(fragment, details)
            if self._think is not None and content:
                inline, content = self._think.feed(content)
                if inline and not self._reasoning.structured:
                    reasoning = (reasoning or "") + inline
        else:
            reasoning = delta_raw.get("reasoning_content") or delta_raw.get("reasoning")
        calls = delta_raw.get("tool_calls")
        role = delta_raw.get("role") or None  # MiniMax sends role "" on some chunks (§1.5)
        reason = raw.get("finish_reason")
        if reason is not None:
            _check_failed(reason, self._spec, self.model)
        finish = _finish(reason)
        if finish:
            self._seen_finish = True
            if self._think is not None:
                tail_reasoning, tail = self._think.close()
                content = (content or "") + tail if tail else content
                if tail_reasoning and not self._reasoning.structured:  # type: ignore[union-attr]
                    reasoning = (reasoning or "") + tail_reasoning
        details = None
        if finish and self._reasoning is not None and not self._details_sent:
            # On the finish chunk, not after it: MiniMax puts usage there and the caller's last chunk has usage.
            details = self._reasoning.details()
            self._details_sent = details is not None
        delta: dict[str, Any] = {}
        if role:
            delta["role"] = role
        if content:
            delta["content"] = content
        if reasoning:
            delta["reasoning_content"] = reasoning
        if calls:
            delta["tool_calls"] = [_delta_call(c, i) for i, c in enumerate(calls)]
        if details:
            delta["reasoning_details"] = details
        return {"index": raw.get("index", 0), "delta": delta, "finish_reason": finish}

    def _flush(self) -> list[Chunk]:
        if self._details_sent:
            return []
        details = self._reasoning.details() if self._reasoning is not None else None
        if not details:
            return []
        return [Chunk(id=self._id, created=self._created, model=self._model, vendor=self._spec.name,
                      choices=[ChunkChoice(delta=Delta(reasoning_details=details))])]

    def finish(self) -> list[Chunk]:
        """End of bytes. A stream with neither `[DONE]` nor a finish_reason was cut short."""
        if not self.done and not self._seen_finish:
            raise _malformed(self._spec, self.model, "stream ended before [DONE] and without a finish_reason")
        return [] if self.done else self._flush()


def _delta_call(raw: Any, position: int) -> dict[str, Any]:
    if not isinstance(raw, dict):  # as on the plain path: a call that is not an object is a malformed reply
        raise TypeError(f"tool_calls[{position}] is {type(raw).__name__}, not an object")
    fn = raw.get("function") or {}
    return {"index": raw.get("index", position), "id": raw.get("id") or None, "type": raw.get("type") or "function",
            "function": {"name": fn.get("name") or None, "arguments": fn.get("arguments") or ""}}


_NOT_JSON = object()
_TEXT_FIELDS = frozenset({"content", "reasoning_content"})
_validate_chunk = Chunk.model_validate
_validate_response = Response.model_validate


class OpenAIChatCodec:
    """This module as a `vendors.wires.Codec`."""

    wire = Wire.OPENAI_CHAT
    encode_request = staticmethod(encode_request)
    decode_response = staticmethod(guard_decode(decode_response))
    stream_decoder = functools.partial(GuardedStream, StreamDecoder)  # a partial binds no self
    decode_error = staticmethod(decode_error)


CODEC: Codec = OpenAIChatCodec()
