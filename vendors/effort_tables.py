"""Effort profiles per vendor and model family, as data, and `profile_for`, which picks one."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from vendors.effort import (
    VOCABULARY,
    Decision,
    EffortProfile,
    WireShape,
    budget_thinking,
    by_words,
    claude_adaptive,
    deepseek_chat,
    deepseek_messages,
    keep,
    reasoning_effort,
    reject,
    thinking_type,
    use,
)
from vendors.spec import Wire

__all__ = ["ALL_PROFILES", "profile_for"]

# Sources are VENDORS.md sections (tags there); every row below was checked on 2026-11-21.
_CHAT, _MSG = Wire.OPENAI_CHAT, Wire.ANTHROPIC_MESSAGES
_NO_REASONING_EFFORT = frozenset({"reasoning_effort"})
_BOTH_WIRES_THINKING = {
    _CHAT: WireShape(thinking_type, _NO_REASONING_EFFORT),
    _MSG: WireShape(thinking_type, _NO_REASONING_EFFORT),
}

# ── MiniMax ────────────────────────────────────────────────────────────────────────────────────
# M3: thinking.type adaptive|disabled, default adaptive, no depth scale, and reasoning_effort must not
# be sent (§1.4 quirks 2-3 [V-doc]; GodeX minimaxPatchRequest strips it for every MiniMax model). The
# Anthropic surface takes the same object: MiniMax's Messages API example sends
# {"thinking": {"type": "adaptive"}} to MiniMax-M3 (platform.minimax.io text-chat-anthropic, §1.6).
MINIMAX_M3 = EffortProfile(
    name="minimax-m3",
    levels=("auto", "adaptive", "disabled"),
    default="adaptive",
    table=by_words({
        # Reasonix TestNormalizeEffortMiniMax: auto is stored as "" and sent as adaptive (§7.2, §7.3).
        "auto adaptive": use("adaptive"),
        # Reasonix maps low|medium|high to adaptive; enabled/minimal mean "think" just the same.
        "enabled minimal low medium high": use("adaptive", "{model} has no depth scale; thinking adaptive"),
        "none off disabled": use("disabled"),
        # Reasonix TestNormalizeEffortMiniMax maps xhigh and max to disabled (§7.2); kept for parity.
        "xhigh max": use("disabled", "{model} has no level above adaptive; xhigh/max map to disabled "
                                     "(Reasonix convention): ask for adaptive to keep thinking"),
    }),
    wires=_BOTH_WIRES_THINKING,
    hint="MiniMax-M3 has one thinking switch, adaptive or disabled, and no depth scale",
    unset=use("adaptive"),   # §7.3 "minimax, effort "" → thinking adaptive", the vendor default too
)

# M2.x always think and have no control: Archestra says they reject the disable (§1.4 quirk 3,
# unverified §8.2); agentscope: "M2.x models keep thinking enabled even when disabled is requested".
MINIMAX_M2 = EffortProfile(
    name="minimax-m2",
    levels=("auto",),
    default="auto",
    table=by_words({
        "auto enabled adaptive minimal low medium high xhigh max":
            keep("model-default", "{model} always thinks; the model's own level applied"),
        "none off disabled":
            reject("{model} always thinks and cannot turn thinking off", level="model-default"),
    }),
    wires=_BOTH_WIRES_THINKING,
    hint="MiniMax M2.x models always think; use MiniMax-M3 to turn thinking off (thinking: disabled)",
)

# ── DeepSeek ───────────────────────────────────────────────────────────────────────────────────
# thinking enabled|disabled plus reasoning_effort high|max on the OpenAI surface, output_config.effort
# on the Anthropic one (§2.3 [V-doc]); Reasonix sends both keys, and neither depth when disabled (§7.3).
_DEEPSEEK_WIRES = {_CHAT: WireShape(deepseek_chat), _MSG: WireShape(deepseek_messages)}
_DEEPSEEK_HINT = "DeepSeek takes thinking on or off, and depth high or max (deepseek-v4-* also low)"

DEEPSEEK = EffortProfile(
    name="deepseek",
    levels=("auto", "disabled", "high", "max"),
    default="high",
    table=by_words({
        "auto high": use("high"),            # §7.3 TestEffortNormalization: auto → high
        "none off disabled": use("disabled"),   # §7.2: off is the retired spelling of disabled
        # The server maps low/medium → high (§2.3 [V-doc]); Reasonix config does the same (§7.2).
        "enabled adaptive minimal low medium": use("high", "DeepSeek's depths are high|max; high applied"),
        "xhigh max": use("max"),             # §7.2 generic row and the server (§2.3): xhigh → max
    }),
    wires=_DEEPSEEK_WIRES,
    hint=_DEEPSEEK_HINT,
)

DEEPSEEK_V4 = EffortProfile(
    name="deepseek-v4",
    levels=("auto", "disabled", "low", "high", "max"),
    default="high",
    table=by_words({
        "auto high": use("high"),
        "none off disabled": use("disabled"),
        "low": use("low"),                   # §7.2 TestDeepSeekV4FlashEffortCapabilityIncludesLow
        "minimal": use("low", "DeepSeek V4's lowest depth is low"),
        "enabled adaptive medium": use("high", "DeepSeek V4's depths are low|high|max; high applied"),
        # Reasonix tests map xhigh → high (§7.2, TestDefaultDeepSeekV4EntriesAcceptCompatibilityAliases).
        # Conflict: the vendor doc says the server maps xhigh → max (§2.3) and Reasonix's own docs say
        # Pro does too (§7.2 caveat c). The brief says follow the tests; the note tells the caller.
        "xhigh": use("high", "xhigh maps to high on DeepSeek V4 (Reasonix); ask for max to go deeper"),
        "max": use("max"),
    }),
    wires=_DEEPSEEK_WIRES,
    hint=_DEEPSEEK_HINT,
)

# ── Zhipu GLM ──────────────────────────────────────────────────────────────────────────────────
# thinking.type enabled|disabled, on by default (§3 [V-doc]). reasoning_effort is never sent: Reasonix
# says it is silently ignored and GodeX strips it; agentscope says GLM-5.2 takes it (§8.8, conflict).
GLM = EffortProfile(
    name="glm",
    levels=("auto", "enabled", "disabled"),
    default="enabled",
    table=by_words({
        "auto enabled": use("enabled"),      # Reasonix TestBuildRequestZhipuThinking: "" → enabled
        "adaptive minimal low medium high xhigh max":
            use("enabled", "GLM has a thinking switch only (enabled|disabled); thinking enabled"),
        "none off disabled": use("disabled"),
    }),
    wires=_BOTH_WIRES_THINKING,
    hint="GLM has a thinking switch only (enabled|disabled); reasoning_effort is not sent to Zhipu",
)

# ── Moonshot Kimi ──────────────────────────────────────────────────────────────────────────────
# kimi-k3 always thinks; reasoning_effort low|high|max, default max (§4, Reasonix docs [V-code]).
# Only the OpenAI surface is known; on another surface resolve_effort refuses to send a depth.
KIMI_K3 = EffortProfile(
    name="kimi-k3",
    levels=("auto", "low", "high", "max"),
    default="max",
    table=by_words({
        "auto enabled adaptive": keep("max", "{model} always thinks; its default depth (max) applies"),
        "low": use("low"),
        "minimal": use("low", "{model}'s lowest depth is low"),
        "medium": use("high", "{model}'s depths are low|high|max; high applied"),   # [INF] nearest
        "high": use("high"),
        "xhigh max": use("max"),
        "none off disabled": reject("{model} always thinks and cannot turn thinking off"),
    }),
    wires={_CHAT: WireShape(reasoning_effort)},
    hint="kimi-k3 always thinks: choose its depth with low|high|max, or use kimi-k2.6 to turn thinking off",
)

# kimi-k2.5/k2.6: thinking on by default, off with thinking.type disabled (§4 [3P] agentscope).
KIMI_K2 = EffortProfile(
    name="kimi-k2",
    levels=("auto", "enabled", "disabled"),
    default="enabled",
    table=by_words({
        "auto": keep("enabled"),             # on by default; sending nothing keeps non-thinking K2 ids safe
        "enabled": use("enabled"),
        "adaptive minimal low medium high xhigh max":
            use("enabled", "Kimi K2 has a thinking switch only; thinking enabled"),
        "none off disabled": use("disabled"),
    }),
    wires={_CHAT: WireShape(thinking_type), _MSG: WireShape(thinking_type)},
    hint="Kimi K2 has a thinking switch only (enabled|disabled)",
)


# ── OpenAI ─────────────────────────────────────────────────────────────────────────────────────
# reasoning_effort per family (§6 [V-doc]). OpenAI answers 400 unsupported_value for a level a model
# does not take, so its own words (none, minimal, low, medium, high, xhigh) pass only where the family
# takes them and are otherwise refused with the family's list. Our other words are renamed only where
# the meaning is kept: off/disabled → none; max → the family's top level ("as much as there is");
# enabled/adaptive → nothing sent where the model reasons by default. off/none on a family that
# cannot stop reasoning is refused: its lowest level still reasons.
def _openai(name: str, accepts: tuple[str, ...], default: str) -> EffortProfile:
    stops = "none" in accepts
    cannot_stop = reject(f"{{model}} cannot turn reasoning off; its lowest level is {accepts[0]}")
    table: dict[str, Decision] = {}
    for word in VOCABULARY:
        if word == "auto":
            table[word] = keep(default, f"no reasoning_effort sent; the model's default ({default}) applies")
        elif word in accepts:
            table[word] = use(word)
        elif word in ("none", "off", "disabled"):
            table[word] = use("none") if stops else cannot_stop
        elif word == "max":
            table[word] = use(accepts[-1], f"max → {accepts[-1]}, the model's top level")
        elif word in ("enabled", "adaptive"):
            table[word] = (
                keep(default, f"{{model}} reasons by default; its default ({default}) applies")
                if default != "none" else reject("{model} does not reason by default; choose a level")
            )
        else:   # an OpenAI level this family does not take (minimal on gpt-5.1, xhigh before codex-max)
            table[word] = reject(f"{{model}} does not accept reasoning_effort {word!r}")
    return EffortProfile(
        name=name,
        levels=("auto", *accepts),
        default=default,
        table=table,
        wires={_CHAT: WireShape(reasoning_effort)},
        hint="OpenAI refuses levels a model does not take; drop_params=True sends the request without one",
    )


OPENAI_GPT5 = _openai("openai-gpt-5", ("minimal", "low", "medium", "high"), "medium")  # before 5.1
OPENAI_GPT5_1 = _openai("openai-gpt-5.1", ("none", "low", "medium", "high"), "none")  # rejects minimal
OPENAI_GPT5_PRO = _openai("openai-gpt-5-pro", ("high",), "high")                      # high only
OPENAI_O_SERIES = _openai("openai-o-series", ("low", "medium", "high"), "medium")
# "xhigh for models after gpt-5.1-codex-max" (§6); codex-max itself: low..xhigh, default medium
# (openai/codex PR #7449 docs [3P]); later models keep 5.1's none default [INF] (ChatMock #101 [3P]).
OPENAI_CODEX_MAX = _openai("openai-codex-max", ("low", "medium", "high", "xhigh"), "medium")
OPENAI_GPT5_2 = _openai("openai-gpt-5.2+", ("none", "low", "medium", "high", "xhigh"), "none")

OPENAI_NON_REASONING = EffortProfile(
    name="openai-non-reasoning",
    levels=("auto", "none"),
    default="none",
    table=by_words({
        "auto": keep("none"),
        "none off disabled": keep("none", "{model} is not a reasoning model; nothing sent"),
        "enabled adaptive minimal low medium high xhigh max": reject("{model} is not a reasoning model"),
    }),
    wires={_CHAT: WireShape(reasoning_effort)},
    hint="use a reasoning model (gpt-5*, o3, o4-mini) or drop_params=True",
)

# An OpenAI model we do not know: pass OpenAI's own words through and let the vendor judge.
OPENAI_PASSTHROUGH = EffortProfile(
    name="openai-passthrough",
    levels=("auto", "none", "minimal", "low", "medium", "high", "xhigh"),
    default="auto",
    table=by_words({
        "auto": keep(None, "no reasoning_effort sent; the model's default applies"),
        "none": use("none"),
        "off disabled": use("none", "OpenAI's word for no reasoning is none"),
        **{w: use(w) for w in ("minimal", "low", "medium", "high", "xhigh")},
        "enabled adaptive max": reject("{model} is not a known OpenAI model, so only OpenAI's own levels "
                                       "are passed through"),
    }),
    wires={_CHAT: WireShape(reasoning_effort)},
    hint="OpenAI levels are none|minimal|low|medium|high|xhigh",
)

# ── Anthropic ──────────────────────────────────────────────────────────────────────────────────
# Claude 4.6+: thinking adaptive + output_config.effort (§5 [V-doc]; anthropic SDK 2.12 OutputConfigParam).
# max arrived with 4.6, xhigh with Opus 4.7 (OpenRouter Claude 4.6 guide; LangChain ANTHROPIC_EFFORTS
# "Opus 4.7+ and Sonnet 5" [3P]). Off is sent explicitly as thinking disabled (a valid ThinkingConfig
# in the SDK) because newer Claude models think when thinking is omitted [3P apiyi 2026-11].
def _claude_adaptive(name: str, efforts: tuple[str, ...]) -> EffortProfile:
    groups: dict[str, Decision] = {
        "auto": keep(None, "no thinking parameter sent; the model's default applies"),
        "enabled adaptive": use("adaptive"),
        "none off disabled": use("disabled"),
        "minimal": use("low", "minimal → low, Anthropic's lowest effort"),
        **{e: use(e) for e in efforts},
    }
    if "xhigh" not in efforts:
        groups["xhigh"] = reject("{model} takes effort low|medium|high|max; xhigh needs Opus 4.7 or later")
    return EffortProfile(
        name=name,
        levels=("auto", "adaptive", "disabled", *efforts),
        default="auto",
        table=by_words(groups),
        wires={_MSG: WireShape(claude_adaptive)},
        hint="Claude 4.6+ takes thinking adaptive|disabled and effort low|medium|high|max (xhigh from 4.7)",
    )


CLAUDE_ADAPTIVE = _claude_adaptive("claude-adaptive", ("low", "medium", "high", "max"))
CLAUDE_ADAPTIVE_XHIGH = _claude_adaptive("claude-adaptive-xhigh", ("low", "medium", "high", "xhigh", "max"))

# Claude 3.7 Sonnet to 4.5: thinking enabled with budget_tokens ≥ 1024 and < max_tokens (§5 [V-doc]).
# Budgets per level are ours [INF]: low is Anthropic's minimum; max fits a 64K output cap.
CLAUDE_BUDGETS: Mapping[str, int] = MappingProxyType(
    {"low": 1024, "medium": 4096, "high": 16384, "xhigh": 32768, "max": 63999}
)
CLAUDE_BUDGET = EffortProfile(
    name="claude-budget",
    levels=("auto", "disabled", "low", "medium", "high", "xhigh", "max"),
    default="disabled",
    table=by_words({
        "auto": keep("disabled", "no thinking sent; extended thinking is off unless asked"),
        "none off disabled": use("disabled"),
        "minimal": use("low", "minimal → low (1024 budget tokens, Anthropic's minimum)"),
        "enabled adaptive": use("medium", "{model} has no adaptive thinking; a 4096-token budget applied"),
        **{w: use(w) for w in CLAUDE_BUDGETS},
    }),
    wires={_MSG: WireShape(budget_thinking(CLAUDE_BUDGETS))},
    hint="extended thinking needs max_tokens above the budget (low 1024 … max 63999 tokens)",
)

CLAUDE_NO_THINKING = EffortProfile(
    name="claude-no-thinking",
    levels=("auto", "disabled"),
    default="disabled",
    table=by_words({
        "auto none off disabled": keep("disabled", "{model} has no extended thinking; nothing sent"),
        "enabled adaptive minimal low medium high xhigh max": reject("{model} has no extended thinking"),
    }),
    wires={_MSG: WireShape(thinking_type)},
    hint="extended thinking starts with Claude 3.7 Sonnet",
)

# An undeclared Anthropic-compatible gateway gets the binary menu and thinking.type alone (§5,
# Reasonix docs/REASONING_PROVIDERS.md [V-code]): relays answer 4xx/5xx to output_config.
ANTHROPIC_GATEWAY = EffortProfile(
    name="anthropic-gateway",
    levels=("auto", "enabled", "disabled"),
    default="auto",
    table=by_words({
        "auto": keep(None),
        "enabled": use("enabled"),
        "adaptive minimal low medium high xhigh max":
            use("enabled", "an Anthropic-compatible gateway gets the thinking switch only; thinking enabled"),
        "none off disabled": use("disabled"),
    }),
    wires={_MSG: WireShape(thinking_type)},
    hint="this gateway gets Anthropic's thinking switch only (enabled|disabled)",
)

# ── OpenAI-compatible servers (vLLM, llama.cpp, Ollama, …) ─────────────────────────────────────
# The caller's word goes through unchanged: only the server knows its scale (brief; Reasonix sends a
# configured effort verbatim to generic hosts, §7.3 TestBuildRequestNonDeepSeekOmitsThinking).
COMPATIBLE = EffortProfile(
    name="compatible",
    levels=VOCABULARY,
    default="auto",
    table={w: keep(None) if w == "auto" else use(w) for w in VOCABULARY},
    wires={_CHAT: WireShape(reasoning_effort)},
    hint="an OpenAI-compatible server receives reasoning_effort as given",
)

ALL_PROFILES: Mapping[str, EffortProfile] = MappingProxyType({
    p.name: p for p in (
        MINIMAX_M3, MINIMAX_M2, DEEPSEEK, DEEPSEEK_V4, GLM, KIMI_K3, KIMI_K2,
        OPENAI_GPT5, OPENAI_GPT5_1, OPENAI_GPT5_PRO, OPENAI_O_SERIES, OPENAI_CODEX_MAX, OPENAI_GPT5_2,
        OPENAI_NON_REASONING, OPENAI_PASSTHROUGH,
        CLAUDE_ADAPTIVE, CLAUDE_ADAPTIVE_XHIGH, CLAUDE_BUDGET, CLAUDE_NO_THINKING, ANTHROPIC_GATEWAY,
        COMPATIBLE,
    )
})


# ── Which profile a vendor/model gets ──────────────────────────────────────────────────────────
def _minimax(model: str, wire: Wire, first_party: bool) -> EffortProfile | None:
    found = re.match(r"minimax-m(\d+)", model)
    if found is None:
        return None                           # MiniMax-Text-01, abab…: no thinking control
    return MINIMAX_M2 if int(found.group(1)) <= 2 else MINIMAX_M3   # later M-series: M3's contract [INF]


def _deepseek(model: str, wire: Wire, first_party: bool) -> EffortProfile | None:
    # Reasonix keys the V4 scale on the model id (effort.go modelReasoningCapabilities); every other
    # DeepSeek id, deepseek-chat/-reasoner included, gets the generic scale.
    return DEEPSEEK_V4 if model.startswith("deepseek-v4") else DEEPSEEK


def _zhipu(model: str, wire: Wire, first_party: bool) -> EffortProfile | None:
    return GLM if model.startswith("glm-") else None


def _moonshot(model: str, wire: Wire, first_party: bool) -> EffortProfile | None:
    if model.startswith("kimi-k3"):
        return KIMI_K3
    return KIMI_K2 if model.startswith("kimi-k2") else None


def _openai_family(model: str, wire: Wire, first_party: bool) -> EffortProfile | None:
    if model.startswith("gpt-5-pro"):
        return OPENAI_GPT5_PRO
    if model.startswith("gpt-5-chat") or model.startswith("chatgpt-"):
        return OPENAI_NON_REASONING           # the ChatGPT chat snapshots do not reason
    if model.startswith("gpt-5.1-codex-max"):
        return OPENAI_CODEX_MAX
    found = re.match(r"gpt-(\d+)(?:\.(\d+))?", model)
    if found is not None:
        version = (int(found.group(1)), int(found.group(2) or 0))
        if version >= (5, 2):
            return OPENAI_GPT5_2
        if version == (5, 1):
            return OPENAI_GPT5_1
        return OPENAI_GPT5 if version[0] == 5 else OPENAI_NON_REASONING   # gpt-4o, gpt-4.1, gpt-3.5
    if re.match(r"o\d", model):
        # o1-mini and o1-preview take no reasoning_effort at all.
        return None if model.startswith(("o1-mini", "o1-preview")) else OPENAI_O_SERIES
    return OPENAI_PASSTHROUGH


def _claude_version(model: str) -> tuple[int, int] | None:
    """(major, minor) from claude-3-7-sonnet-20250219, claude-opus-4-1, claude-sonnet-4-6, claude-2.1."""
    numbers = [int(p) for p in model.replace(".", "-").split("-") if p.isdigit() and len(p) <= 2]
    if not numbers:
        return None
    return numbers[0], numbers[1] if len(numbers) > 1 else 0


def _anthropic(model: str, wire: Wire, first_party: bool) -> EffortProfile | None:
    if not first_party or not model.startswith("claude"):
        return ANTHROPIC_GATEWAY
    version = _claude_version(model)
    if version is None or version >= (4, 7):
        return CLAUDE_ADAPTIVE_XHIGH          # unknown ids are assumed to be new models [INF]
    if version >= (4, 6):
        return CLAUDE_ADAPTIVE
    return CLAUDE_BUDGET if version >= (3, 7) else CLAUDE_NO_THINKING


def _compatible(model: str, wire: Wire, first_party: bool) -> EffortProfile | None:
    return ANTHROPIC_GATEWAY if wire == _MSG else COMPATIBLE


_BY_VENDOR: Mapping[str, Callable[[str, Wire, bool], EffortProfile | None]] = MappingProxyType({
    "minimax": _minimax,
    "deepseek": _deepseek,
    "zhipu": _zhipu,
    "moonshot": _moonshot,
    "openai": _openai_family,
    "anthropic": _anthropic,
    "compatible": _compatible,
})


def profile_for(
    vendor: str, model: str, wire: Wire = Wire.OPENAI_CHAT, *, first_party: bool = True
) -> EffortProfile | None:
    """The effort profile for `model` at `vendor` on `wire`; None when effort is not configurable.

    `first_party` is False when the request goes to a host other than the vendor's own (it only
    matters for Anthropic: an undeclared gateway gets the binary thinking menu).
    """
    pick = _BY_VENDOR.get(vendor.strip().lower())
    if pick is None:
        return None
    return pick(model.strip().lower(), wire, first_party)
