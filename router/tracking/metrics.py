"""Prometheus metrics from call records (the `metrics` extra, imported only by attach()/serve())."""

from __future__ import annotations

import threading
from typing import Any

from router import tracking
from router.tracking import ledger
from vendors.errors import ConfigError

__all__ = ["LATENCY_BUCKETS", "Metrics", "attach", "serve"]

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_LABELS = ("vendor", "model", "status")
_TOKEN_KINDS = ("prompt", "completion", "cached", "cache_write", "reasoning")
_attached: dict[int, Metrics] = {}
_lock = threading.Lock()


class Metrics:
    """The collectors on one registry, fed by a tracking listener.

    farebox_calls_total, farebox_tokens_total{kind}, farebox_cost_usd_total, farebox_fallbacks_total and
    farebox_latency_seconds, each labelled vendor, model, status ("ok", "error", "cancelled"); and the
    ledger's farebox_ledger_retry_rows, farebox_ledger_failed_rows_total, farebox_ledger_dropped_rows_total.
    """

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Histogram  # lazy: prometheus-client is the optional [metrics] extra

        self.registry = registry
        self.server: Any = None  # the HTTP server serve() started, if any
        self.calls = Counter("farebox_calls", "Calls made through Farebox (one per user-level call).", _LABELS,
                             registry=registry)
        self.tokens = Counter("farebox_tokens", "Tokens used, by kind (prompt includes cached and cache_write; "
                              "completion includes reasoning).", (*_LABELS, "kind"), registry=registry)
        self.cost = Counter("farebox_cost_usd", "Cost in USD (metered; plan keys cost 0).", _LABELS,
                            registry=registry)
        self.fallbacks = Counter("farebox_fallbacks", "Router deployments tried beyond the first.", _LABELS,
                                 registry=registry)
        self.latency = Histogram("farebox_latency_seconds", "Call latency, retries and fallbacks included.", _LABELS,
                                 buckets=LATENCY_BUCKETS, registry=registry)
        self.ledger = _LedgerCollector()
        registry.register(self.ledger)
        # Labelled children by (collector, labels): labels() validates and locks on every call, and this
        # listener runs once per call (a gateway's request path). Few distinct labels: vendor x model x status.
        self._children: dict[tuple[Any, ...], Any] = {}

    def _child(self, collector: Any, *labels: str) -> Any:
        key = (id(collector), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = collector.labels(*labels)
        return child

    def __call__(self, record: tracking.CallRecord) -> None:
        labels = (record.vendor, record.model, record.status)
        child = self._child
        child(self.calls, *labels).inc()
        for kind, count in zip(_TOKEN_KINDS, (record.prompt_tokens, record.completion_tokens, record.cached_tokens,
                                              record.cache_write_tokens, record.reasoning_tokens), strict=True):
            if count:
                child(self.tokens, *labels, kind).inc(count)
        if record.cost is not None and record.cost.total:
            child(self.cost, *labels).inc(float(record.cost.total))  # Prometheus counts in floats
        if record.fallbacks:
            child(self.fallbacks, *labels).inc(record.fallbacks)
        child(self.latency, *labels).observe(record.latency_s)

    def detach(self) -> None:
        """Stop feeding these collectors, unregister them, and stop the HTTP server serve() started."""
        tracking.remove_listener(self)
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        with _lock:
            _attached.pop(id(self.registry), None)
        for collector in (self.calls, self.tokens, self.cost, self.fallbacks, self.latency, self.ledger):
            try:
                self.registry.unregister(collector)
            except KeyError:
                pass


class _LedgerCollector:
    """Rows of failed ledger commits (router.tracking.ledger.stats()), read at each scrape."""

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily  # lazy: the [metrics] extra


        stats = ledger.stats()
        yield GaugeMetricFamily("farebox_ledger_retry_rows", "Call records kept after a failed ledger commit, "
                                "waiting for the next one.", value=stats["pending"])
        yield CounterMetricFamily("farebox_ledger_failed_rows", "Call records in a ledger commit that failed "
                                  "(each once; kept for retry unless refused).", value=stats["failed"])
        yield CounterMetricFamily("farebox_ledger_dropped_rows", "Call records given up on: past the retry "
                                  "bound, refused by the database, or still failing at exit.", value=stats["dropped"])


def attach(registry: Any = None) -> Metrics:
    """Register Farebox's collectors on `registry` (default: prometheus_client.REGISTRY) and feed them.

    Attaching twice to one registry returns the same Metrics.
    """
    try:
        import prometheus_client  # lazy: the optional [metrics] extra; its absence is a ConfigError
    except ImportError as exc:
        raise ConfigError("router.tracking.metrics needs prometheus-client: pip install 'farebox[metrics]'") from exc
    registry = registry if registry is not None else prometheus_client.REGISTRY
    with _lock:
        metrics = _attached.get(id(registry))
        if metrics is None:
            metrics = _attached[id(registry)] = Metrics(registry)
            tracking.add_listener(metrics)
    return metrics


def serve(port: int, addr: str = "127.0.0.1", registry: Any = None) -> Metrics:
    """`attach(registry)` and expose it at http://addr:port/metrics (prometheus_client's own server thread).

    Port 0 picks a free port: `metrics.server.server_port` tells which.
    """
    metrics = attach(registry)  # first: without prometheus-client, the error names the extra to install
    from prometheus_client import start_http_server  # lazy: the [metrics] extra, checked by attach()

    started = start_http_server(port, addr=addr, registry=metrics.registry)
    if isinstance(started, tuple):  # (server, thread) since prometheus-client 0.17
        metrics.server = started[0]
    return metrics
