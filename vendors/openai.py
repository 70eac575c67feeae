"""OpenAI first party: Chat Completions at api.openai.com."""

from vendors.profiles import effort_lookup, openai_surface
from vendors.spec import Caps, VendorSpec

SPEC = VendorSpec(
    name="openai",
    surfaces=(openai_surface({"global": "https://api.openai.com/v1"}),),
    hosts=frozenset({"api.openai.com"}),  # platform.openai.com is the console, not the API (§7.1 row 48)
    api_key_env="OPENAI_API_KEY",
    # api.openai.com wants max_completion_tokens; max_tokens is refused by reasoning models (§6).
    caps=Caps(max_tokens_field="max_completion_tokens", max_tools=128),
    model_effort=effort_lookup("openai"),  # type: ignore[arg-type]
    doc="https://platform.openai.com/docs/api-reference/chat",
)
