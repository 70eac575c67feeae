"""Issue 5 (router level): every call carries its cost, through the emulator.

Prices below are literals copied from pricing/data/*.toml (USD per million tokens, rows current on
2026-11-21 and open-ended); token counts are read from what the EMULATOR reported (the last request is
replayed straight to the emulator and its raw usage read in the vendor's own field names), so a wrong
usage mapping in Farebox shows up here as a wrong cost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

import pricing
import router
from router import costing, retry
from router.emulator import Emulator

KEY = "sk-api-cost-calls-0001"
PLAN_KEY = "sk-cp-cost-calls-plan-0001"
MSG = [
    {"role": "system", "content": "You answer briefly and precisely."},
    {"role": "user", "content": "Please tell me what a prompt cache does for the cost of a long chat"},
]
MILLION = Decimal(1_000_000)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Pin:
    id: str
    model: str
    emu: str
    input: str          # USD per million tokens, from pricing/data/<vendor>.toml
    output: str
    cache_read: str
    cache_write: str | None = None
    peak: tuple[str, str, str] | None = None   # input, output, cache read in DeepSeek's peak hours

    def when(self, at: datetime | None) -> Pin:
        """The rates that bill a request sent at `at`: DeepSeek's peak rates on a weekday's peak hour."""
        if self.peak is None or at is None or not deepseek_peak(at):
            return self
        return replace(self, input=self.peak[0], output=self.peak[1], cache_read=self.peak[2])


# PRC statutory holidays of 2026 from the State Council notice, written out here by hand.
CN_HOLIDAYS = {date(2026, m, d) for m, first, last in ((1, 1, 3), (2, 15, 23), (4, 4, 6), (5, 1, 5), (6, 19, 21),
                                                       (9, 25, 27), (10, 1, 7)) for d in range(first, last + 1)}


def deepseek_peak(at: datetime) -> bool:
    """DeepSeek's peak hours: 01-04 and 06-10 UTC, Monday to Friday, not on a PRC holiday."""
    return at.weekday() < 5 and (1 <= at.hour < 4 or 6 <= at.hour < 10) and at.date() not in CN_HOLIDAYS


PINS = [
    Pin("minimax", "minimax/MiniMax-M3", "minimax", "0.30", "1.20", "0.06"),          # active rate from 2026-06-01
    Pin("deepseek", "deepseek/deepseek-flash", "deepseek", "0.15", "0.60", "0.003",   # V4.1-Flash from 2026-09-10
        peak=("0.30", "1.20", "0.006")),
    Pin("anthropic", "anthropic/claude-sonnet-4-5", "anthropic", "3.00", "15.00", "0.30", "3.75"),
    Pin("openai", "openai/gpt-4o-mini", "openai", "0.15", "0.60", "0.075"),
    Pin("moonshot", "moonshot/kimi-k2.6", "moonshot", "0.95", "4.00", "0.16"),
    Pin("zhipu", "zhipu/glm-5.2", "zhipu", "1.40", "4.40", "0.26"),
]
PIN = {p.id: p for p in PINS}
CACHED = 4   # prompt tokens the emulator reports as cache hits


@pytest.fixture(autouse=True)
def _no_sleep() -> Iterator[list[float]]:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    retry.set_sleep(record)
    yield waits
    retry.set_sleep(None)


@pytest.fixture
def overrides() -> Iterator[Any]:
    yield pricing.load_overrides
    pricing.reset_overrides()


def call(emu: Emulator, pin: Pin, *, key: str = KEY, surface: str | None = None, **kw: Any) -> Any:
    return router.completion(model=pin.model, messages=MSG, api_key=key, base_url=emu.base_url(pin.emu, surface),
                             **kw)


def replay_usage(emu: Emulator) -> dict[str, Any]:
    """The usage the emulator reports for the last request, in the vendor's field names (not via Farebox)."""
    rec = emu.last_request()
    assert rec is not None and isinstance(rec.body, dict) and not rec.stream
    headers = {"content-type": "application/json"}
    headers.update({"x-api-key": KEY} if rec.auth_kind == "x-api-key" else {"authorization": f"Bearer {KEY}"})
    if "anthropic-version" in rec.headers:
        headers["anthropic-version"] = rec.headers["anthropic-version"]
    req = urllib.request.Request(emu.url + rec.path, data=json.dumps(rec.body).encode(), headers=headers,
                                 method="POST")
    with urllib.request.urlopen(req, timeout=10) as reply:
        return json.loads(reply.read())["usage"]


def counts_from_wire(vendor: str, raw: dict[str, Any]) -> tuple[int, int, int, int]:
    """(fresh input, cache read, cache write, output) read by hand from each vendor's usage shape."""
    if vendor == "anthropic":   # §5: input_tokens excludes the cache fields
        return (raw["input_tokens"], raw.get("cache_read_input_tokens", 0),
                raw.get("cache_creation_input_tokens", 0), raw["output_tokens"])
    if vendor == "deepseek":    # §2.5: prompt = hit + miss
        assert raw["prompt_cache_hit_tokens"] + raw["prompt_cache_miss_tokens"] == raw["prompt_tokens"]
        return raw["prompt_cache_miss_tokens"], raw["prompt_cache_hit_tokens"], 0, raw["completion_tokens"]
    cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens", 0)   # §1.7, OpenAI
    return raw["prompt_tokens"] - cached, cached, 0, raw["completion_tokens"]


def per_million(tokens: int, usd: str) -> Decimal:
    return Decimal(tokens) * Decimal(usd) / MILLION


def content_of(chunks: list[Any]) -> tuple[str, str]:
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(c.choices[0].delta.reasoning_content or "" for c in chunks if c.choices)
    return text, reasoning


# ── cost pins: one plain call per vendor ────────────────────────────────────────────────────────────
@pytest.mark.parametrize("pin", [pytest.param(p, id=p.id) for p in PINS])
def test_cost_pin(emu: Emulator, pin: Pin) -> None:
    emu.set_options(pin.emu, cache_hit_tokens=CACHED)
    resp = call(emu, pin)
    pin = pin.when(resp.cost.at)
    fresh, cached, written, out = counts_from_wire(pin.emu, replay_usage(emu))
    assert cached == CACHED and fresh > 0 and out > 0
    expected = (per_million(fresh, pin.input) + per_million(cached, pin.cache_read)
                + per_million(written, pin.cache_write or pin.input) + per_million(out, pin.output))
    cost = resp.cost
    assert cost is not None
    assert cost.total == expected
    assert cost.input == per_million(fresh, pin.input)
    assert cost.cache_read == per_million(cached, pin.cache_read)
    assert cost.output == per_million(out, pin.output)
    assert cost.total == cost.input + cost.cache_read + cost.cache_write + cost.output
    assert router.completion_cost(resp) == cost.total
    assert (cost.currency, cost.billing, cost.usage_source, cost.estimated) == ("USD", "metered", "reported", False)
    assert (cost.prompt_tokens, cost.cached_tokens, cost.completion_tokens) == (fresh + cached + written, cached, out)
    assert (resp.usage.prompt_tokens, resp.usage.cached_tokens, resp.usage.completion_tokens) == (
        fresh + cached + written, cached, out)
    assert resp.usage.estimated is False
    assert resp.attempts[-1].cost == cost


# ── streams ─────────────────────────────────────────────────────────────────────────────────────────
# MiniMax puts usage on its finish chunk; the reasoning_details summary must not follow it as an extra chunk.
STREAM_PINS = [pytest.param(p, id=p.id) for p in PINS]


@pytest.mark.parametrize("pin", STREAM_PINS)
def test_stream_last_chunk_and_response_carry_the_same_cost(emu: Emulator, pin: Pin) -> None:
    stream = call(emu, pin, stream=True)
    chunks = list(stream)
    last, resp = chunks[-1], stream.response
    assert resp is not None and resp.cost is not None
    assert last.usage is not None
    assert last.cost is not None
    assert last.cost == resp.cost
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (
        resp.usage.prompt_tokens, resp.usage.completion_tokens)
    assert router.completion_cost(resp) == resp.cost.total
    assert all(c.cost is None for c in chunks[:-1] if c.usage is None)


@pytest.mark.parametrize("pin", [pytest.param(PIN[v], id=v)
                                 for v in ("minimax", "deepseek", "anthropic", "openai", "moonshot")])
def test_stream_reported_usage_costs_what_the_plain_call_costs(emu: Emulator, pin: Pin) -> None:
    plain = call(emu, pin)
    stream = call(emu, pin, stream=True)
    list(stream)
    resp = stream.response
    assert resp.cost.usage_source == "reported" and resp.cost.estimated is False
    assert resp.usage.estimated is False
    assert resp.cost.total == plain.cost.total
    assert router.completion_cost(resp) == plain.cost.total
    assert resp.attempts[-1].cost == resp.cost


def test_minimax_stream_without_usage_is_estimated_with_tiktoken(emu: Emulator) -> None:
    pin = PIN["minimax"]
    emu.set_options("minimax", stream_usage="never")
    stream = call(emu, pin, stream=True)
    chunks = list(stream)
    assert emu.last_request().body["stream_options"] == {"include_usage": True}   # asked, but none came
    text, reasoning = content_of(chunks)
    assert text and reasoning
    want_prompt = pricing.count_tokens("minimax/MiniMax-M3", messages=MSG)
    want_completion = (pricing.count_tokens("minimax/MiniMax-M3", text=text)
                       + pricing.count_tokens("minimax/MiniMax-M3", text=reasoning))
    resp = stream.response
    usage, cost = resp.usage, resp.cost
    assert usage.estimated is True
    assert abs(usage.prompt_tokens - want_prompt) <= want_prompt / 10
    assert abs(usage.completion_tokens - want_completion) <= want_completion / 10
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert cost is not None
    assert (cost.estimated, cost.usage_source, cost.billing) == (True, "estimated", "metered")
    assert cost.total == per_million(usage.prompt_tokens, "0.30") + per_million(usage.completion_tokens, "1.20")
    assert chunks[-1].usage == usage and chunks[-1].cost == cost     # the estimate rides on the last chunk
    assert router.completion_cost(resp) == cost.total
    assert cost.display().startswith("~$")


def test_plain_reply_without_usage_is_estimated_with_tiktoken(emu: Emulator) -> None:
    pin = PIN["deepseek"]
    emu.set_options("deepseek", reply_usage="omit", thinking=False)
    resp = call(emu, pin)
    text = resp.choices[0].message.content
    pin = pin.when(resp.cost.at)
    assert text and resp.usage.estimated is True
    want_prompt = pricing.count_tokens(pin.model, messages=MSG)
    want_completion = pricing.count_tokens(pin.model, text=text)
    assert abs(resp.usage.prompt_tokens - want_prompt) <= want_prompt / 10
    assert abs(resp.usage.completion_tokens - want_completion) <= max(2, want_completion / 10)
    assert (resp.cost.estimated, resp.cost.usage_source) == (True, "estimated")
    assert resp.cost.total == per_million(resp.usage.prompt_tokens, pin.input) + per_million(
        resp.usage.completion_tokens, pin.output)


def test_minimax_stream_estimate_counts_tools_and_tool_calls(emu: Emulator) -> None:
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    msgs = [{"role": "user", "content": "What is the weather in Paris?"}]
    emu.set_options("minimax", stream_usage="never")
    stream = router.completion(model="minimax/MiniMax-M3", messages=msgs, tools=tools, api_key=KEY,
                               base_url=emu.base_url("minimax"), stream=True)
    list(stream)
    resp = stream.response
    message = resp.choices[0].message
    assert message.tool_calls
    model = "minimax/MiniMax-M3"
    want_prompt = pricing.count_tokens(model, messages=msgs, tools=tools)
    want_completion = pricing.count_tokens(model, text=message.reasoning_content or "") + sum(
        pricing.count_tokens(model, text=c.function.name + c.function.arguments) for c in message.tool_calls)
    assert abs(resp.usage.prompt_tokens - want_prompt) <= want_prompt / 10
    assert abs(resp.usage.completion_tokens - want_completion) <= want_completion / 10
    assert resp.cost.estimated is True and resp.cost.usage_source == "estimated"


def test_async_stream_estimate_and_plain_cost(emu: Emulator) -> None:
    emu.set_options("minimax", stream_usage="never")
    base = emu.base_url("minimax")

    async def run() -> tuple[Any, Any]:
        try:
            plain = await router.acompletion(model="minimax/MiniMax-M3", messages=MSG, api_key=KEY, base_url=base)
            stream = await router.acompletion(model="minimax/MiniMax-M3", messages=MSG, api_key=KEY, base_url=base,
                                              stream=True)
            chunks = [c async for c in stream]
            assert chunks[-1].cost == stream.response.cost
            return plain, stream.response
        finally:
            await router.aclose()

    plain, streamed = asyncio.run(run())
    assert plain.cost.usage_source == "reported" and plain.cost.total > 0
    assert streamed.cost.usage_source == "estimated" and streamed.usage.estimated is True
    assert router.completion_cost(streamed) == streamed.cost.total


def test_minimax_stream_real_usage_wins_over_the_estimate(emu: Emulator) -> None:
    pin = PIN["minimax"]
    plain = call(emu, pin)
    reported = (plain.usage.prompt_tokens, plain.usage.completion_tokens)
    stream = call(emu, pin, stream=True)          # stream_usage default ("honour") + include_usage
    chunks = list(stream)
    resp = stream.response
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == reported
    assert resp.usage.estimated is False
    assert (resp.cost.estimated, resp.cost.usage_source) == (False, "reported")
    carriers = [c for c in chunks if c.usage is not None]
    assert len(carriers) == 1 and carriers[0].usage.estimated is False
    assert carriers[0].cost == resp.cost


@pytest.mark.parametrize(("pin", "surface", "sends"), [
    pytest.param(PIN["openai"], None, True, id="openai"),
    pytest.param(PIN["deepseek"], None, True, id="deepseek"),
    pytest.param(PIN["minimax"], None, True, id="minimax"),
    pytest.param(PIN["moonshot"], None, True, id="moonshot"),
    pytest.param(Pin("compatible", "compatible/my-llama", "compatible", "0", "0", "0"), None, True, id="compatible"),
    pytest.param(PIN["zhipu"], None, False, id="zhipu"),          # spec stream_usage=False (§3)
    pytest.param(PIN["anthropic"], None, False, id="anthropic"),  # Messages wire: usage always comes
    pytest.param(PIN["minimax"], "anthropic", False, id="minimax-anthropic"),
])
def test_include_usage_is_sent_only_where_accepted(emu: Emulator, pin: Pin, surface: str | None,
                                                    sends: bool) -> None:
    stream = call(emu, pin, surface=surface, stream=True)
    list(stream)
    body = emu.last_request().body
    assert body["stream"] is True
    if sends:
        assert body["stream_options"] == {"include_usage": True}
    else:
        assert "stream_options" not in body
    emu.clear()
    call(emu, pin, surface=surface)
    assert "stream_options" not in emu.last_request().body      # never on plain calls


def test_zhipu_stream_without_include_usage_still_carries_a_cost(emu: Emulator) -> None:
    stream = call(emu, PIN["zhipu"], stream=True)
    chunks = list(stream)
    resp = stream.response
    assert resp.cost is not None and chunks[-1].cost == resp.cost
    if resp.usage.estimated:     # the emulator's GLM sends no usage without include_usage
        assert (resp.cost.estimated, resp.cost.usage_source) == (True, "estimated")


# ── plan keys ───────────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("surface", ["openai", "anthropic"])
def test_minimax_plan_key_bills_the_plan_not_money(emu: Emulator, surface: str) -> None:
    resp = call(emu, PIN["minimax"], key=PLAN_KEY, surface=surface)
    cost = resp.cost
    assert cost.billing == "plan"
    assert cost.total == Decimal("0")
    assert cost.input == cost.cache_read == cost.cache_write == cost.output == cost.reasoning == ZERO
    assert cost.prompt_tokens > 0 and cost.completion_tokens > 0      # quota use is still counted
    assert cost.prompt_tokens == resp.usage.prompt_tokens
    assert router.completion_cost(resp) == ZERO
    assert "plan" in cost.display()


def test_minimax_plan_key_stream_bills_the_plan(emu: Emulator) -> None:
    emu.set_options("minimax", stream_usage="never")
    stream = call(emu, PIN["minimax"], key=PLAN_KEY, stream=True)
    list(stream)
    cost = stream.response.cost
    assert (cost.billing, cost.total, cost.estimated) == ("plan", ZERO, True)
    assert cost.prompt_tokens > 0


def test_minimax_payg_key_is_metered(emu: Emulator) -> None:
    cost = call(emu, PIN["minimax"], key="sk-api-cost-calls-payg-0002").cost
    assert cost.billing == "metered" and cost.total > 0


@pytest.mark.parametrize("pin", [pytest.param(PIN[v], id=v) for v in ("deepseek", "openai", "moonshot", "zhipu",
                                                                        "anthropic")])
def test_other_vendors_are_metered_even_with_an_sk_cp_key(emu: Emulator, pin: Pin) -> None:
    cost = call(emu, pin, key=PLAN_KEY).cost
    assert cost.billing == "metered" and cost.total > 0


# ── unknown price ───────────────────────────────────────────────────────────────────────────────────
LLAMA = Pin("compatible", "compatible/my-llama", "compatible", "1.25", "2.50", "1.25")


def _price_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("farebox")]


def test_unknown_price_gives_no_cost_and_one_warning(emu: Emulator, caplog: pytest.LogCaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(costing, "_warned", set())     # other tests may already have warned for this model
    caplog.set_level(logging.WARNING)
    resp = call(emu, LLAMA)
    assert resp.cost is None
    assert router.completion_cost(resp) is None
    assert resp.usage.prompt_tokens > 0                 # tokens are still reported
    stream = call(emu, LLAMA, stream=True)
    chunks = list(stream)
    assert stream.response.cost is None and all(c.cost is None for c in chunks)
    call(emu, LLAMA)
    warnings = _price_warnings(caplog)
    assert len(warnings) == 1, [w.getMessage() for w in warnings]
    text = warnings[0].getMessage()
    assert "compatible/my-llama" in text
    assert "pricing.load_overrides" in text


def test_override_price_makes_the_cost_appear(emu: Emulator, overrides: Any) -> None:
    assert call(emu, LLAMA).cost is None
    overrides({"model": [{"vendor": "compatible", "id": "my-llama", "input_mtok": LLAMA.input,
                          "output_mtok": LLAMA.output, "context_window": 8192, "checked": "2026-11-21",
                          "source": "test_cost_calls"}]})
    resp = call(emu, LLAMA)
    fresh, cached, _, out = counts_from_wire("compatible", replay_usage(emu))
    assert cached == 0
    assert resp.cost is not None
    assert resp.cost.total == per_million(fresh, "1.25") + per_million(out, "2.50")
    assert router.completion_cost(resp) == resp.cost.total
    stream = call(emu, LLAMA, stream=True)
    list(stream)
    assert stream.response.cost.total == resp.cost.total
    pricing.reset_overrides()
    assert call(emu, LLAMA).cost is None


# ── failed attempts ─────────────────────────────────────────────────────────────────────────────────
def test_failed_attempts_cost_nothing(emu: Emulator) -> None:
    emu.fault(vendor="deepseek", status=500)
    emu.fault(vendor="deepseek", status=429, retry_after=1)
    resp = call(emu, PIN["deepseek"], num_retries=2)
    assert [(a.status, a.ok) for a in resp.attempts] == [(500, False), (429, False), (200, True)]
    assert [a.cost for a in resp.attempts[:2]] == [None, None]
    assert resp.attempts[-1].cost == resp.cost and resp.cost.total > 0


def test_failed_stream_attempt_costs_nothing(emu: Emulator) -> None:
    emu.fault(vendor="openai", status=503)
    stream = call(emu, PIN["openai"], stream=True, num_retries=1)
    list(stream)
    attempts = stream.response.attempts
    assert [(a.status, a.ok) for a in attempts] == [(503, False), (200, True)]
    assert attempts[0].cost is None
    assert attempts[-1].cost == stream.response.cost is not None


def test_fallback_attempt_costs_nothing(emu: Emulator) -> None:
    emu.fault(vendor="minimax", status=401)
    r = router.Router(
        deployments=[
            {"alias": "smart", "model": "minimax/MiniMax-M3", "api_key": KEY, "base_url": emu.base_url("minimax")},
            {"alias": "backup", "model": "deepseek/deepseek-v4-flash", "api_key": KEY,
             "base_url": emu.base_url("deepseek")},
        ],
        fallbacks={"smart": ["backup"]},
    )
    resp = r.completion(model="smart", messages=MSG)
    assert [(a.vendor, a.ok) for a in resp.attempts] == [("minimax", False), ("deepseek", True)]
    assert resp.attempts[0].cost is None
    assert resp.cost.vendor == "deepseek" and resp.attempts[-1].cost == resp.cost


# ── Anthropic cache writes by duration (usage.cache_creation) ───────────────────────────────────────
@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_one_hour_cache_writes_are_read_and_billed_at_twice_input(emu: Emulator, stream: bool) -> None:
    pin = PIN["anthropic"]
    emu.set_options("anthropic", cache_hit_tokens=2, cache_write_tokens=(3, 5))
    resp = call(emu, pin, stream=stream)
    if stream:
        list(resp)
        resp = resp.response
    assert (resp.usage.cached_tokens, resp.usage.cache_write_tokens, resp.usage.cache_write_1h_tokens) == (2, 8, 5)
    # claude-sonnet-4-5: 5-minute writes 3.75 (1.25x input 3.00), 1-hour writes 6.00 (2x)
    assert resp.cost.cache_write == per_million(3, "3.75") + per_million(5, "6.00")
    assert resp.cost.cache_write_1h_tokens == 5
    fresh = resp.usage.prompt_tokens - 2 - 8
    assert resp.cost.total == (per_million(fresh, "3.00") + per_million(2, "0.30") + resp.cost.cache_write
                               + per_million(resp.usage.completion_tokens, "15.00"))


# ── service tiers ───────────────────────────────────────────────────────────────────────────────────
def test_a_service_tier_asked_for_is_priced_at_its_rates(emu: Emulator) -> None:
    pin = Pin("openai", "openai/gpt-5.5", "openai", "5.00", "30.00", "0.50")
    standard = call(emu, pin)
    flex = call(emu, pin, extra_body={"service_tier": "flex"})   # (OpenAI's caps do not list service_tier yet)
    assert emu.last_request("openai").body["service_tier"] == "flex"
    assert (standard.cost.service_tier, flex.cost.service_tier) == (None, "flex")
    usage = flex.usage
    assert flex.cost.total == per_million(usage.prompt_tokens, "2.50") + per_million(usage.completion_tokens, "15.00")
    assert standard.cost.total == 2 * flex.cost.total


def test_the_tier_the_reply_says_served_it_is_the_one_priced(emu: Emulator) -> None:
    """OpenAI bills the tier that served the request, which its reply names (service_tier): for "auto" on a
    project with Scale Tier credits that can be "priority"; a standard answer says "default"."""
    pin = Pin("openai", "openai/gpt-5.5", "openai", "5.00", "30.00", "0.50")
    standard = call(emu, pin, extra_body={"service_tier": "auto"})
    assert standard.service_tier == "default" and standard.cost.service_tier is None
    emu.set_options("openai", served_tier="priority")
    served = call(emu, pin, extra_body={"service_tier": "auto"})
    assert served.service_tier == "priority" and served.cost.service_tier == "priority"
    usage = served.usage
    assert served.cost.total == (per_million(usage.prompt_tokens, "12.50")
                                 + per_million(usage.completion_tokens, "75.00"))
    assert served.cost.total == Decimal("2.5") * standard.cost.total
