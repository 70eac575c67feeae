"""Cost of one call: its token counts times the price row valid at the call's time, in exact Decimal."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation, Rounded
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pricing.table import Dec, Rates, Tier, _moment, price

Billing = Literal["metered", "plan"]
UsageSource = Literal["reported", "estimated", "mixed"]

# Token counts times per-million prices are exact in Decimal; trap anything that would round.
_EXACT = Context(prec=120, traps=[InvalidOperation, Inexact, Rounded])
_ZERO = Decimal("0")
_TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "cache_write_1h_tokens",
                 "reasoning_tokens")


class Cost(BaseModel):
    """What one call cost, in USD, with the token counts and the price row it was computed from.

    `total` is exactly input + cache_read + cache_write + output + web_search (per-request fees for
    server-side web searches, where the row prices them); `reasoning` is the part of `output` spent on
    reasoning tokens (not added again). Values are unrounded; use `display()` to show them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    input: Dec
    cache_read: Dec
    cache_write: Dec
    output: Dec
    reasoning: Dec
    web_search: Dec = Decimal("0")
    total: Dec
    currency: Literal["USD"] = "USD"
    estimated: bool = False
    billing: Billing = "metered"
    usage_source: UsageSource = "reported"
    vendor: str
    model: str
    alias_used: str | None = None
    # Provenance: the request time priced, the window and tiers that applied, where the rates came from.
    at: datetime | None = None
    window: str | None = None           # e.g. "peak" / "off-peak"; None when the row has no windows
    service_tier: str | None = None     # "batch", "flex", "priority"; None: standard
    tier_above_tokens: int | None = None
    source: str | None = None           # the page the row cites, or "genai-prices"
    third_party: bool = False
    checked: date | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0         # all cache writes, the 1-hour ones included
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    web_search_requests: int = 0

    def display(self, places: int = 6) -> str:
        """The total rounded for people, e.g. "$0.000123", "~$0.000123 (estimated)", "$0.000000 (plan)"."""
        text = f"{'~' if self.estimated else ''}{usd(self.total, places)}"
        notes = [n for n, on in (("estimated", self.estimated), ("plan", self.billing == "plan")) if on]
        return f"{text} ({', '.join(notes)})" if notes else text

    def __str__(self) -> str:
        return self.display()

    def __float__(self) -> float:
        """The total as a float, for code that wants a number (LiteLLM's completion_cost returns one)."""
        return float(self.total)


def money(amount: Decimal | None, places: int = 6) -> str:
    """An amount for people (the CLI, the demo): usd(), or "unpriced" when there is none."""
    return "unpriced" if amount is None else usd(Decimal(amount), places)


def usd(amount: Decimal, places: int = 6) -> str:
    """The one display rule: dollars rounded half-up to `places` decimals; a non-zero amount that would show
    as zero shows as "<$0.000001" instead, so a charge never reads as free."""
    shown = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if shown == 0 and amount > 0:
        return f"<${Decimal(1).scaleb(-places)}"
    return f"${shown}"


_class_has: dict[tuple[type, str], bool] = {}


def _getter(usage: object) -> Any:
    """`get(name, default)` for a usage given as a mapping or as an object with attributes; None reads as default."""
    if isinstance(usage, Mapping):
        def get(name: str, default: Any) -> Any:
            value = usage.get(name, default)
            return default if value is None else value
    elif isinstance(usage, BaseModel):
        # A model's fields and extras as one dict: a name it lacks (usage_source on a Usage) is then a dict
        # miss, not pydantic's slow __getattr__; a property of its class is still read as an attribute.
        extra = usage.__pydantic_extra__
        fields = {**usage.__dict__, **extra} if extra else usage.__dict__   # only read, never written
        cls = type(usage)

        def get(name: str, default: Any) -> Any:
            if name in fields:
                value = fields[name]
            else:
                has = _class_has.get((cls, name))
                if has is None:
                    has = _class_has[(cls, name)] = hasattr(cls, name)
                value = getattr(usage, name, default) if has else default
            return default if value is None else value
    else:
        def get(name: str, default: Any) -> Any:
            value = getattr(usage, name, default)
            return default if value is None else value
    return get


def read_counts(get: Any) -> dict[str, int]:
    """The token counts read through `get` (see _getter; missing or None means 0), checked."""
    counts = {}
    for name in _TOKEN_FIELDS:
        value = get(name, 0)
        if type(value) is not int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"usage.{name} must be an int, got {value!r}")
        if value < 0:
            raise ValueError(f"usage.{name} is negative ({value})")
        counts[name] = value
    if counts["cache_write_tokens"] < counts["cache_write_1h_tokens"]:
        raise ValueError(
            "usage.cache_write_tokens must include cache_write_1h_tokens "
            f"(cache_write {counts['cache_write_tokens']} < 1-hour {counts['cache_write_1h_tokens']})"
        )
    if counts["prompt_tokens"] < counts["cached_tokens"] + counts["cache_write_tokens"]:
        raise ValueError(
            "usage.prompt_tokens must include cached_tokens and cache_write_tokens "
            f"(prompt {counts['prompt_tokens']} < cached {counts['cached_tokens']} "
            f"+ cache_write {counts['cache_write_tokens']})"
        )
    if counts["completion_tokens"] < counts["reasoning_tokens"]:
        raise ValueError(
            "usage.completion_tokens must include reasoning_tokens "
            f"(completion {counts['completion_tokens']} < reasoning {counts['reasoning_tokens']})"
        )
    return counts


def read_source(get: Any) -> tuple[bool, UsageSource]:
    """(estimated, usage_source) from `usage.usage_source` and `usage.estimated`, read through `get`."""
    flagged = bool(get("estimated", False))
    source = get("usage_source", None)
    if source is None:
        return flagged, "estimated" if flagged else "reported"
    if source not in ("reported", "estimated", "mixed"):
        raise ValueError(f"usage.usage_source must be reported, estimated or mixed, got {source!r}")
    return flagged or source != "reported", source


_zeros: dict[Decimal, Decimal] = {}


def _per_million(tokens: int, usd_per_mtok: Decimal) -> Decimal:
    if tokens == 0:  # most parts of most calls (no cache, no reasoning): the same exact zero for this rate
        zero = _zeros.get(usd_per_mtok)
        if zero is None:
            zero = _zeros[usd_per_mtok] = _EXACT.scaleb(_EXACT.multiply(_ZERO, usd_per_mtok), -6)
        return zero
    return _EXACT.scaleb(_EXACT.multiply(Decimal(tokens), usd_per_mtok), -6)


class _PerToken:
    """One set of rates' prices per token (the per-million rate scaled by 10^-6, exact: the same coefficient and
    exponent as scaling each product) and the exact zero of each, computed once per set of rate values."""

    __slots__ = ("cache_read", "cache_write", "cache_write_1h", "input", "output", "zeros")

    def __init__(self, rates: Rates | Tier) -> None:
        cache_read = rates.input if rates.cache_read is None else rates.cache_read
        cache_write = rates.input if rates.cache_write is None else rates.cache_write
        cache_write_1h = cache_write if rates.cache_write_1h is None else rates.cache_write_1h
        self.input, self.cache_read, self.cache_write, self.cache_write_1h, self.output = (
            _EXACT.scaleb(r, -6) for r in (rates.input, cache_read, cache_write, cache_write_1h, rates.output))
        self.zeros = tuple(_per_million(0, r) for r in (rates.input, cache_read, cache_write, cache_write_1h,
                                                        rates.output))


# Keyed by the rates' values, not the object: an aliased row is a fresh copy on every price() call.
_per_token: dict[tuple[Decimal | None, ...], _PerToken] = {}


def _times(tokens: int, per_token: Decimal, zero: Decimal) -> Decimal:
    return zero if tokens == 0 else _EXACT.multiply(Decimal(tokens), per_token)


def _parts(counts: dict[str, int], rates: Rates | Tier) -> dict[str, Decimal]:
    key = (rates.input, rates.output, rates.cache_read, rates.cache_write, rates.cache_write_1h)
    pt = _per_token.get(key)
    if pt is None:
        pt = _per_token[key] = _PerToken(rates)
    z_in, z_read, z_write, z_1h, z_out = pt.zeros
    cached, written, hour = counts["cached_tokens"], counts["cache_write_tokens"], counts["cache_write_1h_tokens"]
    fresh = counts["prompt_tokens"] - cached - written
    add = _EXACT.add
    inp = _times(fresh, pt.input, z_in)
    read = _times(cached, pt.cache_read, z_read)
    write = add(_times(written - hour, pt.cache_write, z_write), _times(hour, pt.cache_write_1h, z_1h))
    out = _times(counts["completion_tokens"], pt.output, z_out)
    return {"input": inp, "cache_read": read, "cache_write": write, "output": out,
            "reasoning": _times(counts["reasoning_tokens"], pt.output, z_out),
            "total": add(add(add(add(_ZERO, inp), read), write), out)}


def cost(
    model: str,
    usage: object,
    *,
    vendor: str | None = None,
    at: datetime | date | None = None,
    billing: Billing = "metered",
    service_tier: str | None = None,
) -> Cost:
    """Cost of one call of `model` with `usage` (OpenAI convention: prompt includes cached and cache-write
    tokens, completion includes reasoning tokens), sent at `at` (default now; naive = UTC). Raises
    UnknownModelPrice when no row matches (or the row has no such `service_tier`)."""
    if billing not in ("metered", "plan"):
        raise ValueError(f"billing must be 'metered' or 'plan', got {billing!r}")
    moment = _moment(at)
    row = price(model, vendor=vendor, at=moment)   # first: an unpriced model fails before any counting
    get = _getter(usage)
    counts = read_counts(get)
    estimated, source = read_source(get)
    rates, window = row.rates_at(moment, service_tier)
    tier = rates.tier_for(counts["prompt_tokens"])
    searches = get("web_search_requests", 0)
    if isinstance(searches, bool) or not isinstance(searches, int) or searches < 0:
        raise ValueError(f"usage.web_search_requests must be a non-negative int, got {searches!r}")
    if billing == "plan":
        parts = dict.fromkeys(("input", "cache_read", "cache_write", "output", "reasoning", "total"), _ZERO)
    else:
        parts = _parts(counts, tier or rates)
        if searches and row.web_search_per_1k is not None:
            # Anthropic: "$10 per 1,000 searches"; a failed search is not billed and not counted (§1.5).
            parts["web_search"] = _EXACT.scaleb(_EXACT.multiply(Decimal(searches), row.web_search_per_1k), -3)
            parts["total"] = _EXACT.add(parts["total"], parts["web_search"])
    key = (row.vendor, row.id, row.alias_used, row.source, row.third_party, row.checked, window, service_tier,
           tier.above_tokens if tier else None, billing)
    static = _statics.get(key)
    if static is None:
        static = _statics[key] = _static(row, window, service_tier, tier, billing)
    state = static.copy()
    state.update(parts)
    state.update(counts)
    state["web_search_requests"] = searches
    state["estimated"] = estimated
    state["usage_source"] = source
    state["at"] = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return _built(state, _SET_WITH_SEARCH if "web_search" in parts else _SET)


def _static(row: Any, window: str | None, service_tier: str | None, tier: Tier | None, billing: Billing,
            ) -> dict[str, Any]:
    """The Cost fields one price row, window, service tier, context tier and billing decide (the same for every
    call they price), over the fields' defaults."""
    state = _COST_STATE.copy()
    state.update({
        "billing": billing,
        "vendor": row.vendor,
        "model": row.id,
        "alias_used": row.alias_used,
        "window": window,
        "service_tier": None if service_tier in (None, "standard", "default") else service_tier,
        "tier_above_tokens": tier.above_tokens if tier else None,
        "source": row.source,
        "third_party": row.third_party,
        "checked": row.checked,
    })
    return state


# Keyed by exactly the values _static reads (an aliased row is a fresh copy on every price() call): bounded by
# the table's rows, windows and tiers.
_statics: dict[tuple[Any, ...], dict[str, Any]] = {}


# Every Cost field in declared order; the required ones are always among cost()'s values.
_COST_STATE = {name: None if field.is_required() else field.default for name, field in Cost.model_fields.items()}
# The fields cost() sets (pydantic's fields-set), without and with a web-search part.
_SET = frozenset({"input", "cache_read", "cache_write", "output", "reasoning", "total", "web_search_requests",
                  "estimated", "billing", "usage_source", "vendor", "model", "alias_used", "at", "window",
                  "service_tier", "tier_above_tokens", "source", "third_party", "checked", *_TOKEN_FIELDS})
_SET_WITH_SEARCH = _SET | {"web_search"}


_slot = BaseModel.__dict__
_put_dict = _slot["__dict__"].__set__
_put_fields = _slot["__pydantic_fields_set__"].__set__
_put_extra = _slot["__pydantic_extra__"].__set__
_put_private = _slot["__pydantic_private__"].__set__


def _built(state: dict[str, Any], fields_set: frozenset[str]) -> Cost:
    """The Cost that Cost(**values) validates to, built directly: every value is one cost() computed (exact
    Decimals, checked counts) or a field of a validated price row, and this runs once per priced call.
    `state` holds every field (the defaults of those not set); `fields_set` names the ones cost() set."""
    obj = object.__new__(Cost)
    _put_dict(obj, state)   # through the slot descriptors: a frozen model's own __setattr__ refuses
    _put_fields(obj, set(fields_set))
    _put_extra(obj, None)   # extra="forbid"
    _put_private(obj, None)
    return obj
