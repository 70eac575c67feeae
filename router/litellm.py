"""LiteLLM's spellings mapped onto Farebox's: model_list, list-form fallbacks, routing_strategy, local prefixes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from vendors.errors import ConfigError

__all__ = ["LOCAL_PREFIXES", "local_model", "router_options"]

# LiteLLM prefixes for local OpenAI-compatible servers -> their usual address (None: api_base is required).
# Farebox speaks their OpenAI-compatible surface (Ollama's /v1, not its native /api/chat).
LOCAL_PREFIXES: Mapping[str, str | None] = {
    "ollama": "http://localhost:11434/v1",
    "ollama_chat": "http://localhost:11434/v1",
    "lm_studio": "http://localhost:1234/v1",
    "hosted_vllm": None,
}
STRATEGIES = {"simple-shuffle": "weighted", "latency-based-routing": "lowest-latency",
              "cost-based-routing": "lowest-cost"}
# LiteLLM Router keywords with a Farebox equivalent (same meaning, Farebox's name).
_RENAMED = {"cooldown_time": "cooldown_s", "routing_strategy": "strategy"}
_LITELLM_PARAMS = frozenset({"model", "api_key", "api_base", "base_url", "rpm", "tpm", "timeout", "max_retries",
                             "num_retries", "region", "reasoning_effort", "temperature", "max_tokens", "top_p",
                             "stop", "seed", "extra_headers", "extra_body", "drop_params"})
_PARAM_KEYS = frozenset({"temperature", "max_tokens", "top_p", "stop", "seed", "extra_headers", "extra_body",
                         "drop_params", "timeout"})


def local_model(model: str, base_url: str | None) -> tuple[str, str | None]:
    """`ollama/llama3` -> ("compatible/llama3", its server's base URL); other names unchanged."""
    prefix, sep, rest = model.partition("/")
    if not sep or prefix.lower() not in LOCAL_PREFIXES:
        return model, base_url
    if not rest:
        raise ConfigError(f"model {model!r} names a local server but no model")
    default = LOCAL_PREFIXES[prefix.lower()]
    if base_url is None:
        if default is None:
            raise ConfigError(f"model {model!r} needs base_url=... (api_base): the vLLM server's address",
                              hint="e.g. base_url='http://127.0.0.1:8000/v1'")
        base_url = default
    elif prefix.lower().startswith("ollama") and urlsplit(base_url).path.strip("/") == "":
        base_url = base_url.rstrip("/") + "/v1"  # LiteLLM's Ollama api_base is the bare server address
    return f"compatible/{rest}", base_url


def _deployment(entry: Any, i: int) -> dict[str, Any]:
    if not isinstance(entry, Mapping) or "model_name" not in entry or "litellm_params" not in entry:
        raise ConfigError(f"model_list[{i}] must be {{'model_name': alias, 'litellm_params': {{'model': ...}}}}")
    extra = sorted(set(entry) - {"model_name", "litellm_params"})
    if extra:
        raise ConfigError(f"model_list[{i}] has {', '.join(map(repr, extra))}, which Farebox does not support",
                          hint="a model_list entry takes model_name and litellm_params")
    params = entry["litellm_params"]
    if not isinstance(params, Mapping) or "model" not in params:
        raise ConfigError(f"model_list[{i}].litellm_params needs 'model'")
    unknown = sorted(set(params) - _LITELLM_PARAMS)
    if unknown:
        raise ConfigError(f"model_list[{i}].litellm_params has {', '.join(map(repr, unknown))}, which Farebox does "
                          f"not support; supported: {', '.join(sorted(_LITELLM_PARAMS))}")
    dep: dict[str, Any] = {"alias": entry["model_name"], "model": params["model"]}
    for key in ("api_key", "region", "reasoning_effort"):
        if params.get(key) is not None:
            dep[key] = params[key]
    base = params.get("api_base") or params.get("base_url")
    if base is not None:
        dep["base_url"] = base
    # rpm/tpm weigh simple-shuffle's choice in LiteLLM; here they are the weighted strategy's weight.
    weight = params.get("rpm") or params.get("tpm")
    if weight is not None:
        dep["weight"] = weight
    call = {k: params[k] for k in _PARAM_KEYS if params.get(k) is not None}
    retries = params.get("max_retries", params.get("num_retries"))
    if retries is not None:
        call["num_retries"] = retries
    if call:
        dep["params"] = call
    return dep


def _fallbacks(value: Any, name: str) -> Any:
    """[{"a": ["b"]}, {"c": ["d"]}] (LiteLLM) -> {"a": ["b"], "c": ["d"]}; a dict is already Farebox's shape."""
    if not isinstance(value, list):
        return value
    out: dict[str, Any] = {}
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ConfigError(f"{name}[{i}] must be {{alias: [fallback aliases]}}")
        for alias, targets in item.items():
            out.setdefault(alias, []).extend([targets] if isinstance(targets, str) else targets)
    return out


def router_options(deployments: Any, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Router(...) arguments in LiteLLM's shape translated; Farebox's own shape passes unchanged."""
    model_list = options.pop("model_list", None)
    if model_list is not None:
        if deployments:
            raise ConfigError("give deployments=... or model_list=..., not both")
        if not isinstance(model_list, list):
            raise ConfigError("model_list must be a list of {'model_name': ..., 'litellm_params': {...}}")
        deployments = [_deployment(entry, i) for i, entry in enumerate(model_list)]
    for old, new in _RENAMED.items():
        if old in options:
            if new in options:
                raise ConfigError(f"{old}= is LiteLLM's name for {new}=; give one")
            options[new] = options.pop(old)
    strategy = options.get("strategy")
    if isinstance(strategy, str) and strategy in STRATEGIES:
        options["strategy"] = STRATEGIES[strategy]
    elif isinstance(strategy, str) and strategy not in ("ordered", "lowest-cost", "lowest-latency", "weighted"):
        mapped = ", ".join(f"{k} (→ {v})" for k, v in STRATEGIES.items())
        raise ConfigError(f"routing strategy {strategy!r} is not supported; Farebox has ordered, weighted, "
                          f"lowest-cost, lowest-latency; LiteLLM names mapped: {mapped}")
    for name in ("fallbacks", "context_window_fallbacks", "content_policy_fallbacks"):
        if name in options:
            options[name] = _fallbacks(options[name], name)
    return deployments, options
