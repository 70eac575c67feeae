"""Cross-cutting hardening through real sockets: junk replies fall back; a planted key appears in no text."""

from __future__ import annotations

from typing import Any

import pytest

import router
from router import errors
from router.emulator import Emulator
from tests.conftest import KEY

HI = [{"role": "user", "content": "Hi"}]


def _reply(**choice: Any) -> dict[str, Any]:
    base = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}
    return {"id": "x", "object": "chat.completion", "created": 1, "model": "gpt-5.1", "choices": [{**base, **choice}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


PLAIN_JUNK = {
    "finish_reason": _reply(finish_reason={}),
    "index": _reply(index=None),
    "tool_calls": _reply(message={"role": "assistant", "content": None, "tool_calls": ["x"]}),
    "message": _reply(message=[]),
    "function": _reply(message={"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": 5}]}),
    "usage": {**_reply(), "usage": {"prompt_tokens": "many"}},
    "deep": _deep(100_000),
}
STREAM_JUNK = {
    "finish_reason": [{"id": "x", "choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": {}}]}],
    "index": [{"id": "x", "choices": [{"index": None, "delta": {"content": "a"}}]}, "[DONE]"],
    "delta": [{"id": "x", "choices": [{"index": 0, "delta": ["x"]}]}, "[DONE]"],
    "tool_calls": [{"id": "x", "choices": [{"index": 0, "delta": {"tool_calls": ["x"]}}]}, "[DONE]"],
    "deep": [_deep(100_000)],
}


def _router(emu: Emulator) -> Any:
    return router.Router(deployments=[
        {"alias": "main", "model": "openai/gpt-5.1", "api_key": KEY, "base_url": emu.base_url("openai")},
        {"alias": "spare", "model": "deepseek/deepseek-chat", "api_key": KEY, "base_url": emu.base_url("deepseek")},
    ], fallbacks={"main": ["spare"]}, num_retries=0)


@pytest.mark.parametrize("name", list(PLAIN_JUNK))
def test_a_junk_plain_reply_is_malformed_and_the_fallback_answers(emu: Emulator, name: str) -> None:
    emu.fault(vendor="openai", status=200, body=PLAIN_JUNK[name])
    with pytest.raises(errors.MalformedResponseError) as info:
        router.completion("openai/gpt-5.1", HI, api_key=KEY, base_url=emu.base_url("openai"), num_retries=0)
    assert info.value.vendor == "openai" and KEY not in str(info.value)
    emu.fault(vendor="openai", status=200, body=PLAIN_JUNK[name])
    resp = _router(emu).completion("main", HI)
    assert resp.vendor == "deepseek"
    assert [r.vendor for r in emu.requests][-2:] == ["openai", "deepseek"]
    assert [a.error for a in resp.attempts] == ["MalformedResponseError", None]


@pytest.mark.parametrize("name", list(STREAM_JUNK))
def test_a_junk_stream_is_malformed_and_the_fallback_answers(emu: Emulator, name: str) -> None:
    emu.fault(vendor="openai", events=STREAM_JUNK[name])
    resp = _router(emu).completion("main", HI, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in resp if c.choices)
    assert text and resp.response.vendor == "deepseek"
    assert [r.vendor for r in emu.requests] == ["openai", "deepseek"]
