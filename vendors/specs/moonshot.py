"""Moonshot / Kimi: OpenAI-compatible at exactly api.moonshot.ai (global) and api.moonshot.cn (cn)."""

from __future__ import annotations

from typing import Any

from vendors.effort import (
    EffortProfile,
    WireShape,
    by_words,
    keep,
    reasoning_effort,
    reject,
    thinking_type,
    use,
)
from vendors.spec import Caps, Quirks, RequestContext, VendorSpec, Wire, frozen_map, openai_surface


def patch_request(body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    """kimi-k3 wants max_completion_tokens (§4)."""
    if ctx.model.startswith("kimi-k3") and "max_tokens" in body:
        body["max_completion_tokens"] = body.pop("max_tokens")
    return body


def param_check(model: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """kimi-k3 fixes sampling on the platform: temperature, top_p, n and penalties are refused (§4)."""
    if not model.startswith("kimi-k3"):
        return []
    fixed = ("temperature", "top_p", "n", "presence_penalty", "frequency_penalty")
    return [(p, "kimi-k3 fixes this on the platform; omit it") for p in fixed if p in params]


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
    wires={Wire.OPENAI_CHAT: WireShape(reasoning_effort)},
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
    wires={Wire.OPENAI_CHAT: WireShape(thinking_type), Wire.ANTHROPIC_MESSAGES: WireShape(thinking_type)},
    hint="Kimi K2 has a thinking switch only (enabled|disabled)",
)


def pick_effort(model: str, wire: Wire) -> EffortProfile | None:
    if model.startswith("kimi-k3"):
        return KIMI_K3
    return KIMI_K2 if model.startswith("kimi-k2") else None


SPEC = VendorSpec(
    name="moonshot",
    surfaces=(openai_surface({"global": "https://api.moonshot.ai/v1", "cn": "https://api.moonshot.cn/v1"}),),
    hosts=frozenset({"api.moonshot.ai", "api.moonshot.cn"}),  # exact hosts only (§4, §7.1 rows 45-46)
    host_regions=frozen_map({"api.moonshot.cn": "cn", "api.moonshot.ai": "global"}),
    api_key_env="MOONSHOT_API_KEY",
    caps=Caps(
        tool_choice=frozenset({"auto", "none", "function"}),  # "required" unsupported (§4)
        response_formats=frozenset({"text", "json_object"}),
        max_tools=128,
    ),
    # Assistant tool-call turns need reasoning_content; a single space is the minimum accepted (§4).
    quirks=Quirks(replay_reasoning=True, empty_reasoning_placeholder=" ",
                  replay_fields=frozenset({"reasoning_content"})),
    effort_profiles=(KIMI_K3, KIMI_K2),
    model_effort=pick_effort,
    patch_request=patch_request,
    param_check=param_check,
    doc="https://platform.moonshot.ai/docs/api/chat",
)
