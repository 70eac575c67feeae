"""Turn a vendor's error reply (any of the envelopes in docs/vendors.md §1.8, §2.6, §3, §5) into a FareboxError."""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from vendors.errors import (
    APITimeoutError,
    AuthenticationError,
    ContextWindowExceededError,
    FareboxError,
    InsufficientBalanceError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
)
from vendors.secrets import redact
from vendors.spec import VendorSpec

__all__ = ["JUNK", "GuardedStream", "decode_error", "error_fields", "error_for_status", "guard_decode", "junk_error",
           "parse_retry_after"]

# What a reply of the wrong shape raises inside a decoder: wrong types, missing keys, nesting past the stack
# (pydantic's ValidationError and json's JSONDecodeError are ValueErrors). All of it is a MalformedResponseError.
JUNK = (TypeError, ValueError, AttributeError, KeyError, IndexError, LookupError, RecursionError, OverflowError)

_TRAILING_CODE = re.compile(r"\((\d{3,5})\)\s*$")
_CONTEXT_WORDS = re.compile(
    r"context(\s|_)?(length|window)|maximum context|too many tokens|prompt is too long", re.IGNORECASE
)
_OPENAI_CODES: dict[str, type[FareboxError]] = {
    "context_length_exceeded": ContextWindowExceededError,
    "insufficient_quota": InsufficientBalanceError,
}


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
# (docs/vendors.md §1.8, §5, §7.5); they refine the HTTP status.
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



def error_fields(body: Any) -> tuple[str | None, str, int | str | None, int | None, str | None]:
    """(error type, message, vendor code, http_code, request id) from any known envelope."""
    if not isinstance(body, Mapping):
        text = body if isinstance(body, str) else ""
        return None, text[:500], None, None, None
    request_id = body.get("request_id")
    err = body.get("error")
    etype: str | None = None
    code: int | str | None = None
    http_code: int | None = None
    message = ""
    if isinstance(err, Mapping):
        etype = _str(err.get("type"))
        message = _str(err.get("message")) or ""
        raw_code = err.get("code")
        if isinstance(raw_code, int) and not isinstance(raw_code, bool):
            code = raw_code
        elif isinstance(raw_code, str) and raw_code:
            code = int(raw_code) if raw_code.isdigit() else raw_code
        http_code = _int(err.get("http_code"))
    elif isinstance(err, str):
        message = err
    elif isinstance(body.get("message"), str):
        message = body["message"]
    elif isinstance(body.get("detail"), str):
        message = body["detail"]
    base = body.get("base_resp")
    if isinstance(base, Mapping) and _int(base.get("status_code")):
        code = _int(base.get("status_code"))
        message = message or _str(base.get("status_msg")) or ""
    if code is None or (isinstance(code, str) and not code.isdigit()):
        match = _TRAILING_CODE.search(message)
        if match:
            code = int(match.group(1))
        elif code is None and isinstance(err, Mapping) and isinstance(err.get("code"), str):
            code = err["code"]
    return etype, message, code, http_code, _str(request_id)


def decode_error(status: int, body: bytes | str | Any, headers: Mapping[str, str], spec: VendorSpec,
                 *, model: str) -> FareboxError:
    """The FareboxError for a non-success reply (or an HTTP 200 carrying `base_resp` != 0)."""
    try:
        return _decode_error(status, body, headers, spec, model=model)
    except JUNK:  # an error body of junk types or absurd nesting: the status alone classifies it
        cls = error_for_status(status) if status >= 400 else MalformedResponseError
        return cls(f"HTTP {status} with an error body that could not be read", vendor=spec.name, model=model,
                   status_code=status)


def _decode_error(status: int, body: bytes | str | Any, headers: Mapping[str, str], spec: VendorSpec,
                  *, model: str) -> FareboxError:
    parsed = _parse(body)
    etype, message, code, http_code, request_id = error_fields(parsed)
    request_id = request_id or headers.get("x-request-id") or headers.get("request-id")
    effective = http_code if status == 200 and http_code else status
    cls = error_for_status(effective, etype) if effective >= 400 else InvalidRequestError
    if isinstance(code, str) and code in _OPENAI_CODES:
        cls = _OPENAI_CODES[code]
    hint: str | None = None
    retry_after = parse_retry_after(headers)
    if spec.error_code is not None:
        refined = spec.error_code(effective, code, message)
        if refined is not None:
            new_cls, hint, hook_retry = refined
            cls = new_cls or cls
            retry_after = hook_retry if hook_retry is not None else retry_after
    if cls is InvalidRequestError and _CONTEXT_WORDS.search(message):
        cls = ContextWindowExceededError  # message text is the last resort (STYLE §5)
    if not message:
        message = f"HTTP {status} with no error message" if parsed is None else f"HTTP {status}"
    return cls(
        message,
        vendor=spec.name,
        model=model,
        status_code=status,
        vendor_code=code,
        request_id=request_id,
        retry_after=retry_after,
        hint=hint,
        body=_scrub(parsed) if isinstance(parsed, Mapping) else None,  # vendors echo keys in messages
    )


def _excerpt(value: Any, limit: int = 100) -> str:
    """A short, key-free glimpse of a reply for an error message."""
    if not isinstance(value, str | bytes | bytearray):
        try:
            value = json.dumps(value, ensure_ascii=False, default=repr)
        except JUNK:
            return f"<{type(value).__name__}>"
    elif not isinstance(value, str):
        value = bytes(value[: limit * 4]).decode("utf-8", errors="replace")
    text = value[:limit]
    return redact(text) + ("…" if len(value) > limit else "")


def junk_error(exc: BaseException, spec: VendorSpec, model: str, data: Any, what: str = "reply") -> FareboxError:
    """The MalformedResponseError for a decoder that tripped on a reply of the wrong shape."""
    if isinstance(exc, FareboxError):
        return exc
    errors = getattr(exc, "errors", None)
    detail = ""
    if callable(errors):  # pydantic: the first bad field, not the whole multi-line report
        try:
            first = errors()[0]
            detail = f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg', '')}"
        except JUNK:
            detail = ""
    if isinstance(exc, RecursionError):
        detail = "nested too deeply"
    detail = detail or f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
    return MalformedResponseError(f"{what} does not have the expected shape ({detail}): {_excerpt(data)}",
                                  vendor=spec.name, model=model)


def guard_decode(decode: Any) -> Any:
    """`decode(body, spec, model=...)` whose junk-shaped failures are MalformedResponseErrors."""

    def guarded(body: Any, spec: VendorSpec, *, model: str) -> Any:
        try:
            return decode(body, spec, model=model)
        except FareboxError:
            raise
        except JUNK as exc:
            error = junk_error(exc, spec, model, body)
        raise error  # outside the handler: the raw error (it may quote the reply) is not chained

    guarded.__doc__ = decode.__doc__
    guarded.__wrapped__ = decode  # type: ignore[attr-defined]
    return guarded


class GuardedStream:
    """A wire's StreamDecoder whose junk-shaped failures are MalformedResponseErrors (no raw error escapes)."""

    __slots__ = ("_inner", "_model", "_spec")

    def __init__(self, decoder_cls: Any, spec: VendorSpec, *, model: str) -> None:
        self._inner = decoder_cls(spec, model=model)
        self._spec, self._model = spec, model

    @property
    def done(self) -> bool:
        return self._inner.done

    def feed(self, event: str, data: str) -> list[Any]:
        try:
            return self._inner.feed(event, data)
        except FareboxError:
            raise
        except JUNK as exc:
            error = junk_error(exc, self._spec, self._model, data, f"stream event {event or 'data'}")
        raise error

    def finish(self) -> list[Any]:
        try:
            return self._inner.finish()
        except FareboxError:
            raise
        except JUNK as exc:
            error = junk_error(exc, self._spec, self._model, "", "the end of the stream")
        raise error


def _scrub(value: Any) -> Any:
    """`value` with every registered key redacted from its strings."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _parse(body: Any) -> Any:
    if isinstance(body, bytes | bytearray):
        try:
            body = body.decode("utf-8", errors="replace")
        except Exception:  # pragma: no cover - decode with replace cannot fail
            return None
    if isinstance(body, str):
        text = body.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            return text
    return body


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
