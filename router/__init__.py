"""Farebox: route OpenAI-style LLM calls across vendors and know what every call cost.

`import router` is cheap: aiohttp, pydantic and tiktoken load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router import errors
    from router.api import acompletion, completion, completion_cost
    from router.routing import Router
    from router.tracking import CallRecord, add_listener, aflush, configure, flush, metrics, remove_listener
    from router.tracking.budgets import Budget
    from router.tracking.spending import SpendRow, spend
    from router.transport import aclose_all as aclose
    from vendors.types import Attempt, Chunk, Message, Response, Usage

__version__ = "0.1.0"

__all__ = [
    "Attempt",
    "Budget",
    "CallRecord",
    "Chunk",
    "Message",
    "Response",
    "Router",
    "SpendRow",
    "Usage",
    "aclose",
    "acompletion",
    "add_listener",
    "aflush",
    "completion",
    "completion_cost",
    "configure",
    "errors",
    "flush",
    "metrics",
    "remove_listener",
    "spend",
]

_LAZY: dict[str, tuple[str, str | None]] = {
    "completion": ("router.api", "completion"),
    "acompletion": ("router.api", "acompletion"),
    "completion_cost": ("router.api", "completion_cost"),
    "aclose": ("router.transport", "aclose_all"),
    "errors": ("router.errors", None),
    "Router": ("router.routing", "Router"),
    "Deployment": ("router.routing", "Deployment"),
    "emulator": ("router.emulator", None),
    "Response": ("vendors.types", "Response"),
    "Chunk": ("vendors.types", "Chunk"),
    "Message": ("vendors.types", "Message"),
    "Usage": ("vendors.types", "Usage"),
    "Attempt": ("vendors.types", "Attempt"),
    "configure": ("router.tracking", "configure"),
    "add_listener": ("router.tracking", "add_listener"),
    "remove_listener": ("router.tracking", "remove_listener"),
    "flush": ("router.tracking", "flush"),
    "aflush": ("router.tracking", "aflush"),
    "CallRecord": ("router.tracking", "CallRecord"),
    "tracking": ("router.tracking", None),
    "spend": ("router.tracking.spending", "spend"),
    "SpendRow": ("router.tracking.spending", "SpendRow"),
    "Budget": ("router.tracking.budgets", "Budget"),
    "metrics": ("router.tracking.metrics", None),
    # The error names LiteLLM code catches (router.errors has the whole tree).
    **{name: ("vendors.errors", name) for name in (
        "RateLimitError", "AuthenticationError", "BadRequestError", "ContextWindowExceededError",
        "ContentPolicyViolationError", "APIConnectionError", "Timeout", "ServiceUnavailableError",
        "InternalServerError", "FareboxError", "ConfigError", "InvalidRequestError", "APITimeoutError",
        "ContentPolicyError")},
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'router' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
