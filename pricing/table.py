"""The price table: the shipped TOML files, user overrides, and lookup by model name and time (rows: rows.py)."""

from __future__ import annotations

import difflib
import functools
import json
import os
import threading
import tomllib
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricing import AmbiguousModelPrice, PricingError, UnknownModelPrice, genai
from pricing.rows import (  # noqa: F401  # Dec, Rates and Tier: pricing.cost imports them from here
    ENV_VAR,
    HOW_TO_ADD,
    Dec,
    ModelPrice,
    Rates,
    Tier,
    check_conflicts,
    to_instant,
    validate_rows,
    window_text,
)

DATA_DIR = Path(__file__).parent / "data"


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
        windows = ", ".join(window_text(p) for p in history)
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
    moment = to_instant(at)
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
