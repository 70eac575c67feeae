"""The declarative shape of a vendor: hosts, surfaces, auth, capabilities, effort and quirk hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from vendors.effort import EffortProfile
from vendors.errors import FareboxError
from vendors.types import Wire

__all__ = ["BodyHook", "Caps", "ErrorHook", "KeyKindHook", "ModelInfo", "Quirks", "RequestContext", "Surface",
           "VendorSpec", "Wire", "anthropic_surface", "frozen_map", "openai_surface"]


def frozen_map(data: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """A read-only mapping, so a spec stays immutable."""
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True, slots=True)
class Surface:
    """One endpoint family of a vendor: a wire, its base URL per region, and how it authenticates."""

    wire: Wire
    base_urls: Mapping[str, str]           # region -> base URL ("global", "cn")
    path: str                              # appended to the base URL: "/chat/completions", "/v1/messages"
    auth: Literal["bearer", "x-api-key"] = "bearer"
    headers: Mapping[str, str] = field(default_factory=frozen_map)  # fixed extra headers
    base_suffix: str = ""                  # a caller's base URL ending in this selects the surface


def openai_surface(base_urls: Mapping[str, str], path: str = "/chat/completions") -> Surface:
    """An OpenAI Chat Completions surface with Bearer auth."""
    return Surface(wire=Wire.OPENAI_CHAT, base_urls=frozen_map(base_urls), path=path)


def anthropic_surface(base_urls: Mapping[str, str], *, auth: Literal["bearer", "x-api-key"] = "bearer") -> Surface:
    """An Anthropic Messages surface; a caller's base URL ending in /anthropic selects it."""
    return Surface(wire=Wire.ANTHROPIC_MESSAGES, base_urls=frozen_map(base_urls), path="/v1/messages", auth=auth,
                   headers=frozen_map({"anthropic-version": "2023-06-01"}), base_suffix="/anthropic")


@dataclass(frozen=True, slots=True)
class Caps:
    """What a vendor accepts, checked before a request is sent."""

    # OpenAI-named optional request parameters the vendor accepts.
    params: frozenset[str] = frozenset(
        {"temperature", "top_p", "max_tokens", "stop", "user", "tools", "tool_choice",
         "response_format", "n", "seed", "presence_penalty", "frequency_penalty", "logprobs",
         "top_logprobs", "logit_bias", "parallel_tool_calls", "stream_options"}
    )
    tool_types: frozenset[str] = frozenset({"function"})
    # More tool types sent verbatim, as regular expressions matched whole: Anthropic's dated server and
    # Anthropic-defined tools ("web_search_\\d{8}", ...). Their names change with each version.
    tool_type_patterns: tuple[str, ...] = ()
    # Tool types that degrade to another instead of being refused: {"custom": "function"}.
    tool_degrade: Mapping[str, str] = field(default_factory=frozen_map)
    max_tools: int | None = None
    tool_choice: frozenset[str] = frozenset({"auto", "none", "required", "function"})
    response_formats: frozenset[str] = frozenset({"text", "json_object", "json_schema"})
    stream_usage: bool = True              # accepts stream_options.include_usage
    max_tokens_field: str = "max_tokens"   # the name the wire wants for the output cap
    max_n: int | None = None               # e.g. MiniMax: n must be 1


@dataclass(frozen=True, slots=True)
class Quirks:
    """Small wire differences the OpenAI-chat codec honours; each field cites its source."""

    think_tags: bool = False            # leading <think>…</think> in content is reasoning (MiniMax §1.5)
    reasoning_details: bool = False     # reasoning in reasoning_details[].text, cumulative or not (§1.5)
    replay_reasoning: bool = False      # assistant tool-call turns must carry reasoning_content (§2.3)
    empty_reasoning_placeholder: str = ""   # what to send when that reasoning was lost
    canonical_tool_args: bool = False   # re-serialise history tool-call arguments, "" -> "{}" (§1.4.5)
    content_not_null: bool = False      # send "" instead of null content on tool-call turns (§1.4.7)
    single_system_first: bool = False   # only one system message, first (§1.4.7)
    # Assistant-message fields sent back in history (others are stripped: OpenAI rejects unknown keys).
    replay_fields: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model a vendor is known to serve (from the shared catalogue)."""

    id: str
    context_window: int | None = None
    max_output: int | None = None
    aliases: tuple[str, ...] = ()
    vision: bool | None = None      # takes image parts; None: not recorded, so images are not refused


BodyHook = Callable[[dict[str, Any], "RequestContext"], dict[str, Any]]
# (HTTP status, vendor code, message) -> (finer class or None, hint or None, retry_after or None), or None.
ErrorHook = Callable[
    [int, "int | str | None", str], "tuple[type[FareboxError] | None, str | None, float | None] | None"
]
KeyKindHook = Callable[[str], Literal["metered", "plan"]]


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What a hook may know about the request being built."""

    model: str
    wire: Wire
    region: str | None = None
    stream: bool = False
    key_kind: Literal["metered", "plan"] = "metered"


@dataclass(frozen=True, slots=True)
class VendorSpec:
    """Everything Farebox knows about one vendor, as data plus a few pure hooks."""

    name: str                                   # registry key, error label, "name/" model prefix
    surfaces: tuple[Surface, ...]               # the first is the default
    hosts: frozenset[str] = frozenset()         # canonical hostnames, exact match
    host_apexes: frozenset[str] = frozenset()   # any subdomain of these; the bare apex is not matched
    host_regions: Mapping[str, str] = field(default_factory=frozen_map)  # host or apex -> region
    api_key_env: str = ""
    key_required: bool = True
    # At a loopback or private address the server is the caller's own (LiteLLM's "openai/" + api_base): no key.
    key_optional_locally: bool = False
    default_region: str = "global"
    caps: Caps = Caps()
    quirks: Quirks = Quirks()
    effort: EffortProfile | None = None
    model_effort: Callable[[str, Wire], EffortProfile | None] | None = None  # per model/wire, else `effort`
    effort_profiles: tuple[EffortProfile, ...] = ()   # every profile model_effort may return (conformance)
    default_max_tokens: int = 4096              # for wires that require max_tokens
    patch_request: BodyHook | None = None       # dict -> dict, last step before send
    error_code: ErrorHook | None = None         # vendor error body -> finer error class
    key_kind: KeyKindHook | None = None         # "plan" for subscription keys
    param_check: Callable[[str, Mapping[str, Any]], list[tuple[str, str]]] | None = None
    # (encoded body, headers) -> headers: what a body needs sent with it (Anthropic's anthropic-beta values).
    patch_headers: Callable[[Mapping[str, Any], dict[str, str]], dict[str, str]] | None = None
    doc: str = ""

    def surface(self, wire: Wire | None = None) -> Surface:
        """The surface for `wire` (default: the first)."""
        if wire is None:
            return self.surfaces[0]
        for surface in self.surfaces:
            if surface.wire == wire:
                return surface
        raise KeyError(wire)

    def wires(self) -> tuple[Wire, ...]:
        return tuple(s.wire for s in self.surfaces)

    def effort_for(self, model: str, wire: Wire | None = None) -> EffortProfile | None:
        """The effort profile for `model` on `wire`: a model-specific one, else the vendor's."""
        if self.model_effort is not None:
            profile = self.model_effort(model.strip().lower(), wire or self.surfaces[0].wire)
            if profile is not None:
                return profile
        return self.effort
