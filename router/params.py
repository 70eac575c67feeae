"""The keyword arguments of completion(): known names only, each validated (one pydantic schema) before sending."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Required

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt, StrictStr, TypeAdapter
from pydantic import ValidationError as _PydanticError
from typing_extensions import TypedDict

from vendors.errors import ConfigError, InvalidRequestError

__all__ = ["KNOWN", "LITELLM_UNSUPPORTED", "check", "encode_body", "schema_format"]

# Names completion() accepts (shared/API.md), and those only Farebox's own Router passes down.
CALL_PARAMS = (
    "api_key", "base_url", "api_base", "region", "wire", "stream", "stream_options", "reasoning_effort",
    "tools", "tool_choice", "parallel_tool_calls", "response_format", "temperature", "top_p", "max_tokens",
    "max_completion_tokens", "stop", "seed", "n", "presence_penalty", "frequency_penalty", "logit_bias",
    "logprobs", "top_logprobs", "user", "drop_params", "num_retries", "timeout", "deadline", "metadata",
    "extra_body", "extra_headers",
    # OpenAI/Anthropic parameters with a meaning the capability checks know (router/request.py).
    "top_k", "modalities", "prediction", "service_tier", "store", "reasoning",
)
# Farebox's own plumbing (a shared attempt list, a per-attempt hook): accepted, never suggested.
KNOWN = frozenset(CALL_PARAMS) | {"attempts", "on_attempt"}
# LiteLLM keywords Farebox does not take, and what to use instead: refused by name, never ignored.
LITELLM_UNSUPPORTED = {
    "fallbacks": "per-call fallbacks are not supported; give them to Router(fallbacks=...)",
    "context_window_fallbacks": "give them to Router(context_window_fallbacks=...)",
    "mock_response": "mock responses are not supported; point base_url at router.emulator for tests",
    "api_version": "Azure is not a Farebox vendor",
    "custom_llm_provider": "name the vendor as the model prefix ('deepseek/deepseek-chat') or give base_url",
    "max_retries": "Farebox's name is num_retries",
    "request_timeout": "Farebox's name is timeout (seconds per attempt)",
    "headers": "Farebox's name is extra_headers",
    "caching": "response caching is not supported",
    "functions": "the legacy functions API is not supported; use tools=[{'type': 'function', ...}]",
    "function_call": "the legacy functions API is not supported; use tool_choice",
}
# Headers Farebox builds itself: extra_headers may add headers, never replace these.
_OWN_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "content-type", "content-length", "host",
                          "transfer-encoding", "connection"})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_NO_CTRL = re.compile(r"^[^\r\n\x00]*$")


Num = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Secret = Annotated[StrictStr, Field(pattern=_NO_CTRL.pattern)]


def _message(value: Any) -> Any:
    # Passing an assistant Message back in (resp.choices[0].message) round-trips its fields.
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True)
    return value


class _Function(TypedDict, total=False):
    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    name: Annotated[StrictStr, Field(pattern=r"^[a-zA-Z0-9_.:-]{1,128}$")]
    description: StrictStr
    parameters: _Schema
    strict: StrictBool | None


def _schema(value: Any) -> Any:
    if not isinstance(value, Mapping) or value.get("type", "object") != "object":
        raise ValueError("must be a JSON-schema object, e.g. {'type': 'object', 'properties': {...}}")
    return value


_Schema = Annotated[dict[str, Any], BeforeValidator(_schema)]


def _tool(value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise ValueError("must be a dict such as {'type': 'function', 'function': {'name': ..., 'parameters': ...}}")
    kind = value.get("type", "function")
    if not isinstance(kind, str):
        raise ValueError("'type' must be a string")
    if kind == "function" and "function" in value:
        if not isinstance(value["function"], Mapping) or "name" not in value["function"]:
            raise ValueError("a function tool needs function.name (letters, digits, '_', '-', '.', ':')")
        _adapters()[1].validate_python(value["function"])
    elif "function" not in value and "name" not in value and kind == "function":
        raise ValueError("a function tool needs 'function': {'name': ..., 'parameters': {...}}")
    return value


class _Part(TypedDict, total=False):
    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    type: StrictStr
    text: StrictStr


class _Message(TypedDict, total=False):
    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    role: Required[Literal["system", "user", "assistant", "tool", "developer", "function"]]
    content: StrictStr | list[StrictStr | _Part] | None
    name: StrictStr
    tool_call_id: StrictStr


def _stop(value: Any) -> Any:
    if isinstance(value, list) and len(value) > 4:
        raise ValueError("takes at most 4 stop sequences")
    return value


def _response_format(value: Any) -> Any:
    if isinstance(value, type) and issubclass(value, BaseModel):
        return value
    if not isinstance(value, Mapping) or value.get("type") not in ("text", "json_object", "json_schema"):
        raise ValueError("must be {'type': 'text' | 'json_object' | 'json_schema', ...} or a pydantic model class")
    if value["type"] == "json_schema":
        spec = value.get("json_schema")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str) or \
                not isinstance(spec.get("schema", {}), Mapping):
            raise ValueError("json_schema needs {'name': str, 'schema': {...}}")
    return value


class _StreamOptions(TypedDict, total=False):
    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    include_usage: StrictBool
    include_obfuscation: StrictBool


def _headers(value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise ValueError("must be a dict of header name -> string value")
    for name, text in value.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise ValueError(f"header name {name!r} is not a valid HTTP header name")
        if name.lower() in _OWN_HEADERS:
            raise ValueError(f"header {name!r} is set by Farebox (auth, content type, host) and cannot be replaced")
        if not isinstance(text, str) or not _NO_CTRL.match(text):
            raise ValueError(f"header {name!r} must be a string without CR, LF or NUL")
    return value


def _model_name(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string such as 'minimax/MiniMax-M3' or a Router alias")
    return value


class CallParams(TypedDict, total=False):
    """What completion() takes, typed and ranged; only the keys a caller gave are validated."""

    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    model: Annotated[Any, BeforeValidator(_model_name)]
    messages: Annotated[list[Annotated[_Message, BeforeValidator(_message)]], Field(min_length=1)]
    api_key: Secret
    base_url: StrictStr
    region: StrictStr
    wire: StrictStr
    stream: StrictBool
    stream_options: _StreamOptions
    reasoning_effort: StrictStr
    tools: list[Annotated[dict[str, Any], BeforeValidator(_tool)]]
    tool_choice: StrictStr | dict[str, Any]
    parallel_tool_calls: StrictBool
    response_format: Annotated[Any, BeforeValidator(_response_format)]
    temperature: Annotated[Num, Field(ge=0, le=2)]
    top_p: Annotated[Num, Field(ge=0, le=1)]
    top_k: Annotated[StrictInt, Field(ge=1)]
    max_tokens: Annotated[StrictInt, Field(ge=1)]
    max_completion_tokens: Annotated[StrictInt, Field(ge=1)]
    stop: Annotated[StrictStr | list[StrictStr], BeforeValidator(_stop)]
    seed: StrictInt
    n: Annotated[StrictInt, Field(ge=1)]
    presence_penalty: Annotated[Num, Field(ge=-2, le=2)]
    frequency_penalty: Annotated[Num, Field(ge=-2, le=2)]
    logit_bias: dict[StrictStr, Annotated[Num, Field(ge=-100, le=100)]]
    logprobs: StrictBool
    top_logprobs: Annotated[StrictInt, Field(ge=0, le=20)]
    user: StrictStr
    drop_params: StrictBool
    num_retries: Annotated[StrictInt, Field(ge=0)]
    timeout: Annotated[Num, Field(gt=0)]
    deadline: Annotated[Num, Field(gt=0)]
    extra_body: dict[StrictStr, Any]
    extra_headers: Annotated[dict[str, str], BeforeValidator(_headers)]


_ACCEPTS = {
    "model": "'vendor/model', a known model name or a Router alias",
    "messages": "a non-empty list of {'role': 'system'|'user'|'assistant'|'tool'|'developer', 'content': "
                "str | list of parts}",
    "temperature": "a number from 0 to 2", "top_p": "a number from 0 to 1",
    "max_tokens": "an integer ≥ 1", "max_completion_tokens": "an integer ≥ 1", "n": "an integer ≥ 1",
    "presence_penalty": "a number from -2 to 2", "frequency_penalty": "a number from -2 to 2",
    "stop": "a string or a list of up to 4 strings", "timeout": "seconds > 0, per attempt",
    "deadline": "seconds > 0 for the whole call", "num_retries": "an integer ≥ 0",
    "api_key": "a string without CR/LF", "stream": "True or False", "drop_params": "True or False",
    "stream_options": "{'include_usage': bool}", "tools": "a list of {'type': 'function', 'function': "
                                                           "{'name': ..., 'parameters': {'type': 'object', ...}}}",
    "logit_bias": "{token id: number from -100 to 100}", "top_logprobs": "an integer from 0 to 20",
    "extra_body": "a dict merged into the JSON body", "extra_headers": "a dict of str -> str",
}
_built: tuple[TypeAdapter[Any], TypeAdapter[Any]] | None = None


def _adapters() -> tuple[TypeAdapter[Any], TypeAdapter[Any]]:
    """(call parameters, function definition) validators, built on first use (not at import)."""
    global _built
    if _built is None:
        _built = (TypeAdapter(CallParams), TypeAdapter(_Function))
    return _built


def unknown(names: Any) -> ConfigError:
    """The error for keyword arguments completion() does not take, naming the nearest known one."""
    name = sorted(names)[0]
    if name in LITELLM_UNSUPPORTED:
        return ConfigError(f"completion() does not take {name!r}: {LITELLM_UNSUPPORTED[name]}")
    near = difflib.get_close_matches(name, CALL_PARAMS, n=1, cutoff=0.6)
    hint = f"did you mean {near[0]!r}? " if near else ""
    return ConfigError(f"completion() got an unknown keyword argument {name!r}; {hint}vendor-specific body fields go "
                       "in extra_body={...}, HTTP headers in extra_headers={...}")


def check(model: Any, messages: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` checked: unknown names are a ConfigError, bad values an InvalidRequestError; api_base folded."""
    extra = kwargs.keys() - KNOWN
    if extra:
        raise unknown(extra)
    if "api_base" in kwargs:
        api_base = kwargs.pop("api_base")
        if api_base is not None:
            base = kwargs.get("base_url")
            if base is not None and base != api_base:
                raise ConfigError(f"api_base={api_base!r} and base_url={base!r} disagree; api_base is LiteLLM's "
                                  "name for base_url: give one")
            kwargs["base_url"] = api_base
    given = {k: v for k, v in kwargs.items() if v is not None}
    given["model"], given["messages"] = model, messages
    try:
        checked = _adapters()[0].validate_python(given)
    except _PydanticError as exc:
        raise _invalid(exc) from None
    checked.pop("model")
    messages = checked.pop("messages")
    checked["_messages"] = messages
    return checked


def _invalid(exc: _PydanticError) -> InvalidRequestError:
    # In a union (content: str | list of parts) the deepest location is the branch the caller meant.
    err = max(exc.errors(include_url=False), key=lambda x: len(x["loc"]))
    loc = err["loc"]
    name = str(loc[0]) if loc else "?"
    where = name + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:]
                           if not str(p).startswith(("function-", "json-", "str", "list[", "dict[", "int", "float")))
    value = err.get("input")
    shown = repr(value) if not isinstance(value, list | dict) else type(value).__name__
    msg = str(err["msg"]).removeprefix("Value error, ")
    accepts = _ACCEPTS.get(name)
    text = f"{where}={shown[:80]} is not accepted: {msg}" + (f"; accepted: {accepts}" if accepts else "")
    cls = ConfigError if name in ("model", "base_url", "api_key", "region", "wire", "timeout", "num_retries",
                                  "deadline") else InvalidRequestError
    return cls(text)


def schema_format(model: type[BaseModel]) -> dict[str, Any]:
    """A pydantic class as OpenAI's response_format json_schema."""
    return {"type": "json_schema", "json_schema": {"name": model.__name__, "schema": model.model_json_schema()}}


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode  # built once


def encode_body(body: Any) -> bytes:
    """The JSON bytes of a request body; a NaN/infinity or a string UTF-8 cannot encode is an InvalidRequestError."""
    try:
        return _ENCODE(body).encode()
    except (ValueError, UnicodeEncodeError) as exc:
        where = _find_bad(body, "body")
        what = "a string that is not valid Unicode (a lone surrogate)" if isinstance(exc, UnicodeEncodeError) \
            else "a non-finite number (NaN or infinity)"
        raise InvalidRequestError(f"the request holds {what} at {where or 'an unknown place'}; "
                                  "accepted: UTF-8 text and finite numbers") from None
    except TypeError as exc:
        raise InvalidRequestError(f"the request holds a value JSON cannot encode: {exc}") from None


def _find_bad(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, Mapping):
        for k, v in value.items():
            found = _find_bad(v, f"{path}.{k}")
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _find_bad(v, f"{path}[{i}]")
            if found:
                return found
    return None
