"""Spend rollups on SQLite and PostgreSQL equal the raw rows exactly, with records that arrive late or twice."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


# -- budget spend: the day rollup (+ the rows not folded yet) equals the raw rows exactly ----------------------------

DAY = 86400
START = 20_000 * DAY  # a UTC day boundary: a budget period's start
SCOPES = ["global", "alias:smart", "tag:key_id=key_a", "tag:team=ml"]


def _cost(total: Decimal) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(input=total, cache_read=Decimal(0), cache_write=Decimal(0), output=Decimal(0),
                           reasoning=Decimal(0), total=total, billing="metered")


def _row(i: int, ms: int, key: str | None, alias: str | None, team: str | None, cost: Decimal | None) -> tuple:
    tags = {k: v for k, v in (("key_id", key), ("team", team)) if v is not None}
    rec = CallRecord(ts=START + ms / 1000, vendor="openai", model="gpt-4o-mini", status="ok", alias=alias,
                     cost=_cost(cost) if cost is not None else None, priced=cost is not None, prompt_tokens=1,
                     tags=tags, record_id=f"r{i}")
    return rec.to_row()


def _applies(scope: str, key: str | None, alias: str | None, team: str | None) -> bool:
    return (scope == "global" or (scope == "alias:smart" and alias == "smart")
            or (scope == "tag:key_id=key_a" and key == "key_a") or (scope == "tag:team=ml" and team == "ml"))


_MONEY = st.one_of(st.none(), st.decimals(min_value=0, max_value=5, places=12),  # whole pico-dollars: the rollup
                   st.decimals(min_value=0, max_value=1, places=15))             # finer: the rows' Decimal text
_RECORD = st.tuples(st.integers(-3 * DAY * 1000, 40 * DAY * 1000), st.sampled_from(["key_a", "key_b", None]),
                    st.sampled_from([None, "smart", "cheap"]), st.sampled_from([None, "ml", "web"]), _MONEY,
                    st.sampled_from(["batching", "durable", "foreign"]))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=st.lists(_RECORD, max_size=40), twice=st.integers(0, 5), fold_tail=st.sampled_from([0, 2, 256]),
       peek=st.integers(0, 40))
def test_budget_spend_from_the_rollups_equals_the_raw_sum(tmp_path_factory: Any, recs: list[Any], twice: int,
                                                          fold_tail: int, peek: int) -> None:
    """Rows by a batching writer (folded with its commit), a durable one and another program (folded by readers),
    some delivered twice, read midway and at the end: every scope's spend is the exact Decimal sum of its rows."""
    import sqlite3

    from router.gateway.keys import KeyStore
    from router.tracking import budgets, ledger_file

    path = tmp_path_factory.mktemp("prop") / "l.sqlite"
    batching = ledger_mod.Ledger(path, batching=True, batch_size=7, flush_interval=3600)
    durable = ledger_mod.Ledger(path)
    batching.open()
    durable.open()
    foreign = sqlite3.connect(path, isolation_level=None)
    store = KeyStore(path)
    old_tail, budgets.FOLD_TAIL = budgets.FOLD_TAIL, fold_tail
    try:
        rows = [_row(i, *r[:5]) for i, r in enumerate(recs)]
        for i, (row, rec) in enumerate(zip(rows, recs, strict=True)):
            if i == peek:
                store.spent("key_a", START)  # a read midway may fold what is there so far
            if rec[5] == "foreign":
                foreign.execute(ledger_file.insert_many(1), row)
            else:
                (batching if rec[5] == "batching" else durable).submit(row)
        for row in rows[:twice]:
            batching.submit(row)  # delivered again (a replayed spool): inserts nothing
        batching.flush()
        durable.flush()
        for scope in SCOPES:
            expected = sum((r[4] for r in recs if r[4] is not None and r[0] >= 0 and _applies(scope, *r[1:4])),
                           Decimal(0))
            assert budgets.sqlite_spent(store._conn, scope, START) == expected, scope
        assert store.spent("key_a", START) == sum(
            (r[4] for r in recs if r[4] is not None and r[0] >= 0 and r[1] == "key_a"), Decimal(0))
    finally:
        budgets.FOLD_TAIL = old_tail
        store.close()
        foreign.close()
        ledger_mod.close_all([batching, durable])


def test_a_batching_commit_updates_the_rollups_in_its_own_transaction(tmp_path: Any) -> None:
    import sqlite3

    path = tmp_path / "l.sqlite"
    led = ledger_mod.get(path, batching=True, batch_size=10**6, flush_interval=3600)
    led.open()
    try:
        for i in range(30):
            led.submit(_row(i, i * 1000, "key_a", "smart", "ml", Decimal("0.000123")))
        led.flush()
        conn = sqlite3.connect(path)
        try:  # read without folding: the commit folded them
            [[mark]] = conn.execute("SELECT id FROM rollup_mark").fetchall()
            [[top]] = conn.execute("SELECT MAX(id) FROM calls").fetchall()
            [[pico]] = conn.execute("SELECT SUM(cost_pico) FROM spend_day WHERE tag_key = 'key_id' "
                                    "AND tag_value = 'key_a'").fetchall()
        finally:
            conn.close()
        assert mark == top == 30 and Decimal(pico) / 10**12 == Decimal("0.00369")
    finally:
        ledger_mod.close_all([led])


def test_an_old_ledger_without_rollups_opens_and_gives_the_same_key_spend(tmp_path: Any) -> None:
    """A version 4 file (before the rollup tables): opening it creates them and back-fills them once."""
    import sqlite3

    from router.gateway.keys import KeyStore
    from router.tracking import ledger_file

    path = tmp_path / "v4.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    for statements in ledger_file.MIGRATIONS[:4]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    cols = ledger_file.COLUMNS
    insert = f"INSERT INTO calls ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    costs = [Decimal("0.25"), Decimal("0.000000000001"), None, Decimal("1.5"), Decimal("0.0000000000005")]
    for i, cost in enumerate(costs):
        conn.execute(insert, _row(i, i * 3_600_000, "key_a", None, None, cost))
    conn.execute(insert, _row(9, -1000, "key_a", None, None, Decimal(7)))  # the day before
    assert "spend_day" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    store = KeyStore(path)  # opens (migrates) the file
    try:
        assert store.spent("key_a", START) == sum((c for c in costs if c is not None), Decimal(0))
        assert store.spent("key_a", START - DAY) == Decimal("8.7500000000015")
    finally:
        store.close()
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        [[version]] = conn.execute("PRAGMA user_version").fetchall()
    finally:
        conn.close()
    assert {"spend_day", "spend_hour", "rollup_mark"} <= tables and version == ledger_file.SCHEMA_VERSION
