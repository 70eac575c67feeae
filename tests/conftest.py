"""Shared fixtures: one emulator server per session (reset around each test) and a retry-sleep recorder."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from router.emulator import Emulator

# A distinctive key: if it shows up anywhere it must not, the tests find it by plain substring search.
KEY = "sk-api-SECRET-abcdefghijklmnop"


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
