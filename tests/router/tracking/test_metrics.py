"""Prometheus metrics: the exposition, parsed by prometheus-client's own text parser, matches the calls made."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

import router
from router.emulator import Emulator
from router.errors import ServiceUnavailableError
from router.tracking import metrics
from tests.conftest import KEY

prometheus_client = pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

MSG = [{"role": "user", "content": "count me"}]


@pytest.fixture
def registry(ledger) -> Iterator[Any]:
    reg = prometheus_client.CollectorRegistry()
    attached = metrics.attach(reg)
    yield reg
    attached.detach()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_exposition_shows_calls_tokens_cost_and_latency(emu: Emulator, registry: Any, records: list[Any]) -> None:
    kw = {"api_key": KEY, "base_url": emu.base_url("openai")}
    resps = [router.completion("openai/gpt-4o-mini", MSG, **kw) for _ in range(3)]
    stream = router.completion("openai/gpt-4o-mini", MSG, stream=True, **kw)
    list(stream)
    resps.append(stream.response)
    emu.fault(vendor="openai", status=500)
    with pytest.raises(ServiceUnavailableError):
        router.completion("openai/gpt-4o-mini", MSG, num_retries=0, **kw)

    found = samples(prometheus_client.generate_latest(registry).decode())
    ok = {"vendor": "openai", "model": "gpt-4o-mini", "status": "ok"}
    err = {**ok, "status": "error"}
    assert value(found, "farebox_calls_total", **ok) == 4
    assert value(found, "farebox_calls_total", **err) == 1
    assert value(found, "farebox_tokens_total", kind="prompt", **ok) == sum(r.usage.prompt_tokens for r in resps)
    assert value(found, "farebox_tokens_total", kind="completion", **ok) == sum(
        r.usage.completion_tokens for r in resps)
    assert value(found, "farebox_cost_usd_total", **ok) == pytest.approx(float(sum(r.cost.total for r in resps)))
    assert value(found, "farebox_cost_usd_total", **err) == 0
    assert value(found, "farebox_latency_seconds_count", **ok) == 4
    assert value(found, "farebox_latency_seconds_count", **err) == 1
    assert value(found, "farebox_latency_seconds_bucket", le="+Inf", **ok) == 4
    assert value(found, "farebox_latency_seconds_sum", **ok) == pytest.approx(
        sum(r.latency_s for r in records if r.status == "ok"))


def test_router_fallbacks_are_counted(emu: Emulator, registry: Any) -> None:
    r = router.Router(deployments=[{"alias": "a", "model": "minimax/MiniMax-M3", "api_key": KEY,
                                    "base_url": emu.base_url("minimax")},
                                   {"alias": "b", "model": "deepseek/deepseek-v4-flash", "api_key": KEY,
                                    "base_url": emu.base_url("deepseek")}], fallbacks={"a": ["b"]}, num_retries=0)
    emu.fault(vendor="minimax", status=500)
    r.completion(model="a", messages=MSG)
    found = samples(prometheus_client.generate_latest(registry).decode())
    labels = {"vendor": "deepseek", "model": "deepseek-v4-flash", "status": "ok"}
    assert value(found, "farebox_fallbacks_total", **labels) == 1
    assert value(found, "farebox_calls_total", **labels) == 1


def test_attach_twice_is_one_set_of_collectors(registry: Any) -> None:
    assert metrics.attach(registry) is metrics.attach(registry)


def test_serve_exposes_the_metrics_over_http(emu: Emulator, ledger: Any) -> None:
    reg = prometheus_client.CollectorRegistry()
    attached = metrics.serve(0, registry=reg)
    port = attached.server.server_port
    try:
        router.completion("openai/gpt-4o-mini", MSG, api_key=KEY, base_url=emu.base_url("openai"))
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        attached.detach()
    found = samples(body)
    assert value(found, "farebox_calls_total", vendor="openai", model="gpt-4o-mini", status="ok") == 1
