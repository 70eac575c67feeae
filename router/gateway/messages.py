"""POST /v1/messages: the Anthropic Messages wire over the same Router, keys and cost as /v1/chat/completions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.gateway import anthropic_codec
from router.gateway.errors import GatewayError, from_exception
from router.gateway.relay import relay
from router.gateway.responses import closing, cost_headers, json_response

__all__ = ["add_routes", "anthropic_error"]


def anthropic_error(err: GatewayError, exc: BaseException | None = None) -> web.Response:
    return closing(err, web.Response(body=err.anthropic_body(), status=err.status, content_type="application/json",
                                     headers=err.all_headers()))


def add_routes(app: web.Application, gw: Any) -> None:
    async def messages(request: web.Request) -> web.StreamResponse:
        gw.commits.claim()
        try:
            who = gw.guard.authenticate(request.headers)
            body = await gw.read_json(request)
            model, msgs, stream, kwargs = anthropic_codec.parse_request(body, max_messages=gw.settings.max_messages)
            await gw.check_model(who, model)
            client_meta = body.get("metadata") if isinstance(body.get("metadata"), dict) else None
            kwargs["metadata"] = gw.metadata(who, {k: v for k, v in (client_meta or {}).items() if k != "user_id"})
            if stream:
                return await relay(request, gw.router.acompletion(model, msgs, stream=True, **kwargs),
                                   anthropic_codec.MessagesStream(model), keepalive_s=gw.settings.keepalive_s,
                                   headers={}, error_response=anthropic_error)
            resp = await gw.router.acompletion(model, msgs, **kwargs)
        except Exception as exc:
            return anthropic_error(from_exception(exc), exc)
        return json_response(anthropic_codec.response_body(resp), cost_headers(resp))

    app.router.add_post("/v1/messages", messages)
