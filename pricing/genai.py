"""Prices for models the shipped table lacks, from genai-prices' bundled data (extra `prices`), never fetched."""

from __future__ import annotations

import functools
import importlib.util
from datetime import datetime
from decimal import Decimal
from typing import Any

SOURCE = "genai-prices"

# Farebox vendor -> genai-prices provider id. Vendors not listed (e.g. "compatible": any local server) are never
# looked up there, so a self-hosted model is not priced at some reseller's rate.
PROVIDERS = {
    "anthropic": "anthropic",
    "deepseek": "deepseek",
    "minimax": "minimax",
    "moonshot": "moonshotai",
    "openai": "openai",
    "zhipu": "zai",
}
_KINDS = ("input", "output", "cache_read", "cache_write")


@functools.cache
def available() -> bool:
    """Whether genai-prices is installed (pip install 'farebox[prices]')."""
    return importlib.util.find_spec("genai_prices") is not None


def _snapshot() -> Any:
    # The data bundled in the wheel. genai-prices only downloads newer data when a caller starts its
    # UpdatePrices task, which Farebox never does; a custom snapshot someone else set is refused too.
    from genai_prices import data_snapshot  # lazy: genai-prices is the optional [prices] extra

    snapshot = data_snapshot.get_snapshot()
    return None if snapshot.from_auto_update else snapshot


def find(vendor: str, model: str) -> Any | None:
    """genai-prices' ModelInfo for `vendor`'s `model`, or None."""
    provider = PROVIDERS.get(vendor)
    if provider is None or not available():
        return None
    snapshot = _snapshot()
    if snapshot is None:
        return None
    try:
        return snapshot.find_provider_model(model, None, provider, None)[1]
    except LookupError:
        return None


def _rate(value: Any) -> tuple[Decimal | None, dict[int, Decimal]]:
    """(base, {tier start: price}) of a genai-prices price, Decimal or TieredPrices."""
    if value is None:
        return None, {}
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        return Decimal(value), {}
    return Decimal(value.base), {int(t.start): Decimal(t.price) for t in tiers}


def lookup(vendor: str, model: str, at: datetime) -> dict[str, Any] | None:
    """The fields of a price row (pricing.rows.ModelPrice) from genai-prices for a request at `at`, or None
    when it does not know the model; plain data, so this module does not import the table that calls it.

    Its tiers bill the whole request above a threshold, as genai-prices' TieredPrices do (`> start`).
    """
    info = find(vendor, model)
    if info is None:
        return None
    prices = info.get_prices(at)
    base: dict[str, Decimal | None] = {}
    steps: dict[str, dict[int, Decimal]] = {}
    for kind in _KINDS:
        base[kind], steps[kind] = _rate(getattr(prices, f"{kind}_mtok", None))
    if base["input"] is None or base["output"] is None:
        return None  # priced per request, per image, ...: not a token price Farebox can apply
    tiers = []
    for start in sorted({s for kind in _KINDS for s in steps[kind]}):
        rates = {}
        for kind in _KINDS:  # each kind at the highest step at or below this threshold, else its base
            reached = [s for s in steps[kind] if s <= start]
            rates[kind] = steps[kind][max(reached)] if reached else base[kind]
        tiers.append({"above_tokens": start, **rates})
    return dict(vendor=vendor, id=model, **base, tiers=tuple(tiers),
                context_window=int(info.context_window or 0), checked=None, source=SOURCE, third_party=True)
