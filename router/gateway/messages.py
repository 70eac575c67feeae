"""POST /v1/messages: the Anthropic Messages wire over the same Router."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def add_routes(app: web.Application, gw: Any) -> None:
    pass
