"""Capabilities are enforced before sending (router/request.py): nothing reaches the emulator when a
parameter, tool, tool_choice or response_format is refused; drop_params drops and reports instead."""

from __future__ import annotations

from typing import Any

import pytest

import router
import vendors
from router.emulator import Emulator
from router.request import CHECKED_EXTRA, OPENAI_PARAMS
from vendors import errors as e
from vendors.registry import all_specs

KEY = "sk-api-caps-0123456789abcdef"
# Every registered vendor, at a model of its catalogue (these ones where the choice matters).
_PREFERRED = {"openai": "gpt-5.1", "anthropic": "claude-sonnet-4-6", "minimax": "MiniMax-M3",
              "deepseek": "deepseek-v4-flash", "moonshot": "kimi-k2.6", "zhipu": "glm-5.2", "compatible": "local-model"}
MODELS = {spec.name: _PREFERRED.get(spec.name) or vendors.models(spec.name)[0].id for spec in all_specs()}
HI = [{"role": "user", "content": "hi"}]
# A value each OpenAI parameter could really take.
VALUES: dict[str, Any] = {
    "temperature": 0.5, "top_p": 0.9, "max_tokens": 10, "stop": ["x"], "user": "u", "n": 1, "seed": 1,
    "presence_penalty": 0.1, "frequency_penalty": 0.1, "logprobs": True, "top_logprobs": 2,
    "logit_bias": {"1": 1}, "parallel_tool_calls": True, "stream_options": {"include_usage": True},
    "metadata": {"user_id": "u"}, "top_k": 5, "max_completion_tokens": 10, "modalities": ["text"],
    "prediction": {"type": "content", "content": "x"}, "service_tier": "auto", "store": False,
    "reasoning": {"effort": "low"}, "response_format": {"type": "text"}, "tool_choice": "auto",
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
}
# `metadata` is Farebox's own cost-tag argument (API.md), never a body key; max_completion_tokens follows max_tokens.
UNSUPPORTED = sorted((spec.name, param) for spec in all_specs() for param in OPENAI_PARAMS
                     if param not in spec.caps.params and param not in ("max_completion_tokens", "metadata"))


def call(emu: Emulator, vendor: str, **kw: Any) -> Any:
    surface = "anthropic" if vendor == "anthropic" else None
    return router.completion(f"{vendor}/{MODELS[vendor]}", HI, api_key=KEY, base_url=emu.base_url(vendor, surface),
                             num_retries=0, **kw)


def test_every_vendor_refuses_something() -> None:
    assert set(MODELS) - {"compatible"} <= {v for v, _ in UNSUPPORTED}


@pytest.mark.parametrize(("vendor", "param"), UNSUPPORTED)
def test_unsupported_param_is_refused_before_sending(emu: Emulator, vendor: str, param: str) -> None:
    with pytest.raises(e.UnsupportedParamError) as info:
        call(emu, vendor, **{param: VALUES[param]})
    err = info.value
    assert (err.vendor, err.model) == (vendor, MODELS[vendor])
    assert repr(param) in str(err) and vendor in str(err) and MODELS[vendor] in str(err)
    assert "drop_params" in err.hint
    assert emu.requests == []


@pytest.mark.parametrize(("vendor", "param"), UNSUPPORTED)
def test_drop_params_drops_and_reports(emu: Emulator, vendor: str, param: str) -> None:
    resp = call(emu, vendor, drop_params=True, **{param: VALUES[param]})
    assert resp.dropped_params == [param]
    assert param not in emu.last_request(vendor).body


@pytest.mark.parametrize("vendor", sorted(MODELS))
def test_supported_params_pass(emu: Emulator, vendor: str) -> None:
    resp = call(emu, vendor, temperature=0.5, max_tokens=20)
    assert resp.dropped_params == [] and emu.last_request(vendor).body["temperature"] == 0.5


TOOL = VALUES["tools"][0]


@pytest.mark.parametrize("spec", [s for s in all_specs() if s.caps.max_tools], ids=lambda s: s.name)
def test_too_many_tools(emu: Emulator, spec: Any) -> None:
    tools = [{"type": "function", "function": {"name": f"t{i}", "parameters": {"type": "object"}}}
             for i in range(spec.caps.max_tools + 1)]
    with pytest.raises(e.InvalidRequestError, match=f"at most {spec.caps.max_tools}") as info:
        call(emu, spec.name, tools=tools)
    assert info.value.vendor == spec.name and emu.requests == []
    call(emu, spec.name, tools=tools[:-1])
    assert len(emu.last_request(spec.name).body["tools"]) == spec.caps.max_tools


@pytest.mark.parametrize(("vendor", "choice"), [
    ("moonshot", "required"), ("zhipu", "required"),
    ("zhipu", {"type": "function", "function": {"name": "f"}}),
])
def test_unsupported_tool_choice(emu: Emulator, vendor: str, choice: Any) -> None:
    with pytest.raises(e.UnsupportedParamError, match="tool_choice"):
        call(emu, vendor, tools=[TOOL], tool_choice=choice)
    assert emu.requests == []
    resp = call(emu, vendor, tools=[TOOL], tool_choice=choice, drop_params=True)
    assert resp.dropped_params == ["tool_choice"] and "tool_choice" not in emu.last_request(vendor).body


@pytest.mark.parametrize(("vendor", "fmt"), [
    ("minimax", "json_schema"), ("deepseek", "json_schema"), ("moonshot", "json_schema"), ("zhipu", "json_schema"),
])
def test_unsupported_response_format(emu: Emulator, vendor: str, fmt: str) -> None:
    rf = {"type": fmt, "json_schema": {"name": "x", "schema": {"type": "object"}}}
    with pytest.raises(e.UnsupportedParamError, match="response_format") as info:
        call(emu, vendor, response_format=rf)
    assert "json_object" in str(info.value) and emu.requests == []
    call(emu, vendor, response_format={"type": "json_object"})
    assert emu.last_request(vendor).body["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("vendor", ["deepseek", "minimax", "openai"])
def test_unsupported_tool_type(emu: Emulator, vendor: str) -> None:
    custom = {"type": "custom", "custom": {"name": "x"}}
    with pytest.raises(e.UnsupportedParamError, match="custom"):
        call(emu, vendor, tools=[TOOL, custom])
    assert emu.requests == []
    resp = call(emu, vendor, tools=[TOOL, custom], drop_params=True)
    assert resp.dropped_params == ["tools[1]"] and emu.last_request(vendor).body["tools"] == [TOOL]


def test_minimax_n_must_be_one(emu: Emulator) -> None:
    with pytest.raises(e.UnsupportedParamError, match="'n'"):
        call(emu, "minimax", n=2)
    call(emu, "minimax", n=1)
    assert emu.last_request("minimax").body["n"] == 1


def test_tools_must_be_a_list(emu: Emulator) -> None:
    with pytest.raises(e.InvalidRequestError, match="list"):
        call(emu, "deepseek", tools=TOOL)
    assert emu.requests == []


# -- extra_body can never override what the codecs build (Reasonix reservedExtraBodyField, §7.3) ---------

@pytest.mark.parametrize("key", ["model", "messages", "stream"])
def test_reserved_extra_body_keys(emu: Emulator, key: str) -> None:
    with pytest.raises(e.InvalidRequestError, match=key):
        call(emu, "deepseek", extra_body={key: "x"})
    assert emu.requests == []


def test_checked_extra_body_keys_are_renamed_and_checked(emu: Emulator) -> None:
    assert {"tools", "stream_options", "temperature", "max_tokens", "max_completion_tokens"} == CHECKED_EXTRA
    call(emu, "minimax", extra_body={"max_tokens": 50})
    body = emu.last_request("minimax").body
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body
    with pytest.raises(e.UnsupportedParamError):
        router.completion("moonshot/kimi-k3", HI, api_key=KEY, base_url=emu.base_url("moonshot"),
                          extra_body={"temperature": 0.2})
    with pytest.raises(e.InvalidRequestError, match="both"):
        call(emu, "deepseek", temperature=0.1, extra_body={"temperature": 0.2})
    tools = [TOOL] * 129
    with pytest.raises(e.InvalidRequestError, match="at most 128"):
        call(emu, "deepseek", extra_body={"tools": tools})


def test_effort_keys_in_extra_body_are_checked(emu: Emulator) -> None:
    with pytest.raises(e.UnsupportedParamError, match="reasoning_effort"):
        call(emu, "minimax", extra_body={"reasoning_effort": "high"})
    assert emu.requests == []


def test_vendor_specific_keys_pass_verbatim(emu: Emulator) -> None:
    call(emu, "deepseek", extra_body={"thinking": {"type": "disabled"}, "user_id": "abc"})
    body = emu.last_request("deepseek").body
    assert body["thinking"] == {"type": "disabled"} and body["user_id"] == "abc"


def test_caps_are_declared_for_every_vendor() -> None:
    for spec in all_specs():
        caps = spec.caps
        assert caps.params and caps.tool_types and caps.tool_choice and caps.response_formats
        assert "text" in caps.response_formats or spec.name == "anthropic"
        assert caps.max_tokens_field in ("max_tokens", "max_completion_tokens")
        assert caps.params <= OPENAI_PARAMS, spec.name
    assert vendors.get("openai").caps.max_tokens_field == "max_completion_tokens"
