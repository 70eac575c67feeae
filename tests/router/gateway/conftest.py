"""Gateway fixtures: the demo aliases over the shared emulator, served on a real socket with a fresh ledger."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from router.gateway.server import demo_router, running
from router.gateway.settings import GatewaySettings
from tests.conftest import ledger_rows

MASTER = "sk-farebox-test-master"


_live: list[Any] = []  # the gateways now serving (make_gateway)


def committed(path: Any) -> list[dict[str, Any]]:
    """The ledger's rows once every record of an answered call is committed (a gateway answers before its record
    is even emitted: Running.flush asks on each gateway's loop)."""
    from router import tracking

    for gw in _live:
        gw.flush()
    tracking.flush()
    return ledger_rows(path)


@contextlib.contextmanager
def make_gateway(emu: Any, **settings: Any) -> Iterator[Any]:
    with running(demo_router(emu.url), GatewaySettings(master_key=MASTER, **settings)) as gw:
        _live.append(gw)
        try:
            yield gw
        finally:
            _live.remove(gw)


@pytest.fixture
def gateway(emu: Any, ledger: Any) -> Iterator[Any]:
    """The gateway on a free port; `gateway.url`, `gateway.ledger` (the ledger file its calls go to)."""
    with make_gateway(emu, keepalive_s=0.2, read_timeout_s=2.0, max_body_bytes=64 * 1024) as gw:
        gw.ledger = ledger
        yield gw


@pytest.fixture
def store(gateway: Any) -> Any:
    """The gateway's key store (the same ledger database)."""
    from router.gateway.app import GATEWAY_KEY

    return gateway.app[GATEWAY_KEY].guard.store
