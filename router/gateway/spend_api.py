"""GET /spend (JSON) and GET /dashboard."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def add_routes(app: web.Application, gw: Any) -> None:
    pass
