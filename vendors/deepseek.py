"""DeepSeek: OpenAI format at api.deepseek.com (Anthropic format under /anthropic), thinking mode."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vendors.hosts import host_matches, hostname
from vendors.profiles import anthropic_surface, effort_lookup, openai_surface
from vendors.spec import Caps, Quirks, VendorSpec

_HOSTS = frozenset({"api.deepseek.com"})
_APEXES = frozenset({"deepseek.com"})  # *.deepseek.com; the bare apex is the website (§2.1)
# Official ids that take image parts (Reasonix IsOfficialDeepSeekImageModel, VENDORS.md §7.1 rows 62-63).
_VISION_MODELS = frozenset({"deepseek-v4-flash-vision-exp", "deepseek-flash", "deepseek-v4-flash",
                            "deepseek-v4.1-flash-expires-on-0910"})


def beta_chat_url(chat_url: str) -> str:
    """The beta endpoint (chat-prefix completion, strict tools) for a DeepSeek-hosted chat URL, else "".

    Only derived from a URL DeepSeek hosts, so a custom gateway is never bypassed (§2.1, §7.1 rows 58-61).
    """
    if not host_matches(hostname(chat_url), _HOSTS, _APEXES):
        return ""
    parts = urlsplit(chat_url.strip())
    return urlunsplit((parts.scheme, parts.netloc, "/beta/chat/completions", "", ""))


def allows_vision(base_url: str, model: str) -> bool:
    """True when the official DeepSeek endpoint accepts image parts for `model` (§2.3, §7.1 rows 62-63)."""
    bare = model.strip().rsplit("/", 1)[-1].lower()
    return host_matches(hostname(base_url), _HOSTS, _APEXES) and bare in _VISION_MODELS


def error_code(status: int, code: int | str | None, message: str) -> tuple[Any, str | None, float | None] | None:
    """A 400 about reasoning_content: thinking mode needs it replayed on tool-call turns (§2.3, §7.5)."""
    if status == 400 and "reasoning_content" in message:
        return None, ("replay each assistant tool-call turn with its reasoning_content (an empty string if it "
                      "was lost); pass the previous resp.choices[0].message back unchanged"), None
    return None


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
                          "top_logprobs", "stream_options"}),
        max_tools=128,
        response_formats=frozenset({"text", "json_object"}),
    ),
    # Tool-call turns must replay reasoning_content, an empty one where it was lost (§2.3).
    quirks=Quirks(replay_reasoning=True, replay_fields=frozenset({"reasoning_content"})),
    model_effort=effort_lookup("deepseek"),  # type: ignore[arg-type]
    error_code=error_code,
    doc="https://api-docs.deepseek.com/",
)
