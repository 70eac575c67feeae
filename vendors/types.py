"""The OpenAI-shaped objects every wire decodes into: Response, Chunk, Usage, Attempt, ChatRequest, Wire."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vendors.secrets import redact_url


class Wire(StrEnum):
    """The two request/response formats Farebox speaks."""

    OPENAI_CHAT = "openai_chat"
    ANTHROPIC_MESSAGES = "anthropic_messages"


FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)

    # Dict-style access, as LiteLLM's ModelResponse allows: resp["choices"][0]["message"]["content"].
    def __getitem__(self, key: str) -> Any:
        if isinstance(key, str) and (key in type(self).model_fields or key in (self.__pydantic_extra__ or {})):
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in type(self).model_fields or key in (self.__pydantic_extra__ or {}))

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default


_new = object.__new__
# The four instance slots every pydantic model has, set through their descriptors: what object.__setattr__ does
# for them, without looking the name up along the class's MRO each time (a quarter of a chunk's build time).
_slot = BaseModel.__dict__
_put_dict = _slot["__dict__"].__set__
_put_fields = _slot["__pydantic_fields_set__"].__set__
_put_extra = _slot["__pydantic_extra__"].__set__
_put_private = _slot["__pydantic_private__"].__set__
_defaults: dict[type[BaseModel], tuple[dict[str, Any], tuple[tuple[str, Any], ...]]] = {}


def trusted(cls: type[Any], **values: Any) -> Any:
    """An instance of `cls` from values Farebox computed itself, of the declared types: not validated again.

    For the per-call and per-chunk hot paths only, where pydantic would re-check what the code just built
    (ints it counted, strings it checked). Fields not given take their defaults, as validation would give.
    """
    known = _defaults.get(cls)
    if known is None:
        fields = cls.model_fields
        template = {n: None if f.default_factory else f.default for n, f in fields.items()}  # declared order
        known = _defaults[cls] = (template, tuple((n, f.default_factory) for n, f in fields.items()
                                                  if f.default_factory))
    state = {**known[0], **values}
    if known[1]:
        for name, factory in known[1]:
            if name not in values:
                state[name] = factory()
    obj = _new(cls)
    _put_dict(obj, state)
    _put_fields(obj, set(values))
    _put_extra(obj, {})
    _put_private(obj, None)
    return obj


class FunctionCall(_Model):
    name: str | None = None
    arguments: str = ""


class ToolCall(_Model):
    """An OpenAI-shaped tool call; in stream deltas `index` says which call a fragment extends."""

    index: int | None = None
    id: str | None = None
    type: str = "function"
    function: FunctionCall = Field(default_factory=FunctionCall)


# Anthropic content blocks that map onto OpenAI-shaped fields (content, reasoning, tool_calls).
PLAIN_BLOCKS = frozenset({"text", "thinking", "redacted_thinking", "tool_use"})


class Message(_Model):
    """The assistant's message. Passing it back in `messages` round-trips everything on it."""

    role: str = "assistant"
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    # Anthropic-wire thinking blocks exactly as received (signatures included), for replay.
    thinking_blocks: list[dict[str, Any]] | None = None
    # MiniMax reasoning_details as received, for replay on the OpenAI-compatible surface.
    reasoning_details: list[dict[str, Any]] | None = None
    # response_format given as a pydantic class: the validated object (never sent back in a request).
    parsed: Any = Field(default=None, exclude=True)
    # Anthropic wire: every content block as received, in order, when some block has no OpenAI-shaped field
    # (server_tool_use, web_search_tool_result, mcp_tool_use, text with citations, future types). Replayed
    # verbatim when this message is passed back, so server-tool turns and citations survive; None otherwise.
    content_blocks: list[dict[str, Any]] | None = None
    # Anthropic wire: the code-execution container the reply used ({"id", "expires_at"}); reuse it with
    # extra_body={"container": message.container["id"]} (never sent back by itself).
    container: dict[str, Any] | None = None

    @property
    def server_tool_blocks(self) -> list[dict[str, Any]]:
        """The blocks of `content_blocks` that are not text, thinking or client tool_use: server tools (web
        search, web fetch, code execution, tool search), their results, MCP tool use/results, unknown types."""
        return [b for b in self.content_blocks or () if b.get("type") not in PLAIN_BLOCKS]

    def to_request(self) -> dict[str, Any]:
        """This message as a request `messages` entry."""
        return self.model_dump(exclude_none=True)


class Choice(_Model):
    index: int = 0
    message: Message = Field(default_factory=Message)
    finish_reason: str | None = None


class Usage(_Model):
    """Token counts. prompt_tokens includes cached and cache-write tokens; completion includes reasoning."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0  # the part of cache_write_tokens written for 1 hour (Anthropic), billed higher
    reasoning_tokens: int = 0
    # Anthropic usage.server_tool_use: server-side tool requests, billed per request where priced.
    web_search_requests: int = 0
    web_fetch_requests: int = 0
    estimated: bool = False


class Attempt(_Model):
    """One try at one deployment, successful or not."""

    vendor: str
    model: str
    base_url: str
    status: int | None = None       # HTTP status, None when no reply came
    ok: bool = False
    error: str | None = None        # error class name
    message: str | None = None
    vendor_code: int | str | None = None
    latency_s: float = 0.0
    cost: Any = None                # pricing.Cost when the vendor billed the attempt
    alias: str | None = None
    deployment: str | None = None

    @field_validator("base_url", "model", "message")
    @classmethod
    def _no_keys(cls, value: Any) -> Any:
        # An attempt is kept in records and the ledger: no key in it, nor a URL's user-info.

        return redact_url(value) if isinstance(value, str) and value else value


class Response(_Model):
    """A chat completion, OpenAI-shaped, plus vendor, cost and the attempts that led to it."""

    id: str = ""
    object: str = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str = ""
    vendor: str = ""
    choices: list[Choice] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    cost: Any = None                # pricing.Cost, None when the model has no price
    attempts: list[Attempt] = Field(default_factory=list)
    effort: dict[str, Any] | None = None        # what reasoning control was sent (see vendors.effort)
    dropped_params: list[str] = Field(default_factory=list)
    alias: str | None = None

    @property
    def message(self) -> Message:
        return self.choices[0].message


class Delta(_Model):
    role: str | None = None
    content: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    thinking_blocks: list[dict[str, Any]] | None = None
    reasoning_details: list[dict[str, Any]] | None = None
    # Anthropic wire: each server-tool / MCP / unknown block once complete (a result arrives whole); the last
    # chunk's delta carries the whole ordered `content_blocks` list when the message has one.
    server_tool_blocks: list[dict[str, Any]] | None = None
    content_blocks: list[dict[str, Any]] | None = None
    container: dict[str, Any] | None = None


class ChunkChoice(_Model):
    index: int = 0
    delta: Delta = Field(default_factory=Delta)
    finish_reason: str | None = None


class Chunk(_Model):
    """One streamed piece. The last chunk of a stream carries `usage` and `cost`."""

    id: str = ""
    object: str = "chat.completion.chunk"
    created: int = 0
    model: str = ""
    vendor: str = ""
    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: Usage | None = None
    cost: Any = None


@dataclass(slots=True)
class ChatRequest:
    """A request after resolution and checks, in OpenAI vocabulary, ready for a codec."""

    model: str                                   # the vendor's model id
    messages: list[dict[str, Any]]
    stream: bool = False
    params: dict[str, Any] = field(default_factory=dict)      # only the parameters the caller gave
    extra_body: dict[str, Any] = field(default_factory=dict)  # top-level body keys, verbatim
    effort_body: dict[str, Any] = field(default_factory=dict)  # reasoning fragment for this wire
    include_usage: bool = True
    sent_at: datetime | None = None      # when the (last) attempt's request was sent: the instant it is priced at


_NO_DELTA = dict.fromkeys(Delta.model_fields)   # every Delta field defaults to None
_CHUNK_SET = frozenset({"id", "created", "model", "vendor", "choices"})


def text_chunk(id: str, created: int, model: str, vendor: str, field: str, text: str, index: int | None = None,
               finish_reason: str | None = None, role: str | None = None) -> Chunk:
    """The commonest chunk, one choice with one text field (`content` or `reasoning_content`), built without
    validation: about half the cost of validating it, on every chunk of a stream. The caller guarantees the
    types; `index` None leaves the choice's index and finish_reason unset, as a `{"delta": ...}` choice would.
    `role` (a stream's first chunk: "assistant" with its first text) sets the delta's role too."""
    new, put, fields, extra, private = _new, _put_dict, _put_fields, _put_extra, _put_private
    delta = new(Delta)
    if role is None:
        put(delta, {**_NO_DELTA, field: text})
        fields(delta, {field})
    else:
        put(delta, {**_NO_DELTA, "role": role, field: text})
        fields(delta, {"role", field})
    choice = new(ChunkChoice)
    if index is None:
        put(choice, {"index": 0, "delta": delta, "finish_reason": None})
        fields(choice, {"delta"})
    else:
        put(choice, {"index": index, "delta": delta, "finish_reason": finish_reason})
        fields(choice, {"index", "delta", "finish_reason"})
    chunk = new(Chunk)
    put(chunk, {"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "vendor": vendor, "choices": [choice], "usage": None, "cost": None})
    fields(chunk, set(_CHUNK_SET) if index is None else {*_CHUNK_SET, "usage"})
    extra(delta, {})   # as trusted() sets them: three objects on every chunk
    private(delta, None)
    extra(choice, {})
    private(choice, None)
    extra(chunk, {})
    private(chunk, None)
    return chunk
