"""OpenAI first party (docs/vendors.md §6, §7.3): max_completion_tokens on api.openai.com, the exact body and
headers the emulator receives, history hygiene, and the OpenAI error codes."""

from __future__ import annotations

from typing import Any

import pytest

import router
import vendors
from router.emulator import Emulator, key_fingerprint
from router.resolve import resolve
from vendors import errors as e
from vendors.wires.envelope import decode_error

KEY = "sk-proj-openai-0123456789abcdef"
SPEC = vendors.get("openai")


def call(emu: Emulator, messages: list[dict[str, Any]] | None = None, **kw: Any) -> Any:
    return router.completion("openai/gpt-5.1", messages or [{"role": "user", "content": "hi"}], api_key=KEY,
                             base_url=emu.base_url("openai"), num_retries=0, **kw)


def test_exact_body_and_headers(emu: Emulator) -> None:
    msgs = [{"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello", "reasoning_content": "x", "reasoning_details": [{"text": "x"}]},
            {"role": "user", "content": "again"}]
    call(emu, msgs, max_tokens=77, temperature=0.25, seed=3, user="u1")
    rec = emu.last_request("openai")
    assert rec.path == "/openai/v1/chat/completions"
    assert rec.body == {
        "model": "gpt-5.1",
        # Fields other vendors replay are stripped: OpenAI rejects unknown message keys.
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello"},
                     {"role": "user", "content": "again"}],
        "max_completion_tokens": 77,   # api.openai.com: max_tokens -> max_completion_tokens (§7.3)
        "temperature": 0.25,
        "seed": 3,
        "user": "u1",
    }
    assert rec.auth_kind == "bearer" and rec.key_fingerprint == key_fingerprint(KEY)
    assert rec.headers["authorization"].startswith("Bearer sk-pro") and "x-api-key" not in rec.headers


def test_max_completion_tokens_given_directly(emu: Emulator) -> None:
    call(emu, max_completion_tokens=5)
    body = emu.last_request("openai").body
    assert body["max_completion_tokens"] == 5 and "max_tokens" not in body


def test_no_effort_no_reasoning_effort_key(emu: Emulator) -> None:
    """Reasonix TestBuildRequestForwardsReasoningEffort: effort "" -> the key is absent from the JSON."""
    call(emu)
    assert "reasoning_effort" not in emu.last_request("openai").body


def test_stream_always_asks_for_usage(emu: Emulator) -> None:
    s = call(emu, stream=True)
    chunks = list(s)
    body = emu.last_request("openai").body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert chunks[-1].usage is not None and not chunks[-1].usage.estimated


def test_only_the_exact_api_host() -> None:
    assert resolve("openai/gpt-5.1", api_key=KEY).url == "https://api.openai.com/v1/chat/completions"
    assert vendors.detect("https://platform.openai.com/v1") is None
    assert vendors.detect("https://eu.api.openai.com/v1") is None


@pytest.mark.parametrize(("status", "body", "cls"), [
    (429, {"error": {"message": "quota", "type": "insufficient_quota", "param": None, "code": "insufficient_quota"}},
     e.InsufficientBalanceError),
    (400, {"error": {"message": "too long", "type": "invalid_request_error", "param": "messages",
                     "code": "context_length_exceeded"}}, e.ContextWindowExceededError),
    (429, {"error": {"message": "slow down", "type": "requests", "param": None, "code": "rate_limit_exceeded"}},
     e.RateLimitError),
    (401, {"error": {"message": "bad key", "type": "invalid_request_error", "param": None,
                     "code": "invalid_api_key"}}, e.AuthenticationError),
    (404, {"error": {"message": "no model", "type": "invalid_request_error", "param": None,
                     "code": "model_not_found"}}, e.NotFoundError),
    (500, {"error": {"message": "oops", "type": "server_error", "param": None, "code": None}},
     e.ServiceUnavailableError),
])
def test_error_codes(emu: Emulator, status: int, body: dict[str, Any], cls: type[e.FareboxError]) -> None:
    assert type(decode_error(status, body, {}, SPEC, model="gpt-5.1")) is cls
    emu.fault(status=status, body=body, retry_after=2)
    with pytest.raises(cls) as info:
        call(emu)
    assert type(info.value) is cls and info.value.status_code == status and info.value.retry_after == 2
