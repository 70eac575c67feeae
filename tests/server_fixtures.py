"""pytest fixtures for real servers (tests/servers.py). Load with ``pytest_plugins = ["tests.server_fixtures"]``.

- ``redis_server`` / ``postgres_server``: one server each per session, started on first use.
- ``redis_clean``: the session Redis, emptied (FLUSHALL) before the test, and started again if a test killed it.
- ``postgres_fresh``: a cluster of the test's own (initdb ~1 s), for tests that stop, kill or break it.
- ``chromium``: the system Chromium's path.

A missing binary skips the test with the apt-get line that brings it, except when CI is set: then it fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import PostgresServer, RedisServer, chromium_path


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """redis-server on a free 127.0.0.1 port for the whole session (no persistence)."""
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_clean(redis_server: RedisServer) -> RedisServer:
    """The session Redis, running and empty."""
    redis_server.start()  # a no-op unless an earlier test stopped or killed it
    redis_server.flushall()
    return redis_server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A fresh PostgreSQL cluster on a free 127.0.0.1 port for the whole session (trust auth, fsync off)."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_fresh() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of this test's own, removed after it."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of the system Chromium (/usr/bin/chromium)."""
    return chromium_path()
