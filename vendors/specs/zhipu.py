"""Zhipu GLM: open.bigmodel.cn (cn) and api.z.ai (global), OpenAI-compatible under /api/paas/v4."""

from __future__ import annotations

from typing import Any

from vendors import errors as e
from vendors.effort import (
    THINKING_TYPE_ON_BOTH_WIRES,
    EffortProfile,
    by_words,
    use,
)
from vendors.spec import Caps, Quirks, VendorSpec, Wire, anthropic_surface, frozen_map, openai_surface


def error_code(status: int, code: int | str | None, message: str) -> tuple[Any, str | None, float | None] | None:
    """Zhipu's numeric `error.code` ranges (VENDORS.md §3, docs.z.ai api-code), checked 2026-11-21."""
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
    wires=THINKING_TYPE_ON_BOTH_WIRES,
    hint="GLM has a thinking switch only (enabled|disabled); reasoning_effort is not sent to Zhipu",
)


def pick_effort(model: str, wire: Wire) -> EffortProfile | None:
    return GLM if model.startswith("glm-") else None


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
    effort_profiles=(GLM,),
    model_effort=pick_effort,
    error_code=error_code,
    doc="https://docs.z.ai/api-reference/llm/chat-completion",
)
