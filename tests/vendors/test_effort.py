"""Effort normalisation against the docs/vendors.md §7.2/§7.3 tables (MiniMax, DeepSeek, Zhipu) and its machinery."""

from __future__ import annotations

import json

import pytest

from vendors.effort import (
    VOCABULARY,
    EffortLevels,
    EffortResult,
    normalize_word,
    resolve_effort,
)
from vendors.errors import InvalidEffortError, InvalidRequestError
from vendors.registry import profile_for
from vendors.spec import Wire

CHAT, MSG = Wire.OPENAI_CHAT, Wire.ANTHROPIC_MESSAGES
NO_EFFORT = frozenset({"reasoning_effort"})


def resolve(vendor: str, model: str, level: str | None, wire: Wire = CHAT, **kw) -> EffortResult:
    return resolve_effort(profile_for(vendor, model, wire), level, wire=wire, vendor=vendor, model=model, **kw)


def thinking(kind: str) -> dict:
    return {"thinking": {"type": kind}}


# ── docs/vendors.md §7.2: NormalizeEffort input → output, and §7.3 buildRequest bodies ─────────────────
# (vendor, model, word, level, body, remove); a row per table cell, id = its source.
ROWS = [
    # TestNormalizeEffortMiniMax (§7.2) + TestBuildRequestMiniMaxThinking (§7.3): never reasoning_effort.
    ("minimax", "MiniMax-M3", "auto", "adaptive", thinking("adaptive"), NO_EFFORT),
    ("minimax", "MiniMax-M3", "adaptive", "adaptive", thinking("adaptive"), NO_EFFORT),
    ("minimax", "MiniMax-M3", "disabled", "disabled", thinking("disabled"), NO_EFFORT),
    ("minimax", "MiniMax-M3", "ADAPTIVE", "adaptive", thinking("adaptive"), NO_EFFORT),
    ("minimax", "MiniMax-M3", "off", "disabled", thinking("disabled"), NO_EFFORT),
    ("minimax", "MiniMax-M3", "low", "adaptive", thinking("adaptive"), NO_EFFORT),
    ("minimax", "MiniMax-M3", "medium", "adaptive", thinking("adaptive"), NO_EFFORT),
    ("minimax", "MiniMax-M3", "high", "adaptive", thinking("adaptive"), NO_EFFORT),
    ("minimax", "MiniMax-M3", "xhigh", "disabled", thinking("disabled"), NO_EFFORT),
    ("minimax", "MiniMax-M3", "max", "disabled", thinking("disabled"), NO_EFFORT),
    # The brief's widening of Reasonix's M3 menu: none → disabled; enabled/minimal → adaptive.
    ("minimax", "MiniMax-M3", "none", "disabled", thinking("disabled"), NO_EFFORT),
    ("minimax", "MiniMax-M3", "enabled", "adaptive", thinking("adaptive"), NO_EFFORT),
    ("minimax", "MiniMax-M3", "minimal", "adaptive", thinking("adaptive"), NO_EFFORT),
    # TestEffectiveEffortMiniMax / §7.3 "minimax, effort "" → thinking adaptive, reasoning_effort omitted".
    ("minimax", "MiniMax-M3", None, "adaptive", thinking("adaptive"), NO_EFFORT),
    # M2.x always thinks: nothing sent, the model's own level.
    ("minimax", "MiniMax-M2.7", "high", "model-default", {}, NO_EFFORT),
    ("minimax", "MiniMax-M2.7-highspeed", "auto", "model-default", {}, NO_EFFORT),
    ("minimax", "MiniMax-M2.5", "max", "model-default", {}, NO_EFFORT),
    ("minimax", "MiniMax-M2.1-highspeed", "low", "model-default", {}, NO_EFFORT),
    ("minimax", "MiniMax-M2", "adaptive", "model-default", {}, NO_EFFORT),
    ("minimax", "MiniMax-M2.7", None, None, {}, NO_EFFORT),
    # DeepSeek generic protocol (Reasonix config/effort.go @3618ca16, §7.2) + buildRequest (§7.3).
    ("deepseek", "deepseek-reasoner", "disabled", "disabled", thinking("disabled"), NO_EFFORT),
    ("deepseek", "deepseek-reasoner", "off", "disabled", thinking("disabled"), NO_EFFORT),
    ("deepseek", "deepseek-reasoner", "high", "high",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}, frozenset()),
    ("deepseek", "deepseek-reasoner", "max", "max",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "max"}, frozenset()),
    ("deepseek", "deepseek-chat", "low", "high",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}, frozenset()),
    ("deepseek", "deepseek-chat", "medium", "high",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}, frozenset()),
    ("deepseek", "deepseek-chat", "xhigh", "high",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}, frozenset()),
    # §7.3 TestEffortNormalization: auto → high; unset → nothing (server default), per the brief.
    ("deepseek", "deepseek-reasoner", "auto", "high",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}, frozenset()),
    ("deepseek", "deepseek-reasoner", None, None, {}, frozenset()),
    ("deepseek", "deepseek-v4-flash", None, None, {}, frozenset()),
    # deepseek-v4-flash/-pro (TestDeepSeekV4FlashEffortCapabilityIncludesLow, …CompatibilityAliases).
    ("deepseek", "deepseek-v4-flash", "low", "low",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "low"}, frozenset()),
    # DeepSeek's Thinking Mode guide (EN and ZH): xhigh → high on the server, so Farebox sends high.
    ("deepseek", "deepseek-v4-flash", "xhigh", "high",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}, frozenset()),
    ("deepseek", "deepseek-v4-flash", "medium", "high",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}, frozenset()),
    ("deepseek", "deepseek-v4-pro", "low", "low",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "low"}, frozenset()),
    # DeepSeek's Thinking Mode guide (EN and ZH): xhigh → high on the server, so Farebox sends high.
    ("deepseek", "deepseek-v4-pro", "xhigh", "high",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}, frozenset()),
    ("deepseek", "deepseek-v4-pro", "medium", "high",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}, frozenset()),
    ("deepseek", "deepseek-v4-pro", "max", "max",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "max"}, frozenset()),
    ("deepseek", "deepseek-v4-flash-vision-exp", "low", "low",
     {"thinking": {"type": "enabled"}, "reasoning_effort": "low"}, frozenset()),
    # §7.3 TestBuildRequestDeepSeekDisabled: thinking disabled, reasoning_effort omitted.
    ("deepseek", "deepseek-v4-pro", "disabled", "disabled", thinking("disabled"), NO_EFFORT),
    # Zhipu (TestNormalizeEffortZhipu, §7.2; TestBuildRequestZhipuThinking, §7.3).
    ("zhipu", "glm-4.5-air", "auto", "enabled", thinking("enabled"), NO_EFFORT),
    ("zhipu", "glm-4.5-air", "enabled", "enabled", thinking("enabled"), NO_EFFORT),
    ("zhipu", "glm-4.5-air", "disabled", "disabled", thinking("disabled"), NO_EFFORT),
    ("zhipu", "glm-4.5-air", "ENABLED", "enabled", thinking("enabled"), NO_EFFORT),
    ("zhipu", "glm-4.5-air", "off", "disabled", thinking("disabled"), NO_EFFORT),
    *[("zhipu", "glm-4.5-air", w, "enabled", thinking("enabled"), NO_EFFORT)
      for w in ("low", "medium", "high", "xhigh", "max")],
    # GLM-5.2 takes reasoning_effort high|max with thinking enabled (docs.z.ai; was high → enabled, after Reasonix).
    ("zhipu", "glm-5.2", "disabled", "disabled", thinking("disabled"), NO_EFFORT),
    ("zhipu", "glm-5.2", "high", "high", {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}, frozenset()),
    ("zhipu", "glm-5.1", None, None, {}, NO_EFFORT),    # unset: nothing (brief; Reasonix sends enabled)
    # §7.3 TestBuildRequestNonDeepSeekOmitsThinking: a generic host gets reasoning_effort, no thinking.
    ("compatible", "mimo-v2", "high", "high", {"reasoning_effort": "high"}, frozenset()),
    # §7.3 TestBuildRequestForwardsReasoningEffort: no effort → key absent.
    ("compatible", "qwen3", None, None, {}, frozenset()),
    ("compatible", "qwen3", "auto", None, {}, frozenset()),
]


@pytest.mark.parametrize(("vendor", "model", "word", "level", "body", "remove"), ROWS,
                         ids=[f"{r[1]}-{r[2]}" for r in ROWS])
def test_vendors_md_rows(vendor, model, word, level, body, remove):
    result = resolve(vendor, model, word)
    assert result.level == level
    assert dict(result.body) == body
    assert result.remove == remove
    assert result.requested == (None if word is None else word.strip().lower())
    assert not result.dropped


# Anthropic-wire renderings: MiniMax /anthropic (platform.minimax.io text-chat-anthropic example) and
# DeepSeek /anthropic (§2.3 output_config.effort with the same thinking switch).
MSG_ROWS = [
    ("minimax", "MiniMax-M3", None, thinking("adaptive")),
    ("minimax", "MiniMax-M3", "high", thinking("adaptive")),
    ("minimax", "MiniMax-M3", "off", thinking("disabled")),
    ("minimax", "MiniMax-M2.5", "high", {}),
    ("deepseek", "deepseek-v4-pro", "max", {"thinking": {"type": "enabled"}, "output_config": {"effort": "max"}}),
    ("deepseek", "deepseek-v4-flash", "low", {"thinking": {"type": "enabled"}, "output_config": {"effort": "low"}}),
    ("deepseek", "deepseek-reasoner", "low", {"thinking": {"type": "enabled"}, "output_config": {"effort": "high"}}),
    ("deepseek", "deepseek-v4-pro", "disabled", thinking("disabled")),
    ("zhipu", "glm-5.1", "off", thinking("disabled")),
]


@pytest.mark.parametrize(("vendor", "model", "word", "body"), MSG_ROWS, ids=[f"{r[1]}-{r[2]}" for r in MSG_ROWS])
def test_anthropic_wire_rows(vendor, model, word, body):
    result = resolve(vendor, model, word, MSG)
    assert dict(result.body) == body
    assert "reasoning_effort" in result.remove


# ── Errors list the vendor/model's own levels (§7.2 "usage: /effort auto|…") ──────────────────
ERROR_ROWS = [
    ("minimax", "MiniMax-M3", "turbo", "auto|adaptive|disabled"),     # TestNormalizeEffortMiniMaxRejectsGarbage
    ("minimax", "MiniMax-M3", "", "auto|adaptive|disabled"),
    ("minimax", "MiniMax-M3", "   ", "auto|adaptive|disabled"),
    ("deepseek", "deepseek-reasoner", "turbo", "auto|disabled|high|max"),
    ("deepseek", "deepseek-v4-flash", "turbo", "auto|disabled|low|high|max"),
    ("zhipu", "glm-4.5-air", "turbo", "auto|enabled|disabled"),
    ("minimax", "MiniMax-M2.7", "off", "auto"),
    ("minimax", "MiniMax-M2.7", "none", "auto"),
    ("minimax", "MiniMax-M2.5-highspeed", "disabled", "auto"),
]


@pytest.mark.parametrize(("vendor", "model", "word", "levels"), ERROR_ROWS,
                         ids=[f"{r[1]}-{r[2]!r}" for r in ERROR_ROWS])
def test_errors_list_levels(vendor, model, word, levels):
    with pytest.raises(InvalidEffortError) as info:
        resolve(vendor, model, word)
    text = str(info.value)
    assert f"use {levels}." in text
    assert f"{vendor}/{model}" in text
    assert info.value.vendor == vendor and info.value.model == model
    assert info.value.hint
    assert isinstance(info.value, InvalidRequestError)


def test_minimax_error_hints_are_vendor_specific():
    with pytest.raises(InvalidEffortError) as info:
        resolve("minimax", "MiniMax-M2.7", "off")
    assert "cannot turn thinking off" in str(info.value)
    assert "MiniMax-M3" in info.value.hint
    with pytest.raises(InvalidEffortError) as info:
        resolve("minimax", "MiniMax-M3", "turbo")
    assert "adaptive or disabled" in info.value.hint


def test_m2_off_dropped_with_drop_params():
    result = resolve("minimax", "MiniMax-M2.7", "off", drop_params=True)
    assert result.dropped and result.body == {} and result.level == "model-default"
    assert "cannot turn thinking off" in result.note
    assert result.remove == NO_EFFORT


def test_m2_note_names_the_model():
    assert resolve("minimax", "MiniMax-M2.7", "high").note == (
        "MiniMax-M2.7 always thinks; the model's own level applied"
    )


def test_garbage_is_never_dropped():
    with pytest.raises(InvalidEffortError):
        resolve("minimax", "MiniMax-M3", "turbo", drop_params=True)


# ── Capabilities (§7.2 TestEffortCapability*) ───────────────────────────────────────────────
@pytest.mark.parametrize(("vendor", "model", "levels", "default"), [
    ("minimax", "MiniMax-M3", ("auto", "adaptive", "disabled"), "adaptive"),
    ("minimax", "MiniMax-M2.7", ("auto",), "auto"),
    ("deepseek", "deepseek-reasoner", ("auto", "disabled", "high", "max"), "high"),
    ("deepseek", "deepseek-v4-flash", ("auto", "disabled", "low", "high", "max"), "high"),
    ("deepseek", "deepseek-v4-pro", ("auto", "disabled", "low", "high", "max"), "high"),
    ("zhipu", "glm-4.5-air", ("auto", "enabled", "disabled"), "enabled"),
    ("moonshot", "kimi-k3", ("auto", "low", "high", "max"), "max"),
])
def test_capabilities(vendor, model, levels, default):
    assert profile_for(vendor, model).menu() == EffortLevels(levels=levels, default=default)


# ── Profile None: effort not configurable (§7.2 "Unknown vendor") ─────────────────────────────
def test_not_configurable():
    with pytest.raises(InvalidEffortError, match="effort is not configurable for acme/model-x"):
        resolve_effort(None, "high", wire=CHAT, vendor="acme", model="model-x")
    for word in (None, "auto", " AUTO "):
        result = resolve_effort(None, word, wire=CHAT, vendor="acme", model="model-x")
        assert result.body == {} and result.level is None and not result.dropped
    dropped = resolve_effort(None, "high", wire=CHAT, vendor="acme", model="model-x", drop_params=True)
    assert dropped.dropped and dropped.body == {} and "not configurable" in dropped.note


# ── The vocabulary ───────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(("raw", "word"), [
    (None, None), ("auto", "auto"), ("  High ", "high"), ("XHIGH", "xhigh"), ("\tmax\n", "max"),
])
def test_normalize_word(raw, word):
    assert normalize_word(raw) == word


@pytest.mark.parametrize("raw", ["turbo", "", "  ", "extra-high", "hi"])
def test_normalize_word_rejects(raw):
    with pytest.raises(InvalidEffortError, match="|".join(VOCABULARY).replace("|", r"\|")):
        normalize_word(raw)


def test_vocabulary_is_the_twelve_words():
    assert VOCABULARY == ("auto", "none", "off", "disabled", "enabled", "adaptive",
                          "minimal", "low", "medium", "high", "xhigh", "max")


# ── EffortResult ─────────────────────────────────────────────────────────────────────────────
def test_as_dict():
    result = resolve("deepseek", "deepseek-chat", "xhigh")
    assert result.as_dict() == {
        "requested": "xhigh",
        "level": "high",
        "sent": {"thinking": {"type": "enabled"}, "reasoning_effort": "high"},
        "note": "DeepSeek maps xhigh to high (its Thinking Mode guide); ask for max to go deeper",
        "dropped": False,
    }
    json.dumps(result.as_dict())


def test_bodies_are_fresh_per_call():
    first = resolve("minimax", "MiniMax-M3", "high")
    first.body["thinking"]["type"] = "mutated"
    first.as_dict()["sent"]["thinking"]["type"] = "again"
    assert dict(resolve("minimax", "MiniMax-M3", "high").body) == thinking("adaptive")


def test_remap_notes():
    assert "no depth scale" in resolve("minimax", "MiniMax-M3", "high").note
    assert "Reasonix" in resolve("minimax", "MiniMax-M3", "max").note
    assert resolve("minimax", "MiniMax-M3", "adaptive").note is None
    assert "high applied" in resolve("deepseek", "deepseek-chat", "low").note
    assert "maps xhigh to high" in resolve("deepseek", "deepseek-v4-pro", "xhigh").note
