"""Alibaba Qwen (Model Studio / DashScope): OpenAI-compatible mode, Singapore (global) and Beijing (cn)."""

from __future__ import annotations

from typing import Any

from vendors import errors as e
from vendors.effort import (
    NO_REASONING_EFFORT,
    EffortProfile,
    Rendered,
    WireShape,
    by_words,
    keep,
    reject,
    use,
)
from vendors.spec import Caps, Quirks, VendorSpec, Wire, frozen_map, openai_surface

# Alibaba Cloud "Error codes" (help.aliyun.com/en/model-studio/error-code, read 2026-12-01, docs/vendors.md §8.4):
# compatible mode sends {"error": {"message", "type", "param", "code"}, "request_id"}; codes are strings.
_KEY_HINT = ("DashScope keys belong to one region and plan: use a Singapore key with dashscope-intl.aliyuncs.com "
             "(region='global') and a Beijing key with dashscope.aliyuncs.com (region='cn')")


def error_code(status: int, code: int | str | None, message: str) -> tuple[Any, str | None, float | None] | None:
    """DashScope's string codes, in both spellings (native `InvalidApiKey`, compatible `invalid_api_key`)."""
    name = str(code or "").lower().replace(".", "_")
    text = message.lower()
    if name == "arrearage" or "good standing" in text:  # overdue account: HTTP 400 or 403, never retried
        return e.InsufficientBalanceError, "the Alibaba Cloud account is overdue: top it up in the console", None
    if "datainspectionfailed" in name.replace("_", "") or "inappropriate content" in text:
        return e.ContentPolicyError, None, None   # also seen as InternalError.Algo.DataInspectionFailed on a 400
    if name == "insufficient_quota" or name.startswith("throttling"):
        # Throttling.AllocationQuota arrives as insufficient_quota in compatible mode: a TPM limit, not credit.
        return e.RateLimitError, "a DashScope rate or token-per-minute limit; retried with backoff", None
    if name in ("invalidapikey", "invalid_api_key"):
        return e.AuthenticationError, _KEY_HINT, None
    if name in ("accessdenied", "access_denied"):
        return e.PermissionDeniedError, None, None
    if name in ("modelnotfound", "model_not_found", "notfound"):
        return e.NotFoundError, "the model is not served in this region, or its name is wrong", None
    if "range of input length" in text:   # InvalidParameter: "Range of input length should be [1, xxx]"
        return e.ContextWindowExceededError, None, None
    return None


# ── Qwen hybrid thinking ────────────────────────────────────────────────────────────────────────
# enable_thinking (bool) and thinking_budget (int tokens) are top-level body keys on the compatible mode
# ("not a standard OpenAI parameter, pass it in extra_body"; Deep thinking guide, §8.2). A thinking_budget
# above the model's maximum is a 400, so max sends no budget: the model thinks up to its own maximum.
_BUDGETS = {"low": 2048, "medium": 8192, "high": 32768}   # [INF]: Alibaba publishes the range, not levels


def enable_thinking(level: str, max_tokens: int | None) -> Rendered:
    """{"enable_thinking": bool} plus {"thinking_budget": N} for a budget level (Qwen hybrid models)."""
    if level == "disabled":
        return Rendered({"enable_thinking": False}, frozenset({"thinking_budget", "reasoning_effort"}))
    if level in _BUDGETS:
        return Rendered({"enable_thinking": True, "thinking_budget": _BUDGETS[level]}, NO_REASONING_EFFORT)
    return Rendered({"enable_thinking": True}, frozenset({"thinking_budget", "reasoning_effort"}))


_WIRES = {Wire.OPENAI_CHAT: WireShape(enable_thinking, NO_REASONING_EFFORT)}

QWEN_HYBRID = EffortProfile(
    name="qwen-hybrid",
    levels=("auto", "disabled", "enabled", "low", "medium", "high", "max"),
    default="auto",
    table=by_words({
        "auto": keep(None, "no thinking switch sent; {model} uses its own default"),
        "none off disabled": use("disabled"),
        "enabled adaptive": use("enabled", "thinking on, budget left to {model}"),
        "minimal": use("low", "{model}'s smallest budget level is low"),
        "low": use("low"),
        "medium": use("medium"),
        "high": use("high"),
        "xhigh": use("max", "{model} thinks up to its maximum budget"),
        "max": use("max"),
    }),
    wires=_WIRES,
    hint="Qwen takes enable_thinking on or off and a thinking_budget (low|medium|high, or max for the model's own)",
)

# -thinking models (qwen3-max-thinking, qwen3-235b-a22b-thinking-2507) think always (Deep thinking guide).
QWEN_THINKING = EffortProfile(
    name="qwen-thinking",
    levels=("auto", "enabled", "low", "medium", "high", "max"),
    default="enabled",
    table=by_words({
        "auto": keep("enabled", "{model} always thinks"),
        "enabled adaptive": use("enabled"),
        "minimal": use("low", "{model}'s smallest budget level is low"),
        "low": use("low"),
        "medium": use("medium"),
        "high": use("high"),
        "xhigh": use("max", "{model} thinks up to its maximum budget"),
        "max": use("max"),
        "none off disabled": reject("{model} always thinks: thinking cannot be disabled"),
    }),
    wires=_WIRES,
    hint="this Qwen model always thinks: choose its budget with low|medium|high|max",
)

# No thinking switch (models.dev reasoning=false): qwen3-max, the qwen3-coder models.
_NO_SWITCH = ("qwen3-max", "qwen3-coder", "qwen-coder")


def pick_effort(model: str, wire: Wire) -> EffortProfile | None:
    if "thinking" in model:
        return QWEN_THINKING
    if model.startswith(_NO_SWITCH):
        return None
    if model.startswith(("qwen-plus", "qwen-flash", "qwen-turbo", "qwen3", "qwq")):
        return QWEN_HYBRID
    return None


SPEC = VendorSpec(
    name="qwen",
    surfaces=(openai_surface({"global": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
                              "cn": "https://dashscope.aliyuncs.com/compatible-mode/v1"}),),
    # Exact hosts only: *.aliyuncs.com also names customer resources (OSS buckets), so no apex is claimed.
    hosts=frozenset({"dashscope-intl.aliyuncs.com", "dashscope.aliyuncs.com"}),
    host_regions=frozen_map({"dashscope-intl.aliyuncs.com": "global", "dashscope.aliyuncs.com": "cn"}),
    api_key_env="DASHSCOPE_API_KEY",
    caps=Caps(),
    quirks=Quirks(),
    effort_profiles=(QWEN_HYBRID, QWEN_THINKING),
    model_effort=pick_effort,
    error_code=error_code,
    doc="https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope",
)
