"""Cost arithmetic: hand-worked pins per vendor, tiers, history, plan billing, errors, properties."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pricing
from pricing import Cost, UnknownModelPrice

D = Decimal


@pytest.fixture(autouse=True)
def _clean_overrides(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FAREBOX_PRICES", raising=False)
    pricing.reset_overrides()
    yield
    pricing.reset_overrides()


def _usage(prompt=0, completion=0, cached=0, write=0, reasoning=0, **extra) -> dict:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cached_tokens": cached,
        "cache_write_tokens": write,
        "reasoning_tokens": reasoning,
        **extra,
    }


# Every expected number below was worked out by hand: tokens x USD-per-million / 1,000,000.
# Columns: model, at, usage, (input, cache_read, cache_write, output, reasoning, total), tier.
# fmt: off
PINS = [
    pytest.param(
        # docs/vendors.md 7.4 example: 170 prompt (157 cached), 303 completion.
        # 13 x 0.30 = 3.90; 157 x 0.03 = 4.71; 303 x 1.20 = 363.60 (micro-dollars)
        "minimax/MiniMax-M2.1", None, _usage(170, 303, cached=157),
        ("0.0000039", "0.00000471", "0", "0.0003636", "0", "0.00037221"), None,
        id="minimax-m2.1-cached",
    ),
    pytest.param(
        # M3 launch promo: 8,000 x 0.30 = 2,400; 2,000 x 0.06 = 120; 1,000 x 1.20 = 1,200
        "MiniMax-M3", datetime(2026, 6, 3, tzinfo=UTC), _usage(10_000, 1_000, cached=2_000),
        ("0.0024", "0.00012", "0", "0.0012", "0", "0.00372"), None,
        id="minimax-m3-promo",
    ),
    pytest.param(
        # M3 active rate after the launch week, unchanged: 8,000 x 0.30 = 2,400; 2,000 x 0.06 = 120; 1,000 x 1.20
        "MiniMax-M3", datetime(2026, 7, 1, tzinfo=UTC), _usage(10_000, 1_000, cached=2_000),
        ("0.0024", "0.00012", "0", "0.0012", "0", "0.00372"), None,
        id="minimax-m3-list",
    ),
    pytest.param(
        # M3 >512K, whole request at the long tier: 500,000 x 0.60 = 300,000; 100,000 x 0.12 = 12,000;
        # 10,000 x 2.40 = 24,000
        "MiniMax-M3", datetime(2026, 7, 1, tzinfo=UTC), _usage(600_000, 10_000, cached=100_000),
        ("0.3", "0.012", "0", "0.024", "0", "0.336"), 512000,
        id="minimax-m3-long-tier",
    ),
    pytest.param(
        # exactly 512K (512,000, as MiniMax writes it) is not above the threshold: 512,000 x 0.30 = 153,600
        "MiniMax-M3", datetime(2026, 7, 1, tzinfo=UTC), _usage(512_000),
        ("0.1536", "0", "0", "0", "0", "0.1536"), None,
        id="minimax-m3-at-threshold",
    ),
    pytest.param(
        # one token more: 512,001 x 0.60 = 307,200.6
        "MiniMax-M3", datetime(2026, 7, 1, tzinfo=UTC), _usage(512_001),
        ("0.3072006", "0", "0", "0", "0", "0.3072006"), 512000,
        id="minimax-m3-above-threshold",
    ),
    pytest.param(
        # docs/vendors.md 7.4 DeepSeek example after the cache cut: 20 x 0.14 = 2.8; 80 x 0.0028 = 0.224;
        # 20 x 0.28 = 5.6
        "deepseek-v4-flash", datetime(2026, 5, 1, tzinfo=UTC), _usage(100, 20, cached=80),
        ("0.0000028", "0.000000224", "0", "0.0000056", "0", "0.000008624"), None,
        id="deepseek-flash-after-cut",
    ),
    pytest.param(
        # before the cut: 80 x 0.028 = 2.24
        "deepseek-chat", datetime(2026, 4, 1, tzinfo=UTC), _usage(100, 20, cached=80),
        ("0.0000028", "0.00000224", "0", "0.0000056", "0", "0.00001064"), None,
        id="deepseek-chat-alias-before-cut",
    ),
    pytest.param(
        # v4-pro promo: 600,000 x 0.435 = 261,000; 400,000 x 0.003625 = 1,450; 100,000 x 0.87 = 87,000;
        # reasoning 60,000 x 0.87 = 52,200 (part of output)
        "deepseek/deepseek-v4-pro", datetime(2026, 5, 15, tzinfo=UTC),
        _usage(1_000_000, 100_000, cached=400_000, reasoning=60_000),
        ("0.261", "0.00145", "0", "0.087", "0.0522", "0.34945"), None,
        id="deepseek-pro-promo",
    ),
    pytest.param(
        # v4-pro in June, still the promo rates (DeepSeek's 0813 page): 600,000 x 0.435 = 261,000;
        # 400,000 x 0.003625 = 1,450; 100,000 x 0.87 = 87,000; 60,000 x 0.87 = 52,200
        "deepseek/deepseek-v4-pro", datetime(2026, 6, 15, tzinfo=UTC),
        _usage(1_000_000, 100_000, cached=400_000, reasoning=60_000),
        ("0.261", "0.00145", "0", "0.087", "0.0522", "0.34945"), None,
        id="deepseek-pro-list",
    ),
    pytest.param(
        # Anthropic usage {input 10, cache_creation 5, cache_read 100, output 7} mapped to prompt 115:
        # 10 x 3 = 30; 100 x 0.30 = 30; 5 x 3.75 = 18.75; 7 x 15 = 105
        "anthropic/claude-sonnet-4-5", None, _usage(115, 7, cached=100, write=5),
        ("0.00003", "0.00003", "0.00001875", "0.000105", "0", "0.00018375"), None,
        id="anthropic-sonnet-4-5-caching",
    ),
    pytest.param(
        # Haiku 5.5 above 100K: 40,000 x 0.50 = 20,000; 100,000 x 0.05 = 5,000; 10,000 x 0.625 = 6,250;
        # 1,000 x 2.50 = 2,500
        "claude-haiku-5-5", None, _usage(150_000, 1_000, cached=100_000, write=10_000),
        ("0.02", "0.005", "0.00625", "0.0025", "0", "0.03375"), 100000,
        id="anthropic-haiku-5-5-tier",
    ),
    pytest.param(
        # 210 x 0.15 = 31.5; 1,024 x 0.075 = 76.8; 56 x 0.60 = 33.6
        "openai/gpt-4o-mini", None, _usage(1234, 56, cached=1024),
        ("0.0000315", "0.0000768", "0", "0.0000336", "0", "0.0001419"), None,
        id="openai-gpt-4o-mini",
    ),
    pytest.param(
        # gpt-5.4 above 272K: 300,000 x 5.00 = 1,500,000; 2,000 x 22.50 = 45,000; reasoning 500 x 22.50
        "gpt-5.4", None, _usage(300_000, 2_000, reasoning=500),
        ("1.5", "0", "0", "0.045", "0.01125", "1.545"), 272000,
        id="openai-gpt-5.4-long",
    ),
    pytest.param(
        # o3 before the June 2025 cut: 1,000 x 10 = 10,000; 1,000 x 40 = 40,000
        "o3", datetime(2025, 5, 1, tzinfo=UTC), _usage(1_000, 1_000),
        ("0.01", "0", "0", "0.04", "0", "0.05"), None,
        id="openai-o3-launch-price",
    ),
    pytest.param(
        # 500 x 3 = 1,500; 500 x 0.30 = 150; 1,000 x 3.00 = 3,000; 300 x 15 = 4,500
        "moonshot/kimi-k3", None, _usage(2_000, 300, cached=500, write=1_000),
        ("0.0015", "0.00015", "0.003", "0.0045", "0", "0.00915"), None,
        id="moonshot-kimi-k3",
    ),
    pytest.param(
        # 9,000 x 0.60 = 5,400; 1,000 x 0.11 = 110; 500 x 2.20 = 1,100
        "zhipu/glm-4.7", None, _usage(10_000, 500, cached=1_000),
        ("0.0054", "0.00011", "0", "0.0011", "0", "0.00661"), None,
        id="zhipu-glm-4.7",
    ),
    pytest.param(
        "glm-4.7-flash", None, _usage(10_000, 500, cached=1_000),
        ("0", "0", "0", "0", "0", "0"), None,
        id="zhipu-free",
    ),
]
# fmt: on


@pytest.mark.parametrize(("model", "at", "usage", "expected", "tier"), PINS)
def test_cost_pins(model, at, usage, expected, tier):
    cost = pricing.cost(model, usage, at=at)
    got = (cost.input, cost.cache_read, cost.cache_write, cost.output, cost.reasoning, cost.total)
    assert got == tuple(D(x) for x in expected)
    assert cost.tier_above_tokens == tier
    assert cost.currency == "USD" and cost.billing == "metered"


def test_cost_records_the_row_and_tokens_it_used():
    cost = pricing.cost("deepseek-reasoner", _usage(100, 20, cached=80, reasoning=5))
    assert (cost.vendor, cost.model, cost.alias_used) == ("deepseek", "deepseek-flash", "deepseek-reasoner")
    assert cost.checked == pricing.price("deepseek-v4-flash").checked
    assert (cost.prompt_tokens, cost.completion_tokens, cost.cached_tokens, cost.reasoning_tokens) == (100, 20, 80, 5)


def test_unpriced_cache_is_billed_at_input_price():
    pricing.load_overrides(
        {
            "model": [
                {
                    "vendor": "compatible",
                    "id": "plain",
                    "input_mtok": "2",
                    "output_mtok": "4",
                    "context_window": 1000,
                    "checked": "2026-11-21",
                    "source": "internal",
                }
            ]
        }
    )
    # 10 x 2 = 20; 30 x 2 = 60; 60 x 2 = 120; 5 x 4 = 20
    cost = pricing.cost("compatible/plain", _usage(100, 5, cached=30, write=60))
    assert (cost.input, cost.cache_read, cost.cache_write, cost.output) == (
        D("0.00002"),
        D("0.00006"),
        D("0.00012"),
        D("0.00002"),
    )
    assert cost.total == D("0.00022")


def test_plan_billing_is_zero_money_but_keeps_tokens():
    cost = pricing.cost("MiniMax-M3", _usage(10_000, 1_000, cached=2_000, reasoning=300), billing="plan")
    assert cost.billing == "plan"
    assert {cost.input, cost.cache_read, cost.cache_write, cost.output, cost.reasoning, cost.total} == {D("0")}
    assert (cost.prompt_tokens, cost.completion_tokens, cost.cached_tokens, cost.reasoning_tokens) == (
        10_000,
        1_000,
        2_000,
        300,
    )
    assert str(cost) == "$0.000000 (plan)"


def test_usage_object_with_missing_and_none_attributes():
    usage = SimpleNamespace(prompt_tokens=1_000, completion_tokens=None)
    cost = pricing.cost("gpt-4o", usage)  # 1,000 x 2.50 = 2,500
    assert cost.total == D("0.0025")
    assert (cost.estimated, cost.usage_source) == (False, "reported")


@pytest.mark.parametrize(
    ("extra", "estimated", "source"),
    [
        ({"estimated": True}, True, "estimated"),
        ({"usage_source": "mixed"}, True, "mixed"),
        ({"usage_source": "estimated", "estimated": True}, True, "estimated"),
        ({"usage_source": "reported"}, False, "reported"),
    ],
)
def test_estimated_and_usage_source_are_carried(extra, estimated, source):
    cost = pricing.cost("gpt-4o", _usage(10, 10, **extra))
    assert (cost.estimated, cost.usage_source) == (estimated, source)
    assert str(cost).startswith("~$") == estimated


@pytest.mark.parametrize(
    ("usage", "match"),
    [
        (_usage(-1), "prompt_tokens is negative"),
        (_usage(10, -2), "completion_tokens is negative"),
        (_usage(10, cached=8, write=3), "must include cached_tokens and cache_write_tokens"),
        (_usage(10, 5, reasoning=6), "must include reasoning_tokens"),
        (_usage(10.0), "must be an int"),
        (_usage(True), "must be an int"),
        (_usage(10, usage_source="guessed"), "usage_source"),
    ],
)
def test_bad_usage_raises_value_error(usage, match):
    with pytest.raises(ValueError, match=match):
        pricing.cost("gpt-4o", usage)


def test_bad_billing_and_unknown_model_raise():
    with pytest.raises(ValueError, match="billing"):
        pricing.cost("gpt-4o", _usage(1), billing="free")  # type: ignore[arg-type]
    with pytest.raises(UnknownModelPrice, match="nearest known"):
        pricing.cost("gpt-4p", _usage(1))


def test_cost_serialises_to_json_with_decimal_strings():
    cost = pricing.cost("minimax/MiniMax-M2.1", _usage(170, 303, cached=157))
    data = json.loads(cost.model_dump_json())
    assert isinstance(data["total"], str) and D(data["total"]) == D("0.00037221")
    assert "E" not in data["cache_write"]  # plain notation, never "0E-9"
    assert data["checked"] == cost.checked.isoformat()
    assert Cost.model_validate_json(cost.model_dump_json()) == cost


def test_display_rounds_only_for_people():
    cost = pricing.cost("minimax/MiniMax-M2.1", _usage(170, 303, cached=157))
    assert cost.display() == "$0.000372"
    assert cost.display(places=8) == "$0.00037221"
    assert cost.total == D("0.00037221")  # the stored value is untouched


def test_cost_is_frozen():
    cost = pricing.cost("gpt-4o", _usage(1))
    with pytest.raises(ValueError):
        cost.total = D("1")  # type: ignore[misc]


def test_pricing_cost_stays_the_function_after_the_module_is_imported():
    from pricing.cost import Cost as CostClass  # binds the submodule on the package

    assert CostClass is pricing.Cost
    assert callable(pricing.cost) and pricing.cost.__name__ == "cost"


# ------------------------------------------------------------------------------------------ properties

KEYS = [m.key for m in pricing.models()]
TOKENS = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def usages(draw) -> dict:
    fresh, cached, write = draw(TOKENS), draw(TOKENS), draw(TOKENS)
    completion = draw(TOKENS)
    reasoning = draw(st.integers(min_value=0, max_value=completion))
    return _usage(fresh + cached + write, completion, cached=cached, write=write, reasoning=reasoning)


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(model=st.sampled_from(KEYS), usage=usages())
def test_cost_is_non_negative_and_total_is_the_sum_of_parts(model, usage):
    cost = pricing.cost(model, usage)
    parts = (cost.input, cost.cache_read, cost.cache_write, cost.output)
    assert all(p >= 0 for p in (*parts, cost.reasoning))
    assert cost.total == sum(parts, D(0))
    assert cost.reasoning <= cost.output


@PROPERTY_SETTINGS
@given(
    model=st.sampled_from(KEYS),
    usage=usages(),
    extra=st.integers(min_value=1, max_value=500_000),
    field=st.sampled_from(["fresh", "cached", "write", "completion", "reasoning"]),
)
def test_cost_is_monotone_in_each_token_count(model, usage, extra, field):
    more = dict(usage)
    bumps = {
        "fresh": ("prompt_tokens",),
        "cached": ("prompt_tokens", "cached_tokens"),
        "write": ("prompt_tokens", "cache_write_tokens"),
        "completion": ("completion_tokens",),
        "reasoning": ("completion_tokens", "reasoning_tokens"),
    }[field]
    for name in bumps:
        more[name] += extra
    assert pricing.cost(model, more).total >= pricing.cost(model, usage).total


@PROPERTY_SETTINGS
@given(model=st.sampled_from(KEYS), usage=usages())
def test_cost_is_exact_per_million(model, usage):
    at = datetime.now(UTC)
    cost = pricing.cost(model, usage, at=at)
    # The rates that bill at `at`: a time-of-day window (DeepSeek's peak hours) has its own.
    row = pricing.price(model).rates_at(at)[0]
    rates = row.tier_for(usage["prompt_tokens"]) or row
    fresh = usage["prompt_tokens"] - usage["cached_tokens"] - usage["cache_write_tokens"]
    micro = (
        fresh * rates.input
        + usage["cached_tokens"] * (rates.cache_read if rates.cache_read is not None else rates.input)
        + usage["cache_write_tokens"] * (rates.cache_write if rates.cache_write is not None else rates.input)
        + usage["completion_tokens"] * rates.output
    )
    assert cost.total * 1_000_000 == micro


@PROPERTY_SETTINGS
@given(model=st.sampled_from(KEYS), usage=usages())
def test_plan_billing_is_always_zero(model, usage):
    cost = pricing.cost(model, usage, billing="plan")
    assert cost.total == 0 and cost.prompt_tokens == usage["prompt_tokens"]


def test_web_search_requests_are_priced_per_thousand_where_the_row_says() -> None:
    from decimal import Decimal

    from pricing import cost

    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "web_search_requests": 3}
    c = cost("anthropic/claude-sonnet-4-6", usage)
    assert (c.web_search, c.web_search_requests) == (Decimal("0.030"), 3)
    assert c.total == c.input + c.cache_read + c.cache_write + c.output + c.web_search
    assert cost("anthropic/claude-sonnet-4-6", usage, billing="plan").total == 0
    assert cost("openai/gpt-5.1", usage).web_search == 0          # no per-search price on the row


@PROPERTY_SETTINGS
@given(model=st.sampled_from(KEYS), usage=usages())
def test_a_computed_cost_is_what_validation_builds(model, usage):
    # cost() builds its Cost without validating it again: the result must be the validated one.
    cost = pricing.cost(model, usage)
    again = pricing.Cost(**{name: getattr(cost, name) for name in cost.model_fields_set})
    assert cost == again
    assert cost.model_dump_json() == again.model_dump_json()
    assert cost.model_fields_set == again.model_fields_set
    with pytest.raises(ValueError):
        cost.total = cost.total + 1   # still frozen
