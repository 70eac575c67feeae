"""What vendors bill beyond a flat rate: time windows and holidays, 1-hour cache writes, service tiers, sources."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pricing
from pricing import PricingError, UnknownModelPrice
from pricing.rows import validate_rows
from pricing.windows import Schedule, calendar

# 1M prompt tokens of which 200K cache hits, 100K output: the research notes' genai-prices example.
MIX = {"prompt_tokens": 1_000_000, "cached_tokens": 200_000, "completion_tokens": 100_000}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FAREBOX_PRICES", raising=False)
    pricing.reset_overrides()
    yield
    pricing.reset_overrides()


# ----------------------------------------------------------------------------------------------- DeepSeek


@pytest.mark.parametrize(("model", "when", "window", "total"), [
    # Monday 02:00 UTC = 10:00 Beijing, peak: 800,000 x 1.32 + 200,000 x 0.044 + 100,000 x 3.96
    ("deepseek-v4-pro", "2026-11-30T02:00", "peak", "1.4608"),
    # Monday 12:00 UTC = 20:00 Beijing, off-peak: half
    ("deepseek-v4-pro", "2026-11-30T12:00", "off-peak", "0.7304"),
    # deepseek-flash peak: 800,000 x 0.30 + 200,000 x 0.006 + 100,000 x 1.20
    ("deepseek/deepseek-flash", "2026-11-30T02:00", "peak", "0.3612"),
    ("deepseek/deepseek-flash", "2026-11-30T11:00", "off-peak", "0.1806"),
    # the legacy names are billed as deepseek-flash
    ("deepseek-v4-flash", "2026-11-30T07:30", "peak", "0.3612"),
    ("deepseek-chat", "2026-11-30T04:00", "off-peak", "0.1806"),
    # Saturday and Sunday are off-peak all day (the Chinese page's 周一至周五)
    ("deepseek/deepseek-flash", "2026-11-28T02:00", "off-peak", "0.1806"),
    ("deepseek/deepseek-flash", "2026-11-29T08:00", "off-peak", "0.1806"),
    # National Day (Thursday 2026-10-01) and Mid-Autumn (Friday 2026-09-25): off-peak
    ("deepseek/deepseek-flash", "2026-10-01T02:00", "off-peak", "0.1806"),
    ("deepseek/deepseek-flash", "2026-09-25T09:59", "off-peak", "0.1806"),
    # the day after the holiday is a weekday again
    ("deepseek/deepseek-flash", "2026-10-08T02:00", "peak", "0.3612"),
    # V4-Flash between peak pricing and V4.1: 800,000 x 0.44 + 200,000 x 0.014 + 100,000 x 1.32
    ("deepseek-v4-flash", "2026-09-01T02:00", "peak", "0.4868"),
    ("deepseek-v4-flash", "2026-09-01T05:00", "off-peak", "0.2434"),
    # launch week: windows every day, so Saturday 2026-08-22 02:00 UTC is peak; Sunday the 23rd is not
    ("deepseek-v4-pro", "2026-08-22T02:00", "peak", "1.4608"),
    ("deepseek-v4-pro", "2026-08-23T02:00", "off-peak", "0.7304"),
    # before 16:00 UTC on 2026-08-16 there were no windows: 800,000 x 0.435 + 200,000 x 0.003625 + 100,000 x 0.87
    ("deepseek-v4-pro", "2026-08-14T02:00", None, "0.435725"),
])
def test_deepseek_bills_by_the_request_time(model, when, window, total):
    cost = pricing.cost(model, MIX, at=at(when))
    assert (cost.window, cost.total) == (window, D(total))
    assert cost.at == at(when)


@pytest.mark.parametrize(("when", "window"), [
    ("2026-11-30T00:59:59.999999", "off-peak"),
    ("2026-11-30T01:00:00", "peak"),
    ("2026-11-30T03:59:59.999999", "peak"),
    ("2026-11-30T04:00:00", "off-peak"),
    ("2026-11-30T05:59:59", "off-peak"),
    ("2026-11-30T06:00:00", "peak"),
    ("2026-11-30T09:59:59", "peak"),
    ("2026-11-30T10:00:00", "off-peak"),
])
def test_windows_are_half_open(when, window):
    assert pricing.cost("deepseek-flash", MIX, at=at(when)).window == window


def test_a_time_in_another_zone_is_the_same_instant():
    beijing = timezone(timedelta(hours=8))
    local = datetime(2026, 11, 30, 10, 0, tzinfo=beijing)  # 02:00 UTC
    assert pricing.cost("deepseek-flash", MIX, at=local).window == "peak"
    assert pricing.cost("deepseek-flash", MIX, at=local).at == at("2026-11-30T02:00")


def test_the_holiday_calendar_is_data_with_dated_entries():
    cn = calendar("cn")
    assert cn.utc_offset == "+08:00" and 2026 in cn.years
    assert date(2026, 2, 15) in cn.days and date(2026, 2, 23) in cn.days and date(2026, 2, 24) not in cn.days
    assert len(cn.days) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    # 2026-09-30 16:00 UTC is already October 1st in Beijing
    assert cn.is_holiday(at("2026-09-30T16:00")) and not cn.is_holiday(at("2026-09-30T15:59"))


def test_unknown_calendar_fails_loudly():
    with pytest.raises(ValueError, match="no holiday calendar 'mars'"):
        Schedule(hours=((1, 4),), except_holidays="mars")


# ------------------------------------------------------------------------------------ cache-write durations


def test_one_hour_cache_writes_bill_at_twice_input():
    # Anthropic: input 100, cache writes 900 of which 600 for 1 hour; sonnet-4-5 input 3, 5m 3.75, 1h 6.00
    usage = {"prompt_tokens": 1000, "cache_write_tokens": 900, "cache_write_1h_tokens": 600}
    cost = pricing.cost("anthropic/claude-sonnet-4-5", usage)
    assert cost.input == D("0.0003")
    assert cost.cache_write == D("0.001125") + D("0.0036")
    assert cost.cache_write_1h_tokens == 600
    assert pricing.price("claude-sonnet-4-5").cache_write_1h == 2 * pricing.price("claude-sonnet-4-5").input


def test_every_anthropic_row_prices_one_hour_writes_at_2x_and_5_minutes_at_1_25x():
    for row in pricing.models("anthropic"):
        assert row.cache_write_1h == 2 * row.input, row.key
        assert row.cache_write == D("1.25") * row.input, row.key
        for tier in row.tiers:
            assert tier.cache_write_1h == 2 * tier.input, row.key


def test_one_hour_writes_cannot_exceed_all_writes():
    with pytest.raises(ValueError, match="cache_write_tokens must include cache_write_1h_tokens"):
        pricing.cost("claude-sonnet-4-5", {"prompt_tokens": 10, "cache_write_tokens": 1, "cache_write_1h_tokens": 2})


# ------------------------------------------------------------------------------- context and service tiers


@pytest.mark.parametrize(("service_tier", "prompt", "total", "tier"), [
    (None, 272_000, "1.36", None),              # 272,000 x 5 (not above the threshold)
    (None, 300_000, "3.45", 272000),            # 300,000 x 10 + 10,000 x 45
    ("batch", 100_000, "0.40", None),           # 100,000 x 2.50 + 10,000 x 15
    ("flex", 300_000, "1.725", 272000),         # 300,000 x 5 + 10,000 x 22.50
    ("priority", 300_000, "4.5", 272000),       # 300,000 x 12.50 + 10,000 x 75 (no long-context uplift)
])
def test_gpt_5_5_tiers(service_tier, prompt, total, tier):
    usage = {"prompt_tokens": prompt, "completion_tokens": 0 if prompt == 272_000 else 10_000}
    cost = pricing.cost("openai/gpt-5.5", usage, service_tier=service_tier)
    assert (cost.total, cost.tier_above_tokens, cost.service_tier) == (D(total), tier, service_tier)


def test_a_service_tier_the_row_does_not_price_is_unknown_not_standard():
    with pytest.raises(UnknownModelPrice, match=r"no 'batch' service-tier price.*standard, priority"):
        pricing.cost("MiniMax-M3", {"prompt_tokens": 1}, service_tier="batch")
    assert pricing.cost("MiniMax-M3", {"prompt_tokens": 1}, service_tier="standard").total == D("0.0000003")


def test_minimax_m3_priority_is_1_5x_with_its_own_long_tier():
    cost = pricing.cost("MiniMax-M3", {"prompt_tokens": 600_000}, service_tier="priority")
    assert (cost.total, cost.tier_above_tokens) == (D("0.54"), 512000)  # 600,000 x 0.90


# -------------------------------------------------------------------------------------------- row schema

ROW = {"vendor": "acme", "id": "a1", "input_mtok": "1", "output_mtok": "2", "context_window": 10,
       "checked": "2026-12-01", "source": "https://acme.example/prices"}
PEAK = {"name": "peak", "hours": [[1, 4]], "input_mtok": "2", "output_mtok": "4"}


@pytest.mark.parametrize(("change", "message"), [
    ({"windows": [PEAK]}, "base_window"),
    ({"windows": [{**PEAK, "hours": [[5, 3]]}], "base_window": "off"}, "empty"),
    ({"windows": [{**PEAK, "hours": [[22, 25]]}], "base_window": "off"}, "less than or equal to 24"),
    ({"windows": [{**PEAK, "weekdays": [0]}], "base_window": "off"}, "greater than or equal to 1"),
    ({"windows": [{**PEAK, "except_holidays": "xx"}], "base_window": "off"}, "no holiday calendar 'xx'"),
    ({"windows": [PEAK], "base_window": "off", "tiers": [{"above_tokens": 5, "input_mtok": "3", "output_mtok": "3"}]},
     "must list its own"),
    ({"service_tiers": [{"name": "turbo", "input_mtok": "1", "output_mtok": "1"}]}, "batch"),
    ({"cache_write_1h_mtok": 2.0}, "strings"),
    ({"extra": 1}, "Extra inputs"),
])
def test_bad_rows_are_refused(change, message):
    with pytest.raises(PricingError, match=message):
        validate_rows({"model": [{**ROW, **change}]}, "test")


@pytest.mark.parametrize(("vendor", "source", "third_party", "ok"), [
    ("deepseek", "https://api-docs.deepseek.com/quick_start/pricing", False, True),
    ("deepseek", "https://chat-deep.ai/pricing", False, False),       # not DeepSeek's page, not marked
    ("deepseek", "https://chat-deep.ai/pricing", True, True),         # marked: allowed, and visible on the cost
    ("minimax", "https://platform.minimaxi.com/docs/guides/pricing-paygo", False, True),
    ("openai", "internal spreadsheet", True, False),                  # neither a vendor page nor a URL
    ("openai", "http://openai.com/api/pricing", False, False),        # https only
])
def test_a_shipped_row_cites_the_vendor_page_or_says_third_party(vendor, source, third_party, ok):
    row = {**ROW, "vendor": vendor, "source": source, "third_party": third_party}
    if ok:
        assert validate_rows({"model": [row]}, "test", strict=True)[0].third_party is third_party
    else:
        with pytest.raises(PricingError, match="source"):
            validate_rows({"model": [row]}, "test", strict=True)


def test_overrides_may_cite_anything():
    pricing.load_overrides({"model": [{**ROW, "source": "our contract, 2026"}]})
    assert pricing.cost("acme/a1", {"prompt_tokens": 1}).source == "our contract, 2026"


def test_cost_says_where_its_rates_came_from():
    cost = pricing.cost("deepseek-v4-pro", MIX, at=at("2026-11-30T02:00"))
    assert cost.source == "https://api-docs.deepseek.com/zh-cn/quick_start/pricing" and not cost.third_party
    assert cost.checked == date(2026, 12, 1) and cost.window == "peak" and cost.tier_above_tokens is None
    m3 = pricing.cost("MiniMax-M3", {"prompt_tokens": 1})
    assert m3.third_party and m3.source.startswith("https://dev.to/")


def test_readme_pricing_example_is_what_the_table_computes():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    cost = pricing.cost("deepseek/deepseek-v4-pro", MIX, at="2026-11-30T02:00Z")
    assert (cost.window, cost.tier_above_tokens, cost.service_tier) == ("peak", None, None)
    for shown in (f'"{cost.window}"', cost.source, f"date({cost.checked:%Y}, {cost.checked.month}, {cost.checked.day})",
                  f'Decimal("{cost.total.normalize()}")', cost.display(), "$1.32/M", "$0.044/M", "$3.96/M"):
        assert shown in readme, shown


# An independent reading of DeepSeek's rule, in Beijing time with the standard library's zone database.
_CN_2026 = {date(2026, m, d) for m, first, last in ((1, 1, 3), (2, 15, 23), (4, 4, 6), (5, 1, 5), (6, 19, 21),
                                                    (9, 25, 27), (10, 1, 7)) for d in range(first, last + 1)}


def _deepseek_peak(at: datetime) -> bool:
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo("Asia/Shanghai"))
    in_hours = 9 <= local.hour < 12 or 14 <= local.hour < 18
    return in_hours and local.isoweekday() <= 5 and local.date() not in _CN_2026


@settings(max_examples=400, deadline=None)
@given(st.datetimes(min_value=datetime(2026, 8, 23), max_value=datetime(2026, 12, 31, 23, 59, 59)))
def test_deepseek_window_matches_an_independent_reading_of_the_rule(naive: datetime):
    at_ = naive.replace(tzinfo=UTC)
    cost = pricing.cost("deepseek-v4-pro", {"prompt_tokens": 1_000_000}, at=at_)
    assert cost.window == ("peak" if _deepseek_peak(at_) else "off-peak"), at_
    assert cost.total == (D("1.32") if cost.window == "peak" else D("0.66"))
