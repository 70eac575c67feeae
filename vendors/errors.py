"""Farebox's one exception hierarchy (vendors/wires/envelope.py maps a vendor's error reply onto it).

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
    │   └── RedirectError                a 3xx reply: never followed with a key (not retried; falls back)
    ├── MalformedResponseError           a reply that does not parse, a stream cut short
    └── AllDeploymentsFailedError        every deployment and fallback failed (.attempts)

LiteLLM's names are aliases of these classes (never separate ones): BadRequestError = InvalidRequestError,
ContentPolicyViolationError = ContentPolicyError, Timeout = APITimeoutError, InternalServerError =
ServiceUnavailableError (every 5xx and overload, 500 included: one retryable class, as the policies read it).
`import router as litellm` code that catches them catches Farebox's errors.

`retryable` says whether the same deployment may be tried again; `fallback_ok` whether another
deployment may be tried. No message, repr or traceback text ever carries an API key: every key the
transport uses is registered with `vendors.secrets.register_secret()` and scrubbed from messages.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vendors.secrets import redact_url as redact  # keys, and the user-info of any URL in a message

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AllDeploymentsFailedError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "ConfigError",
    "ContentPolicyError",
    "ContentPolicyViolationError",
    "ContextWindowExceededError",
    "FareboxError",
    "InsufficientBalanceError",
    "InternalServerError",
    "InvalidEffortError",
    "InvalidRequestError",
    "LedgerError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "ServiceUnavailableError",
    "Timeout",
    "UnsupportedParamError",
]

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
        # str() of a non-str (a junk-typed `model` a reply carried) so that the error can always be printed
        self.vendor = vendor if vendor is None or isinstance(vendor, str) else redact(str(vendor))[:100]
        self.model = model if model is None or isinstance(model, str) else redact(str(model))[:100]
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


class RedirectError(APIConnectionError):
    """The base URL answered with a redirect (3xx). Farebox never follows one: the request carries the key.

    `location` is the target it named (user-info removed). Not retried: the same URL redirects again.
    """

    retryable = False

    def __init__(self, message: str, *, location: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.location = redact(location) if location else None


class MalformedResponseError(FareboxError):
    """The vendor's reply does not parse, or its stream ended early."""

    retryable = True


class AllDeploymentsFailedError(FareboxError):
    """Every deployment (and fallback) failed; `.attempts` lists each try."""

    fallback_ok = False

    def __init__(self, message: str, *, attempts: list[Any] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.attempts = list(attempts or [])


# LiteLLM's spellings, so `except litellm.BadRequestError` ported with `import router as litellm` works unchanged.
BadRequestError = InvalidRequestError
ContentPolicyViolationError = ContentPolicyError
Timeout = APITimeoutError
InternalServerError = ServiceUnavailableError
