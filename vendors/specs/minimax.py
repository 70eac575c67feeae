"""MiniMax: OpenAI- and Anthropic-compatible surfaces, global (minimax.io) and CN (minimaxi.com) regions."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from vendors import errors as e
from vendors.effort import (
    THINKING_TYPE_ON_BOTH_WIRES,
    EffortProfile,
    by_words,
    keep,
    reject,
    use,
)
from vendors.spec import Caps, Quirks, RequestContext, VendorSpec, Wire, anthropic_surface, frozen_map, openai_surface

# Code table: docs/vendors.md §1.8 (vendor errorcode pages + observed replies), checked 2026-11-21.
_CODES: dict[int, type[e.FareboxError]] = {
    1000: e.ServiceUnavailableError, 1001: e.APITimeoutError, 1013: e.ServiceUnavailableError,
    1024: e.ServiceUnavailableError, 1033: e.ServiceUnavailableError,
    1002: e.RateLimitError, 1041: e.RateLimitError, 2045: e.RateLimitError, 2056: e.RateLimitError,
    1004: e.AuthenticationError, 2049: e.AuthenticationError,
    1008: e.InsufficientBalanceError, 1028: e.InsufficientBalanceError, 1030: e.InsufficientBalanceError,
    1026: e.ContentPolicyError, 1027: e.ContentPolicyError,
    1039: e.ContextWindowExceededError, 1042: e.InvalidRequestError, 2013: e.InvalidRequestError,
    2061: e.PermissionDeniedError,
}
_HINTS = {
    2049: "a MiniMax key works only with its own region's host: keys from platform.minimaxi.com need "
          "region='cn' (api.minimaxi.com), keys from platform.minimax.io need region='global' (api.minimax.io)",
    1004: "check the key, and that its region matches the host (region='cn' or 'global')",
    # x-api-key on the Anthropic surface fails with 1033; Bearer works (§1.2, §7.5, MiniMax-AI/cli#59).
    1033: "MiniMax system error; if you sent x-api-key to its Anthropic surface, send Authorization: Bearer",
    1008: "top up the MiniMax account, or use a Token Plan (sk-cp-) key",
    2061: "this model is not part of your Token Plan; use the base model or a pay-as-you-go (sk-api-) key",
}
_RESETS = re.compile(r"resets at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")


def error_code(status: int, code: int | str | None, message: str) -> tuple[Any, str | None, float | None] | None:
    """Refine by MiniMax's numeric code: `base_resp.status_code` or the "(NNNN)" suffix (§1.8)."""
    if not isinstance(code, int) or code not in _CODES:
        return None
    cls, hint, retry_after = _CODES[code], _HINTS.get(code), None
    if code == 2013:
        if "context window" in message or "context length" in message:
            cls = e.ContextWindowExceededError
        elif "role: system" in message:
            hint = "MiniMax accepts one system message, and only as the first message"
    if code == 2056:
        if "(0/0 used)" in message:
            # A zero quota is no window running out: the plan does not include the model (§1.2, Plexum).
            hint = ("this Token Plan has no quota for the model: Token Plan (sk-cp-) keys do not cover "
                    "-highspeed models; use the base model (e.g. MiniMax-M2.7) or a pay-as-you-go (sk-api-) key")
        else:
            hint = ("the Token Plan's 5-hour window is used up; wait for the reset, or use a pay-as-you-go "
                    "(sk-api-) key")
        match = _RESETS.search(message)
        if match:
            reset = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            retry_after = max(0.0, (reset - datetime.now(UTC)).total_seconds())
    return cls, hint, retry_after


def patch_request(body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    """Last step before send on MiniMax (§1.4)."""
    if ctx.wire is Wire.OPENAI_CHAT:
        # Thinking goes to reasoning_details instead of inline <think>; must be a top-level key (§1.4.1).
        body.setdefault("reasoning_split", True)
        thinking = body.get("thinking")
        if isinstance(thinking, dict) and thinking.get("type") == "enabled":
            # The OpenAI surface knows only adaptive|disabled; GodeX maps enabled -> adaptive (§1.4.3, §7.3).
            body["thinking"] = {**thinking, "type": "adaptive"}
    if ctx.model.startswith("MiniMax-M2") and body.get("temperature") == 0:
        body["temperature"] = 0.01  # M2.x accepts (0, 1]: 0 is refused (§1.4.9)
    return body


def key_kind(key: str) -> Literal["metered", "plan"]:
    """`sk-cp-` keys bill a Token Plan quota, not money (§1.2)."""
    return "plan" if key.startswith("sk-cp-") else "metered"


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
    wires=THINKING_TYPE_ON_BOTH_WIRES,
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
    wires=THINKING_TYPE_ON_BOTH_WIRES,
    hint="MiniMax M2.x models always think; use MiniMax-M3 to turn thinking off (thinking: disabled)",
)


def pick_effort(model: str, wire: Wire) -> EffortProfile | None:
    found = re.match(r"minimax-m(\d+)", model)
    if found is None:
        return None                           # MiniMax-Text-01, abab…: no thinking control
    return MINIMAX_M2 if int(found.group(1)) <= 2 else MINIMAX_M3   # later M-series: M3's contract [INF]


SPEC = VendorSpec(
    name="minimax",
    surfaces=(
        openai_surface({"global": "https://api.minimax.io/v1", "cn": "https://api.minimaxi.com/v1"}),
        # Bearer on the Anthropic surface too: x-api-key fails with 1033 on CN (§1.2).
        anthropic_surface({"global": "https://api.minimax.io/anthropic", "cn": "https://api.minimaxi.com/anthropic"}),
    ),
    hosts=frozenset({"api.minimax.io", "api.minimaxi.com"}),
    host_apexes=frozenset({"minimax.io", "minimaxi.com"}),  # both apexes, unlike Reasonix (§1.1, §7.1 rows 33-35)
    host_regions=frozen_map({"minimaxi.com": "cn", "minimax.io": "global"}),
    api_key_env="MINIMAX_API_KEY",
    caps=Caps(
        params=frozenset({"temperature", "top_p", "max_tokens", "stop", "user", "tools", "tool_choice",
                          "response_format", "n", "stream_options", "metadata"}),
        max_tools=128, max_n=1,                               # §1.4.8
        response_formats=frozenset({"text", "json_object"}),
        max_tokens_field="max_completion_tokens",             # max_tokens is deprecated (§1.4.4)
    ),
    quirks=Quirks(think_tags=True, reasoning_details=True, canonical_tool_args=True, content_not_null=True,
                  single_system_first=True, replay_fields=frozenset({"reasoning_content", "reasoning_details"})),
    effort_profiles=(MINIMAX_M3, MINIMAX_M2),
    model_effort=pick_effort,
    default_max_tokens=8192,
    patch_request=patch_request,
    error_code=error_code,
    key_kind=key_kind,
    doc="https://platform.minimax.io/docs/api-reference/text-openai-api",
)
