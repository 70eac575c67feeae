"""Deterministic answers: text, reasoning, tool calls and word-count usage derived from the request."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_WORD_RUN = re.compile(r"\S+\s*|\s+")
_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z: ``created`` = epoch + request number, never wall time


def words(text: str) -> int:
    """The emulator's token count: whitespace-separated words."""
    return len(text.split())


def pieces(text: str, per: int = 3) -> list[str]:
    """Split text into ~``per``-word pieces whose concatenation is exactly ``text``."""
    runs = _WORD_RUN.findall(text)
    return ["".join(runs[i : i + per]) for i in range(0, len(runs), per)] or ([text] if text else [])


def first_words(text: str, n: int) -> str:
    """The first ``n`` words of ``text`` with their original spacing (trailing space dropped)."""
    runs = re.findall(r"\s*\S+\s*", text)
    return "".join(runs[:n]).rstrip()


def digest(seed: int, n: int, salt: str = "") -> str:
    """Deterministic hex string for ids: same seed + request number → same ids."""
    return hashlib.sha256(f"{seed}:{n}:{salt}".encode()).hexdigest()


def created(n: int) -> int:
    return _EPOCH + n


def content_text(content: Any) -> str:
    """Text of an OpenAI/Anthropic content value: a string, text parts/blocks, tool_result blocks."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    out: list[str] = []
    for part in content:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict) and part.get("type") == "text":
            out.append(str(part.get("text", "")))
        elif isinstance(part, dict) and part.get("type") == "tool_result":
            out.append(content_text(part.get("content")))
    return " ".join(t for t in out if t)


def example_value(schema: Any, depth: int = 0) -> Any:
    """A deterministic value satisfying a (simple) JSON schema: strings are "Paris"."""
    if not isinstance(schema, dict) or depth > 5:
        return "Paris"
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return example_value(schema[key][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or (kind is None and "properties" in schema):
        return example_object(schema, depth + 1)
    return {"integer": 1, "number": 1, "boolean": True, "array": [], "null": None}.get(kind, "Paris")


def example_object(schema: Any, depth: int = 0) -> dict[str, Any]:
    """Required properties (all properties when the schema lists none), each an example value."""
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = schema.get("required")
    names = required if isinstance(required, list) else list(props)
    return {name: example_value(props.get(name, {}), depth) for name in names}


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The one tool call a tool turn makes."""

    id: str
    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a wire writer needs; finish uses the OpenAI vocabulary (stop/length/tool_calls)."""

    n: int
    model: str
    text: str
    reasoning: str
    tool_call: ToolCall | None
    finish: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cache_hit_tokens: int
    # Anthropic server tools (server_tools.py): their blocks in order, usage.server_tool_use, the citations
    # the answer's text block carries.
    server_blocks: tuple[dict[str, Any], ...] = ()
    server_usage: dict[str, int] | None = None
    citations: tuple[dict[str, Any], ...] = ()
    container: dict[str, Any] | None = None   # Message.container when code execution ran
    cache_write_5m_tokens: int = 0   # Anthropic surface: cache writes, by duration
    cache_write_1h_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Turn:
    """What the last message asks for: the user's text, or a tool result to report on."""

    user_text: str
    tool_result: str | None
    messages: list[tuple[str, str]]  # (role, text) for prompt counting


def read_turn(body: dict[str, Any], surface: str) -> Turn:
    msgs = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    texts = [(str(m.get("role", "")), content_text(m.get("content"))) for m in msgs]
    if surface == "anthropic" and body.get("system"):
        texts.insert(0, ("system", content_text(body["system"])))
    user_text = next((content_text(m.get("content")) for m in reversed(msgs) if m.get("role") == "user"), "")
    last = msgs[-1] if msgs else {}
    tool_result = None
    if last.get("role") == "tool":
        tool_result = content_text(last.get("content"))
    elif surface == "anthropic" and isinstance(last.get("content"), list):
        results = [b for b in last["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]
        if results:
            tool_result = content_text(results)
            user_text = content_text([b for b in last["content"] if b not in results]) or user_text
    return Turn(user_text, tool_result, texts)


def _tools(body: dict[str, Any]) -> list[tuple[str, Any]]:
    out = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict) or tool.get("type") not in (None, "function", "custom"):
            continue   # server tools (web_search_20250305, ...) are run by the server, never called by name
        fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool
        if fn.get("name"):
            out.append((str(fn["name"]), fn.get("parameters", fn.get("input_schema", {}))))
    return out


def choose_tool(body: dict[str, Any], turn: Turn) -> tuple[str, Any] | None:
    """The (name, schema) to call, or None for a text answer (OpenAI and Anthropic tool_choice)."""
    tools = _tools(body)
    choice = body.get("tool_choice")
    kind = choice.get("type") if isinstance(choice, dict) else choice
    if not tools or kind == "none":
        return None
    named = None
    if isinstance(choice, dict):
        named = (choice.get("function") or {}).get("name") if kind == "function" else choice.get("name")
    forced = kind in ("required", "any", "tool", "function")
    asks = turn.tool_result is None and "weather" in turn.user_text.lower()
    if not (forced or asks):
        return None
    return next(((n, s) for n, s in tools if n == named), tools[0])


def _answer_text(profile: str, model: str, turn: Turn, body: dict[str, Any]) -> str:
    if turn.tool_result is not None:
        text = f"Hello from the {profile} emulator ({model}). The tool returned: {turn.tool_result[:200]}"
    else:
        text = f"Hello from the {profile} emulator ({model}). You said: {turn.user_text[:200]}"
    if "unicode" in turn.user_text.lower():
        # Multi-byte UTF-8 so random stream splitting cuts inside a character.
        text += " Unicode: café ☕ naïve"
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        return json.dumps({"answer": text}, ensure_ascii=False)
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return json.dumps(example_object((fmt.get("json_schema") or {}).get("schema")), ensure_ascii=False)
    return text


def _reasoning(turn: Turn, tool: tuple[str, Any] | None) -> str:
    if turn.tool_result is not None:
        return f"The tool returned {turn.tool_result[:50]!r}; I will summarise it."
    if tool is not None:
        return f"The user said {turn.user_text[:50]!r}; I will call {tool[0]}."
    return f"The user said {turn.user_text[:50]!r}; I will answer politely."


def build_plan(
    *,
    profile: str,
    surface: str,
    body: dict[str, Any],
    thinking: bool,
    n: int,
    tool_id: Callable[[str], str],
    cache_hit_tokens: int = 0,
    finish_reason: str | None = None,
    cache_write_tokens: tuple[int, int] = (0, 0),
) -> Plan:
    """Decide the answer for one request; pure and deterministic."""
    model = str(body.get("model") or "")
    turn = read_turn(body, surface)
    tool = choose_tool(body, turn)
    reasoning = _reasoning(turn, tool) if thinking else ""
    call = ToolCall(tool_id(tool[0]), tool[0], example_object(tool[1])) if tool else None
    finish = "stop"
    if call is not None:
        # The Anthropic surface says a word before tool_use (multi-block streams get exercised).
        text = f"I will call {call.name}." if surface == "anthropic" else ""
        finish = "tool_calls"
    else:
        text = _answer_text(profile, model, turn, body)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        # The budget applies to the answer only; reasoning is always emitted whole.
        if isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit < words(text):
            text, finish = first_words(text, limit), "length"
    prompt = sum(words(t) + 4 for _, t in turn.messages)
    tool_words = 1 + words(call.arguments_json) if call else 0
    reasoning_tokens = words(reasoning)
    return Plan(
        n=n,
        model=model,
        text=text,
        reasoning=reasoning,
        tool_call=call,
        finish=finish_reason or finish,
        prompt_tokens=prompt,
        completion_tokens=words(text) + reasoning_tokens + tool_words,
        reasoning_tokens=reasoning_tokens,
        cache_hit_tokens=(hit := max(0, min(int(cache_hit_tokens), prompt))),
        cache_write_5m_tokens=(five := max(0, min(int(cache_write_tokens[0]), prompt - hit))),
        cache_write_1h_tokens=max(0, min(int(cache_write_tokens[1]), prompt - hit - five)),
    )
