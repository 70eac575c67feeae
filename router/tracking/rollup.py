"""Spend rollups: per hour and per day × vendor, model, alias, deployment, status, error, billing and tag.

Why rollups and not the engine's own means: SQLite has no materialized views, and PostgreSQL's must be
refreshed whole. PostgreSQL: upserted in the same transaction as the rows they count, for the rows really
inserted (`INSERT ... ON CONFLICT DO NOTHING RETURNING id`), exact at every commit. SQLite: rows above a
high-water mark of row ids are folded in (fold_in): by a batching writer in the same transaction as each
batch, and by readers — spend(), budget checks — for rows a durable writer committed: there the commit is the
per-call hot path, and folding in every one-row commit costs ≈ 3× the commit (bench/README.md). A budget
check reads the day rollup plus the rows above the mark in one statement (day_spend), exact in between.
Either way a record counts once: inserts are idempotent by record id (a duplicate inserts nothing, so it adds
nothing), and a late record lands in the bucket of its own time.

A record adds one row per table with tag_key '' (all its calls) and one per metadata key it carries.
A query is split into whole days (day table), whole hours at the edges (hour table) and the minutes
before the first and after the last whole hour (raw rows, by the time index), and the parts are added up.
NULL dimensions are stored as '' (so they can be part of the key) and read back as None; tag values as text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["DIMS", "MEASURES", "PG", "PG_DDL", "SQLITE", "SQLITE_DDL", "Dialect", "aggregate", "day_spend",
           "fold_in", "fold_sqlite", "maintain", "segments"]

DIMS = ("vendor", "model", "alias", "deployment", "status", "error", "billing")
TOKENS = ("prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens")
UNPRICED = ("unpriced_calls", "unpriced_prompt_tokens", "unpriced_completion_tokens")
MEASURES = ("calls", "failures", "cancelled", "fallbacks", *TOKENS, *UNPRICED)
TABLES = {"hour": ("spend_hour", 3600), "day": ("spend_day", 86400)}
_KEY = ("tag_key", "bucket", *DIMS, "tag_value")


def _ddl(int_type: str, money: str, extra: str) -> list[str]:
    out = []
    for table, _ in TABLES.values():
        cols = ", ".join([f"bucket {int_type} NOT NULL", *(f"{d} TEXT NOT NULL" for d in DIMS),
                          "tag_key TEXT NOT NULL", "tag_value TEXT NOT NULL",
                          *(f"{m} {int_type} NOT NULL" for m in MEASURES), money])
        out.append(f"CREATE TABLE {table} ({cols}, PRIMARY KEY ({', '.join(_KEY)})){extra}")
    return out


# SQLite: integer pico-dollars (exact while every cost is a whole number of them; `inexact` counts the others).
SQLITE_DDL = _ddl("INTEGER", "cost_pico INTEGER NOT NULL, inexact INTEGER NOT NULL", " WITHOUT ROWID")
PG_DDL = _ddl("BIGINT", "cost NUMERIC NOT NULL", "")


def _measures_sum(src: str, dialect: str) -> list[str]:
    if dialect == "sqlite":
        flags = [f"SUM({src}status = 'error')", f"SUM({src}status = 'cancelled')"]
        money = [f"COALESCE(SUM({src}cost_pico), 0)", f"SUM(1 - {src}cost_exact)"]
    else:
        flags = [f"COUNT(*) FILTER (WHERE {src}status = 'error')", f"COUNT(*) FILTER (WHERE {src}status = 'cancelled')"]
        money = [f"COALESCE(SUM({src}cost_total), 0)"]
    unpriced = [f"SUM(CASE WHEN {src}priced = 0 THEN {x} ELSE 0 END)"
                for x in ("1", f"{src}prompt_tokens", f"{src}completion_tokens")]
    return ["COUNT(*)", *flags, f"SUM({src}fallbacks)", *(f"SUM({src}{t})" for t in TOKENS), *unpriced, *money]


def _upsert(table: str, dialect: str) -> str:
    money = ["cost_pico", "inexact"] if dialect == "sqlite" else ["cost"]
    sets = ", ".join(f"{m} = {table}.{m} + excluded.{m}" for m in (*MEASURES, *money))
    return f" ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {sets}"


def maintain(dialect: str, where: str = "true", source: str = "calls") -> list[str]:
    """INSERT ... SELECT statements adding the calls `where` selects (alias c) from `source` (the calls table,
    or on PostgreSQL the name of a CTE of rows just inserted) to both rollup tables."""
    money = ["cost_pico", "inexact"] if dialect == "sqlite" else ["cost"]
    cols = ", ".join(["bucket", *DIMS, "tag_key", "tag_value", *MEASURES, *money])
    src = "c."
    dims = [f"COALESCE({src}{d}, '')" for d in DIMS]
    sums = ", ".join(_measures_sum(src, dialect))
    out = []
    for table, width in TABLES.values():
        bucket = f"CAST({src}ts / {width} AS INTEGER) * {width}" if dialect == "sqlite" else \
            f"(floor({src}ts / {width}) * {width})::bigint"
        keys = ", ".join([bucket, *dims])
        group = ", ".join(str(i + 1) for i in range(len(DIMS) + 3))
        if dialect == "sqlite":
            plain = f"SELECT {keys}, '', '', {sums} FROM calls c WHERE {where} GROUP BY {group}"
            tagged = f"SELECT {keys}, t.key, CAST(t.value AS TEXT), {sums} FROM calls c, json_each(c.tags) t " \
                     f"WHERE ({where}) AND c.tags IS NOT NULL AND t.value IS NOT NULL GROUP BY {group}"
        else:
            plain = f"SELECT {keys}, '', '', {sums} FROM {source} c WHERE {where} GROUP BY {group}"
            tagged = f"SELECT {keys}, t.key, t.value, {sums} FROM {source} c CROSS JOIN LATERAL jsonb_each_text(" \
                     f"CASE WHEN jsonb_typeof(c.tags) = 'object' THEN c.tags END) t " \
                     f"WHERE ({where}) AND t.value IS NOT NULL GROUP BY {group}"
        for select in (plain, tagged):
            # ORDER BY: concurrent writers lock rollup rows in one order, so they cannot deadlock
            tail = f" ORDER BY {group}" if dialect == "pg" else ""
            out.append(f"INSERT INTO {table} ({cols}) SELECT * FROM ({select}{tail}) AS s WHERE true"
                       f"{_upsert(table, dialect)}")
    return out


def _fold_statements() -> list[str]:
    """SQLite's fold of the rows with ids in (?, ?]: their hour deltas, once, into a temporary table (one scan of
    the rows for all calls, one with json_each for the tags), then upserted into spend_hour and, regrouped by
    day, into spend_day: half the scans of maintain()'s four statements (≈ 8 vs 14 µs a row in batches of 100).
    The bounds are parameters, so each statement is compiled once and kept by sqlite3's statement cache."""
    cols = ", ".join(["bucket", *DIMS, "tag_key", "tag_value", *MEASURES, "cost_pico", "inexact"])
    sums = ", ".join(_measures_sum("c.", "sqlite"))
    dims = ", ".join(f"COALESCE(c.{d}, '')" for d in DIMS)
    group = ", ".join(str(i + 1) for i in range(len(DIMS) + 3))
    hour = "CAST(c.ts / 3600 AS INTEGER) * 3600"
    day_sums = ", ".join(f"SUM({m})" for m in (*MEASURES, "cost_pico", "inexact"))
    return [f"CREATE TEMP TABLE IF NOT EXISTS fold_delta ({cols})",
            "DELETE FROM temp.fold_delta",
            f"INSERT INTO temp.fold_delta SELECT {hour}, {dims}, '', '', {sums} FROM calls c "
            f"WHERE c.id > ?1 AND c.id <= ?2 GROUP BY {group}",
            f"INSERT INTO temp.fold_delta SELECT {hour}, {dims}, t.key, CAST(t.value AS TEXT), {sums} "
            f"FROM calls c, json_each(c.tags) t WHERE c.id > ?1 AND c.id <= ?2 AND c.tags IS NOT NULL "
            f"AND t.value IS NOT NULL GROUP BY {group}",
            f"INSERT INTO spend_hour ({cols}) SELECT * FROM temp.fold_delta WHERE true"
            f"{_upsert('spend_hour', 'sqlite')}",
            f"INSERT INTO spend_day ({cols}) SELECT bucket / 86400 * 86400, {', '.join(DIMS)}, tag_key, tag_value, "
            f"{day_sums} FROM temp.fold_delta GROUP BY {group}{_upsert('spend_day', 'sqlite')}"]


_FOLD = _fold_statements()
_BOUNDED = {2, 3}  # the statements that take the id bounds


def fold_in(conn: Any) -> int:
    """Add the rows above rollup_mark to the SQLite rollups inside the caller's write transaction; rows added.

    SQLite serializes writers and gives each new row a higher id than every row before it, so "id above
    the mark" is exactly the rows no rollup has seen yet: late rows included, a duplicate never (refused
    by the unique record id).
    """
    mark = conn.execute("SELECT id FROM rollup_mark").fetchone()[0]
    top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0]
    if top > mark:
        for i, statement in enumerate(_FOLD):
            conn.execute(statement, [mark, top] if i in _BOUNDED else [])
        conn.execute("UPDATE rollup_mark SET id = ?", [top])
    return top - mark


def fold_sqlite(conn: Any) -> int:
    """fold_in in a transaction of its own; rows added. Raises sqlite3.OperationalError on a read-only file."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        added = fold_in(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return added


def day_spend(conn: Any, start: int, rolled: tuple[str, list[Any]], raw: tuple[str, list[Any]]
              ) -> tuple[int, int, int]:
    """SQLite, since `start` (a UTC day boundary): (cost in pico-dollars, inexact rows, rows not folded yet) of the
    calls that `rolled` selects in spend_day and `raw` in calls (each " AND ..." and its parameters), from the day
    rollup plus the rows above the mark, in one statement: one snapshot, so no row counts twice or not at all."""
    sql = ("SELECT r.pico, t.pico, r.inexact + t.inexact, t.tail FROM "
           "(SELECT COALESCE(SUM(cost_pico), 0) AS pico, COALESCE(SUM(inexact), 0) AS inexact FROM spend_day "
           f"WHERE bucket >= ?{rolled[0]}) r, "
           "(SELECT COALESCE(SUM(cost_pico), 0) AS pico, COALESCE(SUM(1 - cost_exact), 0) AS inexact, "
           "(SELECT COALESCE(MAX(id), 0) FROM calls) - m.id AS tail FROM rollup_mark m "
           f"LEFT JOIN calls c ON c.id > m.id AND c.ts >= ?{raw[0]}) t")
    row = conn.execute(sql, [start, *rolled[1], start, *raw[1]]).fetchone()
    return int(row[0]) + int(row[1]), int(row[2]), int(row[3])  # added here: SQL's + turns an overflow into a float


class Dialect:
    """What differs between the engines in a spend query."""

    def __init__(self, name: str, ph: str) -> None:
        self.name, self.ph = name, ph

    def time_key(self, unit: str, col: str) -> str:
        if self.name == "sqlite":
            fmt = {"hour": "%Y-%m-%dT%H:00", "day": "%Y-%m-%d", "month": "%Y-%m"}[unit]
            return f"strftime('{fmt}', {col}, 'unixepoch')"
        fmt = {"hour": 'YYYY-MM-DD"T"HH24:00', "day": "YYYY-MM-DD", "month": "YYYY-MM"}[unit]
        return f"to_char(to_timestamp({col}) AT TIME ZONE 'UTC', '{fmt}')"

    def tag(self, key: str, params: list[Any]) -> str:
        params.append(key if self.name == "pg" else f'$."{key}"')
        return f"CAST(json_extract(tags, {self.ph}) AS TEXT)" if self.name == "sqlite" else f"(tags ->> {self.ph})"

    def money(self) -> list[str]:
        return ["SUM(cost_pico)", "SUM(inexact)"] if self.name == "sqlite" else ["SUM(cost)"]

    def raw_money(self) -> list[str]:
        if self.name == "sqlite":
            return ["COALESCE(SUM(cost_pico), 0)", "SUM(1 - cost_exact)"]
        return ["SUM(cost_total)"]

    def flags(self) -> list[str]:
        if self.name == "sqlite":
            return ["SUM(status = 'error')", "SUM(status = 'cancelled')"]
        return ["COUNT(*) FILTER (WHERE status = 'error')", "COUNT(*) FILTER (WHERE status = 'cancelled')"]


SQLITE = Dialect("sqlite", "?")
PG = Dialect("pg", "%s")
_PICO = Decimal(10**12)
_TIME = ("hour", "day", "month")


def segments(since: float | None, until: float | None, hourly: bool) -> list[tuple[str, float, float]]:
    """[(source, lo, hi)]: "raw" minutes at the edges, "hour" and "day" buckets between (inf: unbounded)."""
    lo = -math.inf if since is None else since
    hi = math.inf if until is None else until
    if lo >= hi:
        return []
    h_lo = lo if math.isinf(lo) else math.ceil(lo / 3600) * 3600
    h_hi = hi if math.isinf(hi) else math.floor(hi / 3600) * 3600
    if h_lo >= h_hi:
        return [("raw", lo, hi)]
    out = []
    if lo < h_lo:
        out.append(("raw", lo, h_lo))
    if hourly:
        out.append(("hour", h_lo, h_hi))
    else:
        d_lo = h_lo if math.isinf(h_lo) else math.ceil(h_lo / 86400) * 86400
        d_hi = h_hi if math.isinf(h_hi) else math.floor(h_hi / 86400) * 86400
        if d_lo < d_hi:
            out += [("hour", h_lo, d_lo), ("day", d_lo, d_hi), ("hour", d_hi, h_hi)]
        else:
            out.append(("hour", h_lo, h_hi))
    if h_hi < hi:
        out.append(("raw", h_hi, hi))
    return [s for s in out if s[1] < s[2]]


Groups = dict[tuple[Any, ...], list[Any]]


def aggregate(conn: Any, d: Dialect, names: list[str], since: float | None, until: float | None,
              where: Mapping[str, Any] | None, *, raw: bool = False
              ) -> list[tuple[tuple[Any, ...], dict[str, Any]]] | None:
    """Spend groups from the rollups (+ raw edges); None when they cannot answer exactly (then scan rows).

    `raw`: from the rows alone (exact on PostgreSQL, whose costs are NUMERIC).
    """
    where = dict(where or {})
    tags = {n[4:] for n in [*names, *where] if n.startswith("tag:")}
    if not raw and (len(tags) > 1 or any(n.startswith("tag:") and v is None for n, v in where.items())):
        return None  # two tag keys at once, or "tag is absent": only the rows know
    tag = next(iter(tags), None)
    groups: Groups = {}
    parts = [("raw", -math.inf if since is None else since, math.inf if until is None else until)] if raw else \
        segments(since, until, "hour" in names)
    for source, lo, hi in parts:
        if source == "raw":
            part = _raw(conn, d, names, lo, hi, where)
        else:
            part = _rolled(conn, d, source, names, lo, hi, where, tag)
        if part is None:
            return None
        for key, values in part.items():
            acc = groups.get(key)
            if acc is None:
                groups[key] = values
            else:
                for i, v in enumerate(values):
                    acc[i] += v
    out = []
    for key, v in sorted(groups.items(), key=lambda kv: tuple((k is not None, k) for k in kv[0])):
        if not v[0]:
            continue
        values = dict(zip(MEASURES, v[:-1], strict=True))
        values["cost"] = v[-1]
        out.append((key, values))
    return out


def _bounds(col: str, lo: float, hi: float, d: Dialect, params: list[Any]) -> list[str]:
    clauses = []
    if not math.isinf(lo):
        clauses.append(f"{col} >= {d.ph}")
        params.append(int(lo) if col == "bucket" else lo)
    if not math.isinf(hi):
        clauses.append(f"{col} < {d.ph}")
        params.append(int(hi) if col == "bucket" else hi)
    return clauses


def _raw(conn: Any, d: Dialect, names: list[str], lo: float, hi: float, where: Mapping[str, Any]) -> Groups | None:
    params: list[Any] = []
    keys = [d.time_key(n, "ts") if n in _TIME else (d.tag(n[4:], params) if n.startswith("tag:") else n)
            for n in names]
    clauses = _bounds("ts", lo, hi, d, params)
    for name, value in where.items():
        expr = d.time_key(name, "ts") if name in _TIME else (d.tag(name[4:], params) if name.startswith("tag:")
                                                              else name)
        if value is None:
            clauses.append(f"{expr} IS NULL")
        else:
            clauses.append(f"{expr} = {d.ph}")
            params.append(str(value) if name.startswith("tag:") else value)
    unpriced = [f"SUM(CASE WHEN priced = 0 THEN {x} ELSE 0 END)" for x in ("1", "prompt_tokens", "completion_tokens")]
    return _run(conn, d, keys, "calls", clauses, params, [*d.flags(), "SUM(fallbacks)"], d.raw_money(),
                unpriced=unpriced)


def _rolled(conn: Any, d: Dialect, source: str, names: list[str], lo: float, hi: float,
            where: Mapping[str, Any], tag: str | None) -> Groups | None:
    table = TABLES[source][0]

    def query(tag_key: str, with_tag: bool) -> Groups | None:
        params: list[Any] = []
        keys = []
        for n in names:
            if n in _TIME:
                keys.append(d.time_key(n, "bucket"))
            elif n.startswith("tag:"):
                keys.append("tag_value" if with_tag else "NULL")
            else:
                keys.append(f"NULLIF({n}, '')")
        clauses = [f"tag_key = {d.ph}"]
        params.insert(0, tag_key)
        clauses += _bounds("bucket", lo, hi, d, params)
        for name, value in where.items():
            if name in _TIME:
                clauses.append(f"{d.time_key(name, 'bucket')} = {d.ph}")
                params.append(value)
            elif name.startswith("tag:"):
                clauses.append(f"tag_value = {d.ph}")
                params.append(str(value))
            else:
                clauses.append(f"{name} = {d.ph}")
                params.append("" if value is None else value)
        return _run(conn, d, keys, table, clauses, params, ["SUM(failures)", "SUM(cancelled)", "SUM(fallbacks)"],
                    d.money(), count="SUM(calls)", unpriced=[f"SUM({u})" for u in UNPRICED])

    if tag is None:
        return query("", False)
    tagged = query(tag, True)
    if tagged is None or any(n.startswith("tag:") for n in where):
        return tagged  # filtered on the tag: only tagged calls can match
    total = query("", False)
    if total is None:
        return None
    pos = next(i for i, n in enumerate(names) if n.startswith("tag:"))
    for key, values in tagged.items():  # the calls without the tag: all calls minus the tagged ones
        rest = total.get((*key[:pos], None, *key[pos + 1:]))
        if rest is not None:
            for i, v in enumerate(values):
                rest[i] -= v
    for key, values in total.items():
        tagged[key] = values
    return tagged


def _run(conn: Any, d: Dialect, keys: list[str], table: str, clauses: list[str], params: list[Any],
         counts: list[str], money: list[str], count: str = "COUNT(*)", unpriced: list[str] = ()) -> Groups | None:
    token_sums = [f"SUM({t})" for t in TOKENS]
    select = ", ".join([*keys, count, *counts, *token_sums, *unpriced, *money])
    sql = f"SELECT {select} FROM {table}"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    if keys:
        sql += f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}"
    out: Groups = {}
    for row in conn.execute(sql, params):
        n = len(keys)
        if not row[n]:
            continue
        values = [int(v or 0) for v in row[n:n + len(MEASURES)]]
        if d.name == "sqlite":
            if row[-1]:
                return None  # a cost finer than 1e-12 USD: the exact Decimal text must be added row by row
            values.append(Decimal(int(row[-2] or 0)) / _PICO)
        else:
            values.append(Decimal(row[-1] or 0))
        out[tuple(row[:n])] = values
    return out


def iter_names(group_by: Iterable[str] | str) -> list[str]:
    return [group_by] if isinstance(group_by, str) else list(group_by)
