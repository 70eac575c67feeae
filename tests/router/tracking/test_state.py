"""Shared state on a real redis-server: the fault policy per feature (down, restarted), limits and latency."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest

import router
from router import tracking
from router.emulator import Emulator
from router.estimate import expected_cost
from router.tracking.state import LocalState, open_state
from tests.conftest import KEY

MODEL = "openai/gpt-4o-mini"
MSG = [{"role": "user", "content": "state"}]


def deps(emu: Emulator, **first: Any) -> list[dict[str, Any]]:
    return [{"alias": "a", "model": MODEL, "api_key": KEY, "base_url": emu.base_url("openai"), "name": "oa", **first}]


def test_local_is_the_default_and_a_bad_url_is_a_config_error() -> None:
    assert isinstance(open_state(None), LocalState)
    with pytest.raises(router.errors.ConfigError, match="redis://"):
        open_state("memcached://x")
    with pytest.raises(router.errors.ConfigError, match="budget_on_error"):
        open_state("redis://127.0.0.1:1/0?budget_on_error=maybe")


def test_cooldowns_and_limits_fail_open_with_one_warning(emu, redis_clean, ledger, caplog) -> None:
    url = redis_clean.url + "?prefix=down&timeout=0.2"
    r = router.Router(deps(emu, rpm=1000), state=url)
    assert r.completion("a", MSG).vendor == "openai"
    redis_clean.kill()
    with caplog.at_level(logging.WARNING, logger="farebox"):
        for _ in range(4):
            assert r.completion("a", MSG).vendor == "openai"  # calls go on
    warnings = [m for m in caplog.messages if "unreachable" in m]
    assert len(warnings) == 1 and "this process's own" in warnings[0]
    redis_clean.start()


def test_budgets_fail_closed_unless_told_to_fail_open(emu, redis_clean, ledger) -> None:
    budget = expected_cost(MODEL, MSG, {}) * 10
    closed = router.Router(deps(emu), state=redis_clean.url + "?prefix=b1&timeout=0.2", max_budget=budget)
    opened = router.Router(deps(emu), state=redis_clean.url + "?prefix=b2&timeout=0.2&budget_on_error=open",
                           max_budget=budget)
    assert closed.completion("a", MSG).cost.total > 0
    redis_clean.kill()
    with pytest.raises(router.errors.BudgetExceededError, match="unreachable"):
        closed.completion("a", MSG)
    assert opened.completion("a", MSG).cost.total > 0
    redis_clean.start()


def test_a_restarted_redis_reseeds_the_budget_from_the_ledger(emu, redis_clean, ledger) -> None:
    one = expected_cost(MODEL, MSG, {})
    url = redis_clean.url + "?prefix=seed"
    first = router.Router(deps(emu), state=url, max_budget=one * 100).completion("a", MSG)
    # The first call's settlement and latency sample reach Redis before it stops: one landing mid-restart would
    # find it refusing connections and mark it down for a second, failing the next check closed.
    tracking.flush()
    redis_clean.restart()  # no persistence: the period's total and every reservation are gone
    r = router.Router(deps(emu), state=url, max_budget=first.cost.total + one / 2)
    with pytest.raises(router.errors.BudgetExceededError, match=f"spent \\${first.cost.total:.6f}"):
        r.completion("a", MSG)  # the total came back from the ledger, not from zero


def test_a_deployment_at_its_rpm_limit_is_skipped_then_the_alias_fails(emu, redis_clean, ledger) -> None:
    r = router.Router(deps(emu, rpm=2), state=redis_clean.url + "?prefix=lim", num_retries=0)
    r.completion("a", MSG)
    r.completion("a", MSG)
    with pytest.raises(router.errors.AllDeploymentsFailedError, match="rpm/tpm limit: oa"):
        r.completion("a", MSG)
    assert len(emu.requests) == 2


def test_lowest_latency_reads_latency_shared_on_redis(emu, redis_clean, ledger) -> None:
    url = redis_clean.url + "?prefix=lat"
    two = [*deps(emu), {"alias": "a", "model": "deepseek/deepseek-v4-flash", "api_key": KEY,
                        "base_url": emu.base_url("deepseek"), "name": "ds"}]
    state = open_state(url)
    router.loop.run(state.succeeded("oa", 5.0))  # another process found oa slow
    router.loop.run(state.succeeded("ds", 0.01))
    r = router.Router(two, state=url, strategy="lowest-latency")
    assert r.completion("a", MSG).vendor == "deepseek"


def test_rate_limit_wait_waits_for_room_within_the_deadline(emu, ledger) -> None:
    r = router.Router(deps(emu, rpm=1), rate_limit="wait")
    r.completion("a", MSG)
    with pytest.raises(router.errors.FareboxError, match="deployment answered"):
        r.completion("a", MSG, deadline=0.3)  # waits (the window frees in ~60 s) until the deadline ends it
    assert len(emu.requests) == 1


def test_a_tpm_limit_counts_prompt_and_max_tokens(emu, ledger) -> None:
    two = [*deps(emu, tpm=100), {"alias": "a", "model": "deepseek/deepseek-v4-flash", "api_key": KEY,
                                 "base_url": emu.base_url("deepseek"), "name": "ds"}]
    r = router.Router(two)
    assert r.completion("a", MSG, max_tokens=60).vendor == "openai"  # the first call in a window always fits
    assert r.completion("a", MSG, max_tokens=60).vendor == "deepseek"  # 2 x 60 > 100: the next one takes it


def test_budgets_on_a_postgresql_ledger_read_its_day_rollup(emu, postgres_fresh, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FAREBOX_SPOOL", str(tmp_path / "spool"))
    one = expected_cost(MODEL, MSG, {})
    tracking.reset()
    try:
        tracking.configure(ledger=postgres_fresh.url, max_budget=one * 2)
        spent = Decimal(0)
        with pytest.raises(router.errors.BudgetExceededError, match="spent"):
            for _ in range(50):
                spent += router.completion(MODEL, MSG, api_key=KEY, base_url=emu.base_url("openai")).cost.total
        assert spent + one > one * 2 >= spent
        [total] = router.spend(ledger=postgres_fresh.url)
        assert total.cost == spent
    finally:
        tracking.reset()
