"""docs/vendors.md §7.5 error mapping, row by row: vendors.wires.envelope.decode_error (pure) and emulator faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import router
import vendors
from router.emulator import Emulator
from vendors import errors as e
from vendors.secrets import register_secret
from vendors.wires.envelope import decode_error, error_fields
from vendors.wires.openai_chat import StreamDecoder

MINIMAX, DEEPSEEK, ANTHROPIC, COMPATIBLE = (vendors.get(n) for n in ("minimax", "deepseek", "anthropic", "compatible"))


def err(status: int, body: Any, spec: Any = MINIMAX, headers: dict[str, str] | None = None) -> e.FareboxError:
    return decode_error(status, body, headers or {}, spec, model="m")


def mm_openai(message: str, kind: str, http_code: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message, "http_code": http_code}, "request_id": "r1"}


def mm_anthropic(message: str, kind: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "r2"}


ROWS: list[tuple[str, int, Any, Any, type[e.FareboxError], bool]] = [
    # (row, status, body, spec, class, retryable)
    ("minimax-openai-2013-setting", 400,
     mm_openai("invalid params, invalid chat setting (2013)", "bad_request_error", "400"), MINIMAX,
     e.InvalidRequestError, False),
    ("minimax-openai-2013-system", 400,
     mm_openai("invalid params, chat content has invalid message role: system (2013)", "bad_request_error", "400"),
     MINIMAX, e.InvalidRequestError, False),
    ("minimax-openai-1008", 429,
     {"error": {"http_code": "429", "message": "insufficient balance (1008)", "type": "insufficient_balance_error"},
      "request_id": "r"}, MINIMAX, e.InsufficientBalanceError, False),
    ("minimax-anthropic-1008", 500, mm_anthropic("insufficient balance (1008)", "api_error"), MINIMAX,
     e.InsufficientBalanceError, False),
    ("minimax-anthropic-2056", 429,
     mm_anthropic("usage limit exceeded, 5-hour usage limit reached for Token Plan Starter (0/0 used), "
                  "resets at 2026-05-15T15:00:00Z (2056)", "rate_limit_error"), MINIMAX, e.RateLimitError, True),
    ("minimax-anthropic-1033", 500, mm_anthropic("system error (1033)", "api_error"), MINIMAX,
     e.ServiceUnavailableError, True),
    ("minimax-any-1000", 500, mm_openai("unknown error, 999 (1000)", "server_error", "500"), MINIMAX,
     e.ServiceUnavailableError, True),
    ("minimax-native-1002", 200, {"base_resp": {"status_code": 1002, "status_msg": "Rate limit"}}, MINIMAX,
     e.RateLimitError, True),
    ("minimax-native-1004", 200,
     {"base_resp": {"status_code": 1004, "status_msg": "login fail: token not match group"}}, MINIMAX,
     e.AuthenticationError, False),
    ("minimax-2013-context", 400,
     mm_openai("invalid params, context window exceeds limit (2013)", "bad_request_error", "400"), MINIMAX,
     e.ContextWindowExceededError, False),
    ("minimax-2049", 401, mm_openai("invalid api key (2049)", "authentication_error", "401"), MINIMAX,
     e.AuthenticationError, False),
    ("minimax-2045", 429, mm_openai("rate growth limit (2045)", "rate_limit_error", "429"), MINIMAX,
     e.RateLimitError, True),
    ("minimax-1041", 429, mm_openai("conn limit (1041)", "rate_limit_error", "429"), MINIMAX,
     e.RateLimitError, True),
    ("minimax-1026", 400, mm_openai("input new_sensitive (1026)", "bad_request_error", "400"), MINIMAX,
     e.ContentPolicyError, False),
    ("minimax-1027", 400, mm_openai("output new_sensitive (1027)", "bad_request_error", "400"), MINIMAX,
     e.ContentPolicyError, False),
    # 1039 "token limit": an invalid_request, refined to the context-window subclass ("shrink the request").
    ("minimax-1039", 400, mm_openai("token limit (1039)", "bad_request_error", "400"), MINIMAX,
     e.ContextWindowExceededError, False),
    ("minimax-1042", 400, mm_openai("invisible character ratio limit (1042)", "bad_request_error", "400"), MINIMAX,
     e.InvalidRequestError, False),
    ("deepseek-402", 402,
     {"error": {"message": "Insufficient Balance", "type": "unknown_error", "param": None,
                "code": "invalid_request_error"}}, DEEPSEEK, e.InsufficientBalanceError, False),
    ("deepseek-400", 400, {"error": {"message": "Invalid Format", "type": "invalid_request_error"}}, DEEPSEEK,
     e.InvalidRequestError, False),
    ("deepseek-401", 401, {"error": {"message": "Authentication Fails", "type": "invalid_request_error"}}, DEEPSEEK,
     e.AuthenticationError, False),
    ("deepseek-422", 422, {"error": {"message": "Invalid Parameters", "type": "invalid_request_error"}}, DEEPSEEK,
     e.InvalidRequestError, False),
    ("deepseek-429", 429, {"error": {"message": "Rate Limit Reached", "type": "invalid_request_error"}}, DEEPSEEK,
     e.RateLimitError, True),
    ("deepseek-500", 500, {"error": {"message": "Server Error", "type": "server_error"}}, DEEPSEEK,
     e.ServiceUnavailableError, True),
    ("deepseek-503", 503, {"error": {"message": "Server Overloaded", "type": "server_error"}}, DEEPSEEK,
     e.ServiceUnavailableError, True),
    ("deepseek-400-reasoning", 400,
     {"error": {"message": "Missing `reasoning_content` field in the assistant message at message index 1",
                "type": "invalid_request_error"}}, DEEPSEEK, e.InvalidRequestError, False),
    ("anthropic-529", 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
     ANTHROPIC, e.ServiceUnavailableError, True),
    ("archestra-fallback-http_code", 200,
     {"error": {"http_code": "429", "message": "slow down", "type": "weird_error"}}, COMPATIBLE,
     e.RateLimitError, True),
]


@pytest.mark.parametrize(("status", "body", "spec", "cls", "retryable"), [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_row(status: int, body: Any, spec: Any, cls: type[e.FareboxError], retryable: bool) -> None:
    error = err(status, body, spec)
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.vendor == spec.name and error.status_code == status
    # The same body as bytes (what the transport hands over) maps the same way.
    assert type(err(status, json.dumps(body).encode(), spec)) is cls


def test_minimax_codes_are_extracted() -> None:
    assert err(400, ROWS[0][2]).vendor_code == 2013
    assert err(200, {"base_resp": {"status_code": 1002, "status_msg": "Rate limit"}}).vendor_code == 1002
    assert err(429, ROWS[2][2]).request_id == "r"


def test_hints() -> None:
    assert "system message" in err(400, ROWS[1][2]).hint                   # merge / first system message
    assert "region" in err(401, ROWS[10][2]).hint                          # 2049: check region/host
    assert "Bearer" in err(500, ROWS[5][2]).hint                           # 1033: auth-header misuse
    assert "reasoning_content" in err(400, ROWS[24][2], DEEPSEEK).hint     # replay reasoning


def test_2056_retry_after_only_after_reset() -> None:
    reset = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0)
    body = mm_anthropic(f"usage limit exceeded, 5-hour usage limit reached for Token Plan Plus (1500/1500 used), "
                        f"resets at {reset:%Y-%m-%dT%H:%M:%SZ} (2056)", "rate_limit_error")
    error = err(429, body)
    assert isinstance(error, e.RateLimitError) and 1700 < error.retry_after <= 1800
    past = err(429, ROWS[4][2])
    assert past.retry_after == 0.0  # the reset time already passed


def test_extraction_order() -> None:
    """code = base_resp.status_code if non-zero, else the trailing "(NNNN)", else the HTTP status (§1.8)."""
    both = {"error": {"type": "bad_request_error", "message": "invalid params (2013)"},
            "base_resp": {"status_code": 1008, "status_msg": "insufficient balance"}}
    assert error_fields(both)[2] == 1008
    assert error_fields({"base_resp": {"status_code": 0}, "error": {"message": "x (2013)"}})[2] == 2013
    assert error_fields({"error": {"message": "no code here", "http_code": "503"}})[2:4] == (None, 503)
    assert type(err(200, {"error": {"message": "no code here", "http_code": "503"}}, COMPATIBLE)) is (
        e.ServiceUnavailableError)


ARCHESTRA_TYPES = [
    ("insufficient_balance_error", e.InsufficientBalanceError),  # Archestra: PermissionDenied; ours is finer
    ("invalid_api_key", e.AuthenticationError),
    ("authentication_error", e.AuthenticationError),
    ("rate_limit_exceeded", e.RateLimitError),
    ("invalid_request_error", e.InvalidRequestError),
    ("not_found_error", e.NotFoundError),
    ("model_not_found", e.NotFoundError),
    ("context_length_exceeded", e.ContextWindowExceededError),
    ("server_error", e.ServiceUnavailableError),
    ("service_unavailable", e.ServiceUnavailableError),
    # Observed MiniMax types not in Archestra's switch (§1.8): added.
    ("bad_request_error", e.InvalidRequestError),
    ("api_error", e.ServiceUnavailableError),
    ("rate_limit_error", e.RateLimitError),
]


@pytest.mark.parametrize(("etype", "cls"), ARCHESTRA_TYPES)
def test_archestra_type_rule(etype: str, cls: type[e.FareboxError]) -> None:
    assert type(err(400, {"error": {"type": etype, "message": "m"}}, COMPATIBLE)) is cls


@pytest.mark.parametrize(("status", "cls"), [
    (400, e.InvalidRequestError), (422, e.InvalidRequestError), (401, e.AuthenticationError),
    (403, e.PermissionDeniedError), (404, e.NotFoundError), (413, e.ContextWindowExceededError),
    (429, e.RateLimitError), (500, e.ServiceUnavailableError), (502, e.ServiceUnavailableError),
    (529, e.ServiceUnavailableError),
])
def test_archestra_status_fallback(status: int, cls: type[e.FareboxError]) -> None:
    assert type(err(status, {"error": {"type": "unheard_of", "message": "m"}}, COMPATIBLE)) is cls
    assert type(err(200, {"error": {"http_code": str(status), "message": "m"}}, COMPATIBLE)) is cls


@pytest.mark.parametrize("body", [b"", b"<html>502 Bad Gateway</html>", b"not json", None])
def test_unparseable_bodies_fall_back_to_the_status(body: Any) -> None:
    error = err(502, body, COMPATIBLE)
    assert isinstance(error, e.ServiceUnavailableError) and error.message


def test_retry_after_headers() -> None:
    assert err(429, {}, COMPATIBLE, {"Retry-After": "7"}).retry_after == 7
    assert err(429, {}, COMPATIBLE, {"retry-after-ms": "1500"}).retry_after == 1.5


def test_no_key_in_any_message() -> None:
    key = "sk-api-never-shown-0123456789"
    register_secret(key)
    error = err(401, {"error": {"type": "authentication_error", "message": f"Incorrect API key provided: {key}"}})
    assert key not in str(error) and key not in repr(error) and key not in error.message


# -- mid-stream errors (Reasonix readStream) ------------------------------------------------------

def test_stream_error_object_is_fatal() -> None:
    dec = StreamDecoder(MINIMAX, model="MiniMax-M3")
    with pytest.raises(e.InsufficientBalanceError):
        dec.feed("", json.dumps({"error": {"message": "insufficient balance (1008)", "type": "api_error"}}))


def test_stream_without_done_or_finish_is_interrupted() -> None:
    dec = StreamDecoder(DEEPSEEK, model="deepseek-v4-flash")
    dec.feed("", json.dumps({"id": "x", "choices": [{"index": 0, "delta": {"content": "a"}}]}))
    with pytest.raises(e.MalformedResponseError, match="stream ended"):
        dec.finish()


KEY = "sk-api-errors-0123456789abcdef"


def _stream(emu: Emulator, vendor: str, model: str) -> Any:
    s = router.completion(f"{vendor}/{model}", [{"role": "user", "content": "hi there friend"}], api_key=KEY,
                          base_url=emu.base_url(vendor), stream=True, num_retries=0)
    return list(s)


@pytest.mark.parametrize(("vendor", "model"), [("minimax", "MiniMax-M3"), ("deepseek", "deepseek-v4-flash")])
def test_mid_stream_error_chunk_through_the_emulator(emu: Emulator, vendor: str, model: str) -> None:
    emu.fault(error_after_chunks=2, status=500)
    with pytest.raises(e.ServiceUnavailableError):
        _stream(emu, vendor, model)


@pytest.mark.parametrize(("vendor", "model"), [("minimax", "MiniMax-M3"), ("deepseek", "deepseek-v4-flash")])
def test_truncated_stream_through_the_emulator(emu: Emulator, vendor: str, model: str) -> None:
    emu.fault(truncate_after_chunks=2)
    with pytest.raises(e.MalformedResponseError):
        _stream(emu, vendor, model)


def test_fault_retry_after_reaches_the_error(emu: Emulator) -> None:
    emu.fault(status=429, retry_after=4)
    with pytest.raises(e.RateLimitError) as info:
        router.completion("deepseek/deepseek-v4-flash", [{"role": "user", "content": "hi"}], api_key=KEY,
                          base_url=emu.base_url("deepseek"), num_retries=0)
    assert info.value.retry_after == 4
