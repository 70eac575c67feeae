"""DeepSeek: OpenAI format at api.deepseek.com (Anthropic format under /anthropic), thinking mode."""

from __future__ import annotations

from typing import Any

from vendors.effort import (
    EffortProfile,
    WireShape,
    by_words,
    switch_and_output_effort,
    switch_and_reasoning_effort,
    use,
)
from vendors.spec import Caps, Quirks, VendorSpec, Wire, anthropic_surface, openai_surface

_HOSTS = frozenset({"api.deepseek.com"})
_APEXES = frozenset({"deepseek.com"})  # *.deepseek.com; the bare apex is the website (§2.1)


def error_code(status: int, code: int | str | None, message: str) -> tuple[Any, str | None, float | None] | None:
    """A 400 about reasoning_content: thinking mode needs it replayed on tool-call turns (§2.3, §7.5)."""
    if status == 400 and "reasoning_content" in message:
        return None, ("replay each assistant tool-call turn with its reasoning_content (an empty string if it "
                      "was lost); pass the previous resp.choices[0].message back unchanged"), None
    return None


# ── DeepSeek ───────────────────────────────────────────────────────────────────────────────────
# thinking enabled|disabled plus reasoning_effort high|max on the OpenAI surface, output_config.effort
# on the Anthropic one (§2.3 [V-doc]); Reasonix sends both keys, and neither depth when disabled (§7.3).
_DEEPSEEK_WIRES = {Wire.OPENAI_CHAT: WireShape(switch_and_reasoning_effort),
                   Wire.ANTHROPIC_MESSAGES: WireShape(switch_and_output_effort)}
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
        # DeepSeek's Thinking Mode guide maps xhigh → high on the server (see DEEPSEEK_V4); sent as high.
        "xhigh": use("high", "DeepSeek maps xhigh to high (its Thinking Mode guide); ask for max to go deeper"),
        "max": use("max"),
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
        # DeepSeek's Thinking Mode guide, English and Chinese pages (api-docs.deepseek.com/guides/thinking_mode
        # and /zh-cn/guides/thinking_mode, checked 2026-12-01), maps requested → actual effort: minimal→low,
        # low→low, medium→high, high→high, xhigh→high, max→max, ultra→max. The vendor's own table wins over
        # docs/vendors.md's errata and the issue text (both said xhigh → max); docs/vendor-corrections.md says so.
        "xhigh": use("high", "DeepSeek maps xhigh to high (its Thinking Mode guide); ask for max to go deeper"),
        "max": use("max"),
    }),
    wires=_DEEPSEEK_WIRES,
    hint=_DEEPSEEK_HINT,
)


def pick_effort(model: str, wire: Wire) -> EffortProfile | None:
    # The low|high|max scale belongs to the V4 family and to deepseek-flash (V4.1 Flash), whose Thinking Mode
    # guide lists low/high/max (checked 2026-12-01); Reasonix keys it on the id the same way (effort.go
    # modelReasoningCapabilities). deepseek-chat/-reasoner and unlisted ids keep the generic scale.
    return DEEPSEEK_V4 if model.startswith(("deepseek-v4", "deepseek-flash")) else DEEPSEEK


SPEC = VendorSpec(
    name="deepseek",
    surfaces=(
        openai_surface({"global": "https://api.deepseek.com"}),
        anthropic_surface({"global": "https://api.deepseek.com/anthropic"}, auth="x-api-key"),
    ),
    hosts=_HOSTS,
    host_apexes=_APEXES,
    api_key_env="DEEPSEEK_API_KEY",
    caps=Caps(
        params=frozenset({"temperature", "top_p", "max_tokens", "stop", "user", "tools", "tool_choice",
                          "response_format", "presence_penalty", "frequency_penalty", "logprobs",
                          "top_logprobs", "stream_options", "n"}),
        # n: 1 is accepted (recorded traffic); more is refused ("only support n = 1", deepseek-ai/DeepSeek-V2#55,
        # DeepSeek-V3#291; docs/vendors.md Errata).
        max_n=1,
        max_tools=128,
        response_formats=frozenset({"text", "json_object"}),
    ),
    # Tool-call turns must replay reasoning_content, an empty one where it was lost (§2.3).
    quirks=Quirks(replay_reasoning=True, replay_fields=frozenset({"reasoning_content"})),
    effort_profiles=(DEEPSEEK, DEEPSEEK_V4),
    model_effort=pick_effort,
    error_code=error_code,
    doc="https://api-docs.deepseek.com/",
)
