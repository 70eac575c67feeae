"""Admin endpoints behind the master key: virtual keys (create, list, revoke) and Prometheus /metrics."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router import tracking
from router.gateway.errors import GatewayError, from_exception
from router.gateway.responses import json_response, openai_error

__all__ = ["add_routes"]


def add_routes(app: web.Application, gw: Any) -> None:
    def store() -> Any:
        if gw.guard.store is None:
            raise GatewayError(501, "this gateway has no key store", type="api_error", code="no_key_store")
        return gw.guard.store

    async def create(request: web.Request) -> web.Response:
        try:
            gw.guard.require_master(request.headers)
            body = await gw.read_json(request)
            if not isinstance(body, dict):
                raise GatewayError(400, "the body must be an object")
            unknown = sorted(set(body) - {"budget", "max_budget", "period", "budget_period", "models", "rpm",
                                          "tags", "name"})
            if unknown:
                raise GatewayError(400, f"unknown field {unknown[0]!r}; accepted: budget, period, models, rpm, "
                                        "tags, name", param=unknown[0])
            raw, key = store().create(budget=body.get("budget", body.get("max_budget")),
                                      period=body.get("period", body.get("budget_period", "month")),
                                      models=body.get("models"), rpm=body.get("rpm"), tags=body.get("tags"),
                                      name=body.get("name"))
        except Exception as exc:
            return openai_error(from_exception(exc), exc)
        return json_response({"key": raw, **key.as_dict()}, status=201)

    async def listing(request: web.Request) -> web.Response:
        try:
            gw.guard.require_master(request.headers)
            keys = store().list()
        except Exception as exc:
            return openai_error(from_exception(exc), exc)
        return json_response({"object": "list", "data": [k.as_dict() for k in keys]})

    async def revoke(request: web.Request) -> web.Response:
        try:
            gw.guard.require_master(request.headers)
            key = store().revoke(request.match_info["key_id"])
        except Exception as exc:
            err = from_exception(exc)
            if err.code is None and "no key" in err.message:
                err.status, err.code = 404, "key_not_found"
            return openai_error(err, exc)
        return json_response(key.as_dict())

    async def metrics(request: web.Request) -> web.Response:
        try:
            if not gw.settings.metrics_public:
                gw.guard.require_master(request.headers)
            registry = _registry(gw)
        except Exception as exc:
            return openai_error(from_exception(exc), exc)
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest  # lazy: the optional metrics extra

        resp = web.Response(body=generate_latest(registry))
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    app.router.add_post("/admin/keys", create)
    app.router.add_get("/admin/keys", listing)
    app.router.add_delete("/admin/keys/{key_id}", revoke)
    app.router.add_post("/admin/keys/{key_id}/revoke", revoke)
    app.router.add_get("/metrics", metrics)

    async def attach_metrics(_app: web.Application) -> None:
        try:
            _registry(gw)
        except GatewayError:
            pass  # prometheus-client missing: /metrics says so when asked

    app.on_startup.append(attach_metrics)


def _registry(gw: Any) -> Any:
    registry = getattr(gw, "metrics_registry", None)
    if registry is not None:
        return registry
    try:
        from prometheus_client import CollectorRegistry  # lazy: the optional metrics extra
    except ImportError:
        raise GatewayError(501, "/metrics needs prometheus-client: pip install 'farebox[gateway]'",
                           type="api_error", code="metrics_unavailable") from None
    registry = CollectorRegistry()
    tracking.metrics.attach(registry)
    gw.metrics_registry = registry
    return registry
