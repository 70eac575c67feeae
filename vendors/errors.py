"""Farebox's one exception hierarchy, and the mapping from a vendor's error reply to it.

    FareboxError
    ├── ConfigError                      bad model/vendor/base_url/key: raised before any request
    │   ├── BudgetExceededError          a budget would be exceeded (before any request)
    │   └── LedgerError                  the cost ledger file cannot be opened or written (names the path)
    ├── InvalidRequestError              the vendor (or Farebox, before sending) rejects the request
    │   ├── UnsupportedParamError        a parameter this vendor/model does not accept
    │   ├── InvalidEffortError           a reasoning_effort the vendor/model cannot express
    │   └── ContextWindowExceededError   prompt + output larger than the model's window
    ├── AuthenticationError              bad or missing key, key from another region
    ├── PermissionDeniedError
    ├── InsufficientBalanceError         out of credit (DeepSeek 402, MiniMax 1008)
    ├── NotFoundError                    unknown model or path at the vendor
    ├── ContentPolicyError               input or output flagged
    ├── RateLimitError                   429, quota windows (retryable)
    ├── APITimeoutError                  an attempt ran out of time (retryable)
    ├── ServiceUnavailableError          5xx, 529 overloaded (retryable)
    ├── APIConnectionError               connect/reset/DNS failure (retryable)
    ├── MalformedResponseError           a reply that does not parse, a stream cut short
    └── AllDeploymentsFailedError        every deployment and fallback failed (.attempts)

`retryable` says whether the same deployment may be tried again; `fallback_ok` whether another
deployment may be tried. No message, repr or traceback text ever carries an API key: every key the
transport uses is registered with `register_secret()` and scrubbed from messages.
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AllDeploymentsFailedError",
    "AuthenticationError",
    "BudgetExceededError",
    "ConfigError",
    "ContentPolicyError",
    "ContextWindowExceededError",
    "FareboxError",
    "InsufficientBalanceError",
    "InvalidEffortError",
    "InvalidRequestError",
    "LedgerError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "UnsupportedParamError",
    "error_for_status",
    "parse_retry_after",
    "redact",
    "register_secret",
]

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secret_re: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Remember a key so that `redact` removes it from any text Farebox produces."""
    global _secret_re
    if not value or len(value) < 6 or value in _secrets:
        return
    with _secrets_lock:
        _secrets.add(value)
        parts = sorted(_secrets, key=len, reverse=True)
        _secret_re = re.compile("|".join(re.escape(s) for s in parts))


def redact(text: str) -> str:
    """`text` with every registered key replaced by a short masked form."""
    pattern = _secret_re
    if pattern is None or not text:
        return text
    return pattern.sub(lambda m: mask_key(m.group(0)), text)


def mask_key(key: str) -> str:
    """A display form of a key that cannot be used: `sk-cp-…9f`."""
    if len(key) <= 10:
        return "…"
    return f"{key[:6]}…{key[-2:]}"


class FareboxError(Exception):
    """Base of every Farebox error. Fields are None where unknown."""

    retryable: ClassVar[bool] = False
    fallback_ok: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        vendor: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
        vendor_code: int | str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
        body: Any = None,
    ) -> None:
        self.message = redact(message)
        self.vendor = vendor
        self.model = model
        self.status_code = status_code
        self.vendor_code = vendor_code
        self.request_id = request_id
        self.retry_after = retry_after
        self.hint = redact(hint) if hint else None
        self.body = body
        super().__init__(self.message)

    def __str__(self) -> str:
        where = "/".join(p for p in (self.vendor, self.model) if p)
        text = f"{where}: {self.message}" if where else self.message
        extras = [f"status {self.status_code}"] if self.status_code else []
        if self.vendor_code is not None:
            extras.append(f"vendor code {self.vendor_code}")
        if self.request_id:
            extras.append(f"request id {self.request_id}")
        if self.retry_after is not None:
            extras.append(f"retry after {self.retry_after:g}s")
        if extras:
            text += f" ({', '.join(extras)})"
        if self.hint:
            text += f". Hint: {self.hint}"
        return redact(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ConfigError(FareboxError, ValueError):
    """Wrong model, vendor, base URL or key; found before any request."""

    fallback_ok = True


class BudgetExceededError(ConfigError):
    """The call would take spend past a configured budget."""


class LedgerError(ConfigError):
    """The cost ledger (SQLite) cannot be opened, migrated or written; the message names its path.

    `response`: raised after the vendor answered (a failed write in strict mode), the answer; else None.
    """

    fallback_ok = False
    response: Any = None


class InvalidRequestError(FareboxError, ValueError):
    """The request itself is wrong; sending it again will not help."""


class UnsupportedParamError(InvalidRequestError):
    """A parameter the vendor/model does not accept (or `drop_params=True` to drop it)."""


class InvalidEffortError(InvalidRequestError):
    """A reasoning_effort the vendor/model cannot express; the message lists its levels."""


class ContextWindowExceededError(InvalidRequestError):
    """The prompt (plus requested output) exceeds the model's context window."""


class AuthenticationError(FareboxError):
    """The key was refused (wrong, revoked, or issued for another region)."""


class PermissionDeniedError(FareboxError):
    """The key may not use this model or endpoint."""


class InsufficientBalanceError(FareboxError):
    """The account is out of credit."""


class NotFoundError(FareboxError):
    """The vendor does not know the model or path."""


class ContentPolicyError(FareboxError):
    """The input or output was flagged by the vendor's content filter."""


class RateLimitError(FareboxError):
    """Too many requests or a used-up quota window; `retry_after` says how long to wait."""

    retryable = True


class APITimeoutError(FareboxError):
    """An attempt ran out of time."""

    retryable = True


class ServiceUnavailableError(FareboxError):
    """The vendor failed or is overloaded (5xx, 529)."""

    retryable = True


class APIConnectionError(FareboxError):
    """The connection could not be made or was cut."""

    retryable = True


class MalformedResponseError(FareboxError):
    """The vendor's reply does not parse, or its stream ended early."""

    retryable = True


class AllDeploymentsFailedError(FareboxError):
    """Every deployment (and fallback) failed; `.attempts` lists each try."""

    fallback_ok = False

    def __init__(self, message: str, *, attempts: list[Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.attempts = list(attempts or [])


_BY_STATUS: dict[int, type[FareboxError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: InsufficientBalanceError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: APITimeoutError,
    409: ServiceUnavailableError,
    413: ContextWindowExceededError,
    422: InvalidRequestError,
    429: RateLimitError,
}

# Machine-readable `error.type` values seen across OpenAI/Anthropic/MiniMax envelopes
# (VENDORS.md §1.8, §5, §7.5); they refine the HTTP status.
_BY_TYPE: dict[str, type[FareboxError]] = {
    "invalid_request_error": InvalidRequestError,
    "bad_request_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "model_not_found": NotFoundError,
    "request_too_large": ContextWindowExceededError,
    "context_length_exceeded": ContextWindowExceededError,
    "rate_limit_error": RateLimitError,
    "rate_limit_exceeded": RateLimitError,
    "insufficient_quota": InsufficientBalanceError,
    "insufficient_balance_error": InsufficientBalanceError,
    "exceeded_current_quota_error": InsufficientBalanceError,  # Moonshot: out of credit, HTTP 429
    "overloaded_error": ServiceUnavailableError,
    "api_error": ServiceUnavailableError,
    "server_error": ServiceUnavailableError,
    "service_unavailable": ServiceUnavailableError,
}


def error_for_status(status: int, error_type: str | None = None) -> type[FareboxError]:
    """The error class for an HTTP status, refined by the envelope's `error.type`."""
    if error_type and error_type in _BY_TYPE:
        by_type = _BY_TYPE[error_type]
        # A generic "invalid_request_error" type must not hide a 401/429 status.
        if not (by_type is InvalidRequestError and status in (401, 402, 403, 404, 429)):
            return by_type
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500 or status == 529:
        return ServiceUnavailableError
    if 400 <= status < 500:
        return InvalidRequestError
    return MalformedResponseError


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    ms = _header(headers, "retry-after-ms")
    if ms is not None:
        try:
            value = float(ms) / 1000.0
            if value >= 0:
                return value
        except ValueError:
            pass
    raw = _header(headers, "retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
        return value if value >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, delta)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.title())
    if value is None:
        for key, val in headers.items():
            if key.lower() == name:
                return val
    return value
