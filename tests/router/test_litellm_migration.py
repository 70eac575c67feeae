"""Typical LiteLLM code, with only `import litellm` replaced by `import router as litellm`, against the emulator.

Each snippet is written as a LiteLLM user writes it (their docs' shapes); only the addresses point at the emulator.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import router as litellm
from router.emulator import Emulator
from tests.conftest import KEY

MESSAGES = [{"role": "user", "content": "Hello, how are you?"}]


@pytest.fixture
def env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    return emu


def test_completion(env: Emulator) -> None:
    response = litellm.completion(model="openai/gpt-5.1", messages=MESSAGES, api_base=env.base_url("openai"),
                                  temperature=0.2, max_tokens=100)
    print(response.choices[0].message.content)
    assert response.choices[0].message.content.startswith("Hello from the openai emulator")


def test_dict_style_access_and_model_dump(env: Emulator) -> None:
    response = litellm.completion(model="openai/gpt-5.1", messages=MESSAGES, api_base=env.base_url("openai"))
    content = response["choices"][0]["message"]["content"]
    assert content == response.choices[0].message.content
    assert response["usage"]["total_tokens"] == response.usage.total_tokens
    dumped = response.model_dump()
    assert dumped["choices"][0]["message"]["content"] == content
    text = json.dumps(response.model_dump(mode="json"))  # money as exact decimal strings
    assert json.loads(text)["cost"]["total"] == str(response.cost.total)
    assert float(response.cost) == float(response.cost.total)


def test_acompletion(env: Emulator) -> None:
    async def main() -> Any:
        return await litellm.acompletion(model="anthropic/claude-sonnet-4-6", messages=MESSAGES,
                                         api_base=env.base_url("anthropic"), max_tokens=256)

    response = asyncio.run(main())
    assert response.choices[0].message.content.startswith("Hello from the anthropic emulator")


def test_streaming(env: Emulator) -> None:
    response = litellm.completion(model="openai/gpt-5.1", messages=MESSAGES, api_base=env.base_url("openai"),
                                  stream=True)
    parts = []
    for part in response:
        parts.append(part.choices[0].delta.content or "")
    assert "".join(parts).startswith("Hello from the openai emulator")


def test_streaming_with_include_usage(env: Emulator) -> None:
    response = litellm.completion(model="openai/gpt-5.1", messages=MESSAGES, api_base=env.base_url("openai"),
                                  stream=True, stream_options={"include_usage": True})
    chunks = list(response)
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1])


def test_async_streaming(env: Emulator) -> None:
    async def main() -> str:
        response = await litellm.acompletion(model="deepseek/deepseek-chat", messages=MESSAGES,
                                             api_base=env.base_url("deepseek"), stream=True)
        out = ""
        async for chunk in response:
            out += chunk.choices[0].delta.content or ""
        return out

    assert asyncio.run(main()).startswith("Hello from the deepseek emulator")


def test_tools(env: Emulator) -> None:
    tools = [{
        "type": "function",
        "function": {
            "name": "get_current_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                "required": ["location"],
            },
        },
    }]
    messages = [{"role": "user", "content": "What's the weather like in Boston today?"}]
    response = litellm.completion(model="openai/gpt-5.1", messages=messages, tools=tools, tool_choice="auto",
                                  api_base=env.base_url("openai"))
    tool_calls = response.choices[0].message.tool_calls
    assert tool_calls[0].function.name == "get_current_weather"
    assert json.loads(tool_calls[0].function.arguments) == {"location": "Paris"}
    messages.append(response.choices[0].message)
    messages.append({"tool_call_id": tool_calls[0].id, "role": "tool", "name": "get_current_weather",
                     "content": '{"temperature": 22}'})
    second = litellm.completion(model="openai/gpt-5.1", messages=messages, api_base=env.base_url("openai"))
    assert "The tool returned" in second.choices[0].message.content


class CalendarEvent(BaseModel):
    name: str
    date: str
    participants: list[str]


def test_response_format_pydantic(env: Emulator) -> None:
    resp = litellm.completion(model="openai/gpt-5.1", messages=MESSAGES, response_format=CalendarEvent,
                              api_base=env.base_url("openai"))
    event = CalendarEvent.model_validate_json(resp.choices[0].message.content)
    assert event == resp.choices[0].message.parsed


def test_completion_cost(env: Emulator) -> None:
    response = litellm.completion(model="openai/gpt-5.1", messages=MESSAGES, api_base=env.base_url("openai"))
    cost = litellm.completion_cost(completion_response=response)
    assert isinstance(cost, Decimal) and cost > 0
    formatted = f"${float(cost):.10f}"
    assert formatted.startswith("$0.")


def test_router_model_list_with_fallbacks(env: Emulator) -> None:
    model_list = [
        {"model_name": "gpt-main", "litellm_params": {"model": "openai/gpt-5.1", "api_key": KEY,
                                                      "api_base": env.base_url("openai"), "rpm": 100}},
        {"model_name": "claude-backup", "litellm_params": {"model": "anthropic/claude-sonnet-4-6",
                                                           "api_key": KEY, "api_base": env.base_url("anthropic"),
                                                           "timeout": 30, "max_retries": 0}},
    ]
    r = litellm.Router(model_list=model_list, fallbacks=[{"gpt-main": ["claude-backup"]}], num_retries=0,
                       timeout=30, routing_strategy="simple-shuffle")
    env.fault(vendor="openai", status=500, times=-1)
    response = r.completion(model="gpt-main", messages=MESSAGES)
    assert response.choices[0].message.content.startswith("Hello from the anthropic emulator")
    assert [a.vendor for a in response.attempts] == ["openai", "anthropic"]


def test_router_from_yaml(env: Emulator, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"""
model_list:
  - model_name: gpt-main
    litellm_params:
      model: openai/gpt-5.1
      api_base: {env.base_url("openai")}
  - model_name: backup
    litellm_params:
      model: deepseek/deepseek-chat
      api_base: {env.base_url("deepseek")}
fallbacks: [{{"gpt-main": ["backup"]}}]
num_retries: 0
""")
    r = litellm.Router.from_file(str(config))
    env.fault(vendor="openai", status=503, times=-1)
    response = r.completion(model="gpt-main", messages=MESSAGES)
    assert response.vendor == "deepseek" and response.alias == "backup"


def test_catching_litellm_errors(env: Emulator) -> None:
    env.fault(status=429, retry_after=0)
    with pytest.raises(litellm.RateLimitError):
        litellm.completion(model="openai/gpt-5.1", messages=MESSAGES, api_base=env.base_url("openai"), num_retries=0)
    env.fault(status=400)
    try:
        litellm.completion(model="openai/gpt-5.1", messages=MESSAGES, api_base=env.base_url("openai"))
    except litellm.BadRequestError as exc:
        assert exc.status_code == 400
    else:
        pytest.fail("no BadRequestError")
    env.fault(status=500, times=-1)
    with pytest.raises(litellm.InternalServerError):
        litellm.completion(model="openai/gpt-5.1", messages=MESSAGES, api_base=env.base_url("openai"), num_retries=0)


def test_error_names_are_farebox_classes() -> None:
    from router import errors

    assert litellm.BadRequestError is errors.InvalidRequestError
    assert litellm.ContentPolicyViolationError is errors.ContentPolicyError
    assert litellm.Timeout is errors.APITimeoutError
    assert issubclass(litellm.InternalServerError, errors.ServiceUnavailableError)
    for name in ("RateLimitError", "AuthenticationError", "ContextWindowExceededError", "APIConnectionError",
                 "ServiceUnavailableError"):
        assert getattr(litellm, name) is getattr(errors, name)


@pytest.mark.parametrize("prefix", ["ollama", "ollama_chat", "hosted_vllm", "lm_studio", "openai"])
def test_local_server_prefixes(emu: Emulator, monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    response = litellm.completion(model=f"{prefix}/llama3", messages=MESSAGES, api_base=emu.base_url("compatible"))
    assert response.choices[0].message.content
    rec = emu.last_request()
    assert rec.body["model"] == "llama3" and rec.key_fingerprint is None


def test_ollama_bare_server_address_gets_v1(emu: Emulator) -> None:
    from router.resolve import resolve

    target = resolve("ollama/llama3", base_url="http://127.0.0.1:11434")
    assert target.url == "http://127.0.0.1:11434/v1/chat/completions" and target.vendor == "compatible"
    assert resolve("ollama/llama3").url == "http://localhost:11434/v1/chat/completions"
    with pytest.raises(litellm.errors.ConfigError, match="base_url"):
        resolve("hosted_vllm/x")


def test_unsupported_litellm_router_fields_are_named(env: Emulator) -> None:
    ok = [{"model_name": "a", "litellm_params": {"model": "openai/gpt-5.1", "api_base": env.base_url("openai")}}]
    with pytest.raises(litellm.errors.ConfigError, match="least-busy"):
        litellm.Router(model_list=ok, routing_strategy="least-busy")
    with pytest.raises(litellm.errors.ConfigError, match="redis_host"):
        litellm.Router(model_list=ok, redis_host="localhost")
    bad = [{"model_name": "a", "litellm_params": {"model": "openai/gpt-5.1", "input_cost_per_token": 1}}]
    with pytest.raises(litellm.errors.ConfigError, match="input_cost_per_token"):
        litellm.Router(model_list=bad)
    with pytest.raises(litellm.errors.ConfigError, match="mock_response"):
        litellm.completion(model="openai/gpt-5.1", messages=MESSAGES, mock_response="hi")


@pytest.mark.parametrize(("name", "strategy"), [("simple-shuffle", "weighted"),
                                                ("latency-based-routing", "lowest-latency"),
                                                ("cost-based-routing", "lowest-cost")])
def test_routing_strategies_map(env: Emulator, name: str, strategy: str) -> None:
    ok = [{"model_name": "a", "litellm_params": {"model": "openai/gpt-5.1", "api_base": env.base_url("openai"),
                                                 "tpm": 1000}}]
    r = litellm.Router(model_list=ok, routing_strategy=name)
    assert r.config.strategy == strategy and r.config.deployments[0].weight == 1000
