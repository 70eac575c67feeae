"""Vendor facts as data: specs, host detection, model catalogue, effort levels, wire codecs (no I/O).

`import vendors` is cheap: each name below is imported on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vendors import errors
    from vendors.catalogue import effort_levels, normalize_effort
    from vendors.registry import detect, get, models, names
    from vendors.spec import VendorSpec
    from vendors.types import Wire

__all__ = ["VendorSpec", "Wire", "detect", "effort_levels", "errors", "get", "models", "names",
           "normalize_effort"]

_LAZY: dict[str, tuple[str, str | None]] = {
    "get": ("vendors.registry", "get"),
    "detect": ("vendors.registry", "detect"),
    "names": ("vendors.registry", "names"),
    "models": ("vendors.registry", "models"),
    "effort_levels": ("vendors.catalogue", "effort_levels"),
    "normalize_effort": ("vendors.catalogue", "normalize_effort"),
    "VendorSpec": ("vendors.spec", "VendorSpec"),
    "Wire": ("vendors.types", "Wire"),
    "errors": ("vendors.errors", None),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'vendors' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
