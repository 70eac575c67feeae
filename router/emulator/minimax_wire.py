"""MiniMax OpenAI wire: inline <think> or reasoning_split, name/audio_content, base_resp (docs/vendors.md §1.5)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .answers import Plan, created, pieces
from .openai_wire import argument_fragments, tool_call_obj
from .sse import Event

# Present on every MiniMax body and chunk (vendor example, §1.5).
_SENSITIVE = {
    "input_sensitive": False,
    "output_sensitive": False,
    "input_sensitive_type": 0,
    "output_sensitive_type": 0,
    "output_sensitive_int": 0,
}


@dataclass(frozen=True, slots=True)
class MiniMaxCtx:
    """MiniMax switches: request's reasoning_split/include_usage plus profile options."""

    chat_id: str
    reasoning_split: bool = False
    include_usage: bool = False
    stream_usage: str = "honour"  # "never": usage null in every chunk, as Archestra observed (§1.5)
    reasoning_mode: str = "incremental"  # or "cumulative" snapshots (oh-my-pi#2434, §1.5)
    content_as_parts: bool = False
    chunk_words: int = 3
    inline_think_split: str = "tags"


def usage(plan: Plan) -> dict[str, Any]:
    return {
        "total_tokens": plan.total_tokens,
        "total_characters": 0,  # 0 for text chat (§1.7)
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": plan.cache_hit_tokens},
        "completion_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
    }


def reasoning_detail(text: str) -> dict[str, Any]:
    return {
        "type": "reasoning.text",
        "id": "reasoning-text-1",
        "format": "MiniMax-response-v1",
        "index": 0,
        "text": text,
    }


def inline_content(plan: Plan) -> str:
    """Without reasoning_split MiniMax puts thinking inline at the start of content (§1.5)."""
    if not plan.reasoning:
        return plan.text
    return f"<think>\n{plan.reasoning}\n</think>\n\n{plan.text}"


def completion_body(ctx: MiniMaxCtx, plan: Plan) -> dict[str, Any]:
    content: Any = plan.text if ctx.reasoning_split else inline_content(plan)
    if ctx.content_as_parts:
        content = [{"type": "text", "text": content}]  # GodeX extractMiniMaxText handles this (§1.5)
    msg: dict[str, Any] = {"content": content, "role": "assistant", "name": "MiniMax AI", "audio_content": ""}
    if ctx.reasoning_split and plan.reasoning:
        msg["reasoning_content"] = plan.reasoning
        msg["reasoning_details"] = [reasoning_detail(plan.reasoning)]
    if plan.tool_call is not None:
        msg["tool_calls"] = [tool_call_obj(plan, index=True)]
    return {
        "id": ctx.chat_id,
        "choices": [{"finish_reason": plan.finish, "index": 0, "message": msg}],
        "created": created(plan.n),
        "model": plan.model,
        "object": "chat.completion",
        "usage": usage(plan),
        **_SENSITIVE,
        "base_resp": {"status_code": 0, "status_msg": ""},
    }


def base_resp_body(chat_id: str, model: str, code: int, msg: str) -> dict[str, Any]:
    """HTTP 200 with base_resp.status_code != 0 and no choices (§1.8 envelope 1)."""
    base_resp = {"status_code": code, "status_msg": msg}
    return {"id": chat_id, "model": model, "usage": None, **_SENSITIVE, "base_resp": base_resp}


def _deltas(ctx: MiniMaxCtx, plan: Plan) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    reasoning = pieces(plan.reasoning, ctx.chunk_words)
    text = pieces(plan.text, ctx.chunk_words)
    if reasoning and not ctx.reasoning_split:
        # The <think> and </think> tags themselves are split across chunks on purpose.
        inline = ["<thi", "nk>\n", *reasoning, "\n</th", "ink>\n\n", *text]
        if ctx.inline_think_split == "chars":
            inline = list("".join(inline))
        out = [{"content": p} for p in inline]
    elif reasoning:
        seen = ""
        for p in reasoning:
            seen += p
            shown = seen if ctx.reasoning_mode == "cumulative" else p
            out.append({"reasoning_content": p, "reasoning_details": [reasoning_detail(shown)]})
        if text:
            out[-1]["content"] = text[0]  # one delta with both channels, reasoning first (GodeX order)
            out += [{"content": p} for p in text[1:]]
    else:
        out = [{"content": p} for p in text]
    if plan.tool_call is not None:
        call = plan.tool_call
        head = {"index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        out.append({"tool_calls": [head]})
        for frag in argument_fragments(call.arguments_json):
            out.append({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]})
    return out or [{"content": ""}]


def stream_events(ctx: MiniMaxCtx, plan: Plan) -> Iterator[Event]:
    """MiniMax chunks: role/name/audio_content repeated, usage null, finish on the last content chunk."""
    deltas = _deltas(ctx, plan)
    last = len(deltas) - 1
    for i, fields in enumerate(deltas):
        # Every chunk repeats role "assistant", except some carry role "" (Archestra, §1.5).
        role = "" if i == 1 else "assistant"
        delta = {**fields, "role": role, "name": "MiniMax AI", "audio_content": ""}
        chunk_usage: Any = None
        if ctx.stream_usage != "never":
            if i == 1 and i != last:
                chunk_usage = {"total_tokens": 0, "total_characters": 0}  # partial usage (GodeX test)
            elif i == last and ctx.include_usage:
                chunk_usage = usage(plan)
        obj = {
            "id": ctx.chat_id,
            "choices": [{"index": 0, "delta": delta, "finish_reason": plan.finish if i == last else None}],
            "created": created(plan.n),
            "model": plan.model,
            "object": "chat.completion.chunk",
            "usage": chunk_usage,
            **_SENSITIVE,
        }
        yield Event.json(obj, final=i == last)
    yield Event(data="[DONE]", final=True)
