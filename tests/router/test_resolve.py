"""Model names to targets: "vendor/model", bare names and aliases; ConfigErrors raised before any request."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import uuid
from pathlib import Path
from typing import Any

import pytest

import router
import router.resolve as resolve_module
from router import errors
from router.api import prepare
from router.emulator import Emulator, key_fingerprint
from router.resolve import resolve
from vendors import catalogue

KEY = "sk-api-SECRET-abcdefghijklmnop"
HI = [{"role": "user", "content": "Hi"}]
ENV_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "MINIMAX_API_KEY", "DEEPSEEK_API_KEY", "MOONSHOT_API_KEY",
            "ZHIPU_API_KEY", "COMPATIBLE_API_KEY")


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_KEYS:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(("model", "vendor", "wire_model", "url"), [
    ("minimax/MiniMax-M3", "minimax", "MiniMax-M3", "https://api.minimax.io/v1/chat/completions"),
    ("MiniMax-M3", "minimax", "MiniMax-M3", "https://api.minimax.io/v1/chat/completions"),
    ("deepseek-chat", "deepseek", "deepseek-chat", "https://api.deepseek.com/chat/completions"),
    ("deepseek/deepseek-chat", "deepseek", "deepseek-chat", "https://api.deepseek.com/chat/completions"),
    ("openai/gpt-5.1", "openai", "gpt-5.1", "https://api.openai.com/v1/chat/completions"),
    ("gpt-5.1", "openai", "gpt-5.1", "https://api.openai.com/v1/chat/completions"),
])
def test_names_resolve_without_network(model: str, vendor: str, wire_model: str, url: str) -> None:
    target = resolve(model, api_key=KEY)
    assert (target.vendor, target.model, target.url) == (vendor, wire_model, url)
    assert target.catalogue_id is not None
    assert KEY not in repr(target)


def test_alias_maps_to_its_catalogue_row() -> None:
    target = resolve("deepseek-chat", api_key=KEY)
    assert target.model == "deepseek-chat"  # sent as the caller named it
    assert target.catalogue_id and target.catalogue_id != "deepseek-chat"  # priced as the model it aliases


def test_key_from_the_vendor_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIMAX_API_KEY", KEY)
    target = resolve("MiniMax-M3")
    assert target.headers["authorization"] == f"Bearer {KEY}"


def test_env_key_is_sent_to_the_emulator(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
    resp = router.completion("deepseek/deepseek-chat", HI, base_url=emu.base_url("deepseek"))
    assert resp.vendor == "deepseek" and resp.model == "deepseek-chat"
    assert emu.last_request().key_fingerprint == key_fingerprint(KEY)


def test_vendor_prefix_with_emulator_base_url(emu: Emulator) -> None:
    resp = router.completion("minimax/MiniMax-M3", HI, api_key=KEY, base_url=emu.base_url("minimax"))
    assert resp.vendor == "minimax"
    rec = emu.last_request()
    assert rec.path == "/minimax/v1/chat/completions" and rec.body["model"] == "MiniMax-M3"
    assert rec.body["reasoning_split"] is True  # MiniMax's own request patch ran: the vendor spec was used


@pytest.mark.parametrize(("model", "suggested"), [
    ("MiniMax-M33", "minimax/MiniMax-M3"),
    ("minimax/MiniMax-M33", "minimax/MiniMax-M3"),
    ("deepseek-chatt", "deepseek/deepseek-chat"),
])
def test_unknown_model_names_nearest(emu: Emulator, model: str, suggested: str) -> None:
    with pytest.raises(errors.ConfigError) as info:
        router.completion(model, HI, api_key=KEY)
    assert suggested in str(info.value)
    assert "unknown model" in str(info.value)
    assert emu.requests == []


async def test_unknown_model_async(emu: Emulator) -> None:
    with pytest.raises(errors.ConfigError, match="minimax/MiniMax-M3"):
        await router.acompletion("MiniMax-M33", HI, api_key=KEY)
    assert emu.requests == []


def test_unknown_vendor_prefix_without_base_url(emu: Emulator) -> None:
    with pytest.raises(errors.ConfigError):
        router.completion("nosuchvendor/some-model", HI, api_key=KEY)
    assert emu.requests == []


@pytest.mark.parametrize(("model", "profile", "env"), [
    ("minimax/MiniMax-M3", "minimax", "MINIMAX_API_KEY"),
    ("MiniMax-M3", None, "MINIMAX_API_KEY"),
    ("deepseek-chat", None, "DEEPSEEK_API_KEY"),
    ("openai/gpt-5.1", None, "OPENAI_API_KEY"),
])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_missing_key_names_env_var(emu: Emulator, model: str, profile: str | None, env: str, stream: bool) -> None:
    kw: dict[str, Any] = {"base_url": emu.base_url(profile)} if profile else {}
    with pytest.raises(errors.ConfigError) as info:
        router.completion(model, HI, stream=stream, **kw)
    assert env in str(info.value)
    assert emu.requests == []


def test_missing_key_async(emu: Emulator) -> None:
    async def go() -> None:
        await router.acompletion("minimax/MiniMax-M3", HI, base_url=emu.base_url("minimax"))

    with pytest.raises(errors.ConfigError, match="MINIMAX_API_KEY"):
        asyncio.run(go())
    assert emu.requests == []


def test_compatible_needs_no_key_but_needs_base_url(emu: Emulator) -> None:
    with pytest.raises(errors.ConfigError, match="base_url"):
        router.completion("compatible/local-model", HI)
    assert prepare("compatible/local-model", HI, base_url=emu.base_url("compatible")).target.vendor == "compatible"
    assert emu.requests == []


def test_vendor_prefix_against_another_vendors_host_refused(emu: Emulator) -> None:
    with pytest.raises(errors.ConfigError, match="deepseek"):
        router.completion("minimax/MiniMax-M3", HI, api_key=KEY, base_url="https://api.deepseek.com")
    assert emu.requests == []


def test_known_host_detected_from_base_url() -> None:
    target = resolve("MiniMax-M3", base_url="https://api.minimaxi.com/v1", api_key=KEY)
    assert (target.vendor, target.region) == ("minimax", "cn")
    target = resolve("some-new-model", base_url="https://api.deepseek.com", api_key=KEY)
    assert target.vendor == "deepseek" and target.model == "some-new-model"


def test_bare_unknown_model_with_loopback_base_url_is_compatible(emu: Emulator) -> None:
    target = prepare("my-local-llm", HI, base_url=emu.base_url("compatible")).target
    assert (target.vendor, target.model) == ("compatible", "my-local-llm")
    assert target.url == emu.base_url("compatible") + "/chat/completions"


def test_invalid_messages_raised_before_any_request(emu: Emulator) -> None:
    for bad in ([], [{"role": "robot", "content": "x"}], [{"role": "tool", "content": "x"}], "hi"):
        with pytest.raises(errors.InvalidRequestError):
            router.completion("openai/gpt-5.1", bad, api_key=KEY, base_url=emu.base_url("openai"))
    with pytest.raises(errors.InvalidRequestError):
        router.completion("openai/gpt-5.1", HI, api_key=KEY, base_url=emu.base_url("openai"),
                          extra_body={"model": "other"})
    assert emu.requests == []


# ── one pass: resolve asks the catalogue one question and builds the Target from the answer ──────────
def test_a_resolution_asks_the_catalogue_once_and_a_repeat_asks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def counting(model: str, **kwargs: Any) -> catalogue.Match:
        asked.append(model)
        return catalogue.lookup(model, **kwargs)

    monkeypatch.setattr(resolve_module, "lookup", counting)
    fresh = uuid.uuid4().hex[:8]  # a path or name never resolved before, so no cache answers for it
    cases: list[tuple[str, dict[str, Any], str, str | None]] = [
        ("minimax/MiniMax-M3", {"base_url": f"https://api.minimaxi.com/v1/{fresh}"}, "minimax", "cn"),
        ("deepseek-chat", {"base_url": f"https://api.deepseek.com/{fresh}"}, "deepseek", None),
        (f"ollama/llama-{fresh}", {}, "compatible", None),
        (f"hosted_vllm/m-{fresh}", {"base_url": "http://127.0.0.1:8000/v1"}, "compatible", None),
        (f"some-model-{fresh}", {"base_url": "http://10.1.2.3:8000/v1"}, "compatible", None),
    ]
    for n, (model, kwargs, vendor, region) in enumerate(cases, start=1):
        target = resolve(model, api_key=KEY, **kwargs)
        assert (target.vendor, target.region) == (vendor, region)
        assert len(asked) == n, asked
        assert resolve(model, api_key=KEY, **kwargs) is target   # cached: the catalogue is not asked again
        assert len(asked) == n


def test_the_one_answer_is_a_frozen_record_holding_everything_the_target_needs() -> None:
    match = catalogue.lookup("deepseek-chat", wire="anthropic")
    assert dataclasses.is_dataclass(match) and match.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert (match.spec.name, match.model, match.region) == ("deepseek", "deepseek-chat", "global")
    assert match.catalogue_id and match.catalogue_id != "deepseek-chat"        # the alias's canonical row
    assert match.surface.wire.value == "anthropic_messages" and match.url == "https://api.deepseek.com/anthropic/v1/messages"
    target = resolve("deepseek-chat", api_key=KEY, wire="anthropic")
    assert (target.spec, target.model, target.catalogue_id, target.surface, target.region, target.url) == (
        match.spec, match.model, match.catalogue_id, match.surface, match.region, match.url)


def test_resolve_reaches_the_vendor_facts_only_through_the_catalogue_lookup() -> None:
    # No back-and-forth: router/resolve.py imports nothing from the registry and only the lookup from the catalogue.
    tree = ast.parse(Path(resolve_module.__file__).read_text(encoding="utf-8"))
    imported = {(node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert {name for module, name in imported if module == "vendors.catalogue"} == {"Match", "lookup"}
    assert not any(module in ("vendors.registry", "vendors") for module, _ in imported)
