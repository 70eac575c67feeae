"""Model name + base_url + region + key -> the one deployment target a request goes to."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from router.litellm import local_model
from vendors.catalogue import find_model, split_model
from vendors.errors import ConfigError
from vendors.hosts import hostname, is_loopback, is_private, scheme
from vendors.registry import detect, detect_region, get, names
from vendors.secrets import looks_like_key, mask_key, register_secret
from vendors.spec import Surface, VendorSpec, Wire

__all__ = ["Target", "resolve"]

_WIRES = {"openai": Wire.OPENAI_CHAT, "openai_chat": Wire.OPENAI_CHAT, "chat": Wire.OPENAI_CHAT,
          "anthropic": Wire.ANTHROPIC_MESSAGES, "anthropic_messages": Wire.ANTHROPIC_MESSAGES,
          "messages": Wire.ANTHROPIC_MESSAGES}


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

    @property
    def vendor(self) -> str:
        return self.spec.name

    @property
    def wire(self) -> Wire:
        return self.surface.wire


@lru_cache(maxsize=512)
def _route(model: str, base_url: str | None, region: str | None, wire: str | None
           ) -> tuple[VendorSpec, str, str | None, Surface, str, str | None]:
    explicit = _explicit_vendor(model)
    detected = detect(base_url) if base_url else None
    if base_url is not None and hostname(base_url) is None:
        raise ConfigError(f"base_url {base_url!r} is not an http(s) URL", hint="e.g. 'http://127.0.0.1:8000/v1'")
    if base_url is not None and "@" in urlsplit(base_url.strip()).netloc:
        # "https://api.minimaxi.com@evil.example/" goes to evil.example: a lookalike, never a vendor (§7.1).
        raise ConfigError(f"base_url {base_url!r} carries user-info ('…@host'); give the key with api_key=...",
                          hint="the host after '@' is where the request would really go")
    if explicit is not None:
        spec, model_id = split_model(model, strict=base_url is None)
        if detected is not None and detected.name != spec.name:
            raise ConfigError(
                f"model {model!r} names vendor {spec.name!r} but base_url {base_url!r} is a {detected.name} host",
                vendor=spec.name, model=model_id,
                hint="a key for one vendor is never sent to another vendor's host: drop the prefix or fix base_url")
    elif base_url is not None:
        spec, model_id = detected or get("compatible"), model.strip()
    else:
        spec, model_id = split_model(model)
    surface = _surface(spec, base_url, wire)
    if base_url is not None:
        implied = detect_region(spec, base_url)
        if region and implied and region != implied:
            # A MiniMax key works only with its own region's host (2049, docs/vendors.md §1.1).
            raise ConfigError(f"region {region!r} contradicts base_url {base_url!r}, a {spec.name} {implied!r} host",
                              vendor=spec.name, model=model_id, hint=f"drop region=... or use region={implied!r}")
        region = region or implied
        base = base_url.rstrip("/")
    else:
        region = region or spec.default_region
        if not surface.base_urls:
            raise ConfigError(f"vendor {spec.name!r} needs base_url=... (the server's address)", vendor=spec.name,
                              model=model_id, hint="e.g. base_url='http://127.0.0.1:8000/v1' for a local vLLM")
        if region not in surface.base_urls:
            raise ConfigError(f"unknown region {region!r} for {spec.name}; regions: {', '.join(surface.base_urls)}",
                              vendor=spec.name, model=model_id)
        base = surface.base_urls[region].rstrip("/")
    url = base if base.endswith(surface.path) else base + surface.path
    return spec, model_id, find_model(spec.name, model_id), surface, url, region


def _explicit_vendor(model: str) -> str | None:
    if not isinstance(model, str):
        raise ConfigError(f"model must be a string, not {type(model).__name__}")
    prefix, sep, _ = model.strip().partition("/")
    return prefix.lower() if sep and prefix.lower() in names() else None


def _surface(spec: VendorSpec, base_url: str | None, wire: str | None) -> Surface:
    if wire is not None:
        chosen = _WIRES.get(str(wire).lower())
        if chosen is None or chosen not in spec.wires():
            offered = ", ".join(w.value for w in spec.wires())
            raise ConfigError(f"{spec.name} has no {wire!r} surface; it offers: {offered}", vendor=spec.name)
        return spec.surface(chosen)
    if base_url:
        path = base_url.rstrip("/")
        for surface in spec.surfaces:
            if surface.base_suffix and (path.endswith(surface.base_suffix) or path.endswith(surface.path)):
                return surface
    return spec.surfaces[0]


_targets: dict[tuple[object, ...], Target] = {}


def resolve(model: str, *, base_url: str | None = None, region: str | None = None, api_key: str | None = None,
            wire: str | None = None) -> Target:
    """The Target for a call; every ConfigError is raised here, before any request."""
    secret = looks_like_key(model) if isinstance(model, str) else None
    if secret is not None:
        register_secret(secret)  # from now on redacted from every text, this error's included
        raise ConfigError(f"model {model!r} looks like an API key ({mask_key(secret)}), not a model name",
                          hint="pass the key as api_key=... and the model as 'vendor/model'")
    if "/" in model:
        model, base_url = local_model(model, base_url)  # LiteLLM's ollama/, hosted_vllm/, lm_studio/ prefixes
    route = _route(model, base_url, region, wire)
    spec = route[0]
    key = api_key if api_key is not None else (os.environ.get(spec.api_key_env) if spec.api_key_env else None)
    # Same inputs (the key read now, so a changed environment variable is seen) -> the same Target.
    cache_key = (model, base_url, region, wire, key)
    target = _targets.get(cache_key)
    if target is None:
        if len(_targets) > 1024:
            _targets.clear()
        target = _targets[cache_key] = _build(route, key)
    return target


def _build(route: tuple[VendorSpec, str, str | None, Surface, str, str | None], key: str | None) -> Target:
    spec, model_id, catalogue_id, surface, url, region = route
    # A server on this machine or a private network (Ollama, vLLM, LM Studio) usually takes no key.
    if not key and spec.key_required and not (spec.key_optional_locally and is_private(hostname(url))):
        raise ConfigError(f"no API key for {spec.name}: set {spec.api_key_env} or pass api_key=...",
                          vendor=spec.name, model=model_id)
    if key:
        register_secret(key)
        host = hostname(url)
        if scheme(url) != "https" and not is_loopback(host) and detect(url) is not None:
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
    return Target(spec=spec, model=model_id, catalogue_id=catalogue_id, surface=surface, base_url=base, url=url,
                  region=region, key_kind=kind, api_key=key, headers=headers)
