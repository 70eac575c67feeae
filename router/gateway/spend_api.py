"""GET /spend (the ledger's spend as JSON) and GET /dashboard (its charts, drawn in the browser from /spend).

The master key sees every call; a virtual key sees only its own. The key comes as a header, or once as
`?token=` on /dashboard, which sets an HttpOnly cookie and redirects to the same page without it.
"""

from __future__ import annotations

import asyncio
import html
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from router.gateway.errors import GatewayError, from_exception
from router.gateway.responses import json_response, openai_error
from router.tracking.spending import spend

__all__ = ["COOKIE", "add_routes", "spend_rows"]

COOKIE = "farebox_token"
STATIC = Path(__file__).parent / "static"
_NAMES = {"key": "tag:key_id"}   # `by=key` is the tag every gateway call carries
_MAX_GROUPS = 4


def _headers_with_cookie(request: web.Request) -> Any:
    if request.headers.get("Authorization") or request.headers.get("x-api-key"):
        return request.headers
    token = request.cookies.get(COOKIE)
    return {"Authorization": f"Bearer {token}"} if token else request.headers


def spend_rows(by: list[str], since: str | None, until: str | None, key_id: str | None) -> dict[str, Any]:
    """The /spend answer: rows with exact cost text, totals, and what was asked."""
    where = {"tag:key_id": key_id} if key_id is not None else None
    try:
        rows = spend(by, since=since, until=until, where=where)
    except ValueError as exc:
        raise GatewayError(400, str(exc), param="by") from None
    out, total = [], {"calls": 0, "failures": 0, "cancelled": 0, "fallbacks": 0, "tokens": 0, "cost": 0}

    cost = Decimal(0)
    for row in rows:
        item = {("key" if k == "tag:key_id" else k): v for k, v in row.group.items()}
        item.update(calls=row.calls, failures=row.failures, cancelled=row.cancelled, fallbacks=row.fallbacks,
                    prompt_tokens=row.prompt_tokens, completion_tokens=row.completion_tokens, tokens=row.tokens,
                    cost=format(row.cost, "f"),
                    cost_per_call=format(row.cost / row.calls, "f") if row.calls else "0")
        out.append(item)
        for name in ("calls", "failures", "cancelled", "fallbacks", "tokens"):
            total[name] += item[name]
        cost += row.cost
    total["cost"] = format(cost, "f")
    return {"by": [("key" if b == "tag:key_id" else b) for b in by], "since": since, "until": until,
            "key": key_id, "rows": out, "total": total}


def add_routes(app: web.Application, gw: Any) -> None:
    async def spend_api(request: web.Request) -> web.Response:
        try:
            who = gw.guard.authenticate(_headers_with_cookie(request))
            by = [_NAMES.get(n.strip(), n.strip()) for n in request.query.get("by", "day").split(",") if n.strip()]
            if len(by) > _MAX_GROUPS:
                raise GatewayError(400, f"by takes at most {_MAX_GROUPS} names", param="by")
            since = request.query.get("since", "7d")
            data = await asyncio.to_thread(spend_rows, by, since, request.query.get("until"),
                                           None if who.master else who.key_id)
            if "key" in data["by"] and gw.guard.store is not None:
                # Names to show beside key ids: every key's for the master, a key's own otherwise.
                keys = gw.guard.store.list() if who.master else [who.key]
                data["key_names"] = {k.id: k.name for k in keys if k is not None and k.name}
        except Exception as exc:
            return openai_error(from_exception(exc), exc)
        return json_response(data)

    async def dashboard(request: web.Request) -> web.StreamResponse:
        token = request.query.get("token")
        if token:
            # Check it, keep it in a cookie, and take it out of the address bar (and of any proxy's access log).
            try:
                gw.guard.authenticate({"Authorization": f"Bearer {token}"})
            except GatewayError as err:
                return web.Response(status=err.status, text=f"{err.message}\n", content_type="text/plain")
            moved = web.HTTPFound("/dashboard")
            moved.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
            raise moved
        try:
            who = gw.guard.authenticate(_headers_with_cookie(request))
        except GatewayError as err:
            return web.Response(status=err.status, content_type="text/html",
                                text=_LOGIN.format(message=html.escape(err.message)))
        page = (STATIC / "dashboard.html").read_text(encoding="utf-8")
        page = page.replace("{{scope}}", "all keys" if who.master else f"key {html.escape(who.key_id)}")
        return web.Response(text=page, content_type="text/html",
                            headers={"Cache-Control": "no-store", "Content-Security-Policy":
                                     "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"})

    app.router.add_get("/spend", spend_api)
    app.router.add_get("/dashboard", dashboard)
    app.router.add_static("/static/", STATIC, show_index=False)


_LOGIN = """<!doctype html><html><head><meta charset="utf-8"><title>Farebox spend</title></head>
<body style="font-family:system-ui;margin:3em"><h1>Farebox spend</h1><p>{message}</p>
<form method="get" action="/dashboard"><label>Key <input name="token" type="password" size="40"></label>
<button>Open</button></form></body></html>"""
