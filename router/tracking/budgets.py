"""Budgets: spend limits per alias, per tag or global over a UTC day or month, checked before each call."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from router.tracking.ledger_pg_sql import spent as pg_spent
from router.tracking.rollup import day_spend, fold_sqlite
from router.tracking.state import run_soon
from router.tracking.state_local import Over
from router.tracking.writer import settle
from vendors.errors import BudgetExceededError, ConfigError

_PICO = Decimal(10**12)  # the ledger's cost_pico unit; int64 values divide exactly at 28 digits

__all__ = ["Budget", "Budgets", "Period", "Reservation", "period_start", "scope_sql", "sqlite_spent"]


def period_start(period: str, now: datetime | None = None) -> datetime:
    """The start of the current UTC day or month."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if period == "day" else day.replace(day=1)


_PERIODS = {"day": "day", "daily": "day", "1d": "day", "month": "month", "monthly": "month", "1mo": "month"}


def parse_period(value: Any) -> Any:
    """"day" or "month" (also "daily"/"1d", "monthly"/"1mo"); anything else is left for validation to refuse."""
    return _PERIODS.get(value.strip().lower(), value) if isinstance(value, str) else value


# A budget period wherever one is accepted (Budget, Router, deployment entries), synonyms included.
Period = Annotated[Literal["day", "month"], BeforeValidator(parse_period)]


class Budget(BaseModel):
    """At most `max_usd` (also spelled `max_budget`) of spend per UTC `period` for the calls in `scope`.

    scope: "global", "alias:NAME" or "tag:KEY=VALUE"; `alias="NAME"` or `tag="KEY=VALUE"` (or {KEY: VALUE})
    say the same. period: "day" or "month" (also "daily", "1d", "monthly", "1mo"). unpriced: "block"
    (default: BudgetExceededError before a call to a model without a price) or "allow".
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    scope: str = "global"
    period: Period = Field("day", validation_alias=AliasChoices(
        "period", "budget_period", "budget_duration"))
    max_usd: Decimal = Field(gt=0, validation_alias=AliasChoices("max_usd", "max_budget"))
    # A call to a model without a price: its cost is unknown, so by default a budget refuses it rather than
    # count it as $0; "allow" lets it through (the ledger and spend() still show it as unpriced).
    unpriced: Literal["block", "allow"] = "block"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        alias, tag = data.pop("alias", None), data.pop("tag", None)
        if sum(x is not None for x in (alias, tag, data.get("scope"))) > 1:
            raise ValueError("give one of scope, alias or tag")
        if alias is not None:
            data["scope"] = f"alias:{alias}"
        elif tag is not None:
            if isinstance(tag, Mapping):
                if len(tag) != 1:
                    raise ValueError(f"tag must name one KEY: VALUE, got {dict(tag)!r}")
                tag = "{}={}".format(*next(iter(tag.items())))
            data["scope"] = f"tag:{tag}"
        return data

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        kind, _, rest = value.partition(":")
        if value == "global" or (kind == "alias" and rest) or (kind == "tag" and "=" in rest and rest[0] != "="):
            return value
        raise ValueError(f"scope must be 'global', 'alias:NAME' or 'tag:KEY=VALUE', got {value!r}")

    def applies(self, alias: str | None, tags: Mapping[str, Any] | None) -> bool:
        kind, _, rest = self.scope.partition(":")
        if kind == "global":
            return True
        if kind == "alias":
            return alias == rest
        key, _, value = rest.partition("=")
        return isinstance(tags, Mapping) and key in tags and str(tags[key]) == value

    def where(self) -> tuple[str, list[Any]]:
        """SQL condition (after the time bound) selecting this budget's calls in the ledger."""
        kind, _, rest = self.scope.partition(":")
        if kind == "alias":
            return " AND alias = ?", [rest]
        if kind == "tag":
            key, _, value = rest.partition("=")
            return " AND CAST(json_extract(tags, ?) AS TEXT) = ?", [tag_path(key), value]
        return "", []


def tag_path(key: str) -> str:
    """The JSON path of a metadata key inside the ledger's `tags` column."""
    if '"' in key or "\\" in key:
        raise ConfigError(f"tag key {key!r} may not contain quotes or backslashes")
    return f'$."{key}"'


def parse_budgets(items: Iterable[Budget | Mapping[str, Any]]) -> list[Budget]:
    try:
        return [b if isinstance(b, Budget) else Budget.model_validate(b) for b in items]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid budget: {problems}") from None


class Reservation:
    """An in-flight call's claim on its budgets: the estimate, then the real cost until its row is committed.

    `ticket`: on shared state, the claim held there (settled, with the real cost, when the call ends).
    """

    __slots__ = ("amount", "budgets", "owner", "ticket")

    def __init__(self, amount: Decimal, budgets: list[Budget], owner: Budgets, ticket: Any = None) -> None:
        self.amount, self.budgets, self.owner, self.ticket = amount, budgets, owner, ticket


class Budgets:
    """Checks and reservations. Checks run on the ledger's writer thread, one at a time, so two calls
    never both take the last dollar: spend = committed rows + reservations (in flight or not yet committed).

    On shared state (Redis) the period's spend and every process's reservations live there instead, checked
    and claimed in one atomic script; the ledger only seeds a period's total the first time it is needed.
    """

    def __init__(self, budgets: Iterable[Budget | Mapping[str, Any]], state: Any = None) -> None:
        self.items = parse_budgets(budgets)
        self.state = state
        self._lock = threading.Lock()
        self._held: set[Reservation] = set()

    def __bool__(self) -> bool:
        return bool(self.items)

    async def reserve(self, ledger: Any, alias: str | None, tags: Mapping[str, Any] | None, estimate: Decimal,
                      *, vendor: str | None = None, model: str | None = None) -> Reservation | None:
        """A reservation for this call, or BudgetExceededError; None when no budget applies."""
        matching = [b for b in self.items if b.applies(alias, tags)]
        if not matching:
            return None
        if not estimate.is_finite():  # a model without a price: its cost cannot be checked against a budget
            blocking = [b for b in matching if b.unpriced == "block"]
            if blocking:
                raise BudgetExceededError(
                    f"budget {blocking[0].scope} per {blocking[0].period} cannot check a call to "
                    f"{vendor + '/' if vendor else ''}{model or 'this model'}: the model has no price, so its "
                    "cost is unknown",
                    vendor=vendor, model=model,
                    hint="add its price with pricing.load_overrides('my-prices.toml') (a [[model]] row, see "
                         "README 'Pricing') or the FAREBOX_PRICES file, or give the budget unpriced='allow'")
            estimate = Decimal(0)
        now = datetime.now(UTC)
        if self.state is not None and self.state.shared:
            return await self._reserve_shared(ledger, matching, estimate, now, vendor, model)
        if ledger is None:  # best-effort without a ledger: only what this process has in flight counts
            return self.check(None, matching, estimate, now, vendor, model)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reservation] = loop.create_future()

        def done(result: Any, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(settle, future, error, result)

        ledger.run(lambda conn: self.check(conn, matching, estimate, now, vendor, model), done)
        return await future

    def check(self, conn: sqlite3.Connection | None, matching: list[Budget], estimate: Decimal, now: datetime,
              vendor: str | None = None, model: str | None = None) -> Reservation:
        spent = {id(b): _spent(conn, b, now) if conn is not None else Decimal(0) for b in matching}
        with self._lock:
            for budget in matching:
                in_flight = sum((r.amount for r in self._held if budget in r.budgets), Decimal(0))
                total = spent[id(budget)] + in_flight + estimate
                if total > budget.max_usd:
                    raise BudgetExceededError(
                        f"budget {budget.scope} per {budget.period} is ${budget.max_usd}: spent "
                        f"${spent[id(budget)]:.6f}, in flight ${in_flight:.6f}, this call about ${estimate:.6f}",
                        vendor=vendor, model=model)
            reservation = Reservation(estimate, matching, self)
            self._held.add(reservation)
        return reservation

    async def _reserve_shared(self, ledger: Any, matching: list[Budget], estimate: Decimal, now: datetime,
                              vendor: str | None, model: str | None) -> Reservation | None:
        state = self.state
        claims = []
        for budget in matching:
            start = period_start(budget.period, now)
            end = (start + timedelta(days=1)) if budget.period == "day" else _next_month(start)
            name = f"{budget.scope}:{budget.period}:{start.date().isoformat()}"
            claims.append((state.key("budget", name), budget.max_usd, int((end - now).total_seconds()) + 86400))

        async def seed(indexes: list[int]) -> dict[int, Decimal]:
            return {i: await ledger_spent(ledger, matching[i], now) for i in indexes}

        try:
            ticket = await state.reserve(claims, estimate, seed)
        except Over as over:
            budget = matching[over.index]
            raise BudgetExceededError(
                f"budget {budget.scope} per {budget.period} is ${budget.max_usd}: spent ${over.spent:.6f}, "
                f"in flight ${over.held:.6f} (every process), this call about ${estimate:.6f}",
                vendor=vendor, model=model) from None
        return Reservation(estimate, matching, self, ticket) if ticket is not None else None

    def settle(self, reservation: Reservation, cost: Decimal) -> None:
        """The call ended: its claim becomes its real cost until the ledger has committed its row."""
        reservation.amount = cost
        if reservation.ticket is not None:  # shared: the claim ends now and the cost joins the period's spend
            run_soon(self.state.settle(reservation.ticket, cost if cost.is_finite() else Decimal(0)))

    def release(self, reservation: Reservation) -> None:
        if reservation.ticket is not None:
            if not reservation.ticket.settled:
                run_soon(self.state.settle(reservation.ticket, Decimal(0)))
            return
        with self._lock:
            self._held.discard(reservation)

    def in_flight(self) -> Decimal:
        with self._lock:
            return sum((r.amount for r in self._held), Decimal(0))


def _next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


async def ledger_spent(ledger: Any, budget: Budget, now: datetime) -> Decimal:
    """The budget's committed spend this period, read on the ledger's writer (0 without a ledger)."""
    if ledger is None:
        return Decimal(0)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Decimal] = loop.create_future()

    def done(result: Any, error: BaseException | None) -> None:
        loop.call_soon_threadsafe(settle, future, error, result)

    ledger.run(lambda conn: _spent(conn, budget, now), done)
    return await future


def _spent(conn: Any, budget: Budget, now: datetime) -> Decimal:
    start = period_start(budget.period, now).timestamp()
    if not isinstance(conn, sqlite3.Connection):  # PostgreSQL: its rollups are current at every commit
        (where, params), _ = scope_sql(budget.scope)
        return pg_spent(conn, where.replace("?", "%s"), params, start)
    return sqlite_spent(conn, budget.scope, start)


# A reader that finds more rows than this not folded into the rollups yet (a durable writer's, another program's)
# folds them first, so a budget check reads at most about this many rows besides the rollup's buckets.
FOLD_TAIL = 256


def scope_sql(scope: str) -> tuple[tuple[str, list[Any]], tuple[str, list[Any]]]:
    """A budget scope's conditions (" AND ...", parameters): on the rollup tables, and on the calls table."""
    kind, _, rest = scope.partition(":")
    if kind == "alias":
        return (" AND tag_key = '' AND alias = ?", [rest]), (" AND alias = ?", [rest])
    if kind == "tag":
        key, _, value = rest.partition("=")
        return ((" AND tag_key = ? AND tag_value = ?", [key, value]),
                (" AND CAST(json_extract(tags, ?) AS TEXT) = ?", [tag_path(key), value]))
    return (" AND tag_key = ''", []), ("", [])


def sqlite_spent(conn: sqlite3.Connection, scope: str, start: float) -> Decimal:
    """A scope's ("global", "alias:NAME", "tag:KEY=VALUE") committed spend since `start` on an SQLite ledger, exact.

    From a UTC day boundary (a budget period's start): the day rollup plus the rows not folded into it yet, so
    the cost grows with the period's buckets, not its rows. Otherwise, or for costs finer than 1e-12 USD or
    past int64 pico-dollars ($9.2M): the rows' exact Decimal text.
    """
    rolled, raw = scope_sql(scope)
    if start % 86400 == 0:
        try:
            pico, inexact, tail = day_spend(conn, int(start), rolled, raw)
            if tail > FOLD_TAIL and _fold(conn):
                pico, inexact, tail = day_spend(conn, int(start), rolled, raw)
            if not inexact:
                return Decimal(pico) / _PICO
        except sqlite3.OperationalError as exc:
            if "overflow" not in str(exc):
                raise
    total = Decimal(0)
    for (text,) in conn.execute(f"SELECT cost_total FROM calls WHERE ts >= ? AND cost_total IS NOT NULL{raw[0]}",
                                [start, *raw[1]]):
        total += Decimal(text)
    return total


def _fold(conn: sqlite3.Connection) -> bool:
    try:
        fold_sqlite(conn)
    except sqlite3.OperationalError:  # a read-only file, or the writer busy past the timeout: read the tail as is
        return False
    return True
