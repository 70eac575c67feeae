"""Moonshot / Kimi: OpenAI-compatible at exactly api.moonshot.ai (global) and api.moonshot.cn (cn)."""

from __future__ import annotations

from typing import Any

from vendors.profiles import effort_lookup, openai_surface
from vendors.spec import Caps, Quirks, RequestContext, VendorSpec, frozen_map


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
    model_effort=effort_lookup("moonshot"),  # type: ignore[arg-type]
    patch_request=patch_request,
    param_check=param_check,
    doc="https://platform.moonshot.ai/docs/api/chat",
)
