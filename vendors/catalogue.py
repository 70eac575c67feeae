"""Model names to vendors: "vendor/model", a bare catalogue id or alias, nearest names when unknown."""

from __future__ import annotations

import difflib
from functools import cache

import pricing
from vendors.effort import EffortLevels, effort_levels_of, resolve_effort
from vendors.errors import ConfigError
from vendors.registry import _registry, get
from vendors.spec import VendorSpec, Wire

__all__ = ["effort_levels", "find_model", "known_names", "nearest", "normalize_effort", "split_model", "vision"]


@cache
def _catalogue() -> dict[str, tuple[str, str]]:
    """bare id or alias -> (vendor, canonical id); the first vendor listing a name wins."""
    out: dict[str, tuple[str, str]] = {}
    for row in pricing.models():
        if row.vendor not in _registry():
            continue
        for name in (row.id, *(row.aliases or ())):
            out.setdefault(name, (row.vendor, row.id))
            out.setdefault(name.lower(), (row.vendor, row.id))
    return out


@cache
def known_names() -> list[str]:
    """Every "vendor/name" a caller may use: ids and aliases, as the catalogue spells them."""
    return sorted({f"{row.vendor}/{name}" for row in pricing.models() if row.vendor in _registry()
                   for name in (row.id, *(row.aliases or ()))})


def nearest(name: str, n: int = 3) -> list[str]:
    """Known "vendor/model" names closest to `name`."""
    names = known_names()
    bare = {full.split("/", 1)[1].lower(): full for full in names}
    hits = difflib.get_close_matches(name.lower(), list(bare), n=n, cutoff=0.4)
    hits_full = difflib.get_close_matches(name.lower(), [x.lower() for x in names], n=n, cutoff=0.4)
    out = [bare[h] for h in hits]
    for h in hits_full:
        full = next(x for x in names if x.lower() == h)
        if full not in out:
            out.append(full)
    return out[:n]


def find_model(vendor: str, model: str) -> str | None:
    """The canonical catalogue id for `model` at `vendor` (id or alias), or None."""
    hit = _catalogue().get(model) or _catalogue().get(model.lower())
    if hit and hit[0] == vendor:
        return hit[1]
    return None


def split_model(model: str, *, strict: bool = True) -> tuple[VendorSpec, str]:
    """(spec, model id as given) for "vendor/model" or a bare known name.

    With `strict`, a catalogue vendor's model must be known (an id or alias); ConfigError names the
    nearest known models otherwise.
    """
    if not isinstance(model, str) or not model.strip():
        raise ConfigError("model must be a non-empty string such as 'minimax/MiniMax-M3'")
    model = model.strip()
    prefix, sep, rest = model.partition("/")
    if sep and prefix.lower() in _registry():
        spec = get(prefix.lower())
        if not rest:
            raise ConfigError(f"model {model!r} names a vendor but no model")
        if strict and spec.name != "compatible" and find_model(spec.name, rest) is None:
            raise _unknown(model, rest, spec.name)
        return spec, rest
    hit = _catalogue().get(model) or _catalogue().get(model.lower())
    if hit is None:
        raise _unknown(model, model, None)
    return get(hit[0]), model


def effort_levels(model: str, *, wire: Wire | None = None) -> EffortLevels:
    """The effort levels `model` accepts and its default."""
    spec, model_id = split_model(model)
    return effort_levels_of(spec.effort_for(model_id, wire))


def normalize_effort(model: str, level: str | None, *, wire: Wire | None = None) -> str | None:
    """What `level` becomes for `model`: the vendor's own level name ("high" -> "adaptive" on MiniMax-M3)."""
    spec, model_id = split_model(model)
    wire = wire or spec.surfaces[0].wire
    result = resolve_effort(spec.effort_for(model_id, wire), level, wire=wire, vendor=spec.name, model=model_id)
    return result.level


def _unknown(full: str, bare: str, vendor: str | None) -> ConfigError:
    near = nearest(bare) if vendor is None else [n for n in nearest(bare, 6) if n.startswith(vendor + "/")][:3]
    near = near or nearest(bare)
    text = f"unknown model {full!r}"
    if near:
        text += f"; nearest known: {', '.join(near)}"
    hint = ("give 'vendor/model' for a model Farebox does not list yet together with base_url=..., "
            "or 'compatible/<model>' for an OpenAI-compatible server")
    return ConfigError(text, vendor=vendor, model=bare, hint=hint)


def vision(vendor: str, model_id: str) -> tuple[bool | None, list[str]]:
    """(whether the catalogue says `model_id` takes images, the vendor's models that do); None: not recorded."""
    try:
        takes = pricing.price(model_id, vendor=vendor).vision
    except LookupError:
        takes = None
    return takes, [row.id for row in pricing.models(vendor) if row.vision]
