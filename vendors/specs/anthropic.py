"""Anthropic first party: the Messages API with x-api-key and anthropic-version."""

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

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
    wires={Wire.ANTHROPIC_MESSAGES: WireShape(budget_thinking(CLAUDE_BUDGETS), sizes_output=True)},
    hint="extended thinking needs max_tokens above the budget (low 1024 … max 63999 tokens) with a quarter left "
         "for the answer; without max_tokens Farebox sends budget + 4096",
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

# ── Server and Anthropic-defined tools ─────────────────────────────────────────────────────────
# Tool `type`s sent verbatim in `tools` (anthropic SDK 2.15.0 ToolUnionParam and BetaToolUnionParam, read
# 2026-12-01, research/wire.md §1.1): each is versioned by date, so the patterns take future dates too.
SERVER_TOOL_TYPES = (
    r"web_search_\d{8}", r"web_fetch_\d{8}", r"code_execution_\d{8}", r"bash_\d{8}", r"text_editor_\d{8}",
    r"memory_\d{8}", r"tool_search_tool_(regex|bm25)(_\d{8})?", r"computer_\d{8}", r"computer_toolset_\d{8}",
    r"browser_toolset_\d{8}", r"advisor_\d{8}", r"mcp_toolset", r"custom",
)
# Betas still required (SDK 2.15.0 beta-only types; the MCP connector page): web search, web fetch, code
# execution, tool search and memory went GA on 2026-02-17 and need none (Claude 4.6 release notes).
_TOOL_BETAS = {
    "computer_20241022": "computer-use-2024-10-22", "bash_20241022": "computer-use-2024-10-22",
    "text_editor_20241022": "computer-use-2024-10-22", "computer_20250124": "computer-use-2025-01-24",
    "computer_20251124": "computer-use-2025-11-24", "advisor_20260301": "advisor-tool-2026-03-01",
}
MCP_BETA = "mcp-client-2025-11-20"   # current; mcp-client-2026-09-15 is a superset a caller may send instead


def betas_for(body: Mapping[str, Any]) -> list[str]:
    """The anthropic-beta values a Messages body needs: MCP servers and the dated computer-use tools."""
    out: list[str] = []
    if not body.get("tools") and not body.get("mcp_servers"):
        return out
    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    kinds = [t.get("type") for t in tools if isinstance(t, Mapping)]
    if body.get("mcp_servers") or "mcp_toolset" in kinds:
        out.append(MCP_BETA)
    for kind in kinds:
        beta = _TOOL_BETAS.get(kind) if isinstance(kind, str) else None
        if beta and beta not in out:
            out.append(beta)
    return out


def patch_headers(body: Mapping[str, Any], headers: dict[str, str]) -> dict[str, str]:
    """Add the betas `body` needs to the caller's anthropic-beta header (comma-separated, each value once).

    `headers` is never changed: a new dict comes back when a beta is added, else `headers` itself."""
    needed = betas_for(body)
    if not needed:
        return headers
    name = next((k for k in headers if k.lower() == "anthropic-beta"), "anthropic-beta")
    given = [v.strip() for v in headers.get(name, "").split(",") if v.strip()]
    if any(v.startswith("mcp-client-") for v in given):
        needed = [v for v in needed if v != MCP_BETA]   # the caller chose its MCP connector version
    merged = given + [v for v in needed if v not in given]
    return {**headers, name: ",".join(merged)}


def _claude_version(model: str) -> tuple[int, int] | None:
    """(major, minor) from claude-3-7-sonnet-20250219, claude-opus-4-1, claude-sonnet-4-6, claude-2.1."""
    numbers = [int(p) for p in model.replace(".", "-").split("-") if p.isdigit() and len(p) <= 2]
    if not numbers:
        return None
    return numbers[0], numbers[1] if len(numbers) > 1 else 0


@lru_cache(maxsize=256)  # pure in (model, wire), and asked on every call
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
        tool_type_patterns=SERVER_TOOL_TYPES,
    ),
    patch_headers=patch_headers,
    default_max_tokens=4096,  # Anthropic requires max_tokens on every request (§5)
    effort_profiles=(CLAUDE_ADAPTIVE, CLAUDE_ADAPTIVE_XHIGH, CLAUDE_BUDGET, CLAUDE_NO_THINKING, ANTHROPIC_GATEWAY),
    model_effort=pick_effort,
    doc="https://docs.anthropic.com/en/api/messages",
)
