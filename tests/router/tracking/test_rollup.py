"""Spend rollups on SQLite and PostgreSQL equal the raw rows exactly, with records that arrive late or twice."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

import pricing
import router
from router.tracking import CallRecord, rollup
from router.tracking import ledger as ledger_mod

NOW = datetime.now(UTC)
MODELS = [("openai", "gpt-4o-mini"), ("deepseek", "deepseek-v4-flash"), ("openai", "gpt-4o")]


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("FAREBOX_SPOOL", str(tmp_path / "spool"))
    if request.param == "sqlite":
        yield str(tmp_path / "l.sqlite")
    else:
        pg = request.getfixturevalue("postgres_server")
        name = f"r_{uuid.uuid4().hex[:10]}"
        pg.psql(f"CREATE DATABASE {name}")
        yield pg.url.rsplit("/", 1)[0] + f"/{name}"
    ledger_mod.close_all()


def records(n: int, seed: int = 7) -> list[CallRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        vendor, model = rng.choice(MODELS)
        cost = pricing.cost(f"{vendor}/{model}", {"prompt_tokens": rng.randint(1, 5000),
                                                  "completion_tokens": rng.randint(0, 900)})
        status = rng.choice(["ok"] * 8 + ["error", "cancelled"])
        tags = rng.choice([{}, {"team": rng.choice(["ml", "web"])}, {"team": "ops", "user": f"u{i % 3}"},
                           {"user": "u1"}])
        ts = (NOW - timedelta(seconds=rng.uniform(0, 70 * 86400))).timestamp()
        unpriced = status == "ok" and i % 17 == 0  # a model without a price: cost unknown, counted apart
        out.append(CallRecord(ts=ts, vendor=vendor, model=model, status=status, alias=rng.choice([None, "smart"]),
                              error="ServiceUnavailableError" if status == "error" else None,
                              prompt_tokens=i, completion_tokens=2 * i, fallbacks=i % 2, priced=not unpriced,
                              cost=cost if status != "error" and not unpriced else None, tags=tags))
    return out


def expect(recs: list[CallRecord], keys: list[str], since: float | None) -> dict[tuple[Any, ...], tuple[int, Decimal]]:
    out: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for r in recs:
        if since is not None and r.ts < since:
            continue
        key = []
        for k in keys:
            if k == "day":
                key.append(datetime.fromtimestamp(r.ts, UTC).strftime("%Y-%m-%d"))
            elif k.startswith("tag:"):
                key.append(r.tags.get(k[4:]))
            else:
                key.append(getattr(r, k))
        acc = out[tuple(key)]
        acc[0] += 1
        acc[1] += r.cost_total or 0
    return {k: (v[0], v[1]) for k, v in out.items()}


def write(where: str, recs: list[CallRecord]) -> None:
    led = ledger_mod.get(where)
    led.open()
    for r in recs:
        led.submit(r.to_row())
    led.flush()


QUERIES = [(["day", "model"], "30d"), (["vendor", "tag:team"], "60d"), (["tag:user"], None),
           (["alias", "status"], "3d"), ([], "90m"), (["vendor", "tag:team", "tag:user"], "10d")]


def test_rollups_equal_the_rows_with_late_and_duplicate_records(where: str) -> None:
    recs = records(600)
    write(where, recs[:400])
    write(where, recs[100:300])  # delivered twice (a spool replayed after a crash): counted once
    write(where, list(reversed(recs[400:])))  # late: older timestamps after newer ones
    now = datetime.now(UTC)
    for keys, since in QUERIES:
        got = {tuple(r.group[k] for k in keys): (r.calls, r.cost) for r in router.spend(keys, since, ledger=where)}
        start = router.tracking.spending.parse_time(since, now=now) if since else None
        assert got == expect(recs, keys, start), (keys, since)
    [total] = router.spend(ledger=where)
    assert total.calls == 600 and total.cost == sum(r.cost_total or 0 for r in recs)
    assert total.unpriced_calls == sum(not r.priced for r in recs) > 0
    assert total.unpriced_prompt_tokens == sum(r.prompt_tokens for r in recs if not r.priced)
    assert total.prompt_tokens == sum(r.prompt_tokens for r in recs)
    assert total.failures == sum(r.status == "error" for r in recs)


def test_filters_on_the_rollups_match_the_rows(where: str) -> None:
    recs = records(300, seed=11)
    write(where, recs)
    rows = router.spend(["day"], "20d", ledger=where, where={"tag:team": "ml", "vendor": "openai"})
    picked = [r for r in recs if r.tags.get("team") == "ml" and r.vendor == "openai"]
    start = router.tracking.spending.parse_time("20d")
    assert {r["day"]: r.cost for r in rows} == {k[0]: v[1] for k, v in expect(picked, ["day"], start).items()}
    rows = router.spend(["model"], ledger=where, where={"alias": None})
    assert {r["model"]: r.calls for r in rows} == {k[0]: v[0] for k, v in expect(
        [r for r in recs if r.alias is None], ["model"], None).items()}


def test_a_query_is_split_into_raw_edges_hours_and_days() -> None:
    day = 86400
    parts = rollup.segments(10 * day + 100, 13 * day + 7300, hourly=False)
    assert parts == [("raw", 10 * day + 100, 10 * day + 3600), ("hour", 10 * day + 3600, 11 * day),
                     ("day", 11 * day, 13 * day), ("hour", 13 * day, 13 * day + 7200),
                     ("raw", 13 * day + 7200, 13 * day + 7300)]
    assert rollup.segments(None, None, hourly=True)[0][0] == "hour"
    assert rollup.segments(100, 200, hourly=False) == [("raw", 100, 200)]


def test_the_rollups_answer_without_the_rows(where: str) -> None:
    """The day × model query reads the rollup tables: emptying the raw rows of whole hours changes nothing."""
    recs = records(200, seed=5)
    write(where, recs)
    before = router.spend(["day", "model"], "30d", ledger=where)
    edge = int(datetime.now(UTC).timestamp()) // 3600 * 3600 - 30 * 86400 + 3600
    conn, dialect = _connect(where)
    try:
        conn.execute(f"DELETE FROM calls WHERE ts >= {edge} AND ts < {edge + 28 * 86400}")
        got = rollup.aggregate(conn, dialect, ["day", "model"], router.tracking.spending.parse_time("30d"), None, {})
    finally:
        conn.close()
    assert got is not None and [(k, v["cost"]) for k, v in got] == [
        (tuple(r.group.values()), r.cost) for r in before]


def _connect(where: str) -> tuple[Any, rollup.Dialect]:
    if where.startswith("postgresql://"):
        import psycopg

        return psycopg.connect(where, autocommit=True), rollup.PG
    import sqlite3

    return sqlite3.connect(where, isolation_level=None), rollup.SQLITE
