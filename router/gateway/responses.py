"""The gateway's JSON replies: a body as JSON, the x-farebox-cost headers, a GatewayError as an OpenAI error."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from router.gateway import openai_codec
from router.gateway.errors import GatewayError

__all__ = ["closing", "cost_headers", "json_response", "openai_error"]

log = logging.getLogger("farebox.gateway")


def cost_headers(resp: Any) -> dict[str, str]:
    cost = resp.cost
    estimated = bool(resp.usage.estimated or (cost is not None and cost.estimated))
    return {"x-farebox-cost": openai_codec.cost_text(cost) or "unpriced",
            "x-farebox-cost-estimated": "true" if estimated else "false",
            "x-farebox-attempts": str(len(resp.attempts) or 1),
            "x-farebox-vendor": resp.vendor or ""}


def json_response(data: Any, headers: dict[str, str] | None = None, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), status=status,
                        content_type="application/json", headers=headers)


def openai_error(err: GatewayError, exc: BaseException | None = None) -> web.Response:
    if err.status >= 500 and exc is not None and err.code == "internal_error":
        log.error("unexpected error in the gateway: %s", type(exc).__name__, exc_info=exc)
    return closing(err, web.Response(body=err.openai_body(), status=err.status, content_type="application/json",
                                     headers=err.all_headers()))


def closing(err: GatewayError, resp: web.Response) -> web.Response:
    if err.code in ("request_timeout", "request_too_large"):
        resp.force_close()  # the rest of that body is not worth reading: drop the connection after the answer
    return resp
