"""Offline token counts with tiktoken, built from the BPE files shipped in pricing/bpe (never downloaded)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pricing import PricingError
from pricing.counting import DEFAULT, Count, Profile, bpe_counter, exact_counter, profile_for

if TYPE_CHECKING:
    import tiktoken

BPE_DIR = Path(__file__).parent / "bpe"

ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"


@dataclass(frozen=True, slots=True)
class EncodingSpec:
    """What tiktoken_ext/openai_public.py would build, minus the download."""

    name: str
    sha256: str  # tiktoken's pinned hash of the .tiktoken file
    pat_str: str
    special_tokens: Mapping[str, int]

    @property
    def path(self) -> Path:
        return BPE_DIR / f"{self.name}.tiktoken"


# pat_str and special tokens copied from tiktoken_ext/openai_public.py (tiktoken 0.7-0.14).
SPECS: dict[str, EncodingSpec] = {
    "cl100k_base": EncodingSpec(
        name="cl100k_base",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pat_str="|".join(
            [
                r"""'(?i:[sdmt]|ll|ve|re)""",
                r"""[^\r\n\p{L}\p{N}]?+\p{L}++""",
                r"""\p{N}{1,3}+""",
                r""" ?[^\s\p{L}\p{N}]++[\r\n]*+""",
                r"""\s++$""",
                r"""\s*[\r\n]""",
                r"""\s+(?!\S)""",
                r"""\s""",
            ]
        ),
        special_tokens={
            ENDOFTEXT: 100257,
            FIM_PREFIX: 100258,
            FIM_MIDDLE: 100259,
            FIM_SUFFIX: 100260,
            ENDOFPROMPT: 100276,
        },
    ),
    "o200k_base": EncodingSpec(
        name="o200k_base",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pat_str="|".join(
            [
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                r"""\p{N}{1,3}""",
                r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                r"""\s*[\r\n]+""",
                r"""\s+(?!\S)""",
                r"""\s+""",
            ]
        ),
        special_tokens={ENDOFTEXT: 199999, ENDOFPROMPT: 200018},
    ),
}

# OpenAI families tokenised with o200k_base (as tiktoken.model maps them); everything else is an estimate
# with cl100k_base, except unknown "openai/..." models, which are assumed to be new o200k models.
_O200K = re.compile(r"^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-6|gpt-oss|codex-|o[1-9](-|$))", re.I)
_OLD_OPENAI = re.compile(r"^(gpt-4(-|$)|gpt-3\.5|text-embedding|davinci|babbage)", re.I)

# OpenAI cookbook convention for chat messages: per-message overhead and the reply priming.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3
TOKENS_PER_IMAGE = 85

_lock = threading.Lock()
_loaded: dict[tuple[str, Path], tiktoken.Encoding] = {}


def read_ranks(path: Path, sha256: str) -> dict[bytes, int]:
    """Parse a `.tiktoken` file (`base64-token rank` per line) after checking its SHA-256."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PricingError(
            f"BPE file {path} is missing or unreadable ({exc.strerror}); Farebox never downloads it: "
            "reinstall the package"
        ) from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise PricingError(f"BPE file {path} is corrupted: sha256 {actual}, expected {sha256}")
    ranks: dict[bytes, int] = {}
    try:
        for line in data.splitlines():
            if line:
                token, rank = line.split()
                ranks[base64.b64decode(token, validate=True)] = int(rank)
    except (ValueError, binascii.Error) as exc:
        raise PricingError(f"BPE file {path} is malformed: {exc}") from exc
    return ranks


def load_encoding(name: str, path: Path | None = None) -> tiktoken.Encoding:
    """The tiktoken Encoding `name` built from `path` (default: the shipped file); cached, thread-safe."""
    spec = SPECS.get(name)
    if spec is None:
        raise PricingError(f"unknown encoding {name!r}; shipped: {', '.join(SPECS)}")
    key = (name, Path(path) if path is not None else spec.path)
    encoding = _loaded.get(key)
    if encoding is None:
        with _lock:
            encoding = _loaded.get(key)
            if encoding is None:
                import tiktoken  # lazy: tiktoken loads only for the first count, keeping `import router` cheap

                encoding = tiktoken.Encoding(
                    name=spec.name,
                    pat_str=spec.pat_str,
                    mergeable_ranks=read_ranks(key[1], spec.sha256),
                    special_tokens=dict(spec.special_tokens),
                )
                _loaded[key] = encoding
    return encoding


def preload_encodings() -> None:
    """Load every shipped encoding now (about a second), e.g. in a worker thread at start-up."""
    for name in SPECS:
        load_encoding(name)


def encoding_name_for(model: str) -> str:
    """The shipped BPE that estimates `model`: o200k_base for current OpenAI families and the vendors measured
    best with it (pricing.counting), cl100k_base for older OpenAI models and the rest."""
    vendor, slash, name = model.partition("/")
    if not slash:
        vendor, name = "", model
    if vendor in ("", "openai") and _OLD_OPENAI.match(name):
        return "cl100k_base"
    if vendor == "openai" or _O200K.match(name):
        return "o200k_base"
    return profile_for(model).encoding if slash else "cl100k_base"


def counter_for(model: str) -> tuple[Count, Profile, str]:
    """(count(text) -> tokens, the vendor's chat framing, what counts: "deepseek" exact or the BPE's name)."""
    profile = profile_for(model) if "/" in model else DEFAULT
    if profile.exact is not None:
        exact = exact_counter(profile.exact)
        if exact is not None:
            return exact, profile, profile.exact
    name = encoding_name_for(model)
    cjk = profile.cjk_factor if name == profile.encoding else None
    return bpe_counter(load_encoding(name), cjk), profile, name


def prepare(model: str) -> None:
    """Load what estimating `model` needs (BPE file, the vendor's tokenizer): slow once, for a worker thread."""
    counter_for(model)


def _plain(obj: Any) -> Any:
    """Dicts stay dicts; pydantic objects (the openai SDK's, ours) become dicts."""
    dump = getattr(obj, "model_dump", None)
    return dump(exclude_none=True) if callable(dump) else obj


def _content_tokens(count: Count, content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return count(content)
    total = 0
    for part in content if isinstance(content, list | tuple) else [content]:
        part = _plain(part)
        if isinstance(part, str):
            total += count(part)
        elif isinstance(part, Mapping):
            if part.get("type") in ("image_url", "image", "input_image"):
                total += TOKENS_PER_IMAGE
            for text_key in ("text", "thinking"):
                if isinstance(part.get(text_key), str):
                    total += count(part[text_key])
    return total


def _arguments_text(arguments: Any) -> str:
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False, default=str) if arguments is not None else ""


def _tool_calls_tokens(count: Count, tool_calls: Iterable[Any] | None) -> int:
    total = 0
    for call in tool_calls or ():
        call = _plain(call)
        function = _plain(call.get("function", call)) if isinstance(call, Mapping) else {}
        text = str(function.get("name") or "") + _arguments_text(function.get("arguments"))
        total += count(text)
    return total


def _message_tokens(count: Count, profile: Profile, message: Any) -> int:
    message = _plain(message)
    if not isinstance(message, Mapping):
        raise TypeError(f"a message must be a dict or have model_dump(), got {type(message).__name__}")
    role = str(message.get("role") or "")
    total = profile.per_message if profile.role_tokens or role != "system" else 0
    total += count(role) if profile.role_tokens else 0
    total += _content_tokens(count, message.get("content"))
    total += _content_tokens(count, message.get("reasoning_content"))
    if message.get("name"):
        total += TOKENS_PER_NAME + count(str(message["name"]))
    return total + _tool_calls_tokens(count, message.get("tool_calls"))


def count_tokens(
    model: str,
    *,
    messages: Iterable[Any] | None = None,
    text: str | None = None,
    tools: Iterable[Any] | None = None,
) -> int:
    """Estimated prompt tokens for `messages` (OpenAI-style), plus `text` and the JSON of `tools`."""
    count, profile, _ = counter_for(model)
    total = count(text) if text else 0
    if messages is not None:
        listed = list(messages)
        total += sum(_message_tokens(count, profile, m) for m in listed)
        total += profile.priming + profile.base if listed else 0
    if tools:
        dumped = json.dumps([_plain(t) for t in tools], ensure_ascii=False, default=str)
        total += count(dumped)
    return total


def estimate_usage(
    model: str,
    *,
    messages: Iterable[Any],
    tools: Iterable[Any] | None = None,
    output_text: str = "",
    reasoning_text: str = "",
    tool_calls: Iterable[Any] | None = None,
) -> dict[str, Any]:
    """Usage for a call whose vendor reported none; completion counts output, reasoning and tool calls."""
    count, _, _ = counter_for(model)
    prompt = count_tokens(model, messages=messages, tools=tools)
    reasoning = count(reasoning_text) if reasoning_text else 0
    completion = reasoning + _tool_calls_tokens(count, tool_calls)
    completion += count(output_text) if output_text else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "reasoning_tokens": reasoning,
        "total_tokens": prompt + completion,
        "cached_tokens": 0,
        "cache_write_tokens": 0,
        "estimated": True,
        "usage_source": "estimated",
    }
