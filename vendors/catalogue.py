"""Model names to vendors in one lookup: vendor spec, surface, region, base URL and catalogue row; nearest names."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import pricing
from vendors.effort import EffortLevels, effort_levels_of, resolve_effort
from vendors.errors import ConfigError
from vendors.hosts import hostname
from vendors.registry import _registry, detect, detect_region
from vendors.spec import Surface, VendorSpec, Wire

__all__ = ["Match", "effort_levels", "find_model", "known_names", "lookup", "nearest", "normalize_effort",
           "vision"]

# The spellings `wire=` accepts.
_WIRES = {"openai": Wire.OPENAI_CHAT, "openai_chat": Wire.OPENAI_CHAT, "chat": Wire.OPENAI_CHAT,
          "anthropic": Wire.ANTHROPIC_MESSAGES, "anthropic_messages": Wire.ANTHROPIC_MESSAGES,
          "messages": Wire.ANTHROPIC_MESSAGES}


@dataclass(frozen=True, slots=True)
class Match:
    """The catalogue's one answer for a model name (with base_url, region, wire): all a Target is built from."""

    spec: VendorSpec
    model: str                  # the model name sent on the wire, as the caller gave it
    catalogue_id: str | None    # the canonical catalogue id (the price row key); None: not listed
    surface: Surface
    region: str | None
    base_url: str | None        # the caller's or the vendor's regional base URL, no trailing "/"; None: none known
    vendor_host: bool           # the base URL's host is a registered vendor's (so plain http is refused with a key)

    @property
    def url(self) -> str | None:
        """The endpoint: the base URL with the surface's path (unless the caller already gave it)."""
        base, path = self.base_url, self.surface.path
        return None if base is None else base if base.endswith(path) else base + path

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
    return hit[1] if hit and hit[0] == vendor else None


def lookup(model: str, *, base_url: str | None = None, region: str | None = None, wire: str | None = None) -> Match:
    """Everything a model name (and a base_url's host) says about where a request goes, in one pass.

    "vendor/model" names the vendor (a catalogue vendor's model must be listed unless base_url is given);
    a bare name is a catalogue id or alias; with base_url and no prefix, the host decides (spoof-proof,
    `vendors.hosts`) and an unknown host is an OpenAI-compatible server. ConfigError names what was wrong.
    """
    if not isinstance(model, str):
        raise ConfigError(f"model must be a string, not {type(model).__name__}")
    model = model.strip()
    if not model:
        raise ConfigError("model must be a non-empty string such as 'minimax/MiniMax-M3'")
    detected = _host_vendor(base_url) if base_url is not None else None
    specs = _registry()
    prefix, sep, rest = model.partition("/")
    if sep and prefix.lower() in specs:
        spec, model_id = specs[prefix.lower()], rest
        if not rest:
            raise ConfigError(f"model {model!r} names a vendor but no model")
        catalogue_id = find_model(spec.name, rest)
        if base_url is None and catalogue_id is None and spec.name != "compatible":
            raise _unknown(model, rest, spec.name)
        if detected is not None and detected.name != spec.name:
            raise ConfigError(
                f"model {model!r} names vendor {spec.name!r} but base_url {base_url!r} is a {detected.name} host",
                vendor=spec.name, model=model_id,
                hint="a key for one vendor is never sent to another vendor's host: drop the prefix or fix base_url")
    elif base_url is not None:
        spec, model_id = detected or specs["compatible"], model
        catalogue_id = find_model(spec.name, model_id)
    else:
        hit = _catalogue().get(model) or _catalogue().get(model.lower())
        if hit is None:
            raise _unknown(model, model, None)
        spec, model_id, catalogue_id = specs[hit[0]], model, hit[1]
    surface = _surface(spec, base_url, wire)
    if base_url is not None:
        implied = detect_region(spec, base_url)
        if region and implied and region != implied:
            # A MiniMax key works only with its own region's host (2049, docs/vendors.md §1.1).
            raise ConfigError(f"region {region!r} contradicts base_url {base_url!r}, a {spec.name} {implied!r} host",
                              vendor=spec.name, model=model_id, hint=f"drop region=... or use region={implied!r}")
        return Match(spec, model_id, catalogue_id, surface, region or implied, base_url.rstrip("/"),
                     detected is not None)
    region = region or spec.default_region
    if surface.base_urls and region not in surface.base_urls:
        raise ConfigError(f"unknown region {region!r} for {spec.name}; regions: {', '.join(surface.base_urls)}",
                          vendor=spec.name, model=model_id)
    base = surface.base_urls[region].rstrip("/") if surface.base_urls else None
    return Match(spec, model_id, catalogue_id, surface, region, base, True)


def _host_vendor(base_url: str) -> VendorSpec | None:
    """The vendor whose host `base_url` names, or None; ConfigError for a URL that is not a plain http(s) one."""
    if hostname(base_url) is None:
        raise ConfigError(f"base_url {base_url!r} is not an http(s) URL", hint="e.g. 'http://127.0.0.1:8000/v1'")
    if "@" in urlsplit(base_url.strip()).netloc:
        # "https://api.minimaxi.com@evil.example/" goes to evil.example: a lookalike, never a vendor (§7.1).
        raise ConfigError(f"base_url {base_url!r} carries user-info ('…@host'); give the key with api_key=...",
                          hint="the host after '@' is where the request would really go")
    return detect(base_url)


def _surface(spec: VendorSpec, base_url: str | None, wire: str | None) -> Surface:
    if wire is not None:
        chosen = _WIRES.get(str(wire).lower())
        if chosen is None or chosen not in spec.wires():
            offered = ", ".join(w.value for w in spec.wires())
            raise ConfigError(f"{spec.name} has no {wire!r} surface; it offers: {offered}", vendor=spec.name)
        return spec.surface(chosen)
    if base_url:
        path = base_url.rstrip("/")
        for surface in spec.surfaces:
            if surface.base_suffix and (path.endswith(surface.base_suffix) or path.endswith(surface.path)):
                return surface
    return spec.surfaces[0]


def effort_levels(model: str, *, wire: Wire | None = None) -> EffortLevels:
    """The effort levels `model` accepts and its default."""
    match = lookup(model)
    return effort_levels_of(match.spec.effort_for(match.model, wire))


def normalize_effort(model: str, level: str | None, *, wire: Wire | None = None) -> str | None:
    """What `level` becomes for `model`: the vendor's own level name ("high" -> "adaptive" on MiniMax-M3)."""
    match = lookup(model)
    spec, model_id = match.spec, match.model
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
