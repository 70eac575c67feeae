"""The Anthropic Messages wire: request encoding, reply decoding and SSE stream decoding."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

from vendors.errors import FareboxError, MalformedResponseError
from vendors.spec import VendorSpec, Wire
from vendors.types import (
    PLAIN_BLOCKS,
    Choice,
    Chunk,
    ChunkChoice,
    Delta,
    FunctionCall,
    Message,
    Response,
    ToolCall,
    text_chunk,
    trusted,
)
from vendors.wires import Codec, jsontext
from vendors.wires.anthropic_request import encode_request
from vendors.wires.envelope import GuardedStream, guard_decode
from vendors.wires.envelope import decode_error as _decode_error
from vendors.wires.usage import anthropic_usage, read_anthropic_counts

__all__ = ["CODEC", "StreamDecoder", "decode_error", "decode_response", "encode_request"]

# stop_reason values per anthropic SDK 2.12 `StopReason` (checked 2026-11-21); unknown ones read as "stop".
_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "max_tokens": "length",
           "model_context_window_exceeded": "length", "tool_use": "tool_calls", "refusal": "content_filter"}


def _finish(reason: Any) -> str | None:
    return None if reason is None else _FINISH.get(reason, "stop")


def _dump_args(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _malformed(spec: VendorSpec, model: str, what: str) -> MalformedResponseError:
    return MalformedResponseError(f"malformed Anthropic Messages reply: {what}", vendor=spec.name, model=model)


def _special(block: dict[str, Any]) -> bool:
    """A block Message's OpenAI-shaped fields cannot carry: it makes the message keep `content_blocks`."""
    return block.get("type") not in PLAIN_BLOCKS or bool(block.get("citations"))


def decode_error(body: Any, spec: VendorSpec, *, model: str, status: int = 200) -> FareboxError:
    """The error for an Anthropic-shaped envelope `{"type":"error","error":{"type","message"}}`.

    An in-band error (HTTP 200, mid-stream) is a vendor-side failure: classified as a 5xx would be.
    """
    return _decode_error(status if status >= 400 else 500, body, {}, spec, model=model)


def decode_response(body: Any, spec: VendorSpec, *, model: str) -> Response:
    """A non-streamed Messages reply as a Response."""
    if not isinstance(body, dict):
        raise _malformed(spec, model, f"body is {type(body).__name__}, not an object")
    if body.get("type") == "error":
        raise decode_error(body, spec, model=model)
    blocks = body.get("content")
    if not isinstance(blocks, list):
        raise _malformed(spec, model, "no content list")
    text: list[str] = []
    reasoning: list[str] = []
    thinking: list[dict[str, Any]] = []
    calls: list[ToolCall] = []
    for block in blocks:
        if not isinstance(block, dict):
            raise _malformed(spec, model, "a content block is not an object")
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text") or "")
        elif kind == "thinking":
            reasoning.append(block.get("thinking") or "")
            thinking.append(block)
        elif kind == "redacted_thinking":
            thinking.append(block)
        elif kind == "tool_use":
            fn = FunctionCall(name=block.get("name"), arguments=_dump_args(block.get("input") or {}))
            calls.append(ToolCall(id=block.get("id"), function=fn))
        # Server-tool, MCP and unknown blocks have no OpenAI-shaped field: kept in content_blocks below.
    name = body.get("model") or model
    counts: dict[str, int] = {}
    read_anthropic_counts(body.get("usage"), counts, spec=spec, model=name)
    fields = {"content": "".join(text) if text else None,
              "reasoning_content": "".join(reasoning) if reasoning else None,
              "tool_calls": calls or None, "thinking_blocks": thinking or None,
              "content_blocks": blocks if any(map(_special, blocks)) else None,
              "container": body["container"] if isinstance(body.get("container"), dict) else None}
    finish, rid = _finish(body.get("stop_reason")), body.get("id") or ""
    if isinstance(rid, str) and isinstance(name, str):
        # Every field is of its declared type by construction (joined strings, dict blocks, ToolCall models):
        # built directly, not validated a second time (a per-call hot path).
        choice = trusted(Choice, message=trusted(Message, **fields), finish_reason=finish)
        return trusted(Response, id=rid, model=name, vendor=spec.name, choices=[choice], usage=anthropic_usage(counts))
    choice = Choice(message=Message(**fields), finish_reason=finish)
    return Response(id=rid, model=name, vendor=spec.name, choices=[choice], usage=anthropic_usage(counts))


_Handler = Callable[["StreamDecoder", dict[str, Any]], list[Chunk]]


class StreamDecoder:
    """Turns Anthropic SSE events into Chunks, one event at a time; usage rides on the last chunk."""

    _HANDLERS: ClassVar[dict[str, _Handler]]

    def __init__(self, spec: VendorSpec, *, model: str) -> None:
        self.spec = spec
        self.model = model
        self.id = ""
        self.created = int(time.time())
        self.done = False
        self._stop_reason: str | None = None
        self._counts: dict[str, int] = {}
        self._usage_seen = False
        self._tools: dict[int, int] = {}            # block index -> tool ordinal (the OpenAI index)
        self._blocks: dict[int, dict[str, Any]] = {}  # open thinking/redacted_thinking blocks
        self._thinking: dict[int, list[str]] = {}
        self._signature: dict[int, list[str]] = {}
        # Every block, for content_blocks: its start, text or input JSON parts, citations, and once stopped
        # the finished block. Server-tool results arrive whole in content_block_start (research/wire.md §1.4).
        self._starts: dict[int, dict[str, Any]] = {}
        self._text: dict[int, list[str]] = {}
        self._json: dict[int, list[str]] = {}
        self._citations: dict[int, list[Any]] = {}
        self._done_blocks: dict[int, dict[str, Any]] = {}
        self._special = False
        self._container: dict[str, Any] | None = None   # message_delta.delta.container (code execution)

    def feed(self, event: str, data: str) -> list[Chunk]:
        """The chunks for one SSE event (often none)."""
        if self.done or not data or data == "[DONE]":
            return []
        try:
            obj = jsontext.loads(data)
            if not isinstance(obj, dict):
                raise _malformed(self.spec, self.model, f"{event or 'event'} data is not an object")
            kind = obj.get("type") or event
            if kind == "content_block_delta":   # the hot path, checked first
                return self._block_delta(obj)
            handler = self._HANDLERS.get(kind)
            return handler(self, obj) if handler is not None else []   # unknown events: forward compatible
        except ValueError as exc:   # JSONDecodeError and pydantic's ValidationError both land here
            if isinstance(exc, FareboxError):
                raise
            problem = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        except (AttributeError, TypeError, KeyError, RecursionError) as exc:
            problem = f"{type(exc).__name__}: {str(exc)[:200]}"
        # Raised outside the handler: the decoder's error (a JSONDecodeError's .doc is the raw event) is not chained.
        raise _malformed(self.spec, self.model, f"bad {event or 'event'} data: {problem}")

    def finish(self) -> list[Chunk]:
        """At the end of the bytes: the closing chunk if message_stop never came but the reply ended."""
        if self.done:
            return []
        if self._stop_reason is None:
            raise _malformed(self.spec, self.model, "stream ended before message_stop")
        return self._final()

    def _text_chunk(self, field: str, text: Any) -> Chunk:
        if type(text) is str and type(self.id) is str and type(self.model) is str:  # the usual delta
            return text_chunk(self.id, self.created, self.model, self.spec.name, field, text)
        return self._chunk({field: text})   # not a string: validation names the malformed field

    def _chunk(self, delta: dict[str, Any]) -> Chunk:
        # Nested dicts validate faster than building Delta and ChunkChoice first (~1.4 µs a chunk).
        return Chunk(id=self.id, model=self.model, vendor=self.spec.name, created=self.created,
                     choices=[{"delta": delta}])

    def _final(self) -> list[Chunk]:
        self.done = True
        finish = _finish(self._stop_reason) or ("tool_calls" if self._tools else "stop")
        usage = anthropic_usage(self._counts) if self._usage_seen else None   # None: let the router estimate
        delta = Delta()
        if self._special:
            delta.content_blocks = [self._done_blocks.get(i) or self._close(i) for i in sorted(self._starts)]
        delta.container = self._container
        return [Chunk(id=self.id, model=self.model, vendor=self.spec.name, created=self.created,
                      choices=[ChunkChoice(delta=delta, finish_reason=finish)], usage=usage)]

    def _close(self, index: int) -> dict[str, Any]:
        """The finished block at `index`: its start with the streamed text, input or citations filled in."""
        block = dict(self._starts[index])
        kind = block.get("type")
        if kind == "text":
            block["text"] = "".join(self._text.pop(index, ()))
            cites = self._citations.pop(index, None)
            if cites:
                block["citations"] = [*(block.get("citations") or ()), *cites]
        elif kind == "thinking":
            block["thinking"] = "".join(self._thinking.pop(index, ()))
            signature = self._signature.pop(index, None)
            if signature is not None:
                block["signature"] = "".join(signature)
        parts = self._json.pop(index, None)
        if parts:
            try:
                block["input"] = json.loads("".join(parts))
            except ValueError as exc:
                if kind != "tool_use":   # a client call keeps its raw arguments on tool_calls
                    raise _malformed(self.spec, self.model, f"{kind} block {index}: input is not JSON") from exc
        self._done_blocks[index] = block
        return block

    def _message_start(self, obj: dict[str, Any]) -> list[Chunk]:
        msg = obj.get("message") or {}
        self.id = msg.get("id") or self.id
        self.model = msg.get("model") or self.model
        self._usage_seen |= read_anthropic_counts(msg.get("usage"), self._counts, spec=self.spec, model=self.model)
        return [self._chunk({"role": "assistant"})]

    def _block_start(self, obj: dict[str, Any]) -> list[Chunk]:
        index = obj["index"]
        block = obj["content_block"]
        kind = block["type"]
        self._starts[index] = block
        if kind not in PLAIN_BLOCKS or block.get("citations"):
            # server_tool_use, mcp_tool_use (input streams as input_json_delta), results (whole), future types.
            self._special = True
            if kind not in PLAIN_BLOCKS:
                self._json[index] = []
                return []
        if kind == "text":
            text = block.get("text")
            return [self._chunk({"content": text})] if text else []
        if kind == "thinking":
            self._blocks[index] = block
            text = block.get("thinking") or ""
            self._thinking[index] = [text]
            if "signature" in block:
                self._signature[index] = [block["signature"] or ""]
            return [self._chunk({"reasoning_content": text})] if text else []
        if kind == "redacted_thinking":
            self._blocks[index] = block
            return []
        if kind == "tool_use":
            ordinal = self._tools[index] = len(self._tools)
            # Messages starts tool_use with input {}; a server that sends the whole input here is honoured.
            args = block.get("input")
            fn = {"name": block.get("name"), "arguments": _dump_args(args) if args else ""}
            return [self._chunk({"tool_calls": [{"index": ordinal, "id": block.get("id"), "function": fn}]})]
        return []

    def _block_delta(self, obj: dict[str, Any]) -> list[Chunk]:
        delta = obj["delta"]
        kind = delta["type"]
        if kind == "text_delta":
            text = delta["text"]
            if not text:
                return []
            self._text.setdefault(obj["index"], []).append(text)
            return [self._text_chunk("content", text)]
        if kind == "thinking_delta":
            text = delta["thinking"]
            if not text:
                return []
            self._thinking.setdefault(obj["index"], []).append(text)
            return [self._text_chunk("reasoning_content", text)]
        if kind == "input_json_delta":
            part = delta["partial_json"]
            if not part:
                return []
            index = obj["index"]
            ordinal = self._tools.get(index)
            if ordinal is None:
                parts = self._json.get(index)
                if parts is None:
                    raise _malformed(self.spec, self.model, "input_json_delta outside a tool_use block")
                parts.append(part)   # a server_tool_use / mcp_tool_use input: not an OpenAI tool call
                return []
            self._json.setdefault(index, []).append(part)
            return [self._chunk({"tool_calls": [{"index": ordinal, "function": {"arguments": part}}]})]
        if kind == "signature_delta":
            self._signature.setdefault(obj["index"], []).append(delta["signature"])
        elif kind == "citations_delta":
            # The SDK appends delta.citation to the open text block's citations (lib/streaming/_messages.py).
            self._citations.setdefault(obj["index"], []).append(delta["citation"])
            self._special = True
        return []   # future delta types carry nothing OpenAI-shaped

    def _block_stop(self, obj: dict[str, Any]) -> list[Chunk]:
        index = obj["index"]
        if index not in self._starts or index in self._done_blocks:
            return []
        # The complete block (a thinking block with its signature), so the assembled Response can replay it.
        block = self._close(index)
        if self._blocks.pop(index, None) is not None:
            return [self._chunk({"thinking_blocks": [block]})]
        if block.get("type") not in PLAIN_BLOCKS:
            return [self._chunk({"server_tool_blocks": [block]})]
        return []

    def _message_delta(self, obj: dict[str, Any]) -> list[Chunk]:
        # State only: finish_reason and the cumulative usage go out together on the final chunk.
        delta = obj.get("delta") or {}
        reason = delta.get("stop_reason")
        if reason is not None:
            self._stop_reason = reason
        if isinstance(delta.get("container"), dict):
            self._container = delta["container"]
        self._usage_seen |= read_anthropic_counts(obj.get("usage"), self._counts, spec=self.spec, model=self.model)
        return []

    def _message_stop(self, obj: dict[str, Any]) -> list[Chunk]:
        return self._final()

    def _error(self, obj: dict[str, Any]) -> list[Chunk]:
        raise decode_error(obj, self.spec, model=self.model)

    def _ping(self, obj: dict[str, Any]) -> list[Chunk]:
        return []


StreamDecoder._HANDLERS = {
    "message_start": StreamDecoder._message_start,
    "content_block_start": StreamDecoder._block_start,
    "content_block_delta": StreamDecoder._block_delta,
    "content_block_stop": StreamDecoder._block_stop,
    "message_delta": StreamDecoder._message_delta,
    "message_stop": StreamDecoder._message_stop,
    "error": StreamDecoder._error,
    "ping": StreamDecoder._ping,
}


class AnthropicMessagesCodec:
    """This module as a `vendors.wires.Codec`; an error reply is the same envelope the other wire reads."""

    wire = Wire.ANTHROPIC_MESSAGES
    encode_request = staticmethod(encode_request)
    decode_response = staticmethod(guard_decode(decode_response))
    stream_decoder = functools.partial(GuardedStream, StreamDecoder)  # a partial binds no self
    decode_error = staticmethod(_decode_error)


CODEC: Codec = AnthropicMessagesCodec()
