"""The gateway's aiohttp application: OpenAI and Anthropic endpoints over a Router, keys, cost headers, spend."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any

from aiohttp import web

from router import tracking
from router.gateway import admin, messages, openai_codec, spend_api
from router.gateway.commits import Commits
from router.gateway.errors import GatewayError, from_exception
from router.gateway.guard import Guard, Principal
from router.gateway.relay import relay
from router.gateway.responses import cost_headers, json_response, openai_error
from router.gateway.settings import GatewaySettings
from router.gateway.wiring import make_guard
from router.tracking import metrics
from vendors.wires import jsontext

__all__ = ["Gateway", "build_app"]

log = logging.getLogger("farebox.gateway")

GATEWAY_KEY: web.AppKey[Gateway] = web.AppKey("gateway", None)  # type: ignore[arg-type]


class OpenAIStream:
    """OpenAI SSE framing. Usage and cost go on the last chunk with choices, or on a final usage-only chunk
    when the client asked for stream_options.include_usage (API.md, Streaming)."""

    def __init__(self, include_usage: bool) -> None:
        self.include_usage = include_usage
        self.held: Any = None  # the chunk with finish_reason: usage may have to ride on it
        self._prefix: tuple[Any, bytes] | None = None

    def _text(self, chunk: Any) -> bytes | None:
        """The hot path, a delta of text only: the same JSON as chunk_bytes, from a per-stream prefix (~4x faster)."""
        choice = chunk.choices[0]
        d = choice.delta
        if (len(chunk.choices) != 1 or choice.index or d.tool_calls or d.thinking_blocks
                or d.reasoning_details or (d.content is None) == (d.reasoning_content is None)):
            return None
        key = (chunk.id, chunk.created, chunk.model)
        if self._prefix is None or self._prefix[0] != key:
            head = json.dumps({"id": chunk.id or "chatcmpl-farebox", "object": "chat.completion.chunk",
                               "created": chunk.created, "model": chunk.model}, separators=(",", ":"),
                              ensure_ascii=False)
            self._prefix = (key, b"data: " + head[:-1].encode() + b',"choices":[{"index":0,"delta":{')
        name, text = ("content", d.content) if d.content is not None else ("reasoning_content", d.reasoning_content)
        role = b"" if d.role is None else b'"role":' + json.dumps(d.role, ensure_ascii=False).encode() + b","
        return (self._prefix[1] + role + b'"' + name.encode() + b'":' + json.dumps(text, ensure_ascii=False).encode()
                + b'},"finish_reason":null}]}\n\n')

    def chunk(self, chunk: Any) -> bytes:
        if not chunk.choices:
            return b""  # the Router's own usage chunk: the end() below writes the client's
        out = b""
        if self.held is not None:
            out = openai_codec.chunk_bytes(self.held)
            self.held = None
        if chunk.choices[0].finish_reason is not None:
            self.held = chunk
            return out
        return out + (self._text(chunk) or openai_codec.chunk_bytes(chunk))

    def end(self, response: Any) -> bytes:
        out = b""
        usage, cost = response.usage, response.cost
        if self.held is not None:
            extra = {} if self.include_usage else {"usage": usage, "cost": cost}
            out += openai_codec.chunk_bytes(self.held, **extra)
        if self.include_usage:
            out += openai_codec.chunk_bytes({
                "id": response.id or "chatcmpl-farebox", "object": "chat.completion.chunk",
                "created": response.created, "model": response.model, "choices": [],
                "usage": openai_codec.usage_body(usage, cost)})
        return out + b"data: [DONE]\n\n"

    def error(self, err: GatewayError) -> bytes:
        return openai_codec.chunk_bytes(err.sse_payload()) + b"data: [DONE]\n\n"


class Gateway:
    """The state behind one application: the Router, the guard, settings and counters."""

    def __init__(self, router: Any, settings: GatewaySettings, guard: Guard) -> None:
        self.router = router
        self.settings = settings
        self.guard = guard
        self.started = time.time()
        self.aliases = sorted(router.aliases)
        self.served = frozenset(self.aliases)
        self.commits = Commits()

    # -- helpers ---------------------------------------------------------------------------------------
    async def read_json(self, request: web.Request) -> Any:
        """The JSON body, or a 400 naming what is wrong (type, size, syntax, a slow sender)."""
        limit = self.settings.max_body_bytes
        # The header as every SDK sends it needs no parsing; anything else is parsed (charset, case, spaces).
        if request.headers.get("Content-Type") != "application/json" and request.content_type != "application/json":
            ctype = request.content_type
            raise GatewayError(400, f"Content-Type must be application/json, got {ctype or 'none'!r}",
                               code="unsupported_content_type")
        if request.content_length is not None and request.content_length > limit:
            raise GatewayError(400, f"request body is {request.content_length} bytes; this gateway accepts at most "
                                    f"{limit} (gateway.max_body_bytes)", code="request_too_large")
        content = request.content
        try:
            if content.is_eof():  # the usual case, all of it came with the headers: no timer, no coroutine
                raw = content.read_nowait()
                if len(raw) > limit:
                    raise GatewayError(400, f"request body is over {limit} bytes (gateway.max_body_bytes)",
                                       code="request_too_large")
            else:
                async with asyncio.timeout(self.settings.read_timeout_s):
                    raw = await _read_limited(request, limit)
        except TimeoutError:
            raise GatewayError(400, f"the request body did not arrive within {self.settings.read_timeout_s:g}s "
                                    "(gateway.read_timeout_s)", code="request_timeout") from None
        try:
            return jsontext.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise GatewayError(400, f"the request body is not valid JSON: {exc}", code="invalid_json") from None

    def metadata(self, who: Principal, client: Any) -> dict[str, Any]:
        tags = {str(k): str(v) for k, v in client.items()} if isinstance(client, dict) else {}
        return {**tags, **who.tags()}  # the key's own tags and id win over what the client claims

    async def check_model(self, who: Principal, model: str) -> None:
        if model not in self.served:
            raise GatewayError(404, f"model {model!r} is not served here; models: {', '.join(self.aliases)}",
                               type="invalid_request_error", code="model_not_found", param="model")
        await self.guard.admit(who, model)

    # -- OpenAI ----------------------------------------------------------------------------------------
    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        self.commits.claim()
        try:
            who = self.guard.authenticate(request.headers)
            body = await self.read_json(request)
            model, messages, stream, kwargs = openai_codec.parse_request(body, max_messages=self.settings.max_messages)
            await self.check_model(who, model)
            kwargs["metadata"] = self.metadata(who, kwargs.get("metadata"))
            if stream:
                include = bool((kwargs.get("stream_options") or {}).get("include_usage"))
                return await relay(request, self.router.acompletion(model, messages, stream=True, **kwargs),
                                   OpenAIStream(include), keepalive_s=self.settings.keepalive_s, headers={},
                                   error_response=openai_error)
            resp = await self.router.acompletion(model, messages, **kwargs)
        except Exception as exc:
            return openai_error(from_exception(exc), exc)
        return json_response(openai_codec.response_body(resp), cost_headers(resp))

    async def models(self, request: web.Request) -> web.Response:
        try:
            who = self.guard.authenticate(request.headers)
        except GatewayError as err:
            return openai_error(err)
        names = [a for a in self.aliases if who.key is None or who.key.allows(a)]
        return json_response({"object": "list", "data": [
            {"id": name, "object": "model", "created": int(self.started), "owned_by": "farebox"} for name in names]})

    async def healthz(self, request: web.Request) -> web.Response:
        return json_response({"status": "ok", "uptime_s": round(time.time() - self.started, 3),
                              "models": len(self.aliases), "pid": os.getpid()})


async def _read_limited(request: web.Request, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        data = await request.content.readany()
        if not data:
            return b"".join(chunks)
        size += len(data)
        if size > limit:
            raise GatewayError(400, f"request body is over {limit} bytes (gateway.max_body_bytes)",
                               code="request_too_large")
        chunks.append(data)


def build_app(router: Any, settings: GatewaySettings | None = None, *, guard: Guard | None = None) -> web.Application:
    """The aiohttp application serving `router` (a router.Router)."""
    settings = settings or GatewaySettings()
    if guard is None:
        guard = make_guard(settings)
    gw = Gateway(router, settings, guard)
    # The body limit is enforced by read_json (a 400 naming it); aiohttp's own cap sits just above it.
    app = web.Application(client_max_size=settings.max_body_bytes + 1)
    app[GATEWAY_KEY] = gw
    app.router.add_post("/v1/chat/completions", gw.chat_completions)
    app.router.add_post("/chat/completions", gw.chat_completions)
    app.router.add_get("/v1/models", gw.models)
    app.router.add_get("/healthz", gw.healthz)
    app.on_shutdown.append(_drain)
    app.on_cleanup.append(_cleanup)
    messages.add_routes(app, gw)
    admin.add_routes(app, gw)
    spend_api.add_routes(app, gw)
    return app


async def _drain(app: web.Application) -> None:
    await app[GATEWAY_KEY].commits.drain()


async def _cleanup(app: web.Application) -> None:
    """Listeners this application added go with it (tests start many gateways in one process)."""
    gw = app[GATEWAY_KEY]
    limits = gw.guard.limits
    if limits is not None and hasattr(limits, "record"):
        tracking.remove_listener(limits.record)
    registry = getattr(gw, "metrics_registry", None)
    if registry is not None:
        metrics.attach(registry).detach()
    if gw.guard.store is not None:
        gw.guard.store.close()
