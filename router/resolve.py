"""Model name + base_url + region + key -> the one deployment target a request goes to."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from router.litellm import local_model
from vendors.catalogue import Match, lookup
from vendors.errors import ConfigError
from vendors.hosts import hostname, is_loopback, is_private, scheme
from vendors.secrets import looks_like_key, mask_key, register_secret
from vendors.spec import Surface, VendorSpec, Wire

__all__ = ["Target", "resolve"]


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how one request is sent. The key is kept out of repr."""

    spec: VendorSpec
    model: str                       # the model name sent on the wire
    catalogue_id: str | None         # the catalogue row it matches (for prices, context windows)
    surface: Surface
    base_url: str
    url: str
    region: str | None
    key_kind: Literal["metered", "plan"] = "metered"
    api_key: str | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    # What every call to this target computes the same way (the effort decision when none is asked, the
    # request context): Targets are cached, so this is computed once per target, not per call.
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def vendor(self) -> str:
        return self.spec.name

    @property
    def wire(self) -> Wire:
        return self.surface.wire


@lru_cache(maxsize=512)
def _route(model: str, base_url: str | None, region: str | None, wire: str | None) -> tuple[Match, str]:
    """The catalogue's answer and the endpoint URL; one lookup per distinct (model, base_url, region, wire)."""
    match = lookup(model, base_url=base_url, region=region, wire=wire)
    url = match.url
    if url is None:
        raise ConfigError(f"vendor {match.spec.name!r} needs base_url=... (the server's address)",
                          vendor=match.spec.name, model=match.model,
                          hint="e.g. base_url='http://127.0.0.1:8000/v1' for a local vLLM")
    return match, url


_targets: dict[tuple[object, ...], Target] = {}


def resolve(model: str, *, base_url: str | None = None, region: str | None = None, api_key: str | None = None,
            wire: str | None = None) -> Target:
    """The Target for a call; every ConfigError is raised here, before any request."""
    secret = looks_like_key(model) if isinstance(model, str) else None
    if secret is not None:
        register_secret(secret)  # from now on redacted from every text, this error's included
        raise ConfigError(f"model {model!r} looks like an API key ({mask_key(secret)}), not a model name",
                          hint="pass the key as api_key=... and the model as 'vendor/model'")
    if isinstance(model, str) and "/" in model:
        model, base_url = local_model(model, base_url)  # LiteLLM's ollama/, hosted_vllm/, lm_studio/ prefixes
    route = _route(model, base_url, region, wire)
    spec = route[0].spec
    key = api_key if api_key is not None else (os.environ.get(spec.api_key_env) if spec.api_key_env else None)
    # Same inputs (the key read now, so a changed environment variable is seen) -> the same Target.
    cache_key = (model, base_url, region, wire, key)
    target = _targets.get(cache_key)
    if target is None:
        if len(_targets) > 1024:
            _targets.clear()
        target = _targets[cache_key] = _build(route, key)
    return target


def _build(route: tuple[Match, str], key: str | None) -> Target:
    match, url = route
    spec, model_id, surface = match.spec, match.model, match.surface
    # A server on this machine or a private network (Ollama, vLLM, LM Studio) usually takes no key.
    if not key and spec.key_required and not (spec.key_optional_locally and is_private(hostname(url))):
        raise ConfigError(f"no API key for {spec.name}: set {spec.api_key_env} or pass api_key=...",
                          vendor=spec.name, model=model_id)
    if key:
        register_secret(key)
        host = hostname(url)
        if scheme(url) != "https" and not is_loopback(host) and match.vendor_host:
            raise ConfigError(f"refusing to send a {spec.name} key over plain http to {host}; use https",
                              vendor=spec.name, model=model_id)
    headers = {"content-type": "application/json", "accept": "application/json", "user-agent": "farebox/0.1"}
    headers.update(surface.headers)
    if key:
        if surface.auth == "x-api-key":
            headers["x-api-key"] = key
        else:
            headers["authorization"] = f"Bearer {key}"
    kind = spec.key_kind(key) if key and spec.key_kind else "metered"
    base = url[: -len(surface.path)] if url.endswith(surface.path) else url
    return Target(spec=spec, model=model_id, catalogue_id=match.catalogue_id, surface=surface, base_url=base,
                  url=url, region=match.region, key_kind=kind, api_key=key, headers=headers)
