"""The price table: row schema, the shipped TOML files, user overrides, and lookup by model name and time."""

from __future__ import annotations

import difflib
import functools
import json
import os
import threading
import tomllib
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError, model_validator

from pricing import AmbiguousModelPrice, PricingError, UnknownModelPrice, genai
from pricing.windows import Schedule

DATA_DIR = Path(__file__).parent / "data"
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


def _instant(value: object) -> object:
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
Instant = Annotated[datetime | None, BeforeValidator(_instant)]
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


# ---------------------------------------------------------------------------------------------- reading


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


def _parse(path: Path) -> object:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json", ".yaml", ".yml"):
        raise PricingError(f"{path}: unknown price file type {suffix!r} (use .toml, .json or .yaml)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PricingError(f"{path}: cannot read price file: {exc}") from exc
    if suffix in (".yaml", ".yml"):
        try:
            import yaml  # lazy: PyYAML is the optional [yaml] extra; TOML and JSON work without it
        except ImportError:
            raise PricingError(f"{path}: reading YAML needs PyYAML; use TOML or JSON instead") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PricingError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return tomllib.loads(text) if suffix == ".toml" else json.loads(text, parse_float=Decimal)
    except ValueError as exc:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        raise PricingError(f"{path}: not valid {suffix[1:].upper()}: {exc}") from exc


def read_price_file(path: str | os.PathLike[str], *, vendor: str | None = None, strict: bool = False
                    ) -> list[ModelPrice]:
    """Read and validate one price file (TOML, JSON or YAML)."""
    path = Path(path)
    return validate_rows(_parse(path), str(path), vendor=vendor, strict=strict)


def load_table(data_dir: str | os.PathLike[str] = DATA_DIR, *, strict: bool | None = None) -> list[ModelPrice]:
    """Every `*.toml` in `data_dir`; each file holds one vendor's rows and is named after it.

    `strict` (default: for the shipped directory) applies check_source to every row."""
    strict = Path(data_dir) == DATA_DIR if strict is None else strict
    prices: list[ModelPrice] = []
    for path in sorted(Path(data_dir).glob("*.toml")):
        prices.extend(read_price_file(path, vendor=path.stem, strict=strict))
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
                    f"{origin}: duplicate price for {p.key}: rows valid {_window(other)} and {_window(p)} overlap"
                )
        seen[(p.vendor, p.id)].append(p)
    owner: dict[tuple[str, str], str] = {(v, i): i for v, i in seen}
    for p in prices:
        for alias in p.aliases:
            if owner.setdefault((p.vendor, alias), p.id) != p.id:
                raise PricingError(
                    f"{origin}: alias {alias!r} of {p.key} already names {p.vendor}/{owner[(p.vendor, alias)]}"
                )


def _window(p: ModelPrice) -> str:
    start = p.valid_from.isoformat() if p.valid_from else "-inf"
    end = p.valid_until.isoformat() if p.valid_until else "+inf"
    return f"[{start}, {end})"


# -------------------------------------------------------------------------------------------- catalogue


class _Catalogue:
    """Immutable index over the merged rows: by (vendor, id), by exact name and by case-folded name."""

    def __init__(self, prices: Iterable[ModelPrice]) -> None:
        self.rows: dict[tuple[str, str], list[ModelPrice]] = {}
        for p in prices:
            self.rows.setdefault((p.vendor, p.id), []).append(p)
        for history in self.rows.values():
            history.sort(key=lambda p: p.valid_from or datetime.min.replace(tzinfo=UTC))
        self.vendors = frozenset(v for v, _ in self.rows)
        # Four indices, searched in order: exact id, exact alias, case-folded id, case-folded alias.
        self.indices: list[dict[str, dict[tuple[str, str], str]]] = [{}, {}, {}, {}]
        for key, history in self.rows.items():
            names = [(key[1], False)] + [(a, True) for p in history for a in p.aliases]
            for name, is_alias in names:
                alias = name if is_alias else None
                self.indices[is_alias].setdefault(name, {})[key] = alias
                self.indices[2 + is_alias].setdefault(name.casefold(), {})[key] = alias
        # Names already resolved (priced on every call): the index is immutable, so an answer stays true.
        self._resolved: dict[tuple[str, str | None], tuple[tuple[str, str], str | None]] = {}

    def resolve(self, name: str, vendor: str | None) -> tuple[tuple[str, str], str | None]:
        """The (vendor, id) that `name` means, and the alias it went through (None for an id)."""
        found = self._resolved.get((name, vendor))
        if found is None:
            found = self._search(name, vendor)
            if len(self._resolved) >= 4096:
                self._resolved.clear()
            self._resolved[(name, vendor)] = found
        return found

    def _search(self, name: str, vendor: str | None) -> tuple[tuple[str, str], str | None]:
        for index, probe in zip(self.indices, (name, name, name.casefold(), name.casefold()), strict=True):
            hits = {k: a for k, a in index.get(probe, {}).items() if vendor in (None, k[0])}
            if len(hits) > 1:
                choices = sorted(f"{v}/{i}" for v, i in hits)
                raise AmbiguousModelPrice(
                    f"{name!r} names models of several vendors ({', '.join(choices)}); pass vendor= or 'vendor/id'",
                    model=name,
                    suggestions=choices,
                )
            if hits:
                return next(iter(hits.items()))
        raise self.unknown(name, vendor)

    def unknown(self, name: str, vendor: str | None) -> UnknownModelPrice:
        pool: dict[str, list[str]] = {}
        for folded, keys in (*self.indices[2].items(), *self.indices[3].items()):
            for v, i in keys:
                if vendor in (None, v):
                    pool.setdefault(folded, []).append(f"{v}/{i}")
        near = difflib.get_close_matches(name.casefold(), list(pool), n=5, cutoff=0.5)
        suggestions = list(dict.fromkeys(k for n in near for k in pool[n]))
        where = f" for vendor {vendor!r}" if vendor else ""
        hint = f"nearest known: {', '.join(suggestions)}" if suggestions else "no similar model is known"
        return UnknownModelPrice(
            f"no price known for {name!r}{where}; {hint}. To add one, {HOW_TO_ADD}.",
            model=name,
            suggestions=suggestions,
        )

    def row_at(self, key: tuple[str, str], at: datetime) -> ModelPrice:
        history = self.rows[key]
        for p in history:
            if p.valid_at(at):
                return p
        windows = ", ".join(_window(p) for p in history)
        raise UnknownModelPrice(
            f"no price for {key[0]}/{key[1]} valid at {at.isoformat()} (known windows: {windows}). "
            f"To add one, {HOW_TO_ADD}.",
            model=f"{key[0]}/{key[1]}",
        )

    def current(self, key: tuple[str, str], now: datetime) -> ModelPrice:
        """The row valid now, else the most recently started one (retired or not yet valid)."""
        history = self.rows[key]
        return next((p for p in history if p.valid_at(now)), history[-1])


_lock = threading.RLock()
_catalogue: _Catalogue | None = None
_overrides: dict[tuple[str, str], list[ModelPrice]] = {}


@functools.cache
def _shipped() -> tuple[ModelPrice, ...]:
    return tuple(load_table(DATA_DIR))


def _merge(layers: Iterable[Iterable[ModelPrice]]) -> list[ModelPrice]:
    """Later layers replace every earlier row of the same (vendor, id)."""
    merged: dict[tuple[str, str], list[ModelPrice]] = {}
    for layer in layers:
        fresh: dict[tuple[str, str], list[ModelPrice]] = {}
        for p in layer:
            fresh.setdefault((p.vendor, p.id), []).append(p)
        merged.update(fresh)
    return [p for rows in merged.values() for p in rows]


def _build() -> _Catalogue:
    env_path = os.environ.get(ENV_VAR)
    env_rows = read_price_file(env_path) if env_path else []
    overrides = [p for rows in _overrides.values() for p in rows]
    merged = _merge([_shipped(), env_rows, overrides])
    check_conflicts(merged, "price table (shipped rows + overrides)")
    return _Catalogue(merged)


def _get() -> _Catalogue:
    global _catalogue
    cat = _catalogue
    if cat is None:
        with _lock:
            if _catalogue is None:
                _catalogue = _build()
            cat = _catalogue
    return cat


def _moment(at: datetime | date | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    moment = _instant(at)
    if not isinstance(moment, datetime):
        raise TypeError(f"at must be a datetime or date, got {type(at).__name__}")
    return moment


def _split(model: str, vendor: str | None, known: frozenset[str]) -> tuple[str | None, str]:
    if vendor is not None:
        return vendor, model.removeprefix(f"{vendor}/")
    prefix, slash, rest = model.partition("/")
    if slash and prefix.lower() in known:
        return prefix.lower(), rest
    return None, model


# ------------------------------------------------------------------------------------------ public API


def price(model: str, *, vendor: str | None = None, at: datetime | date | None = None) -> ModelPrice:
    """The price row for `model` ("vendor/id", bare id or alias) valid at `at` (default: now, UTC)."""
    cat = _get()
    vendor, name = _split(model, vendor, cat.vendors)
    if vendor is not None and vendor not in cat.vendors:
        raise UnknownModelPrice(
            f"no prices known for vendor {vendor!r} (known: {', '.join(sorted(cat.vendors))}). "
            f"To add one, {HOW_TO_ADD}.",
            model=model,
        )
    try:
        key, alias = cat.resolve(name, vendor)
    except AmbiguousModelPrice:
        raise
    except UnknownModelPrice:
        # The shipped table (and overrides) always win; only a model they lack is looked up in genai-prices.
        fallback = _fallback(vendor, name, _moment(at))
        if fallback is None:
            raise
        return fallback
    row = cat.row_at(key, _moment(at))
    return row if alias is None else row.model_copy(update={"alias_used": alias})


def _fallback(vendor: str | None, name: str, at: datetime) -> ModelPrice | None:
    """genai-prices' price for a model of a known vendor that no row names (extra `prices`), else None."""
    if vendor is None:
        return None
    fields = genai.lookup(vendor, name, at) if genai.available() else None
    return ModelPrice(**fields) if fields is not None else None


def models(vendor: str | None = None) -> list[ModelPrice]:
    """One current row per (vendor, id), sorted; the catalogue of known model ids, aliases and limits."""
    cat = _get()
    now = datetime.now(UTC)
    return [cat.current(key, now) for key in sorted(cat.rows) if vendor in (None, key[0])]


def load_overrides(source: str | os.PathLike[str] | Mapping[str, Any]) -> list[ModelPrice]:
    """Add user price rows (file path or `{"model": [rows]}`); they replace shipped rows of the same model."""
    global _catalogue
    if isinstance(source, Mapping):
        rows = validate_rows(source, "overrides")
    else:
        rows = read_price_file(source)
    with _lock:
        saved, saved_catalogue = dict(_overrides), _catalogue
        for p in rows:
            _overrides.pop((p.vendor, p.id), None)
        for p in rows:
            _overrides.setdefault((p.vendor, p.id), []).append(p)
        try:
            _catalogue = _build()
        except Exception:
            _overrides.clear()
            _overrides.update(saved)
            _catalogue = saved_catalogue
            raise
    return rows


def reset_overrides() -> None:
    """Forget rows added by load_overrides; FAREBOX_PRICES is read again on next use."""
    global _catalogue
    with _lock:
        _overrides.clear()
        _catalogue = None
