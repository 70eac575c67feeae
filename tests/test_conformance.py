"""Conformance loops over the registry: hosts, surfaces, regions, models, emulator profiles, quirk
defaults, error hooks, and one real round trip per vendor and surface through the emulator."""

from __future__ import annotations

import dataclasses
import inspect
import itertools
from pathlib import Path
from typing import Any

import pytest

import router
import vendors
from router.emulator import PROFILES, Emulator, key_fingerprint
from router.resolve import resolve
from vendors import errors as e
from vendors.hosts import host_matches, hostname
from vendors.registry import all_specs, detect_region
from vendors.spec import Caps, Quirks, VendorSpec, Wire

SPECS = all_specs()
IDS = [s.name for s in SPECS]
KEY = "sk-api-conformance-0123456789"
SURFACE = {Wire.OPENAI_CHAT: "openai", Wire.ANTHROPIC_MESSAGES: "anthropic"}


def claims(spec: VendorSpec) -> set[str]:
    return set(spec.hosts) | set(spec.host_apexes)


def test_registry_names() -> None:
    assert vendors.names() == IDS
    assert IDS[-1] == "compatible"  # it claims no host, so every other vendor is tried first
    for spec in SPECS:
        assert vendors.get(spec.name) is spec and spec.name == spec.name.lower()
    with pytest.raises(e.ConfigError, match="known vendors"):
        vendors.get("minimaxx")


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(SPECS, 2)), ids=lambda s: s.name)
def test_no_host_or_apex_claimed_by_two_vendors(a: VendorSpec, b: VendorSpec) -> None:
    assert not claims(a) & claims(b)
    for host in a.hosts:
        assert not host_matches(host, b.hosts, b.host_apexes), (host, b.name)
    for host in b.hosts:
        assert not host_matches(host, a.hosts, a.host_apexes), (host, a.name)
    for apex in a.host_apexes:  # one vendor's apex never sits under the other's
        assert not host_matches(apex, b.hosts, b.host_apexes)
    for apex in b.host_apexes:
        assert not host_matches(apex, a.hosts, a.host_apexes)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_hosts_are_plain_lowercase_names(spec: VendorSpec) -> None:
    for name in claims(spec):
        assert name == name.lower().strip(".") and name.isascii() and "/" not in name and ":" not in name
        assert "." in name
    for host in spec.hosts:
        assert vendors.detect(f"https://{host}/v1") is spec
    for apex in spec.host_apexes:
        assert vendors.detect(f"https://{apex}/v1") is None or apex in spec.hosts  # bare apex never matches
        assert vendors.detect(f"https://sub.{apex}/v1") is spec


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_surfaces_have_base_urls_for_their_regions(spec: VendorSpec) -> None:
    assert spec.surfaces and len({s.wire for s in spec.surfaces}) == len(spec.surfaces)
    regions = {frozenset(s.base_urls) for s in spec.surfaces}
    assert len(regions) == 1, "every surface serves the same regions"
    (region_set,) = regions
    if spec.name == "compatible":
        assert not region_set  # the caller's base_url is the server
        return
    assert spec.default_region in region_set
    for surface in spec.surfaces:
        assert surface.path.startswith("/")
        for region, base in surface.base_urls.items():
            assert base.startswith("https://") and not base.endswith("/")
            assert vendors.detect(base) is spec, base
            implied = detect_region(spec, base)
            assert implied in (None, region), (base, implied)
            target = resolve(f"{spec.name}/{vendors.models(spec.name)[0].id}", region=region,
                             wire=SURFACE[surface.wire], api_key=KEY)
            assert target.url == base + surface.path and target.surface is surface
            if surface.base_suffix and len(spec.surfaces) > 1:  # the suffix is what selects this surface
                assert base.endswith(surface.base_suffix)
                assert resolve(f"{spec.name}/m", base_url=base, api_key=KEY).surface is surface
    for key, region in spec.host_regions.items():
        assert region in region_set and (key in spec.hosts or key in spec.host_apexes)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_vendor_has_an_emulator_profile(spec: VendorSpec) -> None:
    profile = PROFILES[spec.name]
    assert {SURFACE[w] for w in spec.wires()} <= set(profile.surfaces)


@pytest.mark.parametrize("spec", [s for s in SPECS if s.name != "compatible"], ids=lambda s: s.name)
def test_every_vendor_lists_models(spec: VendorSpec) -> None:
    models = vendors.models(spec.name)
    assert models and len({m.id for m in models}) == len(models)
    for m in models:
        assert m.context_window is None or m.context_window > 0
        target = resolve(f"{spec.name}/{m.id}", api_key=KEY)
        assert target.vendor == spec.name and target.catalogue_id == m.id
        for alias in m.aliases:
            assert resolve(f"{spec.name}/{alias}", api_key=KEY).catalogue_id == m.id


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_spec_fields(spec: VendorSpec) -> None:
    assert spec.doc.startswith("https://")
    assert spec.api_key_env.endswith("_API_KEY")
    assert spec.key_required is (spec.name != "compatible")
    assert spec.default_max_tokens > 0
    for surface in spec.surfaces:
        assert surface.auth in ("bearer", "x-api-key")
        if surface.wire is Wire.ANTHROPIC_MESSAGES:
            assert surface.headers.get("anthropic-version") == "2023-06-01" and surface.path == "/v1/messages"
        else:
            assert surface.path == "/chat/completions"


def test_quirk_defaults_are_off() -> None:
    """A vendor gets a quirk only by asking for it: every default is the plain OpenAI behaviour."""
    q = Quirks()
    assert not any([q.think_tags, q.reasoning_details, q.replay_reasoning, q.canonical_tool_args,
                    q.content_not_null, q.single_system_first])
    assert q.empty_reasoning_placeholder == "" and q.replay_fields == frozenset()
    c = Caps()
    assert c.max_tokens_field == "max_tokens" and c.stream_usage and c.max_tools is None and c.max_n is None
    assert c.tool_types == frozenset({"function"}) and not c.tool_degrade
    assert {"auto", "none", "required", "function"} == c.tool_choice


def test_every_quirk_field_is_honoured_by_the_codec() -> None:
    from vendors.wires import openai_chat

    source = Path(inspect.getfile(openai_chat)).read_text()
    for f in dataclasses.fields(Quirks):
        assert f"quirks.{f.name}" in source, f.name


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_quirks_are_consistent(spec: VendorSpec) -> None:
    q = spec.quirks
    if q.replay_reasoning:
        assert "reasoning_content" in q.replay_fields
    if q.empty_reasoning_placeholder:
        assert q.replay_reasoning
    assert q.replay_fields <= {"reasoning_content", "reasoning_details"}


@pytest.mark.parametrize("spec", [s for s in SPECS if s.error_code], ids=lambda s: s.name)
def test_error_hooks_are_total(spec: VendorSpec) -> None:
    assert spec.error_code is not None
    for status in (200, 400, 401, 429, 500):
        for code in [None, "x", "invalid_request_error", *range(0, 3000, 7), 1008, 2013, 2056, 1113]:
            out = spec.error_code(status, code, "message")
            if out is not None:
                cls, hint, retry_after = out
                assert cls is None or issubclass(cls, e.FareboxError)
                assert hint is None or isinstance(hint, str)
                assert retry_after is None or retry_after >= 0


@pytest.mark.parametrize("spec", [s for s in SPECS if s.patch_request], ids=lambda s: s.name)
def test_patch_hooks_return_a_body(spec: VendorSpec) -> None:
    from vendors.spec import RequestContext

    for wire in spec.wires():
        body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        out = spec.patch_request(dict(body), RequestContext(model="m", wire=wire))
        assert isinstance(out, dict) and out["model"] == "m" and out["messages"] == body["messages"]


def _model(spec: VendorSpec) -> str:
    return "local-model" if spec.name == "compatible" else PROFILES[spec.name].models[0]


@pytest.mark.parametrize(("spec", "wire"), [(s, w) for s in SPECS for w in s.wires()],
                         ids=[f"{s.name}-{SURFACE[w]}" for s in SPECS for w in s.wires()])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_round_trip_through_the_emulator(emu: Emulator, spec: VendorSpec, wire: Wire, stream: bool) -> None:
    surface = spec.surface(wire)
    base = emu.base_url(spec.name, SURFACE[wire])
    resp = router.completion(f"{spec.name}/{_model(spec)}", [{"role": "user", "content": "hello"}], api_key=KEY,
                             base_url=base, wire=SURFACE[wire], stream=stream, num_retries=0, max_tokens=64)
    if stream:
        chunks = list(resp)
        assert chunks and chunks[-1].usage is not None
        resp = resp.response
    assert resp.vendor == spec.name
    assert resp.choices[0].message.content.startswith(f"Hello from the {spec.name} emulator")
    assert resp.usage.completion_tokens > 0
    rec = emu.last_request(spec.name)
    assert rec.path.endswith(surface.path) and rec.surface == SURFACE[wire]
    assert rec.auth_kind == surface.auth and rec.key_fingerprint == key_fingerprint(KEY)
    for name, value in surface.headers.items():
        assert rec.headers[name] == value
    assert rec.body["model"] == _model(spec)
    assert rec.body.get("stream", False) is stream


def test_hostname_parsing_is_shared() -> None:
    assert hostname("https://API.DeepSeek.com:443/v1?x=1#f") == "api.deepseek.com"
    assert hostname("http://127.0.0.1:8080") == "127.0.0.1"
    assert hostname("not-a-url") is None


# -- docs/vendors.md §7.3: Reasonix buildRequest rows that are not about effort, for every vendor ---------------

def _body(spec: VendorSpec, wire: Wire, **kw: Any) -> dict[str, Any]:
    import json

    from router.api import prepare

    base = "http://127.0.0.1:9/x" + ("/anthropic" if wire is Wire.ANTHROPIC_MESSAGES else "/v1")
    model = "kimi-k2.6" if spec.name == "moonshot" else _model(spec)  # kimi-k3 refuses temperature (§4)
    call = prepare(f"{spec.name}/{model}", [{"role": "user", "content": "hi"}], api_key=KEY, base_url=base,
                   wire=SURFACE[wire], **kw)
    return json.loads(call.body)


WIRES = [(s, w) for s in SPECS for w in s.wires()]
WIRE_IDS = [f"{s.name}-{SURFACE[w]}" for s, w in WIRES]


@pytest.mark.parametrize(("spec", "wire"), WIRES, ids=WIRE_IDS)
def test_temperature_serialisation(spec: VendorSpec, wire: Wire) -> None:
    """TestBuildRequestTemperatureSerialization: unset -> absent, 0 -> 0, 0.25 -> 0.25."""
    assert "temperature" not in _body(spec, wire)
    assert _body(spec, wire, temperature=0.25)["temperature"] == 0.25
    zero = _body(spec, wire, temperature=0)["temperature"]
    # MiniMax M2.x accepts (0, 1] and gets 0.01 (§1.4.9); every other model gets 0 verbatim.
    assert zero == (0.01 if _model(spec).startswith("MiniMax-M2") else 0)
    assert isinstance(zero, float | int) and not isinstance(zero, bool)


@pytest.mark.parametrize(("spec", "wire"), WIRES, ids=WIRE_IDS)
def test_output_cap_field(spec: VendorSpec, wire: Wire) -> None:
    """Only api.openai.com (and vendors that deprecated max_tokens) get max_completion_tokens."""
    body = _body(spec, wire, max_tokens=33)
    field = "max_tokens" if wire is Wire.ANTHROPIC_MESSAGES else spec.caps.max_tokens_field
    assert body[field] == 33
    assert {"max_tokens", "max_completion_tokens"} & body.keys() == {field}


@pytest.mark.parametrize(("spec", "wire"), WIRES, ids=WIRE_IDS)
def test_stream_asks_for_usage(spec: VendorSpec, wire: Wire) -> None:
    body = _body(spec, wire, stream=True)
    assert body["stream"] is True
    if wire is Wire.OPENAI_CHAT and spec.caps.stream_usage:
        assert body["stream_options"] == {"include_usage": True}
    else:
        assert "stream_options" not in body  # Messages streams carry usage anyway; Zhipu sends it unasked
    assert "stream" not in _body(spec, wire)


@pytest.mark.parametrize(("spec", "wire"), WIRES, ids=WIRE_IDS)
def test_no_effort_means_no_reasoning_effort_key(spec: VendorSpec, wire: Wire) -> None:
    assert "reasoning_effort" not in _body(spec, wire)
