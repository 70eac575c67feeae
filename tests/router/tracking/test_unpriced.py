"""Unpriced is not free: an unpriced call's record, ledger row, spend row, CLI line and budget check say so."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import pricing
import router
from router import tracking
from router.emulator import Emulator
from router.errors import BudgetExceededError
from router.tracking import ledger_file
from router.tracking.spending import spend
from tests.conftest import KEY, ledger_rows

ROOT = Path(__file__).resolve().parents[3]
MSG = [{"role": "user", "content": "what does this cost?"}]
UNPRICED = "compatible/my-llama"     # any model id on the compatible surface: no price row
FREE = "zhipu/glm-4.7-flash"         # a genuinely free model: price 0 is data


def call(emu: Emulator, model: str, **kw: Any) -> Any:
    vendor = model.split("/")[0]
    return router.completion(model, MSG, api_key=KEY, base_url=emu.base_url(vendor), **kw)


def test_an_unpriced_call_is_recorded_as_unknown_not_zero(emu: Emulator, ledger: Path, records: list[Any]) -> None:
    resp = call(emu, UNPRICED)
    free = call(emu, FREE)
    assert resp.cost is None and resp.usage.prompt_tokens > 0
    assert free.cost is not None and free.cost.total == 0
    rec, free_rec = records
    assert (rec.cost, rec.priced, rec.cost_total) == (None, False, None)
    assert (free_rec.priced, free_rec.cost_total) == (True, Decimal(0))
    assert rec.sent_at is not None and rec.sent_at.timestamp() <= rec.ts
    rows = ledger_rows(ledger)
    assert [(r["priced"], r["cost_pico"], r["cost_total"]) for r in rows] == [(0, None, None), (1, 0, "0.000000")]
    assert rows[0]["prompt_tokens"] == resp.usage.prompt_tokens and rows[0]["sent_ts"] is not None


def test_spend_counts_unpriced_calls_and_their_tokens_beside_the_cost(emu: Emulator, ledger: Path) -> None:
    first, second = call(emu, UNPRICED), call(emu, UNPRICED, stream=True)
    list(second)
    priced = call(emu, "openai/gpt-4o-mini")
    rows = {r["vendor"]: r for r in spend(["vendor"])}
    llama = rows["compatible"]
    assert (llama.calls, llama.unpriced_calls, llama.cost) == (2, 2, Decimal(0))
    tokens = [first.usage, second.response.usage]
    assert llama.unpriced_prompt_tokens == sum(u.prompt_tokens for u in tokens)
    assert llama.unpriced_tokens == sum(u.prompt_tokens + u.completion_tokens for u in tokens)
    assert (rows["openai"].unpriced_calls, rows["openai"].cost) == (0, priced.cost.total)
    everything = spend()[0]
    assert (everything.calls, everything.unpriced_calls, everything.cost) == (3, 2, priced.cost.total)


def test_cli_spend_shows_unpriced_calls_instead_of_0(emu: Emulator, ledger: Path) -> None:
    call(emu, UNPRICED)
    call(emu, "openai/gpt-4o-mini")
    tracking.flush()
    out = subprocess.run([sys.executable, "-m", "router", "spend", "--by", "vendor"], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "FAREBOX_LEDGER": str(ledger)}, timeout=30, check=True).stdout
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert "unknown" in lines["compatible"] and "$0.000000" not in lines["compatible"]
    assert "1 (" in lines["compatible"] and "tok)" in lines["compatible"]
    assert "≥$" in lines["total"]   # a total with unpriced calls in it is a lower bound
    assert "unknown" not in lines["openai"]


def test_a_budget_blocks_an_unpriced_call_before_any_request(emu: Emulator, ledger: Path) -> None:
    tracking.configure(max_budget=5)
    with pytest.raises(BudgetExceededError) as info:
        call(emu, UNPRICED)
    assert not emu.requests
    text = str(info.value)
    assert "no price" in text and "pricing.load_overrides" in text and "unpriced='allow'" in text
    # a priced call under the same budget goes through
    assert call(emu, "openai/gpt-4o-mini").cost.total > 0


def test_a_budget_that_allows_unpriced_calls_lets_them_through_and_still_marks_them(emu: Emulator,
                                                                                     ledger: Path) -> None:
    tracking.configure(max_budget=5, unpriced="allow")
    assert call(emu, UNPRICED).cost is None
    tracking.configure(budgets=[{"alias": "x", "max_budget": 1}, {"scope": "global", "max_budget": 5,
                                                                   "unpriced": "allow"}])
    assert call(emu, UNPRICED).cost is None   # the alias budget does not apply to a direct call
    assert spend()[0].unpriced_calls == 2


def test_a_price_added_with_load_overrides_lets_the_budget_check_it(emu: Emulator, ledger: Path) -> None:
    tracking.configure(max_budget=5)
    pricing.load_overrides({"model": [{"vendor": "compatible", "id": "my-llama", "input_mtok": "1",
                                       "output_mtok": "2", "context_window": 8192, "checked": "2026-12-01",
                                       "source": "our contract"}]})
    try:
        assert call(emu, UNPRICED).cost.total > 0
    finally:
        pricing.reset_overrides()


def test_migration_v4_turns_old_zero_cost_unpriced_rows_into_null(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    for statements in ledger_file.MIGRATIONS[:3]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 3")
    insert = "INSERT INTO calls (record_id, ts, vendor, model, status, prompt_tokens, cost_total, cost_pico) " \
             "VALUES (?, 1, 'v', 'm', ?, ?, ?, ?)"
    conn.execute(insert, ("unpriced", "ok", 10, None, 0))     # stored as 0 by older versions
    conn.execute(insert, ("failed", "error", 0, None, 0))     # nothing billed
    conn.execute(insert, ("priced", "ok", 10, "0.5", 500000000000))
    conn.commit()
    conn.close()
    ledger_file.connect(path).close()
    rows = {r["record_id"]: r for r in ledger_rows(path)}
    assert (rows["unpriced"]["priced"], rows["unpriced"]["cost_pico"]) == (0, None)
    assert (rows["failed"]["priced"], rows["failed"]["cost_pico"]) == (1, 0)
    assert (rows["priced"]["priced"], rows["priced"]["cost_pico"]) == (1, 500000000000)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == ledger_file.SCHEMA_VERSION
    assert sorted(conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls'"
                               ).fetchall()) == [("calls_record_id",), ("calls_ts",)]  # v5 adds the unique record id
    conn.close()
