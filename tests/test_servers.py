"""The real-server test infrastructure (tests/servers.py, tests/server_fixtures.py) works: Redis through redis-py
asyncio, PostgreSQL through psycopg 3, restarts on the same port and data dir, kills that leave no process
behind, and Playwright driving the system Chromium (no browser download) against a local aiohttp page."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests import servers
from tests.servers import PostgresServer, RedisServer


def running(pattern: str) -> list[str]:
    """`pgrep -af pattern`, minus pgrep itself: the live processes whose command line contains `pattern`."""
    if shutil.which("pgrep") is None:
        servers.missing("pgrep", "apt-get install procps")
    out = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if line.strip() and f" {os.getpid()} " not in f" {line} "]


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


# -- finding binaries; the skip/fail rule ----------------------------------------------------------------------

def test_find_binary_finds_the_servers_and_none_for_a_missing_one() -> None:
    assert servers.find_binary("redis-server", "redis-server") is not None
    for tool in ("initdb", "pg_ctl", "postgres"):
        path = servers.find_binary(tool, "postgresql")
        assert path is not None and os.access(path, os.X_OK), tool
    assert servers.find_binary("farebox-no-such-binary", "nothing") is None


def test_postgres_bindirs_sort_highest_version_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for version in ("9.6", "15", "16", "13"):
        (tmp_path / version / "bin").mkdir(parents=True)
    monkeypatch.setattr(servers, "_PG_ROOT", str(tmp_path))
    assert [Path(d).parent.name for d in servers.postgres_bindirs()] == ["16", "15", "13", "9.6"]


def test_a_missing_binary_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install redis-server"):
        servers.missing("redis-server", "apt-get install redis-server")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        servers.missing("redis-server", "apt-get install redis-server")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install redis-server"):
        servers.missing("redis-server", "apt-get install redis-server")
    with pytest.raises(pytest.fail.Exception, match="farebox-no-such-binary not found"):
        servers.require_binary("farebox-no-such-binary", "nothing")


# -- Redis -----------------------------------------------------------------------------------------------------

async def test_redis_ping_set_get_through_redis_py_asyncio(redis_clean: RedisServer) -> None:
    import redis.asyncio as aioredis

    assert redis_clean.url.startswith("redis://127.0.0.1:") and redis_clean.url.endswith("/0")
    client = aioredis.from_url(redis_clean.url)
    try:
        assert await client.ping() is True
        assert await client.set("farebox:k", "v1", ex=60) is True
        assert await client.get("farebox:k") == b"v1"
        assert await client.incrby("farebox:n", 5) == 5
    finally:
        await client.aclose()


async def test_redis_restart_keeps_the_port_and_serves_again(redis_server: RedisServer) -> None:
    import redis.asyncio as aioredis
    from redis.exceptions import ConnectionError as RedisConnectionError

    redis_server.start()
    port, pid = redis_server.port, redis_server.pid
    client = aioredis.from_url(redis_server.url, retry_on_error=[RedisConnectionError])
    try:
        await client.set("farebox:before", "1")
        redis_server.restart()
        assert redis_server.port == port and redis_server.pid != pid
        assert await client.ping() is True  # the pool reconnects to the same url
        assert await client.get("farebox:before") is None  # --save '' --appendonly no: nothing survives
        await client.set("farebox:after", "2")
        assert await client.get("farebox:after") == b"2"
    finally:
        await client.aclose()


def test_redis_kill_leaves_no_process_and_close_removes_the_dir() -> None:
    with RedisServer() as server:
        assert server.command("PING").startswith(b"+PONG")
        assert len(running(server.data_dir)) == 1
        server.kill()
        assert running(server.data_dir) == []
        assert refused(server.port)
        server.start()  # a killed server starts again on the same port
        assert server.command("PING").startswith(b"+PONG")
        base = server.base
    assert running(server.data_dir) == []
    assert not os.path.exists(base)


def test_a_server_restarted_from_a_worker_thread_outlives_the_thread() -> None:
    with RedisServer() as server:
        worker = threading.Thread(target=server.restart)
        worker.start()
        worker.join()
        time.sleep(0.3)  # a parent-death signal tied to the worker thread would have killed it by now
        assert server.alive() and server.command("PING").startswith(b"+PONG")


def test_a_failing_test_body_still_cleans_up() -> None:
    with pytest.raises(ZeroDivisionError), RedisServer() as server:
        base, data_dir = server.base, server.data_dir
        _ = 1 / 0
    assert running(data_dir) == [] and not os.path.exists(base)


# -- PostgreSQL ------------------------------------------------------------------------------------------------

async def test_postgres_query_numeric_round_trip_and_copy(postgres_server: PostgresServer) -> None:
    import psycopg

    assert postgres_server.url == f"postgresql://postgres@127.0.0.1:{postgres_server.port}/postgres"
    exact = Decimal("12345678901234567890.123456789012345678")
    async with await psycopg.AsyncConnection.connect(postgres_server.url, autocommit=True) as conn:
        row = await (await conn.execute("select current_setting('server_version_num')::int, current_user")).fetchone()
        assert row is not None and row[0] >= 130000 and row[1] == "postgres"
        back = await (await conn.execute("select %s::numeric, %s::numeric(20,12)", [exact, Decimal("0.1")])).fetchone()
        assert back == (exact, Decimal("0.100000000000"))
        await conn.execute("drop table if exists t_copy")
        await conn.execute("create table t_copy (id bigint, model text, cost numeric(30,12))")
        rows = [(i, f"m{i % 3}", Decimal(i) / 7) for i in range(1000)]
        async with conn.cursor() as cur:
            async with cur.copy("copy t_copy (id, model, cost) from stdin") as copy:
                for r in rows:
                    await copy.write_row(r)
            await cur.executemany("insert into t_copy values (%s, %s, %s)", rows[:10])
            await cur.execute("select count(*), sum(cost) from t_copy")
            count, total = await cur.fetchone() or (None, None)
        assert count == 1010
        assert total == sum(round(Decimal(i) / 7, 12) for i in range(1000)) + sum(
            round(Decimal(i) / 7, 12) for i in range(10))


async def test_postgres_restart_keeps_data_on_the_same_port(postgres_server: PostgresServer) -> None:
    import psycopg

    postgres_server.start()
    port, pid = postgres_server.port, postgres_server.pid
    async with await psycopg.AsyncConnection.connect(postgres_server.url, autocommit=True) as conn:
        await conn.execute("drop table if exists t_restart")
        await conn.execute("create table t_restart (v text)")
        await conn.execute("insert into t_restart values ('kept')")
        postgres_server.restart()
        assert postgres_server.port == port and postgres_server.pid != pid
        with pytest.raises(psycopg.OperationalError):
            await conn.execute("select 1")  # the old connection is gone with the old server
    async with await psycopg.AsyncConnection.connect(postgres_server.url) as conn:
        assert await (await conn.execute("select v from t_restart")).fetchall() == [("kept",)]


def test_postgres_kill_leaves_no_process_and_recovers(postgres_fresh: PostgresServer) -> None:
    import psycopg

    server = postgres_fresh
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("create table t_crash (v int)")
        conn.execute("insert into t_crash values (42)")
    children = servers.descendants(server.pid or 0)
    assert children  # checkpointer, walwriter, ...: each in its own session (setsid), so killpg is not enough
    assert len(running(server.data_dir)) == 1
    server.kill()
    assert running(server.data_dir) == []
    assert not any(servers.pid_alive(p) for p in children)
    assert refused(server.port)
    server.start()  # crash recovery from the kept data dir
    assert server.psql("select v from t_crash") == "42"


def test_postgres_runs_unprivileged_with_the_settings(postgres_server: PostgresServer) -> None:
    postgres_server.start()
    owner = Path(f"/proc/{postgres_server.pid}").stat().st_uid
    assert owner != 0 and owner == Path(postgres_server.data_dir).stat().st_uid
    shown = postgres_server.psql("select string_agg(name || '=' || setting, ',' order by name) from pg_settings "
                                 "where name in ('fsync', 'listen_addresses', 'shared_buffers')")
    assert shown == "fsync=off,listen_addresses=127.0.0.1,shared_buffers=4096"  # 4096 pages of 8 kB = 32MB
    assert postgres_server.psql("show unix_socket_directories") == postgres_server.socket_dir


def test_closing_a_postgres_server_removes_everything() -> None:
    with PostgresServer() as server:
        base, data_dir = server.base, server.data_dir
        assert server.psql("select 1") == "1"
    assert running(data_dir) == [] and not os.path.exists(base)
    assert refused(server.port)


# -- Playwright on the system Chromium -------------------------------------------------------------------------

PAGE = """<!doctype html><html><head><title>Farebox check</title></head>
<body style="background:#0a7"><h1 id="t">Farebox</h1><script>document.getElementById('t').textContent += ' ok'</script>
</body></html>"""


async def test_playwright_screenshots_a_local_aiohttp_page_with_the_system_chromium(
        chromium: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiohttp import web
    from playwright.async_api import async_playwright

    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-browsers"))  # a download would land here
    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
            try:
                page = await browser.new_page(viewport={"width": 400, "height": 300})
                await page.goto(f"http://127.0.0.1:{port}/")
                assert await page.title() == "Farebox check"
                assert await page.text_content("#t") == "Farebox ok"  # the page's script ran
                shot = tmp_path / "page.png"
                await page.screenshot(path=str(shot))
            finally:
                await browser.close()
    finally:
        await runner.cleanup()
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    assert int.from_bytes(data[16:20], "big") == 400 and int.from_bytes(data[20:24], "big") == 300
    assert not (tmp_path / "no-browsers").exists()
