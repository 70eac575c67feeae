"""Dashboard spend queries at 1M and 10M ledger records, SQLite and PostgreSQL: rollups vs a scan of the rows.

    python -m bench.spend                         # 1M and 10M rows, both engines (~15-25 min on 2 cores)
    python -m bench.spend --rows 1000000          # one size
    python -m bench.spend --engines sqlite        # one engine (postgres starts its own server: tests/servers.py)

Rows are bulk-loaded (executemany in one transaction on SQLite, COPY on PostgreSQL), then the rollups are
built from them in one pass (on SQLite what the first spend() after them does; on PostgreSQL the SQL the
writer runs per batch, over all rows), so the load does not take hours. Queries: spend(["day", "model"],
since="30d") and spend(["vendor", "tag:team"], since="60d"); a figure is the median of 7 runs after one
warm-up. Totals are checked against a raw scan.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from decimal import Decimal
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


def make_rows(n: int, start: int, now: float, seed: int) -> Any:
    """Rows in COLUMNS order: costs picked from a few hundred exact values, spread over the last DAYS days."""
    rng = random.Random(seed)
    costs = []
    for _ in range(400):
        c = Decimal(rng.randint(1, 3_000_000)) / Decimal(10**9)  # up to $0.003, exact in pico-dollars
        costs.append((format(c, "f"), int(c * 10**12)))
    span = DAYS * 86400
    for i in range(start, start + n):
        vendor, model = MODELS[i % len(MODELS)]
        status = "ok" if i % 25 else ("error" if i % 50 else "cancelled")
        text, pico = costs[i % 397]
        tags = f'{{"team":"{TEAMS[(i // 7) % 8]}","feature":"{FEATURES[(i // 3) % 5]}"}}'
        yield (f"bench-{i:x}", now - rng.random() * span, vendor, model, "smart" if i % 3 else None,
               f"smart:{model}", status, "ServiceUnavailableError" if status == "error" else None, None,
               200, 0, 1, 0, 1200, 0, 0, 300, 0, None, None, None, None, None,
               None if status == "error" else text, 0 if status == "error" else pico, 1, 0, "metered", 0.8, None,
               None, None, tags, 1, 1, None, 0)


def load_sqlite(path: Path, n: int, start: int, now: float) -> float:
    began = time.perf_counter()
    conn = ledger_file.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                     make_rows(n, start, now, start))
    conn.execute("COMMIT")
    rollup.fold_sqlite(conn)  # what the first spend() after these rows would do
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - began


def load_pg(url: str, n: int, start: int, now: float) -> float:
    import psycopg

    began = time.perf_counter()
    conn = ledger_pg.connect(url)
    with conn.transaction():
        with conn.cursor().copy(f"COPY calls ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in make_rows(n, start, now, start):
                copy.write_row(row)
        conn.execute("TRUNCATE spend_hour, spend_day")
        for statement in rollup.maintain("pg"):
            conn.execute(statement)
    conn.execute("VACUUM ANALYZE")
    conn.close()
    del psycopg
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
    for keys, since in QUERIES:
        fast, rows = timed(lambda k=keys, s=since: spend(k, s, ledger=where))
        slow = None
        if raw:
            from router.tracking.spending import parse_time

            lo = parse_time(since)
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
    return out


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
