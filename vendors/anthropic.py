"""Anthropic first party: the Messages API with x-api-key and anthropic-version."""

from vendors.profiles import anthropic_surface, effort_lookup
from vendors.spec import Caps, VendorSpec

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
    model_effort=effort_lookup("anthropic"),  # type: ignore[arg-type]
    doc="https://docs.anthropic.com/en/api/messages",
)
