"""Vendor error replies from the emulator become the one Farebox hierarchy; retries; the key never leaks."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
import traceback
from typing import Any

import pytest

import router
from router import errors
from router.emulator import Emulator

KEY = "sk-api-SECRET-abcdefghijklmnop"
HI = [{"role": "user", "content": "Hi"}]
MODELS = {
    "openai": "openai/gpt-5.1",
    "anthropic": "anthropic/claude-sonnet-4-6",
    "minimax": "minimax/MiniMax-M3",
    "deepseek": "deepseek/deepseek-chat",
    "moonshot": "moonshot/kimi-k2.6",
    "zhipu": "zhipu/glm-5.1",
    "compatible": "compatible/local-model",
}


def call(emu: Emulator, profile: str, **kw: Any) -> Any:
    kw.setdefault("num_retries", 0)
    return router.completion(MODELS[profile], HI, api_key=KEY, base_url=emu.base_url(profile), **kw)


def failure(emu: Emulator, profile: str, **kw: Any) -> errors.FareboxError:
    with pytest.raises(errors.FareboxError) as info:
        call(emu, profile, **kw)
    return info.value


# -- classification by status and envelope ----------------------------------------------------------

STATUS_CASES = [
    (401, errors.AuthenticationError),
    (403, errors.PermissionDeniedError),
    (404, errors.NotFoundError),
    (429, errors.RateLimitError),
    (500, errors.ServiceUnavailableError),
    (503, errors.ServiceUnavailableError),
]
# Vendor codes the emulator's native envelopes carry (None: the envelope has none).
VENDOR_CODES = {
    ("openai", 401): "invalid_api_key", ("openai", 404): "not_found", ("openai", 429): "rate_limit_exceeded",
    ("minimax", 401): 1004, ("minimax", 404): 2013, ("minimax", 429): 1002, ("minimax", 500): 1000,
    ("zhipu", 401): 1002, ("zhipu", 403): 1220, ("zhipu", 404): 1211, ("zhipu", 429): 1302, ("zhipu", 500): 500,
}


@pytest.mark.parametrize("profile", list(MODELS))
@pytest.mark.parametrize(("status", "cls"), STATUS_CASES, ids=[str(s) for s, _ in STATUS_CASES])
def test_status_and_envelope(emu: Emulator, profile: str, status: int, cls: type[errors.FareboxError]) -> None:
    if (profile, status) == ("minimax", 403):
        cls = errors.AuthenticationError  # MiniMax answers 403 with its login-failure code 1004
    if (profile, status) == ("minimax", 404):
        cls = errors.InvalidRequestError  # ... and 404 with 2013 "invalid params": the vendor code wins
    emu.fault(status=status)
    err = failure(emu, profile)
    assert type(err) is cls
    vendor, _, model = MODELS[profile].partition("/")
    assert (err.vendor, err.model, err.status_code) == (vendor, model, status)
    assert err.request_id and err.request_id.startswith("req_")
    if (profile, status) in VENDOR_CODES:
        assert err.vendor_code == VENDOR_CODES[(profile, status)]
    assert err.retryable is (cls in (errors.RateLimitError, errors.ServiceUnavailableError))
    assert len(emu.requests) == 1


def test_deepseek_402_is_insufficient_balance(emu: Emulator) -> None:
    emu.fault(status=402)
    err = failure(emu, "deepseek")
    assert type(err) is errors.InsufficientBalanceError
    assert (err.vendor, err.model, err.status_code) == ("deepseek", "deepseek-chat", 402)
    assert "Insufficient Balance" in str(err)
    assert not err.retryable


def test_anthropic_529_overloaded(emu: Emulator) -> None:
    emu.fault(status=529)
    err = failure(emu, "anthropic")
    assert type(err) is errors.ServiceUnavailableError
    assert (err.vendor, err.status_code) == ("anthropic", 529)
    assert err.request_id.startswith("req_")
    assert err.retryable


@pytest.mark.parametrize(("code", "cls"), [(1008, errors.InsufficientBalanceError),
                                           (2049, errors.AuthenticationError),
                                           (1002, errors.RateLimitError)])
def test_minimax_codes_refine_the_status(emu: Emulator, code: int, cls: type[errors.FareboxError]) -> None:
    emu.fault(vendor_code=code)
    err = failure(emu, "minimax")
    assert type(err) is cls and err.vendor_code == code
    emu.fault(http200_base_resp=code)  # HTTP 200 with base_resp.status_code != 0
    err = failure(emu, "minimax")
    assert type(err) is cls and err.vendor_code == code and err.status_code == 200


@pytest.mark.parametrize("profile", ["openai", "anthropic", "deepseek"])
def test_malformed_json_reply(emu: Emulator, profile: str) -> None:
    emu.fault(malformed=True)
    err = failure(emu, profile)
    assert type(err) is errors.MalformedResponseError
    assert err.vendor == profile and err.status_code == 200
    # No JSONDecodeError is chained: its .doc would keep the raw reply body (which may echo a key).
    assert err.__cause__ is None and err.__context__ is None


def test_non_json_error_body(emu: Emulator) -> None:
    emu.fault(status=502, body="<html><body>502 Bad Gateway</body></html>")
    err = failure(emu, "openai")
    assert type(err) is errors.ServiceUnavailableError and err.status_code == 502


# -- Retry-After in its three spellings --------------------------------------------------------------

def test_retry_after_seconds(emu: Emulator) -> None:
    emu.fault(status=429, retry_after=7)
    err = failure(emu, "openai")
    assert isinstance(err, errors.RateLimitError) and err.retry_after == 7.0
    assert "retry after 7s" in str(err)


def test_retry_after_http_date(emu: Emulator) -> None:
    emu.fault(status=429, retry_after=email.utils.formatdate(time.time() + 30, usegmt=True))
    err = failure(emu, "deepseek")
    assert isinstance(err, errors.RateLimitError)
    assert 27 <= err.retry_after <= 31


def test_retry_after_ms(emu: Emulator) -> None:
    emu.fault(status=429, retry_after_ms=1500)
    err = failure(emu, "anthropic")
    assert isinstance(err, errors.RateLimitError) and err.retry_after == 1.5


def test_errors_from_async_api(emu: Emulator) -> None:
    emu.fault(status=429, retry_after=3)

    async def go() -> None:
        await router.acompletion(MODELS["openai"], HI, api_key=KEY, base_url=emu.base_url("openai"), num_retries=0)

    with pytest.raises(errors.RateLimitError) as info:
        asyncio.run(go())
    assert info.value.retry_after == 3.0 and info.value.status_code == 429


# -- retries with an injected sleep --------------------------------------------------------------------

def test_429_twice_then_200(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(status=429, retry_after=2, times=2)
    resp = call(emu, "openai", num_retries=None)  # the default policy
    assert [(a.status, a.ok, a.error) for a in resp.attempts] == [
        (429, False, "RateLimitError"), (429, False, "RateLimitError"), (200, True, None)]
    assert len(sleeps) == 2 and all(s >= 2 for s in sleeps)
    assert len(emu.requests) == 3
    assert resp.choices[0].message.content.endswith("You said: Hi")


async def test_429_then_200_async(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(status=429, retry_after_ms=1500)
    resp = await router.acompletion(MODELS["openai"], HI, api_key=KEY, base_url=emu.base_url("openai"))
    assert [a.status for a in resp.attempts] == [429, 200]
    assert sleeps == [1.5]


def test_503_without_retry_after_backs_off(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(status=503, times=2)
    resp = call(emu, "openai", num_retries=3)
    assert [a.status for a in resp.attempts] == [503, 503, 200]
    assert len(sleeps) == 2 and all(0 <= s <= 60 for s in sleeps)


def test_401_is_not_retried(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(status=401, times=-1)
    attempts: list[Any] = []
    with pytest.raises(errors.AuthenticationError):
        call(emu, "openai", num_retries=5, attempts=attempts)
    assert len(emu.requests) == 1 and sleeps == []
    assert [(a.status, a.error) for a in attempts] == [(401, "AuthenticationError")]


def test_num_retries_zero_is_one_attempt(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(status=429, retry_after=1, times=-1)
    attempts: list[Any] = []
    with pytest.raises(errors.RateLimitError):
        call(emu, "openai", num_retries=0, attempts=attempts)
    assert len(emu.requests) == 1 and sleeps == [] and len(attempts) == 1


def test_retries_exhausted_raise_the_last_error(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(status=500, times=-1)
    attempts: list[Any] = []
    with pytest.raises(errors.ServiceUnavailableError):
        call(emu, "openai", num_retries=2, attempts=attempts)
    assert len(emu.requests) == 3 and len(sleeps) == 2 and len(attempts) == 3


def test_retry_after_beyond_cap_is_not_waited_for(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(status=429, retry_after=3600, times=-1)
    with pytest.raises(errors.RateLimitError) as info:
        call(emu, "openai", num_retries=3)
    assert info.value.retry_after == 3600
    assert len(emu.requests) == 1 and sleeps == []


# -- the key never leaks -------------------------------------------------------------------------------

def _all_text(err: BaseException, attempts: list[Any]) -> str:
    return "\n".join([
        str(err), repr(err), "".join(traceback.format_exception(err)), str(err.args),
        json.dumps([a.model_dump(mode="json") for a in attempts]), repr(attempts),
    ])


ECHO_CASES = {
    "openai-401": ("openai", 401, {"error": {"message": f"Incorrect API key provided: {KEY}.",
                                             "type": "invalid_request_error", "code": "invalid_api_key"}}),
    "minimax-2049": ("minimax", 401, {"type": "error", "error": {"type": "authentication_error",
                                                                "message": f"invalid api key {KEY} (2049)",
                                                                "http_code": "401"}}),
    "anthropic-400": ("anthropic", 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                                   "message": f"bad header x-api-key: {KEY}"}}),
    "html-500": ("openai", 500, f"<html>upstream said Bearer {KEY}</html>"),
}


@pytest.mark.parametrize("case", list(ECHO_CASES))
def test_key_echoed_by_vendor_never_leaks(emu: Emulator, sleeps: list[float], case: str) -> None:
    profile, status, body = ECHO_CASES[case]
    emu.fault(status=status, body=body)
    attempts: list[Any] = []
    err = failure(emu, profile, attempts=attempts)
    assert err.status_code == status and len(attempts) == 1
    text = _all_text(err, attempts)
    assert KEY not in text
    assert "SECRET-abcdefghijklmnop" not in text
    assert KEY not in (err.hint or "") and KEY not in err.message


def test_key_echoed_in_retried_attempt_never_leaks(emu: Emulator, sleeps: list[float]) -> None:
    emu.fault(status=429, retry_after=1, body={"error": {"message": f"slow down, {KEY}", "type": "requests"}})
    resp = call(emu, "openai", num_retries=1)
    assert resp.attempts[0].error == "RateLimitError" and resp.attempts[0].message
    assert KEY not in resp.model_dump_json() and KEY not in repr(resp)


def test_error_body_is_redacted_too(emu: Emulator) -> None:
    emu.fault(status=401, body=ECHO_CASES["openai-401"][2])
    err = failure(emu, "openai")
    assert err.body is not None and err.body["error"]["code"] == "invalid_api_key"
    assert KEY not in json.dumps(err.body)


def test_connection_and_config_errors_carry_no_key(emu: Emulator) -> None:
    emu.fault(reset_after_chunks=0)
    err = failure(emu, "openai")
    assert isinstance(err, errors.APIConnectionError)
    assert KEY not in _all_text(err, [])
    with pytest.raises(errors.ConfigError) as info:
        router.completion("deepseek/deepseek-chat", HI, api_key=KEY, base_url="http://api.openai.com/v1")
    assert KEY not in _all_text(info.value, [])
