"""Anthropic first party: the Messages API with x-api-key and anthropic-version."""


from collections.abc import Mapping
from types import MappingProxyType

from vendors.effort import (
    Decision,
    EffortProfile,
    WireShape,
    adaptive_and_output_effort,
    budget_thinking,
    by_words,
    keep,
    reject,
    thinking_type,
    use,
)
from vendors.spec import Caps, VendorSpec, Wire, anthropic_surface
from vendors.specs.compatible import ANTHROPIC_GATEWAY


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
        wires={Wire.ANTHROPIC_MESSAGES: WireShape(adaptive_and_output_effort)},
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
    wires={Wire.ANTHROPIC_MESSAGES: WireShape(budget_thinking(CLAUDE_BUDGETS))},
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
    wires={Wire.ANTHROPIC_MESSAGES: WireShape(thinking_type)},
    hint="extended thinking starts with Claude 3.7 Sonnet",
)

def _claude_version(model: str) -> tuple[int, int] | None:
    """(major, minor) from claude-3-7-sonnet-20250219, claude-opus-4-1, claude-sonnet-4-6, claude-2.1."""
    numbers = [int(p) for p in model.replace(".", "-").split("-") if p.isdigit() and len(p) <= 2]
    if not numbers:
        return None
    return numbers[0], numbers[1] if len(numbers) > 1 else 0


def pick_effort(model: str, wire: Wire) -> EffortProfile | None:
    if not model.startswith("claude"):
        return ANTHROPIC_GATEWAY
    version = _claude_version(model)
    if version is None or version >= (4, 7):
        return CLAUDE_ADAPTIVE_XHIGH          # unknown ids are assumed to be new models [INF]
    if version >= (4, 6):
        return CLAUDE_ADAPTIVE
    return CLAUDE_BUDGET if version >= (3, 7) else CLAUDE_NO_THINKING


SPEC = VendorSpec(
    name="anthropic",
    surfaces=(anthropic_surface({"global": "https://api.anthropic.com"}, auth="x-api-key"),),
    hosts=frozenset({"api.anthropic.com"}),
    api_key_env="ANTHROPIC_API_KEY",
    caps=Caps(
        params=frozenset({"temperature", "top_p", "max_tokens", "stop", "user", "tools", "tool_choice",
                          "parallel_tool_calls", "metadata", "top_k", "stream_options"}),
        response_formats=frozenset({"text"}),
        stream_usage=False,  # usage always comes in message_start/message_delta (§5)
    ),
    default_max_tokens=4096,  # Anthropic requires max_tokens on every request (§5)
    effort_profiles=(CLAUDE_ADAPTIVE, CLAUDE_ADAPTIVE_XHIGH, CLAUDE_BUDGET, CLAUDE_NO_THINKING, ANTHROPIC_GATEWAY),
    model_effort=pick_effort,
    doc="https://docs.anthropic.com/en/api/messages",
)
