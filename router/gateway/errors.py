"""Gateway errors: a Farebox error (or a gateway refusal) as an HTTP status and an OpenAI- or Anthropic-shaped body."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from vendors import errors as fe

__all__ = ["GatewayError", "from_exception"]


@dataclass(slots=True)
class GatewayError(Exception):
    """A refusal the gateway answers itself: status, OpenAI error type and code, message, extra headers."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def all_headers(self) -> dict[str, str]:
        out = dict(self.headers)
        if self.retry_after is not None:
            out["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return out

    def openai_body(self) -> bytes:
        return json.dumps({"error": {"message": self.message, "type": self.type, "param": self.param,
                                     "code": self.code}}, ensure_ascii=False).encode()

    def anthropic_body(self) -> bytes:
        kind = _ANTHROPIC_TYPES.get(self.status, "api_error" if self.status >= 500 else "invalid_request_error")
        return json.dumps({"type": "error", "error": {"type": kind, "message": self.message}},
                          ensure_ascii=False).encode()

    def sse_payload(self) -> dict[str, Any]:
        """For an error after a stream's headers went out: the OpenAI SDK raises on a data event with `error`."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


# The statuses the anthropic SDK maps to its own error classes.
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}

# (status, type, code) per Farebox error class, most specific first. A vendor refusing the *server's* key or
# account is the server's problem, not the client's: 502, so a client never takes it for its own key.
_MAP: tuple[tuple[type[fe.FareboxError], int, str, str | None], ...] = (
    (fe.BudgetExceededError, 429, "insufficient_quota", "budget_exceeded"),
    (fe.LedgerError, 503, "api_error", "ledger_unavailable"),
    (fe.ContextWindowExceededError, 400, "invalid_request_error", "context_length_exceeded"),
    (fe.InvalidRequestError, 400, "invalid_request_error", None),
    (fe.ConfigError, 400, "invalid_request_error", None),
    (fe.ContentPolicyError, 400, "invalid_request_error", "content_filter"),
    (fe.NotFoundError, 502, "upstream_error", "vendor_not_found"),
    (fe.AuthenticationError, 502, "upstream_error", "vendor_authentication"),
    (fe.PermissionDeniedError, 502, "upstream_error", "vendor_permission_denied"),
    (fe.InsufficientBalanceError, 502, "upstream_error", "vendor_insufficient_balance"),
    (fe.RateLimitError, 429, "rate_limit_error", "vendor_rate_limited"),
    (fe.APITimeoutError, 504, "timeout", "vendor_timeout"),
    (fe.ServiceUnavailableError, 503, "api_error", "vendor_unavailable"),
    (fe.APIConnectionError, 502, "api_error", "vendor_connection_error"),
    (fe.MalformedResponseError, 502, "api_error", "vendor_malformed_response"),
)


_LAST = re.compile(r"\(last: (\w+):")


def _last_error_class(exc: fe.AllDeploymentsFailedError) -> type[fe.FareboxError] | None:
    # A refusal before any request (a bad effort for every deployment) leaves no attempt; the message names it.
    named = _LAST.search(exc.message)
    for name in [getattr(a, "error", None) for a in reversed(exc.attempts)] + [named and named.group(1)]:
        cls = getattr(fe, name, None) if name else None
        if isinstance(cls, type) and issubclass(cls, fe.FareboxError):
            return cls
    return None


def from_exception(exc: BaseException) -> GatewayError:
    """The HTTP answer for any exception a routed call raised (messages never carry keys: FareboxError redacts)."""
    if isinstance(exc, GatewayError):
        return exc
    if not isinstance(exc, fe.FareboxError):
        return GatewayError(500, "internal error in the gateway; the server log has the details", type="api_error",
                            code="internal_error")
    cls: type[fe.FareboxError] = type(exc)
    code_override = None
    if isinstance(exc, fe.AllDeploymentsFailedError):
        cls = _last_error_class(exc) or fe.ServiceUnavailableError
        code_override = "all_deployments_failed"
    status, type_, code = next(((s, t, c) for kind, s, t, c in _MAP if issubclass(cls, kind)),
                               (502, "api_error", "vendor_error"))
    retry = exc.retry_after
    if status == 429 and retry is None:
        retry = 1.0
    param = exc.body.get("param") if isinstance(exc.body, dict) else None
    return GatewayError(status, str(exc), type=type_, code=code_override or code, param=param, retry_after=retry)
