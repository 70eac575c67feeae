"""Request checks each vendor enforces: auth, body shape, and the quirks that turn into 4xx/5xx.

The shared checks read the vendor's facts from its profile (profiles.py): how it answers a missing or wrong
key (`Auth`), whether it is the strict Anthropic API, which models refuse images and how; a vendor's own
quirks are the `checks` of its profile, run last.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import server_tools
from .anthropic_wire import verify
from .records import key_fingerprint, mask_key

if TYPE_CHECKING:
    from .profiles import Profile


@dataclass(frozen=True, slots=True)
class Incoming:
    """One completion request after routing; ``raw_key`` is used for the checks and lives only for this request.

    The server builds it from the HTTP request; the answer adds the profile's options, the seed and whether
    the vendor's rule says this request thinks, before the checks run.
    """

    profile: Profile
    surface: str
    body: Any
    headers: Mapping[str, str]
    auth_kind: str | None
    raw_key: str | None
    options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    thinking: bool = False

    @property
    def model(self) -> str:
        return str(self.body.get("model") or "") if isinstance(self.body, dict) else ""

    @property
    def messages(self) -> list[dict[str, Any]]:
        msgs = self.body.get("messages") if isinstance(self.body, dict) else None
        return [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []


@dataclass(frozen=True, slots=True)
class Reject:
    """An error answer: HTTP status, message (None = vendor default) and vendor code."""

    status: int
    message: str | None = None
    code: int | None = None


Check = Callable[[Incoming], "Reject | None"]


@dataclass(frozen=True, slots=True)
class Auth:
    """How a vendor answers a request without a key, or with a key it does not know."""

    missing: Reject = Reject(401)                     # no key (on the Anthropic surface too, unless below)
    missing_anthropic: Reject | None = Reject(401, "x-api-key header is required")
    wrong_message: str | None = None                  # None: "Incorrect API key provided: <masked key>"
    wrong_code: int | None = None
    keyless: bool = False                             # no key is fine unless valid_keys is set (local servers)
    x_api_key: Reject | None = None                   # the answer to x-api-key auth on the Anthropic surface


def check_auth(inc: Incoming) -> Reject | None:
    auth = inc.profile.auth
    if inc.surface == "anthropic" and inc.auth_kind == "x-api-key" and auth.x_api_key is not None:
        return auth.x_api_key
    if inc.raw_key is None:
        if auth.keyless and not inc.options.get("valid_keys"):
            return None
        if inc.surface == "anthropic" and auth.missing_anthropic is not None:
            return auth.missing_anthropic
        return auth.missing
    valid = inc.options.get("valid_keys")
    if valid and key_fingerprint(inc.raw_key) not in valid:
        return Reject(401, auth.wrong_message or f"Incorrect API key provided: {mask_key(inc.raw_key)}",
                      auth.wrong_code)
    return None


def check_shape(inc: Incoming) -> Reject | None:
    body = inc.body
    if not isinstance(body, dict):
        return Reject(400, "The request body is not valid JSON")
    if not isinstance(body.get("model"), str) or not body["model"]:
        return Reject(400, "model: Field required")
    if not inc.messages:
        return Reject(400, "messages: at least one message is required")
    if inc.surface != "anthropic":
        return None
    strict = inc.profile.strict_anthropic
    if strict and not inc.headers.get("anthropic-version"):
        return Reject(400, "anthropic-version: header is required")
    limit = body.get("max_tokens")
    if not isinstance(limit, int) or isinstance(limit, bool):
        return Reject(400, "max_tokens: Field required")
    thinking = body.get("thinking")
    if strict and isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            return Reject(400, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if budget >= limit:
            return Reject(400, "`max_tokens` must be greater than `thinking.budget_tokens`")
    return None


def check_signatures(inc: Incoming) -> Reject | None:
    """Replayed thinking blocks must carry the signature issued for exactly that text (§5)."""
    if inc.surface != "anthropic" or not inc.options.get("validate_signatures", True):
        return None
    for i, msg in enumerate(inc.messages):
        if msg.get("role") != "assistant" or not isinstance(msg.get("content"), list):
            continue
        for j, block in enumerate(msg["content"]):
            if not isinstance(block, dict) or block.get("type") != "thinking":
                continue
            if "signature" not in block:
                return Reject(400, f"messages.{i}.content.{j}.thinking.signature: Field required")
            if not verify(inc.seed, str(block.get("thinking", "")), block["signature"]):
                return Reject(400, f"messages.{i}.content.{j}: Invalid signature in thinking block")
    return None


def check_vision(inc: Incoming) -> Reject | None:
    """An image part sent to a model the vendor serves text-only gets the vendor's own refusal."""
    refusal = inc.profile.no_images
    if refusal is None or not inc.profile.text_only(inc.model.lower()):
        return None
    for msg in inc.messages:
        parts = msg.get("content") if isinstance(msg.get("content"), list) else []
        if any(isinstance(p, dict) and p.get("type") in ("image_url", "image") for p in parts):
            return refusal
    return None


def _setting_error() -> Reject:
    return Reject(400, "invalid params, invalid chat setting", 2013)


def check_minimax(inc: Incoming) -> Reject | None:
    body, model = inc.body, inc.model
    if (
        inc.options.get("token_plan", True)
        and (inc.raw_key or "").startswith("sk-cp-")
        and model.endswith("-highspeed")
    ):
        return Reject(429, None, 2056)  # Token Plan keys cannot use highspeed models (§1.2, Plexum)
    if inc.options.get("strict_models") and model not in MINIMAX_MODELS:
        return Reject(400, f"invalid params, unknown model '{model}'", 2013)
    if inc.surface == "anthropic":
        return None
    if body.get("n", 1) != 1:
        return _setting_error()  # n must be 1 (§1.4 quirk 8)
    if "reasoning_effort" in body and "m3" in model.lower():
        return _setting_error()  # M3 rejects reasoning_effort (§1.4 quirk 2)
    roles = [m.get("role") for m in inc.messages]
    if "system" in roles[1:]:
        # One system message, and first (§1.4 quirk 7).
        return Reject(400, "invalid params, chat content has invalid message role: system", 2013)
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and "strict" in fn and fn["strict"] is None:
            return _setting_error()  # tools[].function.strict: null is rejected (§1.4 quirk 7)
    return None


def _missing_reasoning(inc: Incoming) -> int | None:
    """Index of an assistant tool-call message without a reasoning_content key, if thinking is on."""
    if not inc.thinking or inc.surface != "openai":
        return None
    for i, msg in enumerate(inc.messages):
        if msg.get("role") == "assistant" and msg.get("tool_calls") and "reasoning_content" not in msg:
            return i
    return None


def check_deepseek(inc: Incoming) -> Reject | None:
    n = inc.body.get("n")
    if inc.surface == "openai" and n is not None and n != 1:
        # api.deepseek.com takes n: 1 and refuses more ("only support n = 1", deepseek-ai/DeepSeek-V2#55).
        return Reject(400, "Invalid n value: currently only n = 1 is supported")
    index = _missing_reasoning(inc)
    if index is not None:
        # Thinking mode needs reasoning_content replayed on tool-call turns (§2.3).
        return Reject(
            400,
            f"Missing `reasoning_content` field in the assistant message at message index {index}. For more "
            "information, please refer to https://api-docs.deepseek.com/guides/thinking_mode#tool-calls",
        )
    return None


def check_moonshot(inc: Incoming) -> Reject | None:
    if inc.surface == "openai" and inc.body.get("tool_choice") == "required":
        return Reject(400, "tool_choice 'required' is not supported")  # §4 quirks (LiteLLM)
    index = _missing_reasoning(inc)
    if index is not None:
        # Kimi thinking models need reasoning_content on assistant tool-call messages (§4).
        return Reject(
            400,
            f"thinking is enabled but reasoning_content is missing in assistant tool call message at index {index}",
        )
    return None


MINIMAX_MODELS = (
    "MiniMax-M3",
    "MiniMax-M2.7",
    "MiniMax-M2.7-highspeed",
    "MiniMax-M2.5",
    "MiniMax-M2.5-highspeed",
    "MiniMax-M2.1",
    "MiniMax-M2.1-highspeed",
    "MiniMax-M2",
)

# docs.z.ai Core Parameters (research/wire.md §3): what each GLM takes as reasoning_effort.
_GLM_EFFORTS = {"glm-5.3": ("max", "high", "low"),
                "glm-5.2": ("max", "xhigh", "high", "medium", "low", "minimal", "none")}


def check_zhipu(inc: Incoming) -> Reject | None:
    body, model = inc.body, inc.model.lower()
    thinking = body.get("thinking") if isinstance(body.get("thinking"), dict) else {}
    if "clear_thinking" in thinking and not isinstance(thinking["clear_thinking"], bool):
        return Reject(400, "thinking.clear_thinking must be a boolean", 1214)
    family = "glm-5.3" if model.startswith("glm-5.3") else model if model == "glm-5.2" else None
    if family == "glm-5.3" and thinking.get("type") == "disabled":
        return Reject(400, f"{model} always thinks; thinking type disabled is not supported", 1214)
    effort = body.get("reasoning_effort")
    if family is not None and effort is not None and effort not in _GLM_EFFORTS[family]:
        accepted = ", ".join(_GLM_EFFORTS[family])
        return Reject(400, f"reasoning_effort {effort!r} is not supported by {model}; supported: {accepted}", 1214)
    return None


def check_anthropic(inc: Incoming) -> Reject | None:
    """Server tools: known tool types, their beta headers, intact server-tool history (server_tools.py)."""
    found = server_tools.check_request(inc.body, inc.headers, inc.seed)
    return Reject(*found) if found else None


def validate(inc: Incoming) -> Reject | None:
    """Run the checks in the order a vendor would: auth, shape, signatures, images, the vendor's own quirks."""
    for check in (check_auth, check_shape, check_signatures, check_vision, *inc.profile.checks):
        reject = check(inc)
        if reject is not None:
            return reject
    return None
