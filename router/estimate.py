"""Cheap pre-flight estimates: the expected cost of a request at a model, for the lowest-cost strategy."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pricing

__all__ = ["expected_cost", "prompt_bytes"]

_UNPRICED = Decimal("Infinity")


def prompt_bytes(messages: Any) -> int:
    """UTF-8 size of the messages: an upper bound on their token count (a BPE token is at least one byte)."""
    try:
        return len(json.dumps(messages, ensure_ascii=False, default=str).encode())
    except (TypeError, ValueError):
        return 0


def expected_cost(model: str, messages: Any, kwargs: Mapping[str, Any]) -> Decimal:
    """Price of ~prompt_bytes/4 input tokens and max_tokens (or 256) output tokens; unpriced sorts last."""
    prompt = max(1, prompt_bytes(messages) // 4)
    output = int(kwargs.get("max_tokens") or 256)
    try:
        cost = pricing.cost(model, {"prompt_tokens": prompt, "completion_tokens": output})
    except (LookupError, ValueError):
        return _UNPRICED
    return cost.total
