"""Budgets: global, per alias and per tag over a UTC day or month, checked before any request reaches a vendor."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import pricing
import router
from router import tracking
from router.emulator import Emulator
from router.errors import BudgetExceededError, ConfigError
from router.estimate import expected_cost
from router.tracking import CallRecord
from router.tracking import ledger as ledger_mod
from router.tracking.budgets import Budget, period_start
from tests.conftest import KEY, ledger_rows

MODEL = "openai/gpt-4o-mini"
MSG = [{"role": "user", "content": "what does this cost?"}]
TINY = Decimal("1e-12")


def openai(emu: Emulator) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": emu.base_url("openai")}


def estimate(**kwargs: Any) -> Decimal:
    return expected_cost(MODEL, MSG, kwargs)


def seed_spend(path: Path, usd: Decimal, when: datetime | None = None, **fields: Any) -> None:
    """A prior call worth `usd` in the ledger (a cost whose total is exactly `usd`)."""
    base = pricing.cost(MODEL, {"prompt_tokens": 1, "completion_tokens": 0})
    cost = base.model_copy(update={"input": usd, "total": usd})
    writer = ledger_mod.get(path)
    writer.open()
    writer.submit(CallRecord(ts=(when or datetime.now(UTC)).timestamp(), vendor="openai", model="gpt-4o-mini",
                             status="ok", cost=cost, **fields).to_row())
    writer.flush()


def test_a_global_day_budget_stops_the_call_that_would_exceed_it(emu, ledger, records) -> None:
    seed_spend(ledger, Decimal("1.00"))
    tracking.configure(budgets=[{"scope": "global", "period": "day", "max_usd": Decimal("1.00") + estimate() + TINY}])
    first = router.completion(MODEL, MSG, **openai(emu))  # 1.00 + its estimate fits
    assert first.cost.total > 0 and len(emu.requests) == 1
    with pytest.raises(BudgetExceededError) as info:
        router.completion(MODEL, MSG, **openai(emu))  # 1.00 + the first call's real cost + this estimate does not
    assert len(emu.requests) == 1  # refused before any request
    assert "budget global per day" in str(info.value) and info.value.model == "gpt-4o-mini"
    assert [(r.status, r.error, r.attempts) for r in records] == [("ok", None, 1), ("error", "BudgetExceededError", 0)]
    assert ledger_rows(ledger)[-1]["error"] == "BudgetExceededError"  # dashboards see refused calls


def test_spend_from_before_the_period_does_not_count(emu, ledger) -> None:
    seed_spend(ledger, Decimal("50"), when=period_start("month") - timedelta(seconds=1))
    tracking.configure(budgets=[Budget(scope="global", period="month", max_usd=Decimal("1"))])
    router.completion(MODEL, MSG, **openai(emu))
    seed_spend(ledger, Decimal("1"), when=period_start("month") + timedelta(seconds=1))
    with pytest.raises(BudgetExceededError, match="per month"):
        router.completion(MODEL, MSG, **openai(emu))


def test_an_alias_budget_limits_only_that_alias(emu, ledger) -> None:
    where = {"model": MODEL, "api_key": KEY, "base_url": emu.base_url("openai")}
    r = router.Router(deployments=[{"alias": "smart", **where}, {"alias": "cheap", **where}])
    tracking.configure(budgets=[{"scope": "alias:smart", "period": "day", "max_usd": estimate() / 2}])
    with pytest.raises(BudgetExceededError, match="alias:smart"):
        r.completion(model="smart", messages=MSG)
    assert emu.requests == []
    assert r.completion(model="cheap", messages=MSG).cost.total > 0
    assert router.completion(MODEL, MSG, **openai(emu)).cost.total > 0
    rows = ledger_rows(ledger)
    assert [(row["alias"], row["status"]) for row in rows] == [("smart", "error"), ("cheap", "ok"), (None, "ok")]


def test_a_tag_budget_limits_only_calls_with_that_tag(emu, ledger) -> None:
    seed_spend(ledger, Decimal("2"), tags={"team": "ml"})
    tracking.configure(budgets=[{"scope": "tag:team=ml", "period": "day", "max_usd": "2"}])
    with pytest.raises(BudgetExceededError, match="tag:team=ml"):
        router.completion(MODEL, MSG, metadata={"team": "ml"}, **openai(emu))
    assert router.completion(MODEL, MSG, metadata={"team": "web"}, **openai(emu)).cost is not None
    assert router.completion(MODEL, MSG, **openai(emu)).cost is not None
    assert len(emu.requests) == 2


async def test_concurrent_calls_cannot_overspend_beyond_the_calls_in_flight(emu, ledger) -> None:
    est = estimate()
    limit = est * 10
    tracking.configure(budgets=[{"scope": "global", "period": "day", "max_usd": limit}])
    emu.fault(vendor="openai", delay_s=0.2, times=-1)  # every check happens while the admitted calls are in flight
    results = await asyncio.gather(*(router.acompletion(MODEL, MSG, **openai(emu)) for _ in range(50)),
                                   return_exceptions=True)
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    assert len(ok) + len(refused) == 50 and len(ok) == 10  # 10 estimates fill the budget; an 11th would pass it
    assert len(emu.requests) == len(ok)
    [today] = router.spend(since="today")
    assert today.cost == sum(r.cost.total for r in ok)
    # Each admitted call reserved its estimate (>= its real cost), so spend stays within the budget; in
    # general the overshoot is bounded by what the calls in flight cost beyond their estimates.
    assert all(r.cost.total <= est for r in ok)
    assert today.cost <= limit
    assert tracking.active().budgets.in_flight() == 0  # every reservation was released


def test_batched_records_count_before_they_are_committed(emu, ledger) -> None:
    seed_spend(ledger, Decimal("1"))
    tracking.configure(batching=True, flush_interval=3600,
                       budgets=[{"scope": "global", "period": "day", "max_usd": Decimal("1") + estimate() + TINY}])
    router.completion(MODEL, MSG, **openai(emu))
    assert len(ledger_rows(ledger)) == 1  # the call's row is still queued
    with pytest.raises(BudgetExceededError):
        router.completion(MODEL, MSG, **openai(emu))
    router.flush()
    assert len(ledger_rows(ledger)) == 3


@pytest.mark.parametrize("bad", [{"scope": "team:ml", "max_usd": "1"}, {"scope": "tag:team", "max_usd": "1"},
                                 {"scope": "global", "max_usd": "0"}, {"scope": "global", "period": "week",
                                                                       "max_usd": "1"}])
def test_invalid_budgets_are_config_errors(ledger, bad) -> None:
    with pytest.raises(ConfigError, match="invalid budget"):
        tracking.configure(budgets=[bad])


def test_budgets_need_the_ledger(tmp_path) -> None:
    with pytest.raises(ConfigError, match="budgets need the ledger"):
        tracking.configure(ledger=False, budgets=[{"max_usd": "1"}])
    tracking.reset()


# -- max_budget: the spelling, on configure(), on a Router and on its deployments ---------------

def test_configure_max_budget_is_one_global_budget(emu, ledger) -> None:
    tracking.configure(max_budget=estimate() + TINY, budget_period="daily")  # the first call fits, not a second
    assert router.completion(MODEL, MSG, **openai(emu)).cost.total > 0
    with pytest.raises(BudgetExceededError, match="budget global per day"):
        router.completion(MODEL, MSG, **openai(emu))
    assert len(emu.requests) == 1


@pytest.mark.parametrize("where", ["router", "router-dict", "deployment"])
def test_router_max_budget_limits_each_alias_it_names(emu, ledger, where) -> None:
    place = {"model": MODEL, "api_key": KEY, "base_url": emu.base_url("openai")}
    limit = estimate() + TINY  # one call fits, a second does not
    smart: dict[str, Any] = {"alias": "smart", **place}
    options: dict[str, Any] = {}
    if where == "router":
        options = {"max_budget": limit, "budget_duration": "1d"}
    elif where == "router-dict":
        options = {"max_budget": {"smart": limit}}
    else:
        smart |= {"max_budget": limit, "budget_period": "day"}
    r = router.Router(deployments=[smart, {"alias": "cheap", **place}], **options)
    assert r.completion(model="smart", messages=MSG).cost.total > 0
    with pytest.raises(BudgetExceededError, match="alias:smart per day"):
        r.completion(model="smart", messages=MSG)
    assert len(emu.requests) == 1  # refused before any request
    if where == "router":  # a number is a budget for every alias, each on its own spend
        r.completion(model="cheap", messages=MSG)
        with pytest.raises(BudgetExceededError, match="alias:cheap"):
            r.completion(model="cheap", messages=MSG)
    else:
        for _ in range(2):
            r.completion(model="cheap", messages=MSG)
    assert len(emu.requests) == (2 if where == "router" else 3)


def test_router_budgets_and_process_budgets_both_apply(emu, ledger) -> None:
    place = {"model": MODEL, "api_key": KEY, "base_url": emu.base_url("openai")}
    tracking.configure(budgets=[{"tag": {"team": "ml"}, "max_budget": estimate() / 2}])
    r = router.Router(deployments=[{"alias": "smart", **place}], max_budget=1)
    with pytest.raises(BudgetExceededError, match="tag:team=ml"):
        r.completion(model="smart", messages=MSG, metadata={"team": "ml"})
    assert r.completion(model="smart", messages=MSG, metadata={"team": "web"}).cost.total > 0


def test_budget_shorthands_and_their_mistakes() -> None:
    assert Budget(alias="smart", max_budget=2, period="monthly") == Budget(scope="alias:smart", period="month",
                                                                           max_usd=Decimal(2))
    assert Budget(tag="team=ml", max_budget=1).scope == Budget(tag={"team": "ml"}, max_budget=1).scope == "tag:team=ml"
    for bad in ({"alias": "a", "tag": "t=1", "max_budget": 1}, {"max_budget": 0}, {"max_budget": 1, "period": "week"}):
        with pytest.raises(ValueError):
            Budget.model_validate(bad)
    place = {"model": MODEL, "api_key": KEY}
    with pytest.raises(ConfigError, match="unknown alias 'nope'"):
        router.Router(deployments=[{"alias": "smart", **place}], max_budget={"nope": 1})
    with pytest.raises(ConfigError, match="two budgets"):
        router.Router(deployments=[{"alias": "smart", **place, "max_budget": 1},
                                   {"alias": "smart", **place, "max_budget": 2}])
    with pytest.raises(ConfigError, match="period"):
        router.Router(deployments=[{"alias": "smart", **place}], max_budget=1, budget_period="week")


def test_router_budgets_with_tracking_off_are_refused_before_any_request(emu, tmp_path) -> None:
    r = router.Router(deployments=[{"alias": "smart", "model": MODEL, **openai(emu)}], max_budget=1)
    tracking.configure(tracking="off")
    try:
        with pytest.raises(ConfigError, match="budgets, which need call tracking"):
            r.completion(model="smart", messages=MSG)
    finally:
        tracking.reset()
    assert emu.requests == []


def test_a_config_file_carries_router_budgets(emu, ledger, tmp_path) -> None:
    config = tmp_path / "farebox.json"
    config.write_text(json.dumps({"deployments": [{"alias": "smart", "model": MODEL, "api_key": KEY,
                                                   "base_url": emu.base_url("openai"),
                                                   "max_budget": str(estimate() / 2), "budget_duration": "daily"}]}))
    r = router.Router.from_file(str(config))
    with pytest.raises(BudgetExceededError, match="alias:smart per day"):
        r.completion(model="smart", messages=MSG)
    assert emu.requests == []
