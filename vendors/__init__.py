"""Vendor facts as data: specs, host detection, model catalogue, effort levels, wire codecs (no I/O)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vendors.effort import EffortLevels
    from vendors.spec import ModelInfo, VendorSpec

__all__ = ["VendorSpec", "Wire", "detect", "effort_levels", "errors", "get", "models", "names",
           "normalize_effort"]


def get(name: str) -> VendorSpec:
    """The VendorSpec registered as `name` ("minimax", "deepseek", ...)."""
    from vendors.registry import get as _get

    return _get(name)


def detect(base_url: str) -> VendorSpec | None:
    """The vendor a base URL's real host belongs to, or None (never fooled by paths or user-info)."""
    from vendors.registry import detect as _detect

    return _detect(base_url)


def names() -> list[str]:
    from vendors.registry import names as _names

    return _names()


def models(vendor: str | None = None) -> list[ModelInfo]:
    """Known models with context window and max output, for vendors without a /models endpoint too."""
    from vendors.registry import models as _models

    return _models(vendor)


def effort_levels(model: str, *, wire: Any = None) -> EffortLevels:
    """The effort levels `model` accepts and its default."""
    from vendors.catalogue import split_model
    from vendors.effort import effort_levels_of

    spec, model_id = split_model(model)
    return effort_levels_of(spec.effort_for(model_id, wire))


def normalize_effort(model: str, level: str | None, *, wire: Any = None) -> str | None:
    """What `level` becomes for `model`: the vendor's own level name ("high" -> "adaptive" on MiniMax-M3)."""
    from vendors.catalogue import split_model
    from vendors.effort import resolve_effort

    spec, model_id = split_model(model)
    wire = wire or spec.surfaces[0].wire
    result = resolve_effort(spec.effort_for(model_id, wire), level, wire=wire, vendor=spec.name, model=model_id)
    return result.level


def __getattr__(name: str) -> Any:
    if name == "VendorSpec":
        from vendors.spec import VendorSpec

        return VendorSpec
    if name == "Wire":
        from vendors.spec import Wire

        return Wire
    if name == "errors":
        import vendors.errors as errors

        return errors
    raise AttributeError(f"module 'vendors' has no attribute {name!r}")
