"""Price rows: the validated schema (ModelPrice, Rates, Tier, Window, ServiceTier) and the price file's row format."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError, model_validator

from pricing import PricingError, UnknownModelPrice
from pricing.windows import Schedule

__all__ = ["ENV_VAR", "HOW_TO_ADD", "Dec", "ModelPrice", "Rates", "ServiceTier", "Tier", "Window", "check_conflicts",
           "check_source", "to_instant", "validate_rows", "window_text"]

ENV_VAR = "FAREBOX_PRICES"
HOW_TO_ADD = (
    "add a [[model]] row with pricing.load_overrides('my-prices.toml') "
    f"or point the {ENV_VAR} environment variable at a TOML/JSON file"
)


def _money(value: object) -> Decimal:
    """A price as exact Decimal: strings (or ints/Decimals from code), never floats."""
    if isinstance(value, bool | float):
        raise ValueError(f'prices are strings such as "0.30" so they stay exact; got {value!r}')
    if not isinstance(value, str | int | Decimal):
        raise ValueError(f"a price must be a string, got {type(value).__name__}")
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a decimal number: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not a finite price: {value!r}")
    if amount < 0:
        raise ValueError(f"negative price {value!r}")
    return amount


def to_instant(value: object) -> object:
    """Dates mean midnight UTC, naive datetimes mean UTC; everything is stored as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    return value


# Money leaves the table as a plain decimal string in JSON ("0.000051", not "5.1E-5").
Dec = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")]
Money = Annotated[Decimal, BeforeValidator(_money)]
Instant = Annotated[datetime | None, BeforeValidator(to_instant)]
Count = Annotated[int, Field(strict=True, gt=0)]
Name = Annotated[str, Field(min_length=1, pattern=r"^\S+$")]
Vendor = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


class Tier(BaseModel):
    """Prices for the whole request when its prompt has more than `above_tokens` tokens."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    above_tokens: int
    input: Dec
    output: Dec
    cache_read: Dec | None = None
    cache_write: Dec | None = None
    cache_write_1h: Dec | None = None


class Rates(BaseModel):
    """One set of per-million-token rates and its context-length tiers (a row, a window or a service tier)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    input: Dec
    output: Dec
    cache_read: Dec | None = None  # None: not priced separately, billed at `input`
    cache_write: Dec | None = None  # 5-minute (default) cache writes; None: billed at `input`
    cache_write_1h: Dec | None = None  # 1-hour cache writes; None: billed as `cache_write`
    tiers: tuple[Tier, ...] = ()

    def tier_for(self, prompt_tokens: int) -> Tier | None:
        """The highest tier whose threshold the prompt exceeds, else None (base prices)."""
        chosen = None
        for tier in self.tiers:
            if prompt_tokens > tier.above_tokens:
                chosen = tier
        return chosen


class Window(Rates):
    """Rates that apply instead of the row's base rates while `schedule` matches the request time."""

    name: str
    schedule: Schedule


class ServiceTier(Rates):
    """Rates of a service tier the caller asked for ("batch", "flex", "priority"), instead of the standard ones."""

    name: str


class ModelPrice(Rates):
    """One price row: USD per million tokens, valid from `valid_from` (inclusive) to `valid_until`.

    The base rates apply outside every window (`base_window` names that time, e.g. "off-peak"); `windows`
    are recurring times with their own rates; `service_tiers` replace the base for a requested tier.
    """

    vendor: str
    id: str
    aliases: tuple[str, ...] = ()
    windows: tuple[Window, ...] = ()
    base_window: str | None = None
    service_tiers: tuple[ServiceTier, ...] = ()
    context_window: int
    max_output: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    checked: date | None  # None only for rows not from a price file (genai-prices' fallback)
    source: str
    third_party: bool = False  # True: the numbers come from `source`, not from the vendor's own page
    reasoning: bool | None = None
    vision: bool | None = None  # takes image input; None: not recorded (Farebox then does not refuse images)
    web_search_per_1k: Dec | None = None  # USD per 1,000 server-side web searches (Anthropic: 10)
    alias_used: str | None = None  # the alias the caller used, when resolved through one

    @property
    def key(self) -> str:
        return f"{self.vendor}/{self.id}"

    @property
    def as_of(self) -> date:
        return self.checked

    def valid_at(self, at: datetime) -> bool:
        starts = self.valid_from is None or self.valid_from <= at
        return starts and (self.valid_until is None or at < self.valid_until)

    def rates_at(self, at: datetime, service_tier: str | None = None) -> tuple[Rates, str | None]:
        """The rates that bill a request sent at `at` (aware), and the window's name (None: no windows)."""
        if service_tier not in (None, "standard", "default"):
            for tier in self.service_tiers:
                if tier.name == service_tier:
                    return tier, None
            offered = ", ".join(["standard", *(t.name for t in self.service_tiers)])
            raise UnknownModelPrice(
                f"{self.key} has no {service_tier!r} service-tier price (priced: {offered}). To add one, {HOW_TO_ADD}.",
                model=self.key,
            )
        for window in self.windows:
            if window.schedule.matches(at):
                return window, window.name
        return self, self.base_window


# Each vendor's own domains: a row citing another site must say third_party = true.
VENDOR_DOMAINS: dict[str, tuple[str, ...]] = {
    "anthropic": ("anthropic.com", "claude.com"),
    "deepseek": ("deepseek.com",),
    "minimax": ("minimax.io", "minimaxi.com"),
    "moonshot": ("moonshot.ai", "moonshot.cn", "kimi.ai", "kimi.com"),
    "openai": ("openai.com",),
    "zhipu": ("z.ai", "bigmodel.cn"),
}


def check_source(row: ModelPrice) -> None:
    """A shipped row cites the vendor's own page, or says third_party = true; either way an https URL."""
    host = (urlsplit(row.source).hostname or "") if row.source.startswith("https://") else ""
    if not host:
        raise ValueError(f"source must be the https URL of the page that shows the prices, got {row.source!r}")
    own = VENDOR_DOMAINS.get(row.vendor)
    if own is not None and not row.third_party and not any(host == d or host.endswith("." + d) for d in own):
        raise ValueError(f"source {host} is not {row.vendor}'s own site ({', '.join(own)}); "
                         "mark the row third_party = true if the numbers come from there")


class _RateRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    class TierRow(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid")
        above_tokens: Count
        input_mtok: Money
        output_mtok: Money
        cache_read_mtok: Money | None = None
        cache_write_mtok: Money | None = None
        cache_write_1h_mtok: Money | None = None

    input_mtok: Money
    output_mtok: Money
    cache_read_mtok: Money | None = None
    cache_write_mtok: Money | None = None
    cache_write_1h_mtok: Money | None = None
    tiers: tuple[TierRow, ...] = ()

    @model_validator(mode="after")
    def _tiers_increase(self) -> _RateRow:
        thresholds = [t.above_tokens for t in self.tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("tiers must be listed by strictly increasing above_tokens")
        return self

    def rates(self) -> dict[str, Any]:
        tiers = tuple(Tier(above_tokens=t.above_tokens, **_rates(t)) for t in self.tiers)
        return {**_rates(self), "tiers": tiers}


class _WindowRow(_RateRow):
    name: Name
    hours: tuple[tuple[int, int], ...]
    weekdays: tuple[int, ...] | None = None
    except_holidays: str | None = None


class _ServiceTierRow(_RateRow):
    name: Literal["batch", "flex", "priority"]


class _Row(_RateRow):
    """A [[model]] row as written in a data file."""

    vendor: Vendor
    id: Name
    aliases: tuple[Name, ...] = ()
    windows: tuple[_WindowRow, ...] = ()
    base_window: Name | None = None
    service_tiers: tuple[_ServiceTierRow, ...] = ()
    context_window: Count
    max_output: Count | None = None
    valid_from: Instant = None
    valid_until: Instant = None
    checked: date
    source: Annotated[str, Field(min_length=1)]
    third_party: bool = False
    reasoning: bool | None = None
    vision: bool | None = None
    web_search_per_1k: Money | None = None

    @model_validator(mode="after")
    def _consistent(self) -> _Row:
        if self.valid_from and self.valid_until and self.valid_from >= self.valid_until:
            raise ValueError("valid_from must be before valid_until")
        if self.id in self.aliases or len(set(self.aliases)) != len(self.aliases):
            raise ValueError("aliases must be distinct and differ from the id")
        names = [w.name for w in self.windows] + [t.name for t in self.service_tiers]
        if len(set(names)) != len(names):
            raise ValueError("window and service-tier names must be distinct")
        if self.windows and self.base_window is None:
            raise ValueError("a row with windows names the time outside them: base_window = \"off-peak\"")
        for part in (*self.windows, *self.service_tiers):
            if self.tiers and not part.tiers:
                raise ValueError(f"{part.name}: the row has context-length tiers, so {part.name} must list its own")
        return self

    def to_price(self) -> ModelPrice:
        windows = tuple(
            Window(name=w.name, schedule=Schedule(hours=w.hours, weekdays=w.weekdays,
                                                  except_holidays=w.except_holidays), **w.rates())
            for w in self.windows
        )
        tiers = tuple(ServiceTier(name=t.name, **t.rates()) for t in self.service_tiers)
        rest = self.model_dump(exclude={*_RateRow.model_fields, "windows", "service_tiers"})
        return ModelPrice(**rest, **self.rates(), windows=windows, service_tiers=tiers)


def _rates(row: _RateRow | _RateRow.TierRow) -> dict[str, Decimal | None]:
    return {
        "input": row.input_mtok,
        "output": row.output_mtok,
        "cache_read": row.cache_read_mtok,
        "cache_write": row.cache_write_mtok,
        "cache_write_1h": row.cache_write_1h_mtok,
    }


def _explain(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors())


def _row_label(index: int, raw: object) -> str:
    if isinstance(raw, Mapping) and raw.get("id"):
        return f"row {index} ({raw.get('vendor', '?')}/{raw['id']})"
    return f"row {index}"


def validate_rows(data: object, origin: str, *, vendor: str | None = None, strict: bool = False) -> list[ModelPrice]:
    """Validate a parsed document `{"model": [rows...]}`; errors name `origin` and the 1-based row.

    `strict` (the shipped table): every source is an https URL on the vendor's own site, or the row says
    third_party = true."""
    if not isinstance(data, Mapping) or set(data) - {"model"}:
        extra = sorted(set(data) - {"model"}) if isinstance(data, Mapping) else type(data).__name__
        raise PricingError(f"{origin}: expected only [[model]] rows (a 'model' list), found {extra}")
    rows = data.get("model", [])
    if not isinstance(rows, list | tuple):
        raise PricingError(f"{origin}: 'model' must be a list of rows ([[model]] in TOML)")
    prices = []
    for index, raw in enumerate(rows, start=1):
        try:
            row = _Row.model_validate(raw)
            priced = row.to_price()
            if strict:
                check_source(priced)
        except ValidationError as exc:
            raise PricingError(f"{origin}: {_row_label(index, raw)}: {_explain(exc)}") from exc
        except (ValueError, PricingError) as exc:
            raise PricingError(f"{origin}: {_row_label(index, raw)}: {exc}") from exc
        if vendor is not None and row.vendor != vendor:
            raise PricingError(f"{origin}: {_row_label(index, raw)}: vendor must be {vendor!r} in this file")
        prices.append(priced)
    check_conflicts(prices, origin)
    return prices


def _overlap(a: ModelPrice, b: ModelPrice) -> bool:
    a_before_b_ends = b.valid_until is None or a.valid_from is None or a.valid_from < b.valid_until
    b_before_a_ends = a.valid_until is None or b.valid_from is None or b.valid_from < a.valid_until
    return a_before_b_ends and b_before_a_ends


def check_conflicts(prices: list[ModelPrice], origin: str) -> None:
    """No two rows for one (vendor, id) may overlap in time; no name may mean two models of one vendor."""
    seen: dict[tuple[str, str], list[ModelPrice]] = {}
    for p in prices:
        for other in seen.setdefault((p.vendor, p.id), []):
            if _overlap(p, other):
                raise PricingError(
                    f"{origin}: duplicate price for {p.key}: rows valid {window_text(other)} and {window_text(p)} "
                    "overlap"
                )
        seen[(p.vendor, p.id)].append(p)
    owner: dict[tuple[str, str], str] = {(v, i): i for v, i in seen}
    for p in prices:
        for alias in p.aliases:
            if owner.setdefault((p.vendor, alias), p.id) != p.id:
                raise PricingError(
                    f"{origin}: alias {alias!r} of {p.key} already names {p.vendor}/{owner[(p.vendor, alias)]}"
                )


def window_text(p: ModelPrice) -> str:
    start = p.valid_from.isoformat() if p.valid_from else "-inf"
    end = p.valid_until.isoformat() if p.valid_until else "+inf"
    return f"[{start}, {end})"
