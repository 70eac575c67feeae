"""A Router that cannot work says so when it is built, naming the deployment; an unknown alias lists the aliases."""

from __future__ import annotations

import pytest

import router
from router import errors
from router.emulator import Emulator
from tests.conftest import KEY

HI = [{"role": "user", "content": "Hi"}]


def test_unknown_model_names_the_deployment() -> None:
    with pytest.raises(errors.ConfigError, match=r"deployment 'smart:minimax/MiniMax-M99'.*MiniMax") as info:
        router.Router([{"alias": "smart", "model": "minimax/MiniMax-M99", "api_key": KEY}])
    assert KEY not in str(info.value)


def test_missing_key_names_the_deployment_and_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEEPSEEK_API_KEY", raising=False)
    with pytest.raises(errors.ConfigError, match=r"deployment 'backup'.*DEEPSEEK_API_KEY"):
        router.Router([{"alias": "a", "model": "openai/gpt-5.1", "api_key": KEY},
                       {"alias": "a", "name": "backup", "model": "deepseek/deepseek-chat"}])
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    router.Router([{"alias": "a", "name": "backup", "model": "deepseek/deepseek-chat"}])


def test_bad_deployment_params_name_the_deployment() -> None:
    with pytest.raises(errors.ConfigError, match=r"deployment 'a:openai/gpt-5.1'.*temperature"):
        router.Router([{"alias": "a", "model": "openai/gpt-5.1", "api_key": KEY, "params": {"temperature": 9}}])
    with pytest.raises(errors.ConfigError, match=r"temprature.*temperature"):
        router.Router([{"alias": "a", "model": "openai/gpt-5.1", "api_key": KEY, "params": {"temprature": 1}}])


def test_model_list_entry_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(errors.ConfigError, match="ANTHROPIC_API_KEY"):
        router.Router(model_list=[{"model_name": "c", "litellm_params": {"model": "anthropic/claude-sonnet-4-6"}}])


def test_unknown_alias_lists_the_aliases(emu: Emulator) -> None:
    r = router.Router([{"alias": "smart", "model": "openai/gpt-5.1", "api_key": KEY,
                        "base_url": emu.base_url("openai")},
                       {"alias": "cheap", "model": "openai/gpt-4o-mini", "api_key": KEY,
                        "base_url": emu.base_url("openai")}])
    with pytest.raises(errors.ConfigError, match=r"'smrt'.*aliases: smart, cheap"):
        r.completion("smrt", HI)
    assert emu.requests == []
    assert r.completion("smart", HI).alias == "smart"


def test_deployment_params_reach_the_wire(emu: Emulator) -> None:
    r = router.Router(model_list=[{"model_name": "a", "litellm_params": {
        "model": "openai/gpt-5.1", "api_key": KEY, "api_base": emu.base_url("openai"), "temperature": 0.3,
        "timeout": 20, "max_retries": 0}}])
    emu.fault(status=500)
    with pytest.raises(errors.AllDeploymentsFailedError) as info:
        r.completion("a", HI)
    assert len(info.value.attempts) == 1  # max_retries 0 -> one request
    r.completion("a", HI)
    assert emu.last_request().body["temperature"] == 0.3


