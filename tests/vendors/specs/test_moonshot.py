"""Moonshot / Kimi conformance (docs/vendors.md §4): exact hosts, the " " reasoning placeholder on tool-call
turns, kimi-k3's fixed sampling and max_completion_tokens, tool_choice, errors."""

from __future__ import annotations

from typing import Any

import pytest

import router
import vendors
from router.emulator import Emulator, key_fingerprint
from router.resolve import resolve
from vendors import errors as e

KEY = "sk-moonshot-0123456789abcdef"
HI = [{"role": "user", "content": "hi"}]
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}


def call(emu: Emulator, messages: list[dict[str, Any]] | None = None, *, model: str = "kimi-k3", **kw: Any) -> Any:
    return router.completion(f"moonshot/{model}", messages or HI, api_key=KEY, base_url=emu.base_url("moonshot"),
                             num_retries=0, **kw)


@pytest.mark.parametrize(("url", "vendor"), [
    ("https://api.moonshot.ai/v1", "moonshot"),
    ("https://api.moonshot.cn/v1", "moonshot"),
    ("https://API.MOONSHOT.CN/v1/chat/completions", "moonshot"),
    ("https://moonshot.cn/v1", None),
    ("https://moonshot.ai/v1", None),
    ("https://gateway.moonshot.cn/v1", None),
    ("https://eu.api.moonshot.ai/v1", None),
    ("https://api.kimi.com/coding/v1", None),  # Kimi Coding is another product (§4), not registered
])
def test_exact_hosts_only(url: str, vendor: str | None) -> None:
    spec = vendors.detect(url)
    assert (spec.name if spec else None) == vendor


@pytest.mark.parametrize(("region", "url"), [
    ("global", "https://api.moonshot.ai/v1/chat/completions"),
    ("cn", "https://api.moonshot.cn/v1/chat/completions"),
])
def test_regions(region: str, url: str) -> None:
    assert resolve("moonshot/kimi-k3", region=region, api_key=KEY).url == url
    assert resolve("kimi-k3", base_url=url.removesuffix("/chat/completions"), api_key=KEY).region == region


def test_exact_body_with_placeholder_reasoning(emu: Emulator) -> None:
    msgs = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "get_weather:0", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "get_weather:0", "content": "sunny"},
        {"role": "assistant", "content": "Sunny.", "reasoning_content": "kept"},
        {"role": "user", "content": "Thanks"},
    ]
    resp = call(emu, msgs, max_tokens=300)
    rec = emu.last_request("moonshot")
    assert rec.path == "/moonshot/v1/chat/completions"
    assert rec.body == {
        "model": "kimi-k3",
        "messages": [
            {"role": "user", "content": "Weather?"},
            # A single space is the minimum accepted reasoning_content (§4, LiteLLM moonshot).
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "get_weather:0", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}],
             "reasoning_content": " "},
            {"role": "tool", "tool_call_id": "get_weather:0", "content": "sunny"},
            {"role": "assistant", "content": "Sunny.", "reasoning_content": "kept"},
            {"role": "user", "content": "Thanks"},
        ],
        "max_completion_tokens": 300,  # kimi-k3 wants max_completion_tokens (§4)
    }
    assert rec.auth_kind == "bearer" and rec.key_fingerprint == key_fingerprint(KEY)
    assert resp.choices[0].message.content.startswith("Hello from the moonshot emulator")


def test_older_models_keep_max_tokens(emu: Emulator) -> None:
    call(emu, model="kimi-k2.6", max_tokens=10, temperature=0.3)
    body = emu.last_request("moonshot").body
    assert body["max_tokens"] == 10 and body["temperature"] == 0.3 and "max_completion_tokens" not in body


@pytest.mark.parametrize("param", [{"temperature": 0.3}, {"top_p": 0.9}, {"n": 2}, {"presence_penalty": 0.1},
                                   {"frequency_penalty": 0.1}])
def test_kimi_k3_rejects_fixed_sampling_before_sending(emu: Emulator, param: dict[str, Any]) -> None:
    name = next(iter(param))
    with pytest.raises(e.UnsupportedParamError) as info:
        call(emu, **param)
    err = info.value
    assert (err.vendor, err.model) == ("moonshot", "kimi-k3") and repr(name) in str(err)
    assert emu.requests == []


def test_kimi_k3_temperature_through_extra_body_is_checked_too(emu: Emulator) -> None:
    with pytest.raises(e.UnsupportedParamError, match="temperature"):
        call(emu, extra_body={"temperature": 0.3})
    assert emu.requests == []


def test_kimi_k3_drop_params(emu: Emulator) -> None:
    resp = call(emu, temperature=0.3, top_p=0.5, drop_params=True)
    body = emu.last_request("moonshot").body
    assert "temperature" not in body and "top_p" not in body
    assert resp.dropped_params == ["temperature", "top_p"]


def test_tool_choice_required_is_refused_before_sending(emu: Emulator) -> None:
    with pytest.raises(e.UnsupportedParamError, match="tool_choice"):
        call(emu, tools=[TOOL], tool_choice="required")
    assert emu.requests == []
    call(emu, tools=[TOOL], tool_choice="auto")
    assert emu.last_request("moonshot").body["tool_choice"] == "auto"


def test_stream_reasoning(emu: Emulator) -> None:
    s = call(emu, stream=True)
    chunks = list(s)
    assert "".join(c.choices[0].delta.reasoning_content or "" for c in chunks if c.choices)
    assert s.response.usage.completion_tokens > 0 and not s.response.usage.estimated


@pytest.mark.parametrize(("status", "cls"), [
    (400, e.InvalidRequestError), (401, e.AuthenticationError), (403, e.PermissionDeniedError),
    (404, e.NotFoundError), (429, e.RateLimitError), (503, e.ServiceUnavailableError),
])
def test_errors(emu: Emulator, status: int, cls: type[e.FareboxError]) -> None:
    emu.fault(status=status)
    with pytest.raises(cls) as info:
        call(emu)
    assert type(info.value) is cls and info.value.vendor == "moonshot"


def test_quota_exceeded_is_insufficient_balance_not_a_retryable_rate_limit() -> None:
    from vendors import errors as e
    from vendors.registry import get
    from vendors.wires.envelope import decode_error

    body = {"error": {"type": "exceeded_current_quota_error",
                      "message": "Your account is suspended due to insufficient balance"}}
    err = decode_error(429, body, {}, get("moonshot"), model="kimi-k2.6")
    assert type(err) is e.InsufficientBalanceError and not err.retryable


# ── usage inside choices[0] of the finish chunk (platform.moonshot.cn streaming guide; docs/vendors.md Errata) ──
def _raw_stream(emu: Emulator, **kw: Any) -> list[dict[str, Any]]:
    """The chunks the emulator sends for this request, read with the openai SDK (the emulator's own wire)."""
    import openai

    client = openai.OpenAI(base_url=emu.base_url("moonshot"), api_key=KEY, max_retries=0)
    try:
        return [c.model_dump() for c in client.chat.completions.create(model="kimi-k2.6", messages=HI, stream=True,
                                                                      **kw)]
    finally:
        client.close()


def test_usage_inside_the_choice_is_read_as_reported(emu: Emulator) -> None:
    plain = call(emu, model="kimi-k2.6").usage
    raw = _raw_stream(emu, stream_options={"include_usage": False})
    assert raw[-1]["usage"] is None and raw[-1]["choices"][0]["usage"]["prompt_tokens"] == plain.prompt_tokens
    emu.clear()
    s = call(emu, model="kimi-k2.6", stream=True, stream_options={"include_usage": False})
    chunks = list(s)
    assert emu.last_request("moonshot").body["stream_options"] == {"include_usage": False}
    usage = s.response.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (
        plain.prompt_tokens, plain.completion_tokens, False)
    assert chunks[-1].usage == usage and chunks[-1].choices[0].finish_reason == "stop"
    assert s.response.cost is not None and not s.response.cost.estimated


def test_usage_in_the_choice_and_at_the_top_is_counted_once(emu: Emulator) -> None:
    plain = call(emu, model="kimi-k2.6").usage
    raw = _raw_stream(emu, stream_options={"include_usage": True})
    assert raw[-2]["choices"][0]["usage"]["completion_tokens"] == raw[-1]["usage"]["completion_tokens"]
    emu.clear()
    s = call(emu, model="kimi-k2.6", stream=True)
    list(s)
    usage = s.response.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        plain.prompt_tokens, plain.completion_tokens, plain.total_tokens)   # overwritten, never added
    assert s.response.cost.total == call(emu, model="kimi-k2.6").cost.total


def test_per_choice_usage_counts_the_prompt_once() -> None:
    import json

    from vendors.wires.openai_chat import StreamDecoder

    decoder = StreamDecoder(vendors.get("moonshot"), model="kimi-k2.6")

    def finish(index: int, completion: int) -> str:
        usage = {"prompt_tokens": 19, "completion_tokens": completion, "total_tokens": 19 + completion}
        return json.dumps({"id": "c", "choices": [{"index": index, "delta": {}, "finish_reason": "stop",
                                                   "usage": usage}]})

    assert decoder.feed("", finish(0, 13))[0].usage.total_tokens == 32
    last = decoder.feed("", finish(1, 7))[0].usage
    assert (last.prompt_tokens, last.completion_tokens, last.total_tokens) == (19, 20, 39)


def test_n_choices_stream_usage_per_choice_is_summed_once(emu: Emulator) -> None:
    plain = call(emu, model="kimi-k2.6", n=2)
    assert [c.index for c in plain.choices] == [0, 1]
    one = call(emu, model="kimi-k2.6").usage
    assert plain.usage.completion_tokens == 2 * one.completion_tokens and plain.usage.prompt_tokens == one.prompt_tokens
    raw = _raw_stream(emu, n=2, stream_options={"include_usage": False})
    finish = raw[-1]["choices"]
    assert [c["usage"]["completion_tokens"] for c in finish] == [one.completion_tokens] * 2
    for options in ({"include_usage": False}, {"include_usage": True}):
        s = call(emu, model="kimi-k2.6", n=2, stream=True, stream_options=options)
        list(s)
        usage = s.response.usage
        assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (
            plain.usage.prompt_tokens, plain.usage.completion_tokens, False)
        assert [c.index for c in s.response.choices] == [0, 1]
