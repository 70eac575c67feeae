"""The one usage parser: a wire's usage object into Usage, refusing numbers that are not token counts (§7.4)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from vendors.errors import MalformedResponseError
from vendors.spec import VendorSpec
from vendors.types import Usage, trusted

__all__ = ["anthropic_usage", "parse_usage", "read_anthropic_counts"]

# Anthropic Messages usage keys; input_tokens excludes cache reads and writes (§7.4).
_ANTHROPIC_KEYS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")
_SERVER_TOOL_KEYS = ("web_search_requests", "web_fetch_requests")


def parse_usage(raw: Any, *, spec: VendorSpec, model: str, stream: bool = False) -> Usage | None:
    """Usage from an OpenAI-style (or Anthropic-style) usage object; None when there is none."""
    if raw is None:
        return None
    if not isinstance(raw, dict | Mapping):   # the dict test first: a JSON object is one
        raise MalformedResponseError("usage is not an object", vendor=spec.name, model=model)
    if "input_tokens" in raw and not raw.get("prompt_tokens"):
        return _anthropic_style(raw, spec, model)
    if "prompt_tokens" not in raw:
        if stream:
            return None  # MiniMax's partial {total_tokens: 0, total_characters: 0} chunk (§1.5)
        raise MalformedResponseError("usage has no prompt_tokens", vendor=spec.name, model=model)
    prompt = _count(raw["prompt_tokens"], "prompt_tokens", spec, model)
    completion = _count(raw.get("completion_tokens"), "completion_tokens", spec, model)
    total = _count(raw.get("total_tokens"), "total_tokens", spec, model) or prompt + completion
    details = raw.get("prompt_tokens_details")
    cached = 0
    if details is not None and isinstance(details, dict | Mapping):
        cached = _count(details.get("cached_tokens"), "cached_tokens", spec, model)
    if not cached and "prompt_cache_hit_tokens" in raw:  # DeepSeek (§2.5)
        cached = _count(raw.get("prompt_cache_hit_tokens"), "prompt_cache_hit_tokens", spec, model)
    out_details = raw.get("completion_tokens_details")
    reasoning = 0
    if out_details is not None and isinstance(out_details, dict | Mapping):
        reasoning = _count(out_details.get("reasoning_tokens"), "reasoning_tokens", spec, model)
    # Counts checked by _count: built without a second validation (per call and per usage chunk).
    return trusted(Usage, prompt_tokens=prompt, completion_tokens=completion, total_tokens=total,
                   cached_tokens=min(cached, prompt), reasoning_tokens=min(reasoning, completion))


def _anthropic_style(raw: Mapping[str, Any], spec: VendorSpec, model: str) -> Usage:
    counts: dict[str, int] = {}
    read_anthropic_counts(raw, counts, spec=spec, model=model)
    return anthropic_usage(counts)


def read_anthropic_counts(raw: Any, counts: dict[str, int], *, spec: VendorSpec, model: str) -> bool:
    """Copy the Anthropic-style counts present in `raw` into `counts` (a stream updates them); True if any."""
    if raw is None:
        return False
    if not isinstance(raw, dict | Mapping):   # the dict test first: a JSON object is one
        raise MalformedResponseError("usage is not an object", vendor=spec.name, model=model)
    seen = False
    for key in _ANTHROPIC_KEYS:
        value = raw.get(key)
        if value is not None:   # compatible servers send null for cache fields they do not track
            counts[key] = _count(value, key, spec, model)
            seen = True
    # Absent sub-objects are None: tested first, so the Mapping ABC check runs only for a non-dict object.
    split = raw.get("cache_creation")  # {ephemeral_5m_input_tokens, ephemeral_1h_input_tokens} (§5, Errata)
    if split is not None and isinstance(split, dict | Mapping):
        for key in ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"):
            if split.get(key) is not None:
                counts[key] = _count(split[key], f"cache_creation.{key}", spec, model)
                seen = True
    details = raw.get("output_tokens_details")
    if details is not None and isinstance(details, dict | Mapping) and details.get("thinking_tokens") is not None:
        counts["thinking_tokens"] = _count(details["thinking_tokens"], "thinking_tokens", spec, model)
    tools = raw.get("server_tool_use")   # {web_search_requests, web_fetch_requests} (anthropic SDK ServerToolUsage)
    if tools is not None and isinstance(tools, dict | Mapping):
        for key in _SERVER_TOOL_KEYS:
            if tools.get(key) is not None:
                counts[key] = _count(tools[key], f"server_tool_use.{key}", spec, model)
    return seen


def anthropic_usage(counts: Mapping[str, int]) -> Usage:
    """Usage from Anthropic-style counts: prompt_tokens includes cache reads and writes, as OpenAI's does."""
    read = counts.get("cache_read_input_tokens", 0)
    hour = counts.get("ephemeral_1h_input_tokens", 0)
    # cache_creation_input_tokens is the sum of both durations; a server that sends only the split is added up.
    write = max(counts.get("cache_creation_input_tokens", 0), counts.get("ephemeral_5m_input_tokens", 0) + hour)
    prompt = counts.get("input_tokens", 0) + read + write
    output = counts.get("output_tokens", 0)
    return trusted(Usage, prompt_tokens=prompt, completion_tokens=output, total_tokens=prompt + output,
                   cached_tokens=read, cache_write_tokens=write, cache_write_1h_tokens=hour,
                   reasoning_tokens=min(counts.get("thinking_tokens", 0), output),
                   web_search_requests=counts.get("web_search_requests", 0),
                   web_fetch_requests=counts.get("web_fetch_requests", 0))


def _count(value: Any, name: str, spec: VendorSpec, model: str) -> int:
    """A token count: a non-negative int, or a float only if integral (12.0); None reads as 0."""
    if type(value) is int and value >= 0:   # the usual count
        return value
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedResponseError(f"usage.{name} is not a number: {value!r}", vendor=spec.name, model=model)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise MalformedResponseError(f"usage.{name} is not a token count: {value!r}",
                                         vendor=spec.name, model=model)
        value = int(value)
    if value < 0:
        raise MalformedResponseError(f"usage.{name} is negative: {value}", vendor=spec.name, model=model)
    return value
