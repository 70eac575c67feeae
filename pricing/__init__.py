"""Prices, costs and offline token counts for LLM calls; names load lazily so `import pricing` stays cheap.

Public API (each name is imported on first access; pydantic and tiktoken load only when needed)::

    pricing.price(model, *, vendor=None, at=None)          -> ModelPrice
    pricing.models(vendor=None)                            -> list[ModelPrice]
    pricing.cost(model, usage, *, vendor=None, at=None, billing="metered") -> Cost
    pricing.count_tokens(model, *, messages=None, text=None, tools=None)   -> int
    pricing.estimate_usage(model, *, messages, tools=None, output_text="", reasoning_text="",
                           tool_calls=None)                 -> dict
    pricing.preload_encodings()                            -> None
    pricing.load_overrides(path_or_mapping)                -> list[ModelPrice]
    pricing.reset_overrides()                              -> None

Errors::

    ValueError
     └── PricingError            a price file, row or BPE file is malformed, missing or corrupted
    LookupError
     └── UnknownModelPrice       no price row for that model (or none valid at that time)
          └── AmbiguousModelPrice  a bare name matches models of several vendors
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any


class PricingError(ValueError):
    """A price file, a price row or a shipped BPE file is malformed, missing or corrupted."""


class UnknownModelPrice(LookupError):
    """No price row matches the model (or none is valid at the requested time)."""

    def __init__(self, message: str, *, model: str = "", suggestions: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.model = model
        self.suggestions = tuple(suggestions)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class AmbiguousModelPrice(UnknownModelPrice):
    """A bare model name matches models of more than one vendor; pass `vendor=` or "vendor/id"."""


_LAZY: dict[str, tuple[str, str | None]] = {
    **{name: ("pricing.table", name) for name in ("price", "models", "load_overrides", "reset_overrides")},
    **{name: ("pricing.rows", name) for name in ("ModelPrice", "Tier")},
    "Cost": ("pricing.cost", "Cost"),
    "cost": ("pricing.cost", "cost"),  # read through _Package.cost, listed here for __dir__
    **{name: ("pricing.tokens", name) for name in
       ("count_tokens", "estimate_usage", "preload_encodings", "encoding_name_for")},
}

__all__ = [
    "AmbiguousModelPrice",
    "Cost",
    "ModelPrice",
    "PricingError",
    "Tier",
    "UnknownModelPrice",
    "cost",
    "count_tokens",
    "encoding_name_for",
    "estimate_usage",
    "load_overrides",
    "models",
    "preload_encodings",
    "price",
    "reset_overrides",
]

if TYPE_CHECKING:
    from pricing.cost import Cost, cost
    from pricing.rows import ModelPrice, Tier
    from pricing.table import load_overrides, models, price, reset_overrides
    from pricing.tokens import count_tokens, encoding_name_for, estimate_usage, preload_encodings


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'pricing' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


class _Package(types.ModuleType):
    """The `pricing` module object, so that `pricing.cost` stays the function.

    Importing the submodule `pricing/cost.py` makes the import system bind the *module* to the package
    attribute `cost`, which would shadow the function. A data descriptor on the module's class wins over
    that binding, so `pricing.cost(...)` keeps working whichever is imported first.
    """

    _cost: Any = None  # the function, once loaded: this property is read on every priced call

    @property
    def cost(self) -> Any:
        fn = _Package._cost
        if fn is None:
            fn = _Package._cost = importlib.import_module("pricing.cost").cost
        return fn

    @cost.setter
    def cost(self, value: Any) -> None:
        """Ignore the submodule binding made by the import system; the function is what callers want."""


sys.modules[__name__].__class__ = _Package
