"""Native error envelopes as data: one ErrorStyle per vendor, named by its profile (docs/vendors.md §1.8, §2.6, §3-§5).

An envelope function takes (status, message or None for the vendor's default text, vendor code or None,
request id) and returns the error body. A profile's ErrorStyle says which envelope each surface uses and how
a vendor code maps to an HTTP status; a new OpenAI-shaped vendor takes OPENAI as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Envelope = Callable[[int, "str | None", "int | None", str], dict[str, Any]]

_GENERIC_TEXT = {
    400: "Invalid request",
    401: "Invalid API key",
    402: "Insufficient balance",
    403: "Permission denied",
    404: "Not found",
    408: "Request timeout",
    409: "Conflict",
    413: "Request too large",
    422: "Invalid parameters",
    429: "Rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
    529: "Overloaded",
}

# Anthropic error types by status (docs/vendors.md §5).
_ANTHROPIC_TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

# OpenAI (type, code) by status; 5xx fall back to server_error.
_OPENAI_TYPE = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
}

# DeepSeek: OpenAI-shaped, messages from the error-code page (docs/vendors.md §2.6).
_DEEPSEEK_TEXT = {
    400: "Invalid Format",
    401: "Authentication Fails, Your api key is invalid",
    402: "Insufficient Balance",
    422: "Invalid Parameters",
    429: "Rate Limit Reached",
    500: "Server Error",
    503: "Server Overloaded",
}

# Moonshot error.type by status (no param/code keys on this vendor).
_MOONSHOT_TYPE = {
    400: "invalid_request_error",
    401: "invalid_authentication_error",
    403: "permission_denied_error",
    404: "resource_not_found_error",
    429: "rate_limit_reached_error",
    503: "engine_overloaded_error",
}

# Zhipu: numeric string codes (docs/vendors.md §3); status -> default code, code -> (status, text).
_ZHIPU_DEFAULT_CODE = {400: 1214, 401: 1002, 403: 1220, 404: 1211, 429: 1302, 500: 500}
_ZHIPU_CODES = {
    500: (500, "Internal server error"),
    1000: (401, "Authentication failed"),
    1001: (401, "Authentication parameter not received in header"),
    1002: (401, "Invalid Authentication Token"),
    1113: (429, "Your account is in arrears, please recharge and try again"),
    1211: (400, "Model does not exist, please check the model code"),
    1214: (400, "Invalid messages parameter"),
    1220: (403, "You do not have permission to access this API"),
    1261: (400, "Prompt exceeds max length"),
    1301: (400, "Unsafe or sensitive content detected"),
    1302: (429, "High concurrency usage of this API, please reduce concurrency or contact support"),
    1305: (429, "The service may be temporarily overloaded, please try again later"),
}

# MiniMax code -> (HTTP status on the OpenAI surface, type, text) — docs/vendors.md §1.8 table.
MINIMAX_CODES: dict[int, tuple[int, str, str]] = {
    1000: (500, "server_error", "unknown error, 999"),
    1001: (504, "server_error", "request timeout"),
    1002: (429, "rate_limit_error", "rate limit"),
    1004: (401, "authentication_error", "login fail: Please carry the API secret key in the header"),
    1008: (429, "insufficient_balance_error", "insufficient balance"),
    1013: (500, "server_error", "internal service error"),
    1024: (500, "server_error", "internal error"),
    1026: (400, "bad_request_error", "input new_sensitive"),
    1027: (400, "bad_request_error", "output new_sensitive"),
    1033: (500, "server_error", "system error"),
    1039: (400, "bad_request_error", "token limit"),
    1041: (429, "rate_limit_error", "conn limit"),
    1042: (400, "bad_request_error", "invisible character ratio limit"),
    2013: (400, "bad_request_error", "invalid params"),
    2045: (429, "rate_limit_error", "rate growth limit"),
    2049: (401, "authentication_error", "invalid api key"),
    2056: (
        429,
        "rate_limit_error",
        "usage limit exceeded, 5-hour usage limit reached for Token Plan Starter (0/0 used), "
        "resets at 2026-05-15T15:00:00Z",
    ),
    2061: (400, "bad_request_error", "your current token plan not support model"),
}
_MINIMAX_DEFAULT_CODE = {400: 2013, 401: 1004, 403: 1004, 404: 2013, 408: 1001, 429: 1002, 504: 1001}


def status_text(status: int) -> str:
    return _GENERIC_TEXT.get(status, "Internal server error" if status >= 500 else "Error")


def anthropic_type(status: int) -> str:
    if status in _ANTHROPIC_TYPE:
        return _ANTHROPIC_TYPE[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def minimax_code_for(status: int) -> int:
    return _MINIMAX_DEFAULT_CODE.get(status, 1000 if status >= 500 else 2013)


def minimax_status(code: int, surface: str) -> int:
    """HTTP status MiniMax uses for a code; 1008 is 429 on OpenAI but 500 on Anthropic (§1.8)."""
    if code == 1008 and surface == "anthropic":
        return 500
    return MINIMAX_CODES.get(code, (500, "", ""))[0]


def minimax_text(code: int) -> str:
    return MINIMAX_CODES.get(code, (500, "server_error", "unknown error"))[2]


def zhipu_status(code: int, surface: str) -> int:
    return _ZHIPU_CODES.get(code, (400, ""))[0]


def default_status(code: int, surface: str) -> int:
    """A code in 500-599 is its own status; any other code is a 400."""
    return 400 if code < 500 or code >= 600 else code


# ── envelopes ───────────────────────────────────────────────────────────────────────────────────
def anthropic_envelope(status: int, message: str | None, code: int | None, request_id: str) -> dict[str, Any]:
    err = {"type": anthropic_type(status), "message": message or status_text(status)}
    return {"type": "error", "error": err, "request_id": request_id}


def openai_envelope(status: int, message: str | None, code: int | None, request_id: str) -> dict[str, Any]:
    kind, ocode = _OPENAI_TYPE.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    ocode = str(code) if code is not None else ocode
    return {"error": {"message": message or status_text(status), "type": kind, "param": None, "code": ocode}}


def _minimax_text(status: int, message: str | None, code: int | None) -> tuple[int, str]:
    code = code if code is not None else minimax_code_for(status)
    return code, f"{message or minimax_text(code)} ({code})"  # MiniMax appends " (code)" to every message


def minimax_openai_envelope(status: int, message: str | None, code: int | None, request_id: str) -> dict[str, Any]:
    code, text = _minimax_text(status, message, code)
    kind = MINIMAX_CODES.get(code, (0, "", ""))[1] or ("server_error" if status >= 500 else "bad_request_error")
    err = {"type": kind, "message": text, "http_code": str(status)}
    return {"type": "error", "error": err, "request_id": request_id}


def minimax_anthropic_envelope(status: int, message: str | None, code: int | None,
                               request_id: str) -> dict[str, Any]:
    _, text = _minimax_text(status, message, code)
    return {"type": "error", "error": {"type": anthropic_type(status), "message": text}, "request_id": request_id}


def zhipu_envelope(status: int, message: str | None, code: int | None, request_id: str) -> dict[str, Any]:
    code = code if code is not None else _ZHIPU_DEFAULT_CODE.get(status, 1214 if status < 500 else 500)
    text = message or _ZHIPU_CODES.get(code, (0, status_text(status)))[1]
    return {"error": {"code": str(code), "message": text}}


def deepseek_envelope(status: int, message: str | None, code: int | None, request_id: str) -> dict[str, Any]:
    text = message or _DEEPSEEK_TEXT.get(status, status_text(status))
    kind = "invalid_request_error" if status < 500 else "server_error"
    kind = "unknown_error" if status == 402 else kind
    return {"error": {"message": text, "type": kind, "param": None, "code": "invalid_request_error"}}


def moonshot_envelope(status: int, message: str | None, code: int | None, request_id: str) -> dict[str, Any]:
    kind = _MOONSHOT_TYPE.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message or status_text(status), "type": kind}}


@dataclass(frozen=True, slots=True)
class ErrorStyle:
    """How one vendor shapes its errors: the envelope per surface, and the HTTP status a vendor code implies."""

    openai: Envelope = openai_envelope
    anthropic: Envelope = anthropic_envelope
    status_for_code: Callable[[int, str], int] = default_status   # (code, surface) -> status


OPENAI = ErrorStyle()
MINIMAX = ErrorStyle(minimax_openai_envelope, minimax_anthropic_envelope, minimax_status)
ZHIPU = ErrorStyle(zhipu_envelope, status_for_code=zhipu_status)
DEEPSEEK = ErrorStyle(deepseek_envelope)
MOONSHOT = ErrorStyle(moonshot_envelope)


def error_body(style: ErrorStyle, surface: str, status: int, message: str | None = None, *, code: int | None = None,
               request_id: str = "") -> dict[str, Any]:
    """The native error envelope on ``surface`` for HTTP ``status``.

    ``code`` is the vendor's own code (MiniMax "(NNNN)", Zhipu "1214"); ``message`` replaces the
    default text (MiniMax still appends " (code)").
    """
    envelope = style.anthropic if surface == "anthropic" else style.openai
    return envelope(status, message, code, request_id)


def stream_error_payload(style: ErrorStyle, surface: str, status: int, request_id: str = "") -> dict[str, Any]:
    """The payload of an in-stream error: Anthropic ``event: error``, else the vendor's error chunk."""
    if surface == "anthropic":
        kind = "overloaded_error" if status == 529 else anthropic_type(status)
        text = "Overloaded" if status == 529 else status_text(status)
        return {"type": "error", "error": {"type": kind, "message": text}, "request_id": request_id}
    return style.openai(status, None, None, request_id)
