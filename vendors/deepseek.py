"""DeepSeek: OpenAI format at api.deepseek.com (Anthropic format under /anthropic), thinking mode."""

from vendors.profiles import anthropic_surface, effort_lookup, openai_surface
from vendors.spec import Caps, Quirks, VendorSpec

SPEC = VendorSpec(
    name="deepseek",
    surfaces=(
        openai_surface({"global": "https://api.deepseek.com"}),
        anthropic_surface({"global": "https://api.deepseek.com/anthropic"}, auth="x-api-key"),
    ),
    hosts=frozenset({"api.deepseek.com"}),
    host_apexes=frozenset({"deepseek.com"}),  # *.deepseek.com; the bare apex is the website (§2.1)
    api_key_env="DEEPSEEK_API_KEY",
    caps=Caps(
        params=frozenset({"temperature", "top_p", "max_tokens", "stop", "user", "tools", "tool_choice",
                          "response_format", "presence_penalty", "frequency_penalty", "logprobs",
                          "top_logprobs", "stream_options"}),
        max_tools=128,
        response_formats=frozenset({"text", "json_object"}),
    ),
    # Tool-call turns must replay reasoning_content, an empty one where it was lost (§2.3).
    quirks=Quirks(replay_reasoning=True, replay_fields=frozenset({"reasoning_content"})),
    model_effort=effort_lookup("deepseek"),  # type: ignore[arg-type]
    doc="https://api-docs.deepseek.com/",
)
