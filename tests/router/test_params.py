"""completion()'s keyword arguments (router/params.py): known names only, values checked before any request."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

import router
from router import errors as e
from router.emulator import Emulator
from tests.conftest import KEY

HI = [{"role": "user", "content": "Hi"}]
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def call(emu: Emulator, **kw: Any) -> Any:
    kw.setdefault("api_key", KEY)
    return router.completion("openai/gpt-5.1", kw.pop("messages", HI), base_url=emu.base_url("openai"), **kw)


@pytest.mark.parametrize(("typo", "near"), [("temprature", "temperature"), ("max_token", "max_tokens"),
                                            ("top_pp", "top_p"), ("extra_header", "extra_headers")])
def test_unknown_keyword_names_the_nearest(emu: Emulator, typo: str, near: str) -> None:
    with pytest.raises(e.ConfigError, match=f"{typo!r}.*did you mean {near!r}"):
        call(emu, **{typo: 1})
    assert emu.requests == []


@pytest.mark.parametrize("name", ["fallbacks", "mock_response", "max_retries", "custom_llm_provider"])
def test_litellm_keywords_farebox_lacks_are_refused_by_name(emu: Emulator, name: str) -> None:
    with pytest.raises(e.ConfigError, match=name):
        call(emu, **{name: "x"})
    assert emu.requests == []


def test_unknown_keyword_async_and_router(emu: Emulator) -> None:
    with pytest.raises(e.ConfigError, match="temperature"):
        asyncio.run(router.acompletion("openai/gpt-5.1", HI, api_key=KEY, temprature=0.2))
    r = router.Router([{"alias": "a", "model": "openai/gpt-5.1", "api_key": KEY, "base_url": emu.base_url("openai")}])
    with pytest.raises(e.ConfigError, match="temperature"):
        r.completion("a", HI, temprature=0.2)
    assert emu.requests == []


BAD = [
    ("max_tokens", -1, "max_tokens"), ("max_tokens", 0, "max_tokens"), ("temperature", "hot", "temperature"),
    ("temperature", 2.5, "temperature"), ("top_p", 2, "top_p"), ("stop", 123, "stop"),
    ("stop", ["a", "b", "c", "d", "e"], "stop"), ("temperature", float("nan"), "temperature"),
    ("temperature", float("inf"), "temperature"), ("n", 0, "n"), ("presence_penalty", 3, "presence_penalty"),
    ("frequency_penalty", -2.5, "frequency_penalty"), ("timeout", -1, "timeout"), ("timeout", 0, "timeout"),
    ("timeout", "10", "timeout"), ("deadline", -1, "deadline"), ("num_retries", "many", "num_retries"),
    ("num_retries", -1, "num_retries"), ("api_key", 123, "api_key"), ("api_key", "sk-x\r\nX-Evil: 1", "api_key"),
    ("tools", [{"type": "function", "function": {"name": "f", "parameters": "{}"}}], "tools"),
    ("tools", [{"type": "function", "function": {"parameters": {"type": "object"}}}], "tools"),
    ("tools", [{"type": "function", "function": {"name": "bad name!"}}], "tools"),
    ("logprobs", "yes", "logprobs"), ("top_logprobs", 50, "top_logprobs"), ("seed", 1.5, "seed"),
    ("stream_options", {"include_usage": "yes"}, "stream_options"), ("response_format", {"type": "yaml"},
                                                                     "response_format"),
    ("extra_headers", {"X-A": "1\r\n2"}, "extra_headers"), ("extra_headers", {"Authorization": "Bearer x"},
                                                            "extra_headers"),
    ("extra_headers", {"X-A": 1}, "extra_headers"), ("logit_bias", {"50256": 101}, "logit_bias"),
]


@pytest.mark.parametrize(("name", "value", "named"), BAD, ids=[f"{n}={v!r}"[:40] for n, v, _ in BAD])
def test_bad_values_are_refused_before_sending(emu: Emulator, name: str, value: Any, named: str) -> None:
    with pytest.raises((e.InvalidRequestError, e.ConfigError), match=named) as info:
        call(emu, **{name: value})
    assert "accepted" in str(info.value) or "cannot be replaced" in str(info.value) or "needs" in str(info.value)
    assert KEY not in str(info.value)
    assert emu.requests == []


@pytest.mark.parametrize(("messages", "named"), [
    ([], "messages"), ("Hi", "messages"), ([{"content": "x"}], "role"), ([{"role": "robot", "content": "x"}], "role"),
    ([{"role": "user", "content": 5}], "content"), ([{"role": "user", "content": [{"type": "text", "text": 1}]}],
                                                   "text"),
])
def test_bad_messages(emu: Emulator, messages: Any, named: str) -> None:
    with pytest.raises(e.InvalidRequestError, match=named):
        call(emu, messages=messages)
    assert emu.requests == []


def test_lone_surrogate_and_nan_in_extra_body(emu: Emulator) -> None:
    with pytest.raises(e.InvalidRequestError, match=r"surrogate.*messages\[0\]\.content"):
        call(emu, messages=[{"role": "user", "content": "bad \ud800 text"}])
    with pytest.raises(e.InvalidRequestError, match=r"non-finite.*body\.vendor_knob"):
        call(emu, extra_body={"vendor_knob": float("nan")})
    assert emu.requests == []


def test_empty_model_is_refused(emu: Emulator) -> None:
    with pytest.raises(e.ConfigError, match="model"):
        router.completion("", HI, base_url=emu.base_url("compatible"))
    assert emu.requests == []


def test_good_values_reach_the_wire(emu: Emulator) -> None:
    call(emu, temperature=0, top_p=1, max_completion_tokens=50, stop=["x"], seed=7, n=1, presence_penalty=-2,
         frequency_penalty=2, logit_bias={"50256": -100}, logprobs=True, top_logprobs=3, user="u1",
         parallel_tool_calls=False, tools=[TOOL], tool_choice="auto", timeout=5, num_retries=0, deadline=30,
         metadata={"team": "a"}, stream_options=None)
    body = emu.last_request().body
    assert body["temperature"] == 0 and body["seed"] == 7 and body["logit_bias"] == {"50256": -100}
    assert body["max_completion_tokens"] == 50 and body["parallel_tool_calls"] is False and body["user"] == "u1"
    assert "metadata" not in body and "timeout" not in body and "deadline" not in body


def test_api_base_is_base_url(emu: Emulator) -> None:
    resp = router.completion("openai/gpt-5.1", HI, api_key=KEY, api_base=emu.base_url("openai"))
    assert resp.vendor == "openai" and emu.last_request().vendor == "openai"
    assert "api_base" not in emu.last_request().body
    router.completion("openai/gpt-5.1", HI, api_key=KEY, api_base=emu.base_url("openai"),
                      base_url=emu.base_url("openai"))
    with pytest.raises(e.ConfigError, match="api_base"):
        router.completion("openai/gpt-5.1", HI, api_key=KEY, api_base=emu.base_url("openai"),
                          base_url=emu.base_url("deepseek"))


def test_extra_headers_are_sent_and_never_replace_auth(emu: Emulator) -> None:
    call(emu, extra_headers={"X-Team": "search", "anthropic-beta": "x-2025"})
    rec = emu.last_request()
    assert rec.headers["x-team"] == "search" and rec.headers["anthropic-beta"] == "x-2025"
    assert rec.key_fingerprint is not None
    for name in ("authorization", "Content-Type", "host", "x-api-key"):
        with pytest.raises(e.InvalidRequestError, match="cannot be replaced"):
            call(emu, extra_headers={name: "x"})


def test_extra_headers_on_a_stream(emu: Emulator) -> None:
    with call(emu, stream=True, extra_headers={"X-Trace": "t1"}) as stream:
        list(stream)
    assert emu.last_request().headers["x-trace"] == "t1"


class City(BaseModel):
    name: str
    country: str


def test_response_format_pydantic_class(emu: Emulator) -> None:
    resp = call(emu, response_format=City)
    fmt = emu.last_request().body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "City"
    assert fmt["json_schema"]["schema"]["required"] == ["name", "country"]
    parsed = resp.choices[0].message.parsed
    assert isinstance(parsed, City) and parsed.name == "Paris"
    assert "parsed" not in resp.choices[0].message.to_request()
    again = call(emu, messages=[*HI, resp.choices[0].message, {"role": "user", "content": "more"}])
    assert "parsed" not in emu.last_request().body["messages"][1] and again.choices


def test_response_format_pydantic_class_streamed(emu: Emulator) -> None:
    with call(emu, response_format=City, stream=True) as stream:
        list(stream)
    assert isinstance(stream.response.choices[0].message.parsed, City)


def test_response_format_json_schema_dict(emu: Emulator) -> None:
    rf = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "properties": {
        "a": {"type": "integer"}}, "required": ["a"]}}}
    resp = call(emu, response_format=rf)
    assert resp.choices[0].message.content == '{"a": 1}' and resp.choices[0].message.parsed is None


def test_capability_checks_still_decide(emu: Emulator) -> None:
    with pytest.raises(e.UnsupportedParamError, match="seed"):
        router.completion("anthropic/claude-sonnet-4-6", HI, api_key=KEY, base_url=emu.base_url("anthropic"), seed=1)
    assert emu.requests == []
