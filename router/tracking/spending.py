"""Spend queries over the ledger (`router.spend`): calls, failures, tokens, exact cost by time, vendor, model, tag."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from router import tracking
from router.tracking import ledger as ledger_mod
from router.tracking import ledger_pg_sql, rollup, settings
from router.tracking.budgets import tag_path

_PICO = Decimal(10**12)  # the ledger's cost_pico unit; int64 values divide exactly at 28 digits

__all__ = ["GROUPS", "SpendRow", "parse_time", "spend"]

# Time buckets are UTC, like budget periods.
GROUPS = {
    "hour": "strftime('%Y-%m-%dT%H:00', ts, 'unixepoch')",
    "day": "strftime('%Y-%m-%d', ts, 'unixepoch')",
    "month": "strftime('%Y-%m', ts, 'unixepoch')",
    "vendor": "vendor",
    "model": "model",
    "alias": "alias",
    "deployment": "deployment",
    "status": "status",
    "error": "error",
    "billing": "billing",
}
_TOKENS = ("prompt_tokens", "completion_tokens", "cached_tokens", "cache_write_tokens", "reasoning_tokens")
_UNPRICED = ("unpriced_calls", "unpriced_prompt_tokens", "unpriced_completion_tokens")
_UNPRICED_SQL = ("SUM(priced = 0)", "SUM(CASE WHEN priced = 0 THEN prompt_tokens ELSE 0 END)",
                 "SUM(CASE WHEN priced = 0 THEN completion_tokens ELSE 0 END)")
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True, slots=True)
class SpendRow:
    """One group: its key values (`row["model"]`, `row["tag:team"]`), counts, tokens and exact cost in USD."""

    group: dict[str, Any]
    calls: int = 0
    failures: int = 0               # status "error" (rejected calls included)
    cancelled: int = 0              # streams closed early
    fallbacks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal = field(default_factory=Decimal)  # of the priced calls only; unpriced ones are counted apart
    unpriced_calls: int = 0         # calls that used tokens of a model without a price: their cost is unknown
    unpriced_prompt_tokens: int = 0
    unpriced_completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        """Prompt + completion tokens (cached, cache-write and reasoning tokens are parts of these)."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def unpriced_tokens(self) -> int:
        return self.unpriced_prompt_tokens + self.unpriced_completion_tokens

    def __getitem__(self, key: str) -> Any:
        return self.group[key] if key in self.group else getattr(self, key)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.group)
        for name in ("calls", "failures", "cancelled", "fallbacks", *_TOKENS, "cost", *_UNPRICED):
            out[name] = getattr(self, name)
        return out


def parse_time(value: Any, *, now: datetime | None = None) -> float | None:
    """Unix time from None, a number, a datetime/date (naive = UTC), "7d" / "24h" / "30m" / "2w" ago,
    "today", "now", or an ISO date or datetime."""
    if value is None or isinstance(value, int | float):
        return value
    now = now or datetime.now(UTC)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    text = str(value).strip()
    if text.lower() == "now":
        return now.timestamp()
    if text.lower() == "today":
        return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    match = _RELATIVE.match(text)
    if match:
        return (now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])).timestamp()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a time: use 7d, 24h, 30m, 2w, today, "
                         "an ISO date (2026-11-01) or datetime") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _key_sql(name: str, params: list[Any]) -> str:
    if name.startswith("tag:") and len(name) > 4:
        params.append(tag_path(name[4:]))
        return "CAST(json_extract(tags, ?) AS TEXT)"  # tag values read as text, as the rollups keep them
    try:
        return GROUPS[name]
    except KeyError:
        raise ValueError(f"cannot group by {name!r}: use {', '.join(GROUPS)} or tag:KEY") from None


def _where(since: float | None, until: float | None, where: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if since is not None:
        clauses.append("ts >= ?")
        params.append(since)
    if until is not None:
        clauses.append("ts < ?")
        params.append(until)
    for name, value in (where or {}).items():
        expr = _key_sql(name, params)
        clauses.append(f"{expr} IS ?")
        params.append(str(value) if name.startswith("tag:") and value is not None else value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def spend(group_by: Iterable[str] | str = (), since: Any = None, until: Any = None, *,
          ledger: str | Path | None = None, where: Mapping[str, Any] | None = None) -> list[SpendRow]:
    """Rows of calls, failures, tokens and cost per group, over [since, until) (UTC).

    `group_by`: any of hour, day, month, vendor, model, alias, deployment, status, error, billing, tag:KEY.
    `where`: equality filters on the same names, e.g. {"vendor": "openai", "tag:team": "ml"}.
    `ledger`: a file; default the one calls are recorded in (router.configure, else $FAREBOX_LEDGER).
    Records this process has queued are committed first. Without any call in range: [].
    """
    names = [group_by] if isinstance(group_by, str) else list(group_by)
    key_params: list[Any] = []
    keys = [_key_sql(n, key_params) for n in names]
    lo, hi = parse_time(since), parse_time(until)
    for name in where or {}:
        _key_sql(name, [])  # an unknown name is a ValueError before any query
    clause, params = _where(lo, hi, where)
    url = _url(ledger)
    path = _path(ledger) if url is None else None
    existing = ledger_mod.opened(url or path)
    if existing is not None:
        existing.flush()  # this process's queued records count too
    if url is not None:
        return [SpendRow(dict(zip(names, key, strict=True)), **values)
                for key, values in ledger_pg_sql.spend_rows(url, names, lo, hi, where)]
    if not path.exists():
        return []
    conn = ledger_mod.connect(path, migrate=True)  # an older file gains its rollups on first query
    try:
        try:
            try:
                rollup.fold_sqlite(conn)
                rows = rollup.aggregate(conn, rollup.SQLITE, names, lo, hi, where)
            except sqlite3.OperationalError as exc:  # a read-only file cannot fold: the rows answer
                if "readonly" not in str(exc) and "read-only" not in str(exc):
                    raise
                rows = None
            if rows is None:  # two tag keys, "tag absent" filters, costs finer than 1e-12: from the rows
                rows = _aggregate(conn, keys, key_params, clause, params)
        except sqlite3.OperationalError as exc:  # SUM past int64 pico-dollars ($9.2M): add in Python instead
            if "overflow" not in str(exc):
                raise
            rows = None
        if rows is None:
            rows = _aggregate_exact(conn, keys, key_params, clause, params)
    except sqlite3.Error as exc:
        raise ledger_mod.failure(path, "cannot query", exc) from exc
    finally:
        conn.close()
    return [SpendRow(dict(zip(names, key, strict=True)), **values) for key, values in rows]


def _url(ledger: Any) -> str | None:
    """The PostgreSQL URL of the ledger asked for (or configured), else None (an SQLite file)."""
    if ledger is None:
        ledger = settings.ledger_target()
    return ledger if isinstance(ledger, str) and ledger_mod.is_url(ledger) else None


def _path(ledger: str | Path | None) -> Path:
    if ledger is None:
        return tracking.ledger_path()
    return Path(ledger).expanduser().absolute()


def _aggregate(conn: sqlite3.Connection, keys: list[str], key_params: list[Any], clause: str,
               params: list[Any]) -> list[tuple[tuple[Any, ...], dict[str, Any]]] | None:
    """In SQL over integer pico-dollars; None when a group holds a cost finer than 1e-12 USD."""
    select = ", ".join([*keys, "COUNT(*)", "SUM(status = 'error')", "SUM(status = 'cancelled')", "SUM(fallbacks)",
                        *(f"SUM({t})" for t in _TOKENS), *_UNPRICED_SQL, "COALESCE(SUM(cost_pico), 0)",
                        "SUM(1 - cost_exact)"])
    tail = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))} ORDER BY " \
           f"{', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    out = []
    for row in conn.execute(f"SELECT {select} FROM calls{clause}{tail}", [*key_params, *params]):
        key, counts = row[:len(keys)], row[len(keys):]
        if not counts[0]:
            continue
        if counts[-1]:
            return None
        values = dict(zip(("calls", "failures", "cancelled", "fallbacks", *_TOKENS, *_UNPRICED), counts[:-2],
                          strict=True))
        values["cost"] = Decimal(counts[-2]) / _PICO
        out.append((tuple(key), values))
    return out


def _aggregate_exact(conn: sqlite3.Connection, keys: list[str], key_params: list[Any], clause: str,
                     params: list[Any]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Row by row in Python, adding the exact Decimal text."""
    select = ", ".join([*keys, "status", "fallbacks", *_TOKENS, "cost_total", "priced"])
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in conn.execute(f"SELECT {select} FROM calls{clause}", [*key_params, *params]):
        key, rest = tuple(row[:len(keys)]), row[len(keys):]
        acc = groups.setdefault(key, {"calls": 0, "failures": 0, "cancelled": 0, "fallbacks": 0,
                                      **dict.fromkeys(_TOKENS, 0), "cost": Decimal(0),
                                      **dict.fromkeys(_UNPRICED, 0)})
        acc["calls"] += 1
        acc["failures"] += rest[0] == "error"
        acc["cancelled"] += rest[0] == "cancelled"
        acc["fallbacks"] += rest[1]
        for name, value in zip(_TOKENS, rest[2:7], strict=True):
            acc[name] += value
        if rest[7] is not None:
            acc["cost"] += Decimal(rest[7])
        if not rest[8]:
            acc["unpriced_calls"] += 1
            acc["unpriced_prompt_tokens"] += rest[2]
            acc["unpriced_completion_tokens"] += rest[3]
    return sorted(groups.items(), key=lambda kv: tuple((k is not None, k) for k in kv[0]))
