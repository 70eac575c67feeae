"""Spend queries and the `spend` CLI: grouping by time, vendor, model and tag; time ranges; exact totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import pricing
import router
from router.emulator import Emulator
from router.errors import ServiceUnavailableError
from router.tracking import CallRecord
from router.tracking import ledger as ledger_mod
from router.tracking.spending import parse_time
from tests.conftest import KEY

ROOT = Path(__file__).resolve().parents[3]
FIXED = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)  # seeded records: noon, today UTC


def day(days_ago: int) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%d")


def ask(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"spend {i} " + "more " * i}]


def test_spend_totals_equal_the_costs_of_the_calls_per_vendor_model_and_team(emu: Emulator, ledger: Path) -> None:
    made: list[tuple[str, str, Any]] = []
    for i in range(6):
        vendor, model = ("openai", "gpt-4o-mini") if i % 2 else ("deepseek", "deepseek-v4-flash")
        team = "ml" if i < 4 else "web"
        resp = router.completion(f"{vendor}/{model}", ask(i), api_key=KEY, base_url=emu.base_url(vendor),
                                 metadata={"team": team})
        made.append((vendor, team, resp))
    emu.fault(vendor="openai", status=500)
    with pytest.raises(ServiceUnavailableError):
        router.completion("openai/gpt-4o-mini", ask(9), api_key=KEY, base_url=emu.base_url("openai"),
                          num_retries=0, metadata={"team": "web"})

    [total] = router.spend()
    assert total.calls == 7 and total.failures == 1
    assert total.cost == sum(r.cost.total for _, _, r in made)
    assert total.prompt_tokens == sum(r.usage.prompt_tokens for _, _, r in made)
    assert total.tokens == sum(r.usage.total_tokens for _, _, r in made)

    by_vendor = {row["vendor"]: row for row in router.spend(group_by=["vendor"])}
    for vendor in ("openai", "deepseek"):
        assert by_vendor[vendor].cost == sum(r.cost.total for v, _, r in made if v == vendor)
    assert by_vendor["openai"].failures == 1 and by_vendor["deepseek"].failures == 0

    by_team = {row["tag:team"]: row for row in router.spend(group_by=["tag:team"])}
    assert by_team["ml"].calls == 4 and by_team["web"].calls == 3
    assert by_team["ml"].cost == sum(r.cost.total for _, t, r in made if t == "ml")

    rows = router.spend(group_by=["model", "tag:team"], where={"vendor": "openai"})
    assert {(r["model"], r["tag:team"]) for r in rows} == {("gpt-4o-mini", "ml"), ("gpt-4o-mini", "web")}


def cost_of(model: str, prompt: int, completion: int) -> Any:
    return pricing.cost(model, {"prompt_tokens": prompt, "completion_tokens": completion})


def seed(path: Path) -> list[CallRecord]:
    """Records on three days (written through the ledger's own writer, with chosen timestamps)."""
    records = []
    for days_ago, vendor, model, team, status in [(0, "openai", "gpt-4o-mini", "ml", "ok"),
                                                  (0, "openai", "gpt-4o-mini", "web", "error"),
                                                  (1, "deepseek", "deepseek-v4-flash", "ml", "ok"),
                                                  (1, "openai", "gpt-4o-mini", "ml", "ok"),
                                                  (3, "deepseek", "deepseek-v4-flash", "web", "ok")]:
        cost = cost_of(f"{vendor}/{model}", 1000 + days_ago, 500) if status == "ok" else None
        records.append(CallRecord(ts=(NOW - timedelta(days=days_ago, hours=1)).timestamp(), vendor=vendor,
                                  model=model, status=status, attempts=1, prompt_tokens=1000 + days_ago,
                                  completion_tokens=500, cost=cost, tags={"team": team}))
    writer = ledger_mod.get(path)
    writer.open()
    for record in records:
        writer.submit(record.to_row())
    writer.flush()
    return records


def test_group_by_day_with_since_until_and_where(ledger: Path) -> None:
    records = seed(ledger)
    days = {row["day"]: row for row in router.spend(group_by="day")}
    assert list(days) == [day(3), day(1), day(0)]
    assert days[day(0)].calls == 2 and days[day(0)].failures == 1
    assert days[day(1)].cost == records[2].cost.total + records[3].cost.total

    recent = router.spend(group_by=["day", "vendor"], since=day(1), until=NOW)
    assert [(r["day"], r["vendor"], r.calls) for r in recent] == [
        (day(1), "deepseek", 1), (day(1), "openai", 1), (day(0), "openai", 2)]
    assert router.spend(since=day(2), until=day(1)) == []  # nothing two days ago
    ml = router.spend(group_by=["tag:team", "status"], where={"tag:team": "ml"}, since=NOW - timedelta(days=2))
    assert [(r["tag:team"], r["status"], r.calls, r.cost) for r in ml] == [
        ("ml", "ok", 3, sum(r.cost.total for r in records if r.tags["team"] == "ml" and r.cost))]


def test_a_cost_finer_than_a_picodollar_is_still_summed_exactly(ledger: Path) -> None:
    base = cost_of("openai/gpt-4o-mini", 10, 10)
    fine = base.model_copy(update={"input": base.input + Decimal("1e-15"), "total": base.total + Decimal("1e-15")})
    writer = ledger_mod.get(ledger)
    for cost in (base, fine):
        writer.submit(CallRecord(ts=NOW.timestamp(), vendor="openai", model="gpt-4o-mini", status="ok",
                                 cost=cost).to_row())
    writer.flush()
    [row] = router.spend()
    assert row.cost == base.total * 2 + Decimal("1e-15")


def test_unknown_group_or_time_is_a_clear_error(ledger: Path) -> None:
    with pytest.raises(ValueError, match="cannot group by 'colour'"):
        router.spend(group_by=["colour"])
    with pytest.raises(ValueError, match="cannot read 'last tuesday'"):
        router.spend(since="last tuesday")


@pytest.mark.parametrize(("text", "expected"), [
    ("7d", FIXED - timedelta(days=7)), ("24h", FIXED - timedelta(hours=24)), ("30m", FIXED - timedelta(minutes=30)),
    ("2w", FIXED - timedelta(weeks=2)), ("90s", FIXED - timedelta(seconds=90)), ("today", FIXED.replace(hour=0)),
    ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)), ("2026-11-01T06:30", datetime(2026, 11, 1, 6, 30, tzinfo=UTC)),
    ("2026-11-01T06:30+02:00", datetime(2026, 11, 1, 4, 30, tzinfo=UTC)), ("now", FIXED)])
def test_parse_time(text: str, expected: datetime) -> None:
    assert parse_time(text, now=FIXED) == expected.timestamp()
