"""Any OpenAI-compatible server (vLLM, llama.cpp, Ollama): caller's base URL, optional key, no vendor quirks."""

from __future__ import annotations

from typing import Any

import pytest

import router
import vendors
from router.emulator import Emulator, key_fingerprint
from router.resolve import resolve
from vendors import errors as e

KEY = "sk-local-0123456789abcdef"


def call(emu: Emulator, messages: list[dict[str, Any]] | None = None, **kw: Any) -> Any:
    return router.completion("compatible/local-model", messages or [{"role": "user", "content": "hi"}],
                             base_url=emu.base_url("compatible"), num_retries=0, **kw)


def test_exact_body_without_a_key(emu: Emulator) -> None:
    msgs = [{"role": "system", "content": "A"}, {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}],
             "reasoning_content": "dropped"},
            {"role": "tool", "tool_call_id": "c1", "content": "r"},
            {"role": "system", "content": "B"}]
    resp = call(emu, msgs, max_tokens=9, temperature=0, extra_body={"top_k": 4})
    rec = emu.last_request("compatible")
    assert rec.path == "/compatible/v1/chat/completions"
    assert rec.body == {
        "model": "local-model",
        "messages": [  # no MiniMax/DeepSeek rewriting: arguments, null content, system order untouched
            {"role": "system", "content": "A"}, {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "r"},
            {"role": "system", "content": "B"}],
        "max_tokens": 9,        # gateways keep max_tokens (Reasonix: only api.openai.com renames)
        "temperature": 0,
        "top_k": 4,             # vendor-specific keys pass through verbatim
    }
    assert rec.auth_kind is None and "authorization" not in rec.headers
    assert resp.vendor == "compatible" and resp.choices[0].message.content


def test_with_a_key_bearer(emu: Emulator) -> None:
    call(emu, api_key=KEY)
    rec = emu.last_request("compatible")
    assert rec.auth_kind == "bearer" and rec.key_fingerprint == key_fingerprint(KEY)


def test_keepalive_comments_and_usage(emu: Emulator) -> None:
    s = call(emu, stream=True)
    chunks = list(s)
    assert s.response.choices[0].message.content.startswith("Hello from the compatible emulator")
    assert chunks[-1].usage is not None
    assert emu.last_request("compatible").body["stream_options"] == {"include_usage": True}


def test_base_url_is_required() -> None:
    with pytest.raises(e.ConfigError, match="base_url"):
        resolve("compatible/x", api_key=KEY)
    assert resolve("compatible/x", base_url="http://127.0.0.1:8000/v1").api_key is None


def test_any_unknown_host_is_compatible() -> None:
    target = resolve("some-model", base_url="https://llm.internal.example/v1", api_key=KEY)
    assert target.vendor == "compatible" and target.url == "https://llm.internal.example/v1/chat/completions"
    assert vendors.get("compatible").hosts == frozenset() and not vendors.models("compatible")


def test_server_errors_by_status(emu: Emulator) -> None:
    emu.fault(status=503)
    with pytest.raises(e.ServiceUnavailableError):
        call(emu)
    emu.fault(status=400, body={"error": {"message": "This model's maximum context length is 4096 tokens",
                                          "type": "BadRequestError", "code": 400}})
    with pytest.raises(e.ContextWindowExceededError):
        call(emu)
