"""Dashboard spend queries at 1M and 10M ledger records, SQLite and PostgreSQL: rollups vs a scan of the rows.

    python -m bench.spend                         # 1M and 10M rows, both engines (~15-25 min on 2 cores)
    python -m bench.spend --rows 1000000          # one size
    python -m bench.spend --engines sqlite        # one engine (postgres starts its own server: tests/servers.py)

Rows are generated inside the database (INSERT ... SELECT over a recursive CTE / generate_series: no Python
per row), then the rollups are built from them in one pass (on SQLite what the first spend() after them
does; on PostgreSQL the SQL the writer runs per batch, over the new rows), so the load takes minutes.
Queries: spend(["day", "model"], since="30d") and spend(["vendor", "tag:team"], since="60d"); a figure is
the median of 7 runs after one warm-up. Totals are checked against a raw scan. Then a budget check, as the
gateway makes one per key (router.gateway.keys.KeyStore.spent) and Budgets per scope: the spend of tag team=ml
since a UTC day 30 days back, from the day rollup (router.tracking.budgets.sqlite_spent / ledger_pg_sql.spent)
against the sum over the rows that KeyStore.spent ran before (same answer asserted).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from router.tracking import ledger_file, ledger_pg, rollup  # noqa: E402
from router.tracking.ledger_file import COLUMNS  # noqa: E402

DAYS = 60
MODELS = [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("openai", "gpt-4.1"), ("deepseek", "deepseek-v4-flash"),
          ("deepseek", "deepseek-reasoner"), ("anthropic", "claude-sonnet-4-5"), ("anthropic", "claude-haiku-4-5"),
          ("minimax", "MiniMax-M3"), ("moonshot", "kimi-k2"), ("zhipu", "glm-4.6")]
TEAMS = ["ml", "web", "ops", "data", "search", "ads", "infra", "mobile"]
FEATURES = ["chat", "summary", "code", "rag", "eval"]
QUERIES = [(["day", "model"], "30d"), (["vendor", "tag:team"], "60d")]


def _select(dialect: str, n: int, start: int, now: float) -> str:
    """A SELECT producing n rows (COLUMNS order) from row numbers, inside the database: no Python per row.

    Costs are exact pico-dollar amounts up to $0.003; times spread over the last DAYS days; tags team (8
    values) and feature (5); 4% errors and cancellations; a third of the calls without an alias.
    """
    span = DAYS * 86400
    models = ", ".join(f"({i}, '{v}', '{m}')" for i, (v, m) in enumerate(MODELS))
    pico = "((i * 7919) % 3000000 + 1) * 1000"
    if dialect == "sqlite":
        teams = "'" + '["' + '","'.join(TEAMS) + '"]' + "'"
        features = "'" + '["' + '","'.join(FEATURES) + '"]' + "'"
        rows = f"WITH RECURSIVE n(i) AS (SELECT {start} UNION ALL SELECT i + 1 FROM n WHERE i < {start + n - 1})"
        ts = f"{now} - (abs(random()) % {span * 1000}) / 1000.0"
        team = f"json_extract({teams}, '$[' || ((i / 7) % 8) || ']')"
        feature = f"json_extract({features}, '$[' || ((i / 3) % 5) || ']')"
        text = f"printf('%d.%012d', {pico} / 1000000000000, {pico} % 1000000000000)"
        rid = "printf('bench-%x', i)"
        join = f"JOIN (VALUES {models}) m ON m.column1 = i % {len(MODELS)}"
        vendor, model, cat = "m.column2", "m.column3", "||"
    else:
        rows = ""
        ts = f"{now} - random() * {span}"
        team = "(ARRAY[" + ", ".join(f"'{t}'" for t in TEAMS) + "])[(i / 7) % 8 + 1]"
        feature = "(ARRAY[" + ", ".join(f"'{f}'" for f in FEATURES) + "])[(i / 3) % 5 + 1]"
        text = f"({pico})::numeric / 1000000000000"
        rid = "'bench-' || to_hex(i)"
        join = f"JOIN (VALUES {models}) AS m(k, vendor, model) ON m.k = i % {len(MODELS)}"
        vendor, model, cat = "m.vendor", "m.model", "||"
    status = "CASE WHEN i % 25 <> 0 THEN 'ok' WHEN i % 50 <> 0 THEN 'error' ELSE 'cancelled' END"
    ok = "i % 25 <> 0 OR i % 50 = 0"
    tags = f"'{{\"team\":\"' {cat} {team} {cat} '\",\"feature\":\"' {cat} {feature} {cat} '\"}}'"
    if dialect == "pg":
        tags = f"({tags})::jsonb"
    values = [rid, ts, vendor, model, "CASE WHEN i % 3 <> 0 THEN 'smart' END", f"'smart:' {cat} {model}", status,
              "CASE WHEN i % 25 = 0 AND i % 50 <> 0 THEN 'ServiceUnavailableError' END", "NULL", "200", "0", "1",
              "0", "1200", "0", "0", "300", "0", "NULL", "NULL", "NULL", "NULL", "NULL",
              f"CASE WHEN {ok} THEN {text} END", f"CASE WHEN {ok} THEN {pico} ELSE 0 END", "1", "0", "'metered'",
              "0.8", "NULL", "NULL", "NULL", tags, "1", "1", "NULL", "0"]
    assert len(values) == len(COLUMNS)
    source = "n" if dialect == "sqlite" else f"generate_series({start}::bigint, {start + n - 1}) AS g(i)"
    return f"{rows} SELECT {', '.join(values)} FROM {source} {join}"


def load_sqlite(path: Path, n: int, start: int, now: float) -> float:
    began = time.perf_counter()
    conn = ledger_file.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO calls ({', '.join(COLUMNS)}) {_select('sqlite', n, start, now)}")
    conn.execute("COMMIT")
    rollup.fold_sqlite(conn)  # what the first spend() after these rows would do
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - began


def load_pg(url: str, n: int, start: int, now: float) -> float:
    began = time.perf_counter()
    conn = ledger_pg.connect(url)
    with conn.transaction():
        conn.execute("SET LOCAL synchronous_commit = off")
        top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0]
        conn.execute(f"INSERT INTO calls ({', '.join(COLUMNS)}) {_select('pg', n, start, now)}")
        for statement in rollup.maintain("pg", f"c.id > {int(top)}"):  # what the writer runs per batch
            conn.execute(statement)
    conn.execute("VACUUM ANALYZE")
    conn.close()
    return time.perf_counter() - began


def timed(fn: Any, runs: int = 7) -> tuple[float, Any]:
    result = fn()  # warm-up
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def measure(engine: str, where: Any, raw: bool) -> list[tuple[str, float, float | None]]:
    from router.tracking.spending import spend

    out = []
    from router.tracking.spending import parse_time

    for keys, since in QUERIES:
        lo = parse_time(since)  # one instant for both answers: rows keep arriving at the edge otherwise
        fast, rows = timed(lambda k=keys, s=lo: spend(k, s, ledger=where))
        slow = None
        if raw:
            if engine == "sqlite":
                conn: Any = sqlite3.connect(where)
            else:
                import psycopg

                conn = psycopg.connect(where, autocommit=True)
            d = rollup.SQLITE if engine == "sqlite" else rollup.PG
            slow, raw_rows = timed(lambda c=conn, k=keys, s=lo, d=d: rollup.aggregate(c, d, k, s, None, {}, raw=True),
                                   runs=2)
            conn.close()
            assert [(k, v["cost"], v["calls"]) for k, v in raw_rows] == [
                (tuple(r.group.values()), r.cost, r.calls) for r in rows], "rollup totals differ from the rows"
        out.append((f"{'×'.join(keys)} {since}", fast, slow))
    out.append(("budget tag:team=ml 30d", *budget_check(engine, where)))
    return out


def budget_check(engine: str, where: Any) -> tuple[float, float]:
    """(rollup, rows) seconds for one budget check; the two answers must be equal."""
    from decimal import Decimal

    from router.tracking import budgets, ledger_pg_sql

    start = (int(time.time()) // 86400 - 30) * 86400
    if engine == "sqlite":
        conn: Any = ledger_file.connect(where)
        fast, got = timed(lambda: budgets.sqlite_spent(conn, "tag:team=ml", start))
        raw_sql = ("SELECT COALESCE(SUM(cost_pico), 0) FROM calls WHERE ts >= ? "
                   "AND json_extract(tags, '$.\"team\"') = ?")
        slow, pico = timed(lambda: conn.execute(raw_sql, (start, "ml")).fetchone()[0], runs=3)
        want = Decimal(int(pico)) / Decimal(10**12)
    else:
        conn = ledger_pg.connect(where)
        fast, got = timed(lambda: ledger_pg_sql.spent(conn, " AND tag_key = %s AND tag_value = %s", ["team", "ml"],
                                                      start))
        slow, want = timed(lambda: conn.execute("SELECT COALESCE(SUM(cost_total), 0) FROM calls WHERE ts >= %s "
                                                "AND tags ->> 'team' = 'ml'", [start]).fetchone()[0], runs=3)
    conn.close()
    assert got == want, (got, want)
    return fast, slow


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1000000,10000000")
    ap.add_argument("--engines", default="sqlite,postgres")
    ap.add_argument("--pg", default=None, help="a PostgreSQL URL (default: start one, tests/servers.py)")
    ap.add_argument("--no-raw", action="store_true", help="skip the raw-scan comparison")
    args = ap.parse_args(argv)
    sizes = sorted(int(s) for s in args.rows.split(","))
    engines = args.engines.split(",")
    now = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="farebox-bench-spend-"))
    server = None
    report = []
    try:
        for engine in engines:
            if engine == "postgres":
                url = args.pg
                if url is None:
                    from tests.servers import PostgresServer

                    server = PostgresServer(shared_buffers="1GB", work_mem="64MB", max_parallel_workers_per_gather="2")
                    server.start()
                    url = server.url
                where: Any = url
            else:
                where = tmp / "bench.sqlite"
            loaded = 0
            for size in sizes:
                took = (load_sqlite if engine == "sqlite" else load_pg)(where, size - loaded, loaded, now)
                loaded = size
                print(f"{engine}: {size:,} rows loaded (+rollups) in {took:.0f}s", flush=True)
                for name, fast, slow in measure(engine, where, raw=not args.no_raw):
                    line = (f"{engine:8} {size:>11,} {name:24} rollups {fast * 1000:8.1f} ms"
                            + (f"   rows scanned {slow * 1000:9.1f} ms" if slow is not None else ""))
                    print(line, flush=True)
                    report.append(line)
            if server is not None:
                server.close()
                server = None
    finally:
        if server is not None:
            server.close()
        for f in tmp.glob("*"):
            os.unlink(f)
        os.rmdir(tmp)
    print("\n".join(["", "summary:", *report]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
