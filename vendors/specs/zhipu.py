"""Zhipu GLM: open.bigmodel.cn (cn) and api.z.ai (global), OpenAI-compatible under /api/paas/v4."""

from __future__ import annotations

from typing import Any

from vendors import errors as e
from vendors.effort import (
    THINKING_TYPE_ON_BOTH_WIRES,
    EffortProfile,
    Rendered,
    WireShape,
    by_words,
    keep,
    reject,
    switch_and_reasoning_effort,
    use,
)
from vendors.spec import Caps, Quirks, VendorSpec, Wire, anthropic_surface, frozen_map, openai_surface


def error_code(status: int, code: int | str | None, message: str) -> tuple[Any, str | None, float | None] | None:
    """Zhipu's numeric `error.code` ranges (docs/vendors.md §3, docs.z.ai api-code), checked 2026-11-21."""
    if not isinstance(code, int):
        return None
    if 1000 <= code <= 1004:
        return e.AuthenticationError, "check ZHIPUAI_API_KEY and the region (open.bigmodel.cn vs api.z.ai)", None
    if code == 1113 or (1110 <= code <= 1121 and "balance" in message.lower()):  # 1113: in arrears
        return e.InsufficientBalanceError, None, None
    if 1110 <= code <= 1121 or code in (1220, 1309):
        # 1220: no permission for this API; 1309: the Coding Plan expired (docs.z.ai/api-reference/api-code).
        return e.PermissionDeniedError, None, None
    if code in (1211, 1221, 1222):
        return e.NotFoundError, None, None  # model unknown, API offline, API does not exist
    if code == 1261:
        return e.ContextWindowExceededError, None, None
    if code in (1230, 1234):
        return e.ServiceUnavailableError, None, None  # API call process error, network error: retry
    if 1200 <= code <= 1234:
        return e.InvalidRequestError, None, None
    if code in (1300, 1301):
        return e.ContentPolicyError, None, None  # blocked by policy, unsafe content
    if 1300 <= code <= 1309:
        return e.RateLimitError, None, None
    return None


# ── Zhipu GLM ──────────────────────────────────────────────────────────────────────────────────
# GLM-5.1 and older: a thinking switch only, thinking.type enabled|disabled, on by default (§3 [V-doc]);
# reasoning_effort is not sent ("only supported by GLM-5.2 and above", docs.z.ai Core Parameters).
GLM = EffortProfile(
    name="glm",
    levels=("auto", "enabled", "disabled"),
    default="enabled",
    table=by_words({
        "auto enabled": use("enabled"),      # Reasonix TestBuildRequestZhipuThinking: "" → enabled
        "adaptive minimal low medium high xhigh max":
            use("enabled", "{model} has a thinking switch only (enabled|disabled); thinking enabled"),
        "none off disabled": use("disabled"),
    }),
    wires=THINKING_TYPE_ON_BOTH_WIRES,
    hint="GLM before 5.2 has a thinking switch only (enabled|disabled); reasoning_effort is not sent to Zhipu",
)


def _anthropic_switch(level: str, max_tokens: int | None) -> Rendered:
    """Zhipu's Anthropic surface documents thinking enabled|disabled only: the depth cannot travel there."""
    if level == "disabled":
        return Rendered({"thinking": {"type": "disabled"}})
    return Rendered({"thinking": {"type": "enabled"}}, note=f"depth {level} is not sent on Zhipu's Anthropic surface "
                    "(thinking enabled only); use the OpenAI surface to choose it")


# GLM-5.2+ take reasoning_effort next to thinking {type: enabled} (docs.z.ai/guides/overview/concept-param
# "Core Parameters", quoted 2026-12-01 in research/wire.md §3; docs/vendors.md Errata). Preserved thinking across
# turns is the caller's extra_body={"thinking": {"clear_thinking": False}}, merged into the thinking object.
_GLM5_WIRES = {Wire.OPENAI_CHAT: WireShape(switch_and_reasoning_effort),
               Wire.ANTHROPIC_MESSAGES: WireShape(_anthropic_switch)}

# GLM-5.2: "supports max, xhigh, high, medium, low, minimal, none; passing none or minimal will cause the model
# to skip thinking; low and medium will be mapped to high; xhigh will be mapped to max"; default max. Farebox
# sends the level the server would use, so resp.effort says what ran.
GLM_5_2 = EffortProfile(
    name="glm-5.2",
    levels=("auto", "disabled", "high", "max"),
    default="max",
    table=by_words({
        "auto": keep("max", "no reasoning control sent; {model} thinks at its default depth (max)"),
        "enabled adaptive": use("max", "{model} thinks at its default depth (max)"),
        "none off disabled": use("disabled"),
        "minimal": use("disabled", "minimal skips thinking on {model} (Z.AI); thinking disabled"),
        "low medium": use("high", "{model} maps low and medium to high (Z.AI); high sent"),
        "high": use("high"),
        "xhigh": use("max", "{model} maps xhigh to max (Z.AI); max sent"),
        "max": use("max"),
    }),
    wires=_GLM5_WIRES,
    hint="GLM-5.2 takes reasoning_effort high|max (low/medium → high, xhigh → max) or thinking disabled",
)

# GLM-5.3 and 5.3-flash: "only support max, high, low", default max; they "always operate with reasoning
# enabled" and reject thinking disabled (Core Parameters; OpenRouter glm-5.3). medium → high is ours [INF].
GLM_5_3 = EffortProfile(
    name="glm-5.3",
    levels=("auto", "low", "high", "max"),
    default="max",
    table=by_words({
        "auto": keep("max", "no reasoning control sent; {model} thinks at its default depth (max)"),
        "enabled adaptive": use("max", "{model} always thinks; its default depth (max) sent"),
        "minimal": use("low", "{model}'s lowest depth is low"),
        "low": use("low"),
        "medium": use("high", "{model} takes low|high|max; high sent"),
        "high": use("high"),
        "xhigh": use("max", "{model}'s deepest level is max"),
        "max": use("max"),
        "none off disabled": reject("{model} always thinks: thinking cannot be disabled"),
    }),
    wires=_GLM5_WIRES,
    hint="GLM-5.3 always thinks: choose its depth with low|high|max, or use glm-5.2 to turn thinking off",
)


def _version(model: str) -> tuple[int, int] | None:
    """(5, 3) from glm-5.3 / glm-5.3-flash, (5, 0) from glm-5; None for glm-5v-turbo and unnumbered ids."""
    head = model.removeprefix("glm-").split("-", 1)[0]
    major, _, minor = head.partition(".")
    if not major.isdigit() or (minor and not minor.isdigit()):
        return None
    return int(major), int(minor or 0)


def pick_effort(model: str, wire: Wire) -> EffortProfile | None:
    if not model.startswith("glm-"):
        return None
    version = _version(model)
    if version is not None and version >= (5, 3):
        return GLM_5_3          # later GLMs are assumed to keep 5.3's scale [INF]
    return GLM_5_2 if version == (5, 2) else GLM


SPEC = VendorSpec(
    name="zhipu",
    surfaces=(
        openai_surface({"global": "https://api.z.ai/api/paas/v4", "cn": "https://open.bigmodel.cn/api/paas/v4"}),
        anthropic_surface({"global": "https://api.z.ai/api/anthropic", "cn": "https://open.bigmodel.cn/api/anthropic"}),
    ),
    hosts=frozenset({"open.bigmodel.cn", "api.z.ai"}),
    host_apexes=frozenset({"bigmodel.cn", "z.ai"}),  # subdomains match, bare apexes do not (§3)
    host_regions=frozen_map({"bigmodel.cn": "cn", "z.ai": "global"}),
    api_key_env="ZHIPUAI_API_KEY",
    caps=Caps(
        tool_choice=frozenset({"auto", "none"}),     # GodeX: auto/none only (§3)
        response_formats=frozenset({"text", "json_object"}),
        stream_usage=False,                           # agentscope drops stream_options (§3); GLM sends usage anyway
        max_tools=128,
    ),
    quirks=Quirks(replay_fields=frozenset({"reasoning_content"})),  # interleaved thinking replays it (§3)
    effort_profiles=(GLM, GLM_5_2, GLM_5_3),
    model_effort=pick_effort,
    error_code=error_code,
    doc="https://docs.z.ai/api-reference/llm/chat-completion",
)
