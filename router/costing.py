"""Price a call's usage (reported or estimated) with the pricing tables; warn once for an unpriced model."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pricing
from pricing.tokens import prepare
from router.resolve import Target
from vendors.types import ChatRequest, Usage

__all__ = ["cost_for", "estimate_usage", "load_encodings"]

log = logging.getLogger("farebox")
_warned: set[tuple[str, str]] = set()


_TIERS = frozenset({"batch", "flex", "priority"})  # priced service tiers; "auto", "default" bill as standard


def cost_for(target: Target, usage: Usage | None, req: ChatRequest | None = None, *, at: datetime | None = None,
             service_tier: str | None = None) -> Any:
    """pricing.Cost for this usage at this target, or None (with one warning) when there is no price.

    Priced at `at`, else when the request was sent (req.sent_at), so a reply that crosses into another
    price window costs what the vendor bills for the request's time. The service tier is the one the reply
    says it used (OpenAI's `service_tier`), else the one asked for; a tier the row does not price is unpriced."""
    if usage is None:
        return None
    model = target.catalogue_id or target.model
    try:
        when = at or (req.sent_at if req is not None else None) or datetime.now(UTC)
        asked = service_tier or (req.params.get("service_tier") or req.extra_body.get("service_tier")
                                 if req is not None else None)
        tier = asked if asked in _TIERS else None
        return pricing.cost(model, usage, vendor=target.vendor, at=when, service_tier=tier,
                            billing="plan" if target.key_kind == "plan" else "metered")
    except LookupError:
        key = (target.vendor, model)
        if key not in _warned:
            _warned.add(key)
            log.warning("no price for %s/%s: resp.cost is None. Add one with pricing.load_overrides(...) "
                        "or the FAREBOX_PRICES file", target.vendor, model)
        return None


_ready: set[str] = set()


async def load_encodings(target: Target) -> None:
    """Load what a target's estimates need (BPE table, vendor tokenizer) in a worker thread, off the event loop."""
    name = f"{target.vendor}/{target.catalogue_id or target.model}"
    if name not in _ready:
        await asyncio.to_thread(prepare, name)  # the BPE file, or the vendor's own tokenizer (extra tokenizers)
        _ready.add(name)


def estimate_usage(target: Target, req: ChatRequest, *, text: str, reasoning: str, tool_calls: list[Any]) -> Usage:
    """Tokens counted with tiktoken over what was sent and received; marked estimated."""
    calls = [c.model_dump() if hasattr(c, "model_dump") else c for c in tool_calls]
    counts = pricing.estimate_usage(f"{target.vendor}/{target.catalogue_id or target.model}", messages=req.messages,
                                    tools=req.params.get("tools"), output_text=text, reasoning_text=reasoning,
                                    tool_calls=calls)
    prompt, completion = int(counts["prompt_tokens"]), int(counts["completion_tokens"])
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                 reasoning_tokens=int(counts.get("reasoning_tokens", 0)), estimated=True)
