"""The emulated profiles as data: paths, models, thinking rules, id styles, option defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors
from .errors import ErrorStyle
from .openai_wire import PLAIN_CHAT, ChatShape
from .validate import (
    MINIMAX_MODELS,
    Auth,
    Check,
    Reject,
    check_anthropic,
    check_deepseek,
    check_minimax,
    check_moonshot,
    check_zhipu,
)


def _thinking_type(body: dict[str, Any]) -> str | None:
    thinking = body.get("thinking")
    return thinking.get("type") if isinstance(thinking, dict) else None


def _model(body: dict[str, Any]) -> str:
    return str(body.get("model") or "").lower()


def thinks_openai(body: dict[str, Any], surface: str) -> bool:
    # Reasoning is hidden on OpenAI; only reasoning_tokens show (§6).
    return body.get("reasoning_effort") not in (None, "none")


def thinks_anthropic(body: dict[str, Any], surface: str) -> bool:
    return _thinking_type(body) in ("enabled", "adaptive")


def thinks_minimax(body: dict[str, Any], surface: str) -> bool:
    # M3 thinks unless thinking.type is "disabled"; M2.x always thinks (§1.11).
    return _thinking_type(body) != "disabled" if "m3" in _model(body) else True


def thinks_deepseek(body: dict[str, Any], surface: str) -> bool:
    # Thinking defaults to enabled; deepseek-chat / -reasoner are the non-thinking / thinking aliases (§2.3).
    kind, model = _thinking_type(body), _model(body)
    if model == "deepseek-reasoner" or kind == "enabled":
        return True
    return kind != "disabled" and model != "deepseek-chat"


def thinks_moonshot(body: dict[str, Any], surface: str) -> bool:
    # kimi-k3 always thinks; k2.5/k2.6 think unless disabled (§4).
    kind, model = _thinking_type(body), _model(body)
    if model.startswith("kimi-k3") or kind == "enabled":
        return True
    return kind != "disabled" and (model.startswith(("kimi-k2.5", "kimi-k2.6")) or "thinking" in model)


def thinks_zhipu(body: dict[str, Any], surface: str) -> bool:
    # On by default for GLM-4.5 and later (§3); GLM-5.3 always thinks; GLM-5.2 skips it for none/minimal.
    kind, model = _thinking_type(body), _model(body)
    if model.startswith("glm-5.3"):
        return True
    if model.startswith("glm-5.2") and body.get("reasoning_effort") in ("none", "minimal"):
        return False
    if kind in ("enabled", "disabled"):
        return kind == "enabled"
    return _model(body).startswith(("glm-4.5", "glm-4.6", "glm-4.7", "glm-5"))


def thinks_qwen(body: dict[str, Any], surface: str) -> bool:
    # enable_thinking switches the hybrid models; the -thinking models always think (Deep thinking guide).
    return body.get("enable_thinking") is True or "thinking" in _model(body)


def thinks_compatible(body: dict[str, Any], surface: str) -> bool:
    return thinks_anthropic(body, surface) or thinks_openai(body, surface)


BEARER_AUTH = Auth()  # 401 without a key; "Incorrect API key provided" for an unknown one


# Models each vendor serves text-only (research/wire.md §5): the emulator's own list, not Farebox's.
def _never(model: str) -> bool:
    return False


def text_only_openai(model: str) -> bool:
    return model.startswith(("o1-mini", "o1-preview", "o3-mini"))


def text_only_zhipu(model: str) -> bool:
    # The GLM vision models carry a "v": glm-5v-turbo, glm-4.6v, glm-4.5v.
    return model.startswith("glm-") and "v" not in model.removeprefix("glm-").split("-")[0]


def _minimax_tool_id(d: str, name: str) -> str:
    base36 = int(d[:16], 16)
    chars = ""
    while len(chars) < 12:
        base36, r = divmod(base36, 36)
        chars += "0123456789abcdefghijklmnopqrstuvwxyz"[r]
    return f"call_function_{chars}_1"  # shape of the vendor example (§1.5)


@dataclass(frozen=True, slots=True)
class Profile:
    """One emulated vendor: where it lives under the emulator URL and how it shapes answers."""

    name: str
    openai_base: str | None  # path after /{name} for the OpenAI surface (None = no such surface)
    anthropic_base: str | None  # path after /{name}; clients append /v1/messages
    models: tuple[str, ...]
    models_endpoint: bool
    show_reasoning: bool
    thinks: Callable[[dict[str, Any], str], bool]
    chat_id: Callable[[str], str]
    tool_id: Callable[[str, str], str]
    fingerprint: bool = False
    service_tier: bool = False                  # non-stream replies name the tier that served them (OpenAI)
    errors: ErrorStyle = errors.OPENAI          # error envelopes and code -> status (errors.py)
    auth: Auth = BEARER_AUTH                    # answers to a missing or unknown key
    strict_anthropic: bool = False              # the Anthropic API itself: anthropic-version, thinking budget bounds
    text_only: Callable[[str], bool] = _never   # lower-cased model -> it refuses image parts ...
    no_images: Reject | None = None             # ... with this answer (the vendor's own text, research/wire.md §5)
    checks: tuple[Check, ...] = ()              # the vendor's own request checks, after the shared ones
    chat_wire: str = "openai"                   # the OpenAI-surface answer: "openai", or "minimax" (minimax_wire.py)
    chat_shape: ChatShape = PLAIN_CHAT          # openai_wire's per-vendor fields (usage details, refusal, ...)
    server_tools: bool = False                  # runs Anthropic's server tools (server_tools.py)
    anthropic_tool_ids: bool = True             # Anthropic surface: toolu_ ids (False: the profile's own tool_id)
    max_choices: int = 1                        # answers n choices up to this many

    @property
    def surfaces(self) -> tuple[str, ...]:
        bases = (("openai", self.openai_base), ("anthropic", self.anthropic_base))
        return tuple(surface for surface, base in bases if base is not None)


def _uuid(d: str) -> str:
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


_ALL = (
    Profile(
        name="openai",
        openai_base="/v1",
        anthropic_base=None,
        models=("gpt-5.1", "gpt-5", "gpt-4.1", "gpt-4o-mini"),
        models_endpoint=True,
        show_reasoning=False,
        thinks=thinks_openai,
        chat_id=lambda d: f"chatcmpl-{d[:29]}",
        tool_id=lambda d, name: f"call_{d[:24]}",
        fingerprint=True,
        service_tier=True,
        auth=Auth(missing=Reject(401, "You didn't provide an API key. You need to provide your API key in an "
                                      "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")),
        text_only=text_only_openai,
        no_images=Reject(400, "Invalid content type. image_url is only supported by certain models."),
        chat_shape=ChatShape(reasoning_tokens=True, refusal=True),
    ),
    Profile(
        name="anthropic",
        openai_base=None,
        anthropic_base="",
        models=("claude-opus-4-6", "claude-sonnet-4-6", "claude-haiku-4-5"),
        models_endpoint=True,
        show_reasoning=True,
        thinks=thinks_anthropic,
        chat_id=lambda d: f"msg_{d[:24]}",
        tool_id=lambda d, name: f"toolu_{d[:24]}",
        strict_anthropic=True,
        checks=(check_anthropic,),
        server_tools=True,
    ),
    Profile(
        name="minimax",
        openai_base="/v1",
        anthropic_base="/anthropic",
        models=MINIMAX_MODELS,
        models_endpoint=False,  # no /v1/models on MiniMax (§1.3)
        show_reasoning=True,
        thinks=thinks_minimax,
        chat_id=lambda d: d[:32],
        tool_id=_minimax_tool_id,
        errors=errors.MINIMAX,
        # No key: 1004 on both surfaces; an unknown key: 2049, also a region/host mismatch (§1.1); x-api-key
        # auth on the Anthropic surface fails with a 500 (§1.2, MiniMax-AI/cli#59).
        auth=Auth(missing=Reject(401, None, 1004), missing_anthropic=None, wrong_message="invalid api key",
                  wrong_code=2049, x_api_key=Reject(500, "system error", 1033)),
        text_only=lambda model: model.startswith("minimax-m2"),
        no_images=Reject(400, "invalid params, chat content is empty", 2013),
        checks=(check_minimax,),
        chat_wire="minimax",
        anthropic_tool_ids=False,  # MiniMax's own call_function_ ids on both surfaces
    ),
    Profile(
        name="deepseek",
        openai_base="",
        anthropic_base="/anthropic",
        models=("deepseek-v4-flash", "deepseek-v4-pro", "deepseek-chat", "deepseek-reasoner"),
        models_endpoint=True,
        show_reasoning=True,
        thinks=thinks_deepseek,
        chat_id=_uuid,
        tool_id=lambda d, name: f"call_00_{d[:24]}",
        fingerprint=True,
        errors=errors.DEEPSEEK,
        text_only=lambda model: model == "deepseek-v4-pro",
        no_images=Reject(400, "Failed to deserialize the JSON body into the target type: messages[0]: unknown "
                              "variant `image_url`, expected `text`"),   # DeepSeek's serde text
        checks=(check_deepseek,),
        chat_shape=ChatShape(reasoning_tokens=True, cache_hit_fields=True, null_other_channel=True),
    ),
    Profile(
        name="moonshot",
        openai_base="/v1",
        anthropic_base="/anthropic",
        models=("kimi-k3", "kimi-k2.6", "kimi-k2.5"),
        models_endpoint=True,
        show_reasoning=True,
        thinks=thinks_moonshot,
        chat_id=lambda d: f"chatcmpl-{d[:24]}",
        tool_id=lambda d, name: f"functions.{name}:0",  # Kimi's tool-call id shape
        errors=errors.MOONSHOT,
        checks=(check_moonshot,),
        max_choices=5,  # n: 1..5 (platform.moonshot.ai chat API)
        chat_shape=ChatShape(reasoning_tokens=True),
    ),
    Profile(
        name="zhipu",
        openai_base="/api/paas/v4",
        anthropic_base="/api/anthropic",
        models=("glm-5.3", "glm-5.3-flash", "glm-5.2", "glm-5.1", "glm-5", "glm-5v-turbo", "glm-4.7", "glm-4.7-flash"),
        models_endpoint=True,
        show_reasoning=True,
        thinks=thinks_zhipu,
        chat_id=lambda d: d[:20],
        tool_id=lambda d, name: f"call_{d[:20]}",
        errors=errors.ZHIPU,
        auth=Auth(missing=Reject(401, None, 1001), wrong_code=1002),
        text_only=text_only_zhipu,
        no_images=Reject(400, "image input is not supported by this model", 1210),
        checks=(check_zhipu,),
        chat_shape=ChatShape(request_id_in_body=True),
    ),
    Profile(
        name="qwen",
        openai_base="/compatible-mode/v1",
        anthropic_base=None,
        models=("qwen3-max", "qwen-plus", "qwen-flash", "qwen3-coder-plus"),
        models_endpoint=True,
        show_reasoning=True,
        thinks=thinks_qwen,
        chat_id=lambda d: f"chatcmpl-{_uuid(d)}",
        tool_id=lambda d, name: f"call_{d[:24]}",
    ),
    Profile(
        name="compatible",
        openai_base="/v1",
        anthropic_base="",
        models=("local-model",),
        models_endpoint=True,
        show_reasoning=True,
        thinks=thinks_compatible,
        chat_id=lambda d: f"chatcmpl-{d[:16]}",
        tool_id=lambda d, name: f"call_{d[:16]}",
        auth=Auth(keyless=True),  # local servers (vLLM, llama.cpp, Ollama) run without keys
        chat_shape=ChatShape(usage_details=False),  # llama.cpp / Ollama report the three totals only
    ),
)
PROFILES: dict[str, Profile] = {p.name: p for p in _ALL}

# Option name -> default. set_options() rejects other names so typos fail loudly.
OPTION_DEFAULTS: dict[str, Any] = {
    "split": "event",  # "random": SSE bytes written in seeded random pieces (mid-line, mid-UTF-8)
    "crlf": False,  # "\r\n" line endings in SSE framing
    "keepalive": False,  # ": keep-alive" comment lines on the OpenAI surface (default on for compatible)
    "chunk_words": 3,  # words per content/reasoning stream chunk
    "cache_hit_tokens": 0,  # prompt tokens reported as cache hits (clipped to the prompt)
    "cache_write_tokens": (0, 0),  # Anthropic surface: (5-minute, 1-hour) cache writes, usage.cache_creation
    "finish_reason": None,  # override the final finish/stop reason, e.g. "insufficient_system_resource"
    "thinking": None,  # True/False forces reasoning on/off; None = the vendor's rule
    "valid_keys": None,  # raw keys accepted (kept only as fingerprints); None = any key
    "validate_signatures": True,  # Anthropic surface: check replayed thinking signatures
    "stream_usage": "honour",  # MiniMax: "never" = usage null in every chunk (Archestra, §1.5)
    "reply_usage": "honour",  # OpenAI surface, non-stream: "omit" = no usage key (some compatible servers)
    # openai, non-stream: the reply's service_tier (the tier that served the request, which OpenAI bills). None
    # echoes the request's ("auto" or none: "default"); a name forces it, e.g. "priority" for an "auto" request.
    "served_tier": None,
    "reasoning_mode": "incremental",  # MiniMax reasoning_details in streams: or "cumulative"
    "content_as_parts": False,  # MiniMax: message.content as [{"type":"text","text":...}]
    "token_plan": True,  # MiniMax: sk-cp- keys on *-highspeed models get 2056 (§1.2)
    "strict_models": False,  # MiniMax: unknown model names get 2013
    # Streams: usage inside choices[0] of the finish chunk (on for moonshot, as its streaming guide shows);
    # with include_usage a top-level usage chunk follows too (the duplicate a 2026-08-31 capture saw).
    "usage_in_choice": False,
    "future_blocks": False,  # anthropic: an unknown block type (and delta) after the server-tool blocks
    # MiniMax inline <think>: "tags" = the tags split inside themselves; "chars" = one character per chunk
    # (every boundary, e.g. right after </think> before the "\n\n").
    "inline_think_split": "tags",
}
PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {"compatible": {"keepalive": True}, "moonshot": {"usage_in_choice": True}}
_CHOICES = {
    "split": ("event", "random"),
    "stream_usage": ("honour", "never"),
    "reply_usage": ("honour", "omit"),
    "reasoning_mode": ("incremental", "cumulative"),
    "inline_think_split": ("tags", "chars"),
}


def check_option(name: str, value: Any) -> None:
    if name not in OPTION_DEFAULTS:
        raise ValueError(f"unknown emulator option {name!r}; known: {', '.join(sorted(OPTION_DEFAULTS))}")
    if name in _CHOICES and value not in _CHOICES[name]:
        raise ValueError(f"option {name!r} must be one of {_CHOICES[name]}")
    if name == "chunk_words" and (not isinstance(value, int) or value < 1):
        raise ValueError("option 'chunk_words' must be an int >= 1")
