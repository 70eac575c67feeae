"""Request checks each vendor enforces: auth, body shape, and the quirks that turn into 4xx/5xx."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import server_tools
from .anthropic_wire import verify
from .records import key_fingerprint, mask_key


@dataclass(frozen=True, slots=True)
class Incoming:
    """One completion request as the checks see it; ``raw_key`` lives only for this request."""

    profile: str
    surface: str
    body: Any
    headers: Mapping[str, str]
    auth_kind: str | None
    raw_key: str | None
    options: Mapping[str, Any]
    seed: int
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


def check_auth(inc: Incoming) -> Reject | None:
    minimax = inc.profile == "minimax"
    if minimax and inc.surface == "anthropic" and inc.auth_kind == "x-api-key":
        # MiniMax's Anthropic surface fails x-api-key auth with a 500 (§1.2, MiniMax-AI/cli#59).
        return Reject(500, "system error", 1033)
    if inc.raw_key is None:
        if inc.profile == "compatible" and not inc.options.get("valid_keys"):
            return None  # local servers (vLLM, llama.cpp, Ollama) run without keys
        if inc.surface == "anthropic" and not minimax:
            return Reject(401, "x-api-key header is required")
        if inc.profile == "openai":
            return Reject(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        return Reject(401, None, {"minimax": 1004, "zhipu": 1001}.get(inc.profile))
    valid = inc.options.get("valid_keys")
    if valid and key_fingerprint(inc.raw_key) not in valid:
        if minimax:
            return Reject(401, "invalid api key", 2049)  # also a region/host mismatch (§1.1)
        code = 1002 if inc.profile == "zhipu" else None
        return Reject(401, f"Incorrect API key provided: {mask_key(inc.raw_key)}", code)
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
    if inc.profile == "anthropic" and not inc.headers.get("anthropic-version"):
        return Reject(400, "anthropic-version: header is required")
    limit = body.get("max_tokens")
    if not isinstance(limit, int) or isinstance(limit, bool):
        return Reject(400, "max_tokens: Field required")
    thinking = body.get("thinking")
    if inc.profile == "anthropic" and isinstance(thinking, dict) and thinking.get("type") == "enabled":
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


def _text_only(profile: str, model: str) -> bool:
    """Models that refuse image parts (research/wire.md §5): the emulator's own list, not Farebox's."""
    model = model.lower()
    if profile == "openai":
        return model.startswith(("o1-mini", "o1-preview", "o3-mini"))
    if profile == "deepseek":
        return model == "deepseek-v4-pro"
    if profile == "minimax":
        return model.startswith("minimax-m2")
    if profile == "zhipu":   # the GLM vision models carry a "v": glm-5v-turbo, glm-4.6v, glm-4.5v
        return model.startswith("glm-") and "v" not in model.removeprefix("glm-").split("-")[0]
    return False


# What each server answers an image part sent to a text model (research/wire.md §5; DeepSeek's serde text).
_NO_IMAGES = {
    "openai": Reject(400, "Invalid content type. image_url is only supported by certain models."),
    "deepseek": Reject(400, "Failed to deserialize the JSON body into the target type: messages[0]: unknown variant "
                            "`image_url`, expected `text`"),
    "minimax": Reject(400, "invalid params, chat content is empty", 2013),
    "zhipu": Reject(400, "image input is not supported by this model", 1210),
}


def check_vision(inc: Incoming) -> Reject | None:
    if not _text_only(inc.profile, inc.model):
        return None
    for msg in inc.messages:
        parts = msg.get("content") if isinstance(msg.get("content"), list) else []
        if any(isinstance(p, dict) and p.get("type") in ("image_url", "image") for p in parts):
            return _NO_IMAGES[inc.profile]
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


VENDOR_CHECKS = {"minimax": check_minimax, "deepseek": check_deepseek, "moonshot": check_moonshot,
                 "anthropic": check_anthropic, "zhipu": check_zhipu}


def validate(inc: Incoming) -> Reject | None:
    """Run the checks in the order a vendor would: auth, shape, signatures, vendor quirks."""
    for check in (check_auth, check_shape, check_signatures, check_vision, VENDOR_CHECKS.get(inc.profile)):
        reject = check(inc) if check else None
        if reject is not None:
            return reject
    return None
