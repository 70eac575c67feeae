"""Read a wire's usage object into Usage, refusing numbers that are not token counts (VENDORS.md §7.4)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from vendors.errors import MalformedResponseError
from vendors.spec import VendorSpec
from vendors.types import Usage

__all__ = ["parse_usage"]


def parse_usage(raw: Any, *, spec: VendorSpec, model: str, stream: bool = False) -> Usage | None:
    """Usage from an OpenAI-style (or Anthropic-style) usage object; None when there is none."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise MalformedResponseError("usage is not an object", vendor=spec.name, model=model)
    if "input_tokens" in raw and not raw.get("prompt_tokens"):
        return _anthropic_style(raw, spec, model)
    if "prompt_tokens" not in raw:
        if stream:
            return None  # MiniMax's partial {total_tokens: 0, total_characters: 0} chunk (§1.5)
        raise MalformedResponseError("usage has no prompt_tokens", vendor=spec.name, model=model)

    def num(value: Any, name: str) -> int:
        return _count(value, name, spec, model)

    prompt = num(raw.get("prompt_tokens"), "prompt_tokens")
    completion = num(raw.get("completion_tokens", 0), "completion_tokens")
    total = num(raw.get("total_tokens", 0), "total_tokens") or prompt + completion
    details = raw.get("prompt_tokens_details")
    cached = num(details.get("cached_tokens", 0), "cached_tokens") if isinstance(details, Mapping) else 0
    if not cached and "prompt_cache_hit_tokens" in raw:  # DeepSeek (§2.5)
        cached = num(raw.get("prompt_cache_hit_tokens"), "prompt_cache_hit_tokens")
    out_details = raw.get("completion_tokens_details")
    reasoning = 0
    if isinstance(out_details, Mapping):
        reasoning = num(out_details.get("reasoning_tokens", 0), "reasoning_tokens")
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total,
                 cached_tokens=min(cached, prompt), reasoning_tokens=min(reasoning, completion))


def _anthropic_style(raw: Mapping[str, Any], spec: VendorSpec, model: str) -> Usage:
    read = _count(raw.get("cache_read_input_tokens", 0), "cache_read_input_tokens", spec, model)
    write = _count(raw.get("cache_creation_input_tokens", 0), "cache_creation_input_tokens", spec, model)
    prompt = _count(raw.get("input_tokens", 0), "input_tokens", spec, model) + read + write
    completion = _count(raw.get("output_tokens", 0), "output_tokens", spec, model)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                 cached_tokens=read, cache_write_tokens=write)


def _count(value: Any, name: str, spec: VendorSpec, model: str) -> int:
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
