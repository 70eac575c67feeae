"""Every effort profile is total and self-consistent; profile_for picks the right one; OpenAI, Claude, Kimi rows."""

from __future__ import annotations

import json

import pytest

from vendors.effort import (
    VOCABULARY,
    Decision,
    EffortProfile,
    WireShape,
    by_words,
    effort_levels_of,
    keep,
    reasoning_effort,
    resolve_effort,
    use,
)
from vendors.errors import InvalidEffortError
from vendors.registry import effort_profiles, profile_for
from vendors.spec import Wire

CHAT, MSG = Wire.OPENAI_CHAT, Wire.ANTHROPIC_MESSAGES
PROFILES = sorted(effort_profiles().values(), key=lambda p: p.name)


def resolve(vendor, model, level, wire=CHAT, *, first_party=True, **kw):
    # An Anthropic model behind a host other than Anthropic's own is the compatible vendor's (a gateway).
    profile = profile_for(vendor if first_party else "compatible", model, wire)
    return resolve_effort(profile, level, wire=wire, vendor=vendor, model=model, **kw)


# ── Conformance: every profile × every word ─────────────────────────────────────────────────
@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_table_is_total(profile):
    assert set(profile.table) == set(VOCABULARY)
    assert all(isinstance(profile.table[w], Decision) for w in VOCABULARY)
    assert profile.levels[0] == "auto"
    assert profile.default in profile.levels
    assert len(set(profile.levels)) == len(profile.levels)
    assert profile.wires, "a profile must be sendable on some wire"


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_every_level_is_accepted(profile):
    for level in profile.levels:
        assert not profile.table[level].invalid, level
        for wire in profile.wires:
            result = resolve_effort(profile, level, wire=wire, vendor="v", model="m", max_tokens=100_000)
            assert not result.dropped


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
@pytest.mark.parametrize("word", [None, *VOCABULARY])
def test_every_word_resolves_or_lists_levels(profile, word):
    for wire in profile.wires:
        try:
            result = resolve_effort(profile, word, wire=wire, vendor="v", model="m", max_tokens=100_000)
        except InvalidEffortError as exc:
            assert f"use {profile.usage}" in str(exc)
            dropped = resolve_effort(profile, word, wire=wire, vendor="v", model="m", drop_params=True)
            assert dropped.dropped and dropped.body == {} and dropped.note
            continue
        json.dumps(result.as_dict())
        assert not (set(result.body) & result.remove), "a key cannot be both sent and removed"
        if profile.table.get(word or "", profile.unset).send is False and word is not None:
            assert result.body == {}


def test_profile_names_match_registry_keys():
    assert all(name == p.name for name, p in effort_profiles().items())


def test_a_partial_table_is_refused():
    with pytest.raises(ValueError, match="missing"):
        EffortProfile("broken", ("auto",), "auto", {"auto": keep()}, {CHAT: WireShape(reasoning_effort)})


def test_a_level_the_table_refuses_is_refused():
    table = {w: keep() for w in VOCABULARY} | {"high": Decision(send=False, error="no")}
    with pytest.raises(ValueError, match="not accepted"):
        EffortProfile("broken", ("auto", "high"), "auto", table, {CHAT: WireShape(reasoning_effort)})


def test_by_words_refuses_duplicates():
    with pytest.raises(ValueError, match="twice"):
        by_words({"low high": use("high"), "high": use("high")})


def test_effort_levels_of_none():
    levels = effort_levels_of(None)
    assert levels.levels == ("auto",) and not levels.configurable


# ── profile_for rules ──────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(("vendor", "model", "wire", "first_party", "name"), [
    ("minimax", "MiniMax-M3", CHAT, True, "minimax-m3"),
    ("minimax", "MiniMax-M3", MSG, True, "minimax-m3"),
    ("minimax", "minimax-m3.1-flash", CHAT, True, "minimax-m3"),
    ("minimax", "MiniMax-M2.7-highspeed", CHAT, True, "minimax-m2"),
    ("minimax", "MiniMax-M2.1-lightning", CHAT, True, "minimax-m2"),
    ("minimax", "MiniMax-M2-Stable", CHAT, True, "minimax-m2"),
    ("minimax", "MiniMax-Text-01", CHAT, True, None),
    ("deepseek", "deepseek-v4-flash", CHAT, True, "deepseek-v4"),
    ("deepseek", "deepseek-flash", CHAT, True, "deepseek-v4"),
    ("deepseek", "deepseek-flash", MSG, True, "deepseek-v4"),
    ("deepseek", "DeepSeek-V4-Pro", MSG, True, "deepseek-v4"),
    ("deepseek", "deepseek-v4-flash-vision-exp", CHAT, True, "deepseek-v4"),
    ("deepseek", "deepseek-reasoner", CHAT, True, "deepseek"),
    ("deepseek", "deepseek-chat", CHAT, True, "deepseek"),
    ("zhipu", "glm-4.5-air", CHAT, True, "glm"),
    ("zhipu", "GLM-5.2", MSG, True, "glm-5.2"),
    ("zhipu", "glm-5.3-flash", CHAT, True, "glm-5.3"),
    ("zhipu", "glm-5.1", CHAT, True, "glm"),
    ("zhipu", "glm-5v-turbo", CHAT, True, "glm"),
    ("zhipu", "cogview-4", CHAT, True, None),
    ("moonshot", "kimi-k3", CHAT, True, "kimi-k3"),
    ("moonshot", "kimi-k2.6", CHAT, True, "kimi-k2"),
    ("moonshot", "kimi-k2.5", CHAT, True, "kimi-k2"),
    ("moonshot", "moonshot-v1-8k", CHAT, True, None),
    ("openai", "gpt-5", CHAT, True, "openai-gpt-5"),
    ("openai", "gpt-5-mini", CHAT, True, "openai-gpt-5"),
    ("openai", "gpt-5-nano-2025-08-07", CHAT, True, "openai-gpt-5"),
    ("openai", "gpt-5-pro", CHAT, True, "openai-gpt-5-pro"),
    ("openai", "gpt-5-chat-latest", CHAT, True, "openai-non-reasoning"),
    ("openai", "gpt-5.1", CHAT, True, "openai-gpt-5.1"),
    ("openai", "gpt-5.1-codex", CHAT, True, "openai-gpt-5.1"),
    ("openai", "gpt-5.1-codex-max", CHAT, True, "openai-codex-max"),
    ("openai", "gpt-5.2", CHAT, True, "openai-gpt-5.2+"),
    ("openai", "gpt-5.4-mini", CHAT, True, "openai-gpt-5.2+"),
    ("openai", "o3", CHAT, True, "openai-o-series"),
    ("openai", "o4-mini", CHAT, True, "openai-o-series"),
    ("openai", "o1", CHAT, True, "openai-o-series"),
    ("openai", "o1-mini", CHAT, True, None),
    ("openai", "gpt-4o", CHAT, True, "openai-non-reasoning"),
    ("openai", "gpt-4o-mini", CHAT, True, "openai-non-reasoning"),
    ("openai", "gpt-4.1-nano", CHAT, True, "openai-non-reasoning"),
    ("openai", "gpt-3.5-turbo", CHAT, True, "openai-non-reasoning"),
    ("openai", "chatgpt-4o-latest", CHAT, True, "openai-non-reasoning"),
    ("openai", "some-future-model", CHAT, True, "openai-passthrough"),
    ("anthropic", "claude-opus-4-6", MSG, True, "claude-adaptive"),
    ("anthropic", "claude-sonnet-4-6", MSG, True, "claude-adaptive"),
    ("anthropic", "claude-opus-4-7", MSG, True, "claude-adaptive-xhigh"),
    ("anthropic", "claude-sonnet-5-5", MSG, True, "claude-adaptive-xhigh"),
    ("anthropic", "claude-mythos-preview", MSG, True, "claude-adaptive-xhigh"),
    ("anthropic", "claude-opus-4-5-20251101", MSG, True, "claude-budget"),
    ("anthropic", "claude-sonnet-4-5", MSG, True, "claude-budget"),
    ("anthropic", "claude-haiku-4-5-20251001", MSG, True, "claude-budget"),
    ("anthropic", "claude-sonnet-4-20250514", MSG, True, "claude-budget"),
    ("anthropic", "claude-opus-4-1-20250805", MSG, True, "claude-budget"),
    ("anthropic", "claude-3-7-sonnet-20250219", MSG, True, "claude-budget"),
    ("anthropic", "claude-3-5-haiku-latest", MSG, True, "claude-no-thinking"),
    ("anthropic", "claude-opus-4-6", MSG, False, "anthropic-gateway"),
    ("compatible", "qwen3-32b", CHAT, True, "compatible"),
    ("compatible", "qwen3-32b", MSG, True, "anthropic-gateway"),
    ("acme", "model-x", CHAT, True, None),
])
def test_profile_for(vendor, model, wire, first_party, name):
    # An Anthropic model behind a host other than Anthropic's own is the compatible vendor's (a gateway).
    profile = profile_for(vendor if first_party else "compatible", model, wire)
    assert (profile.name if profile else None) == name


# ── OpenAI (docs/vendors.md §6) ─────────────────────────────────────────────────────────────────
OPENAI_ROWS = [
    ("gpt-5.1", "none", "none"), ("gpt-5.1", "off", "none"), ("gpt-5.1", "disabled", "none"),
    ("gpt-5.1", "low", "low"), ("gpt-5.1", "high", "high"), ("gpt-5.1", "max", "high"),
    ("gpt-5", "minimal", "minimal"), ("gpt-5", "medium", "medium"), ("gpt-5", "max", "high"),
    ("gpt-5-pro", "high", "high"), ("gpt-5-pro", "max", "high"),
    ("o3", "low", "low"), ("o4-mini", "max", "high"),
    ("gpt-5.1-codex-max", "xhigh", "xhigh"), ("gpt-5.1-codex-max", "max", "xhigh"),
    ("gpt-5.2", "none", "none"), ("gpt-5.2", "xhigh", "xhigh"), ("gpt-5.2", "max", "xhigh"),
    ("some-future-model", "minimal", "minimal"), ("some-future-model", "off", "none"),
]


@pytest.mark.parametrize(("model", "word", "sent"), OPENAI_ROWS, ids=[f"{m}-{w}" for m, w, _ in OPENAI_ROWS])
def test_openai_sends_reasoning_effort(model, word, sent):
    result = resolve("openai", model, word)
    assert dict(result.body) == {"reasoning_effort": sent} and result.level == sent


@pytest.mark.parametrize(("model", "word", "levels"), [
    ("gpt-5.1", "minimal", "auto|none|low|medium|high"),       # §6: unsupported_value on gpt-5.1
    ("gpt-5.1", "xhigh", "auto|none|low|medium|high"),
    ("gpt-5.1", "enabled", "auto|none|low|medium|high"),       # reasons only when asked for a level
    ("gpt-5", "none", "auto|minimal|low|medium|high"),         # §6: models before 5.1 reject none
    ("gpt-5", "off", "auto|minimal|low|medium|high"),
    ("gpt-5", "xhigh", "auto|minimal|low|medium|high"),
    ("gpt-5-pro", "low", "auto|high"),                         # §6: gpt-5-pro only high
    ("o3", "minimal", "auto|low|medium|high"),
    ("gpt-5.1-codex-max", "none", "auto|low|medium|high|xhigh"),
    ("gpt-4o", "high", "auto|none"),
    ("some-future-model", "max", "auto|none|minimal|low|medium|high|xhigh"),
])
def test_openai_refuses_what_the_family_rejects(model, word, levels):
    with pytest.raises(InvalidEffortError) as info:
        resolve("openai", model, word)
    assert f"use {levels}." in str(info.value)


def test_openai_non_reasoning():
    with pytest.raises(InvalidEffortError, match="not a reasoning model"):
        resolve("openai", "gpt-4o", "high")
    for word in (None, "auto", "none", "off"):
        assert resolve("openai", "gpt-4o", word).body == {}
    dropped = resolve("openai", "gpt-4.1", "high", drop_params=True)
    assert dropped.dropped and dropped.body == {}


@pytest.mark.parametrize(("model", "word", "level"), [
    ("gpt-5", "auto", "medium"), ("gpt-5", "enabled", "medium"), ("gpt-5.1", "auto", "none"),
    ("gpt-5-pro", "adaptive", "high"), ("gpt-5", None, None),
])
def test_openai_defaults_send_nothing(model, word, level):
    result = resolve("openai", model, word)
    assert result.body == {} and result.level == level


# ── Anthropic (docs/vendors.md §5) ──────────────────────────────────────────────────────────────
def adaptive(effort=None):
    body = {"thinking": {"type": "adaptive"}}
    return body | ({"output_config": {"effort": effort}} if effort else {})


@pytest.mark.parametrize(("model", "word", "body"), [
    ("claude-opus-4-6", "high", adaptive("high")),
    ("claude-opus-4-6", "max", adaptive("max")),
    ("claude-sonnet-4-6", "low", adaptive("low")),
    ("claude-sonnet-4-6", "minimal", adaptive("low")),
    ("claude-opus-4-6", "adaptive", adaptive()),
    ("claude-opus-4-6", "enabled", adaptive()),
    ("claude-opus-4-7", "xhigh", adaptive("xhigh")),
    ("claude-opus-4-7", "off", {"thinking": {"type": "disabled"}}),
    ("claude-opus-4-7", "auto", {}),
    ("claude-opus-4-7", None, {}),
])
def test_claude_adaptive(model, word, body):
    assert dict(resolve("anthropic", model, word, MSG).body) == body


def test_claude_46_has_no_xhigh():
    with pytest.raises(InvalidEffortError, match=r"use auto\|adaptive\|disabled\|low\|medium\|high\|max\."):
        resolve("anthropic", "claude-opus-4-6", "xhigh", MSG)


def budget(tokens):
    return {"thinking": {"type": "enabled", "budget_tokens": tokens}}


@pytest.mark.parametrize(("word", "max_tokens", "body"), [
    ("low", 8192, budget(1024)),
    ("minimal", 8192, budget(1024)),
    ("medium", 8192, budget(4096)),
    ("enabled", 8192, budget(4096)),
    ("high", 32000, budget(16384)),
    ("xhigh", 64000, budget(32768)),
    ("max", 128000, budget(63999)),
    ("max", 64000, budget(48000)),            # clamped: a quarter of max_tokens stays for the answer
    ("high", 8192, budget(6144)),             # clamped to max_tokens - max_tokens/4
    ("high", 2048, budget(1024)),             # the smallest max_tokens that leaves room: 1024 + 1024
    ("off", 100, {"thinking": {"type": "disabled"}}),
    ("auto", 100, {}),
])
def test_claude_budget(word, max_tokens, body):
    result = resolve("anthropic", "claude-sonnet-4-5", word, MSG, max_tokens=max_tokens)
    assert dict(result.body) == body
    tokens = body.get("thinking", {}).get("budget_tokens")
    if tokens is not None:
        assert tokens >= 1024 and max_tokens - tokens >= max(max_tokens // 4, 1024)


@pytest.mark.parametrize(("word", "ceiling", "tokens", "total"), [
    ("low", None, 1024, 1024 + 4096), ("medium", None, 4096, 8192), ("high", None, 16384, 16384 + 4096),
    ("max", None, 63999, 63999 + 4096), ("max", 64000, 64000 - 4096, 64000), ("xhigh", 32000, 32000 - 4096, 32000),
    ("medium", 128000, 4096, 8192),
])
def test_claude_budget_without_max_tokens_sizes_it(word, ceiling, tokens, total):
    result = resolve("anthropic", "claude-sonnet-4-5", word, MSG, max_output=ceiling)
    assert dict(result.body) == {**budget(tokens), "max_tokens": total}
    assert total - tokens >= 4096 or total == ceiling


def test_claude_budget_levels_stay_distinct_without_max_tokens():
    budgets = [resolve("anthropic", "claude-sonnet-4-5", w, MSG, max_output=64000).body["thinking"]["budget_tokens"]
               for w in ("low", "medium", "high", "xhigh")]
    assert budgets == sorted(set(budgets))


def test_claude_budget_clamp_is_noted():
    note = resolve("anthropic", "claude-sonnet-4-5", "high", MSG, max_tokens=8192).note
    assert "clamped to 6144" in note and "2048 for the answer" in note
    assert "levels high, xhigh, max collapse" in note


@pytest.mark.parametrize("max_tokens", [2047, 1024, 1000, 1])
def test_claude_budget_needs_room(max_tokens):
    with pytest.raises(InvalidEffortError, match="max_tokens must be at least 2048"):
        resolve("anthropic", "claude-3-7-sonnet-20250219", "low", MSG, max_tokens=max_tokens)
    dropped = resolve("anthropic", "claude-3-7-sonnet-20250219", "low", MSG, max_tokens=max_tokens,
                      drop_params=True)
    assert dropped.dropped and dropped.body == {}


def test_claude_without_thinking():
    with pytest.raises(InvalidEffortError, match="no extended thinking"):
        resolve("anthropic", "claude-3-5-haiku-latest", "high", MSG)
    assert resolve("anthropic", "claude-3-5-haiku-latest", "off", MSG).body == {}


@pytest.mark.parametrize(("word", "body"), [
    ("enabled", {"thinking": {"type": "enabled"}}),
    ("high", {"thinking": {"type": "enabled"}}),
    ("disabled", {"thinking": {"type": "disabled"}}),
    ("auto", {}),
])
def test_undeclared_anthropic_gateway_gets_the_switch_only(word, body):
    for vendor in ("anthropic", "compatible"):
        result = resolve(vendor, "claude-opus-4-6", word, MSG, first_party=False)
        assert dict(result.body) == body and "output_config" not in result.body


# ── Moonshot (docs/vendors.md §4) ───────────────────────────────────────────────────────────────
@pytest.mark.parametrize(("word", "body", "level"), [
    ("low", {"reasoning_effort": "low"}, "low"),
    ("minimal", {"reasoning_effort": "low"}, "low"),
    ("medium", {"reasoning_effort": "high"}, "high"),
    ("high", {"reasoning_effort": "high"}, "high"),
    ("xhigh", {"reasoning_effort": "max"}, "max"),
    ("max", {"reasoning_effort": "max"}, "max"),
    ("auto", {}, "max"),
    (None, {}, None),
])
def test_kimi_k3(word, body, level):
    result = resolve("moonshot", "kimi-k3", word)
    assert dict(result.body) == body and result.level == level


def test_kimi_k3_cannot_stop_thinking():
    with pytest.raises(InvalidEffortError, match=r"cannot turn thinking off; use auto\|low\|high\|max\."):
        resolve("moonshot", "kimi-k3", "off")
    assert resolve("moonshot", "kimi-k3", "none", drop_params=True).dropped


def test_kimi_k3_depth_has_no_anthropic_rendering():
    with pytest.raises(InvalidEffortError, match="anthropic_messages"):
        resolve("moonshot", "kimi-k3", "high", MSG)
    assert resolve("moonshot", "kimi-k3", "auto", MSG).body == {}


@pytest.mark.parametrize(("word", "body"), [
    ("off", {"thinking": {"type": "disabled"}}),
    ("enabled", {"thinking": {"type": "enabled"}}),
    ("high", {"thinking": {"type": "enabled"}}),
    ("auto", {}),
])
def test_kimi_k2(word, body):
    assert dict(resolve("moonshot", "kimi-k2.6", word).body) == body


# ── OpenAI-compatible servers: the word goes through unchanged ───────────────────────────────
@pytest.mark.parametrize("word", [w for w in VOCABULARY if w != "auto"])
def test_compatible_passes_words_through(word):
    result = resolve("compatible", "llama-3.3", f" {word.upper()} ")
    assert dict(result.body) == {"reasoning_effort": word} and result.level == word
