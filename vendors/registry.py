"""The registry of vendor specs: lookup by name, by base-URL host, and the model catalogue."""

from __future__ import annotations

import difflib
from functools import cache

import pricing
from vendors.effort import EffortProfile
from vendors.errors import ConfigError
from vendors.hosts import host_matches, hostname
from vendors.spec import ModelInfo, VendorSpec, Wire
from vendors.specs import anthropic, compatible, deepseek, minimax, moonshot, openai, qwen, zhipu

__all__ = ["all_specs", "detect", "detect_region", "effort_profiles", "get", "models", "names", "profile_for"]


# One line per vendor; "compatible" (any OpenAI-compatible server) stays last: it claims no host.
_SPECS: tuple[VendorSpec, ...] = (
    openai.SPEC,
    anthropic.SPEC,
    minimax.SPEC,
    deepseek.SPEC,
    moonshot.SPEC,
    zhipu.SPEC,
    qwen.SPEC,
    compatible.SPEC,
)


@cache
def _registry() -> dict[str, VendorSpec]:
    return {spec.name: spec for spec in _SPECS}


def effort_profiles() -> dict[str, EffortProfile]:
    """Every effort profile any vendor may pick, by name (for conformance tests and the CLI)."""
    return {p.name: p for spec in _SPECS for p in spec.effort_profiles}


def profile_for(vendor: str, model: str, wire: Wire = Wire.OPENAI_CHAT) -> EffortProfile | None:
    """The effort profile `vendor` picks for `model` on `wire`; None when effort is not configurable."""
    spec = _registry().get(vendor.strip().lower())
    return spec.effort_for(model, wire) if spec is not None else None


def names() -> list[str]:
    """The registered vendor names, "compatible" last."""
    return list(_registry())


def all_specs() -> list[VendorSpec]:
    return list(_registry().values())


def get(name: str) -> VendorSpec:
    """The spec registered as `name`; ConfigError naming the known vendors otherwise."""
    specs = _registry()
    spec = specs.get(name) or specs.get(name.strip().lower()) if isinstance(name, str) else None
    if spec is None:
        near = difflib.get_close_matches(str(name).lower(), list(specs), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(near)}? " if near else ""
        raise ConfigError(f"unknown vendor {name!r}; {hint}known vendors: {', '.join(specs)}")
    return spec


def detect(base_url: str) -> VendorSpec | None:
    """The vendor whose hosts this URL's real hostname belongs to, or None (never fooled by paths or user-info)."""
    host = hostname(base_url)
    if host is None:
        return None
    for spec in _registry().values():
        if host_matches(host, spec.hosts, spec.host_apexes):
            return spec
    return None


def detect_region(spec: VendorSpec, base_url: str) -> str | None:
    """The region a vendor host implies (`api.minimaxi.com` -> "cn"), or None."""
    host = hostname(base_url)
    if host is None:
        return None
    for key, region in spec.host_regions.items():
        if host == key or host.endswith("." + key):
            return region
    return None


def models(vendor: str | None = None) -> list[ModelInfo]:
    """Known models (no network call): from the shared catalogue in `pricing`."""
    if vendor is not None:
        get(vendor)
    rows = pricing.models(vendor)
    return [ModelInfo(id=r.id, context_window=r.context_window, max_output=r.max_output,
                      aliases=tuple(r.aliases or ()), vision=r.vision)
            for r in rows if vendor is None or r.vendor == vendor]
