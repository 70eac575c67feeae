"""Shared fixtures: one emulator server per session (reset around each test) and a retry-sleep recorder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from router.emulator import Emulator

# Real redis-server / PostgreSQL / Chromium fixtures (skip locally without the binary, fail under CI=true).
pytest_plugins = ["tests.server_fixtures"]

# A distinctive key: if it shows up anywhere it must not, the tests find it by plain substring search.
KEY = "sk-api-SECRET-abcdefghijklmnop"


_LEDGER_DIR = tempfile.mkdtemp(prefix="farebox-test-ledger-")


def pytest_configure(config: pytest.Config) -> None:
    # Tracking is on by default: no test may write the real ~/.local/share ledger. Subprocesses inherit this.
    os.environ["FAREBOX_LEDGER"] = os.path.join(_LEDGER_DIR, "session.sqlite")
    os.environ.pop("FAREBOX_TRACKING", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    from router.tracking import ledger

    ledger.close_all()
    shutil.rmtree(_LEDGER_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[Emulator]:
    """The emulator on its own thread and loop, shared by every test of the session (real sockets)."""
    with Emulator.running(seed=3) as server:
        yield server


@pytest.fixture
def emu(emulator_server: Emulator) -> Iterator[Emulator]:
    """The shared emulator with no recorded requests, no pending faults and default options."""
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
async def own_emulator() -> AsyncIterator[Emulator]:
    """A fresh emulator on the test's own event loop (for tests of the emulator itself)."""
    async with Emulator() as e:
        yield e


@pytest.fixture
async def session() -> AsyncIterator[Any]:
    """A plain aiohttp client session on the test's loop, for requests that bypass Farebox."""
    import aiohttp

    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def sleeps() -> Iterator[list[float]]:
    """Retry waits recorded instead of slept (router.retry.set_sleep)."""
    from router import retry

    recorded: list[float] = []

    async def record(seconds: float) -> None:
        recorded.append(seconds)

    retry.set_sleep(record)
    yield recorded
    retry.set_sleep(None)


@pytest.fixture
def openai_kw(emu: Emulator) -> dict[str, Any]:
    """Keyword arguments that point an `openai/<model>` call at the emulator's OpenAI profile."""
    return {"api_key": KEY, "base_url": emu.base_url("openai")}


@pytest.fixture
def ledger(tmp_path: Any) -> Iterator[Any]:
    """A fresh ledger file for this test (strict, durable); settings back to the session's afterwards."""
    from router import tracking

    path = tmp_path / "ledger.sqlite"
    tracking.reset()
    tracking.configure(ledger=path)
    yield path
    tracking.reset()


@pytest.fixture
def records() -> Iterator[list[Any]]:
    """Every CallRecord emitted during the test, via a process-wide listener."""
    from router import tracking

    seen: list[Any] = []
    tracking.add_listener(seen.append)
    yield seen
    tracking.remove_listener(seen.append)


def ledger_rows(path: Any, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """The ledger's rows as dicts, read with a separate connection (what another process would see)."""
    import sqlite3

    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM calls {where} ORDER BY id", params)]
    finally:
        conn.close()
