"""Anthropic first party (docs/vendors.md §5): x-api-key + anthropic-version, the exact Messages body the
emulator receives, usage from message_start/message_delta, and the §5 error types."""

from __future__ import annotations

from typing import Any

import pytest

import router
import vendors
from router.emulator import Emulator, key_fingerprint
from router.resolve import resolve
from vendors import errors as e
from vendors.wires.envelope import decode_error

KEY = "sk-ant-api03-0123456789abcdef"
SPEC = vendors.get("anthropic")
MODEL = "claude-sonnet-4-6"


def call(emu: Emulator, messages: list[dict[str, Any]], **kw: Any) -> Any:
    return router.completion(f"anthropic/{MODEL}", messages, api_key=KEY, base_url=emu.base_url("anthropic"),
                             num_retries=0, **kw)


def test_headers_and_exact_body(emu: Emulator) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                             "parameters": {"type": "object", "properties": {}}}}
    msgs = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "toolu_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
    ]
    call(emu, msgs, max_tokens=200, temperature=0.2, stop="END", tools=[tool], tool_choice="auto")
    rec = emu.last_request("anthropic")
    assert rec.path == "/anthropic/v1/messages" and rec.surface == "anthropic"
    assert rec.auth_kind == "x-api-key" and rec.key_fingerprint == key_fingerprint(KEY)
    assert rec.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in rec.headers
    assert rec.body == {
        "model": MODEL,
        "system": "Be brief.",
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
        ],
        "max_tokens": 200,
        "temperature": 0.2,
        "stop_sequences": ["END"],
        "tools": [{"name": "get_weather", "description": "Weather",
                   "input_schema": {"type": "object", "properties": {}}}],
        "tool_choice": {"type": "auto"},
    }


def test_default_max_tokens_is_sent(emu: Emulator) -> None:
    call(emu, [{"role": "user", "content": "hi"}])
    assert emu.last_request("anthropic").body["max_tokens"] == SPEC.default_max_tokens


def test_resolve_first_party() -> None:
    target = resolve(f"anthropic/{MODEL}", api_key=KEY)
    assert target.url == "https://api.anthropic.com/v1/messages"
    assert target.headers["x-api-key"] == KEY and target.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in target.headers
    assert vendors.detect("https://api.anthropic.com").name == "anthropic"


@pytest.mark.parametrize("stream", [False, True])
def test_reply_and_usage(emu: Emulator, stream: bool) -> None:
    resp = call(emu, [{"role": "user", "content": "hi"}], stream=stream)
    if stream:
        chunks = list(resp)
        assert chunks[-1].usage is not None
        resp = resp.response
    assert resp.choices[0].message.content.startswith("Hello from the anthropic emulator")
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0 and not resp.usage.estimated
    assert resp.vendor == "anthropic" and resp.choices[0].finish_reason == "stop"


@pytest.mark.parametrize(("status", "etype", "cls"), [
    (400, "invalid_request_error", e.InvalidRequestError),
    (401, "authentication_error", e.AuthenticationError),
    (403, "permission_error", e.PermissionDeniedError),
    (404, "not_found_error", e.NotFoundError),
    (413, "request_too_large", e.ContextWindowExceededError),
    (429, "rate_limit_error", e.RateLimitError),
    (500, "api_error", e.ServiceUnavailableError),
    (529, "overloaded_error", e.ServiceUnavailableError),
])
def test_error_types(emu: Emulator, status: int, etype: str, cls: type[e.FareboxError]) -> None:
    emu.fault(status=status)
    with pytest.raises(cls) as info:
        call(emu, [{"role": "user", "content": "hi"}])
    assert type(info.value) is cls and info.value.status_code == status
    assert info.value.request_id  # the emulator's request-id header
    body = {"type": "error", "error": {"type": etype, "message": "m"}, "request_id": "req_1"}
    assert type(decode_error(status, body, {}, SPEC, model=MODEL)) is cls


def test_529_overloaded_is_retryable() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    err = decode_error(529, body, {"retry-after": "3"}, SPEC, model=MODEL)
    assert isinstance(err, e.ServiceUnavailableError) and err.retryable and err.retry_after == 3


def test_mid_stream_error_event(emu: Emulator) -> None:
    emu.fault(error_after_chunks=2, status=529)
    with pytest.raises(e.ServiceUnavailableError):
        list(call(emu, [{"role": "user", "content": "hi"}], stream=True))
