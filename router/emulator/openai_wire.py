"""OpenAI Chat Completions wire: JSON bodies and SSE chunks for openai/compatible/deepseek/moonshot/zhipu."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .answers import Plan, created, pieces
from .sse import Event


@dataclass(frozen=True, slots=True)
class ChatShape:
    """Where one vendor's OpenAI-compatible answer differs from the plain shape (a profile's `chat_shape`)."""

    usage_details: bool = True          # prompt_tokens_details.cached_tokens (False: llama.cpp / Ollama's 3 totals)
    reasoning_tokens: bool = False      # completion_tokens_details.reasoning_tokens (OpenAI, DeepSeek, Moonshot)
    cache_hit_fields: bool = False      # prompt_cache_hit_tokens / prompt_cache_miss_tokens (DeepSeek §2.5)
    refusal: bool = False               # message.refusal: null and in the first stream delta (OpenAI)
    null_other_channel: bool = False    # stream deltas name the unused channel as null (DeepSeek §2.4)
    request_id_in_body: bool = False    # the reply body carries request_id (Zhipu §3)


PLAIN_CHAT = ChatShape()  # cached_tokens in the usage, nothing vendor-specific


@dataclass(frozen=True, slots=True)
class Ctx:
    """Per-response wire settings decided by the profile and the request."""

    shape: ChatShape
    chat_id: str
    show_reasoning: bool = True
    include_usage: bool = False
    keepalive: bool = False
    chunk_words: int = 3
    fingerprint: str | None = None
    request_id: str = ""
    usage_in_choice: bool = False  # Moonshot: usage inside choices[0] of the finish chunk (§4, Errata)
    choices: int = 1  # n answers (moonshot honours n): identical choices, usage per choice in the choice


def usage_of(ctx: Ctx, plan: Plan, choices: int | None = None) -> dict[str, Any]:
    """The request's usage for `choices` answers (default all): the prompt once, each completion added."""
    out = usage(ctx.shape, plan)
    k = ctx.choices if choices is None else choices
    if k != 1:
        out["completion_tokens"] = plan.completion_tokens * k
        out["total_tokens"] = plan.prompt_tokens + out["completion_tokens"]
        if "completion_tokens_details" in out:
            out["completion_tokens_details"] = {"reasoning_tokens": plan.reasoning_tokens * k}
    return out


def usage(shape: ChatShape, plan: Plan) -> dict[str, Any]:
    """Usage in the vendor's field names (DeepSeek §2.5, Zhipu §3)."""
    out: dict[str, Any] = {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.completion_tokens,
        "total_tokens": plan.total_tokens,
    }
    if not shape.usage_details:
        return out
    out["prompt_tokens_details"] = {"cached_tokens": plan.cache_hit_tokens}
    if shape.cache_hit_fields:
        out["prompt_cache_hit_tokens"] = plan.cache_hit_tokens
        out["prompt_cache_miss_tokens"] = plan.prompt_tokens - plan.cache_hit_tokens
    if shape.reasoning_tokens:
        out["completion_tokens_details"] = {"reasoning_tokens": plan.reasoning_tokens}
    return out


def tool_call_obj(plan: Plan, *, index: bool = False) -> dict[str, Any]:
    call = plan.tool_call
    assert call is not None
    obj: dict[str, Any] = {"id": call.id, "type": "function"}
    if index:
        obj["index"] = 0
    obj["function"] = {"name": call.name, "arguments": call.arguments_json}
    return obj


def message(ctx: Ctx, plan: Plan) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": plan.text or (None if plan.tool_call else "")}
    if ctx.shape.refusal:
        msg["refusal"] = None
    if ctx.show_reasoning and plan.reasoning:
        msg["reasoning_content"] = plan.reasoning
    if plan.tool_call is not None:
        msg["tool_calls"] = [tool_call_obj(plan)]
    return msg


def completion_body(ctx: Ctx, plan: Plan) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": ctx.chat_id,
        "object": "chat.completion",
        "created": created(plan.n),
        "model": plan.model,
        "choices": [{"index": i, "message": message(ctx, plan), "logprobs": None, "finish_reason": plan.finish}
                    for i in range(ctx.choices)],
        "usage": usage_of(ctx, plan),
    }
    if ctx.fingerprint:
        body["system_fingerprint"] = ctx.fingerprint
    if ctx.shape.request_id_in_body:
        body["request_id"] = ctx.request_id
    return body


def argument_fragments(arguments_json: str, size: int = 8) -> list[str]:
    return [arguments_json[i : i + size] for i in range(0, len(arguments_json), size)] or [""]


class ChunkMaker:
    """Builds ``chat.completion.chunk`` objects sharing id/created/model."""

    def __init__(self, ctx: Ctx, plan: Plan) -> None:
        self.ctx, self.plan = ctx, plan

    def chunk(self, delta: dict[str, Any], finish: str | None = None, *, final: bool = False) -> Event:
        obj: dict[str, Any] = {
            "id": self.ctx.chat_id,
            "object": "chat.completion.chunk",
            "created": created(self.plan.n),
            "model": self.plan.model,
        }
        if self.ctx.fingerprint:
            obj["system_fingerprint"] = self.ctx.fingerprint
        obj["choices"] = [{"index": i, "delta": delta, "logprobs": None, "finish_reason": finish}
                          for i in range(self.ctx.choices)]
        if finish is not None and self.ctx.usage_in_choice:
            # platform.moonshot.cn streaming guide: the last chunk carries usage inside each choice.
            for choice in obj["choices"]:
                choice["usage"] = usage_of(self.ctx, self.plan, 1)
        if self.ctx.include_usage:
            obj["usage"] = None  # OpenAI/DeepSeek: null on every chunk but the usage chunk (§2.4)
        return Event.json(obj, final=final)

    def usage_chunk(self) -> Event:
        obj = {
            "id": self.ctx.chat_id,
            "object": "chat.completion.chunk",
            "created": created(self.plan.n),
            "model": self.plan.model,
            "choices": [],
            "usage": usage_of(self.ctx, self.plan),
        }
        return Event.json(obj, final=True)


def stream_events(ctx: Ctx, plan: Plan) -> Iterator[Event]:
    """Role chunk, reasoning_content chunks, content chunks, tool-call deltas, finish, usage, [DONE]."""
    mk = ChunkMaker(ctx, plan)
    nulls = ctx.shape.null_other_channel
    first: dict[str, Any] = {"role": "assistant", "content": "" if plan.text else None}
    if ctx.shape.refusal:
        first["refusal"] = None
    yield mk.chunk(first)
    if ctx.keepalive:
        yield Event(comment="keep-alive")  # llama.cpp/Ollama-style idle comment lines
    if ctx.show_reasoning:
        for piece in pieces(plan.reasoning, ctx.chunk_words):
            yield mk.chunk({"content": None, "reasoning_content": piece} if nulls else {"reasoning_content": piece})
    for piece in pieces(plan.text, ctx.chunk_words):
        yield mk.chunk({"content": piece, "reasoning_content": None} if nulls else {"content": piece})
    if plan.tool_call is not None:
        call = plan.tool_call
        head = {"index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        yield mk.chunk({"tool_calls": [head]})
        for frag in argument_fragments(call.arguments_json):
            yield mk.chunk({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]})
    if ctx.keepalive:
        yield Event(comment="keep-alive")
    yield mk.chunk({}, plan.finish, final=True)
    if ctx.include_usage:
        yield mk.usage_chunk()
    yield Event(data="[DONE]", final=True)


def error_chunk(payload: dict[str, Any]) -> Event:
    """An in-stream error on the OpenAI surface: a data line holding an ``error`` object."""
    return Event.json(payload)
