"""Running the gateway: from a config file or the demo, in this process, on a thread (tests), or as N workers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiohttp import web

from router import tracking
from router.config import read_config
from router.gateway.app import build_app
from router.gateway.settings import GatewaySettings, split_config
from router.gateway.wiring import key_store, make_guard
from router.routing import Router
from router.transport import aclose_all

__all__ = ["DEMO_MASTER_KEY", "Running", "demo_router", "key_store", "load", "make_guard", "run", "running"]

log = logging.getLogger("farebox.gateway")

DEMO_MASTER_KEY = "sk-farebox-demo"


def load(path: str | os.PathLike[str]) -> tuple[Any, GatewaySettings]:
    """The Router and gateway settings from farebox.yaml (Router keys at the top, `gateway:` for the server)."""
    data, settings = split_config(read_config(path), str(path))
    return Router(**data), settings


def demo_router(emulator_url: str) -> Any:
    """Aliases over the emulator: smart (MiniMax, falls back to cheap), cheap (DeepSeek), claude (Anthropic)."""
    def base(vendor: str, suffix: str) -> str:
        return f"{emulator_url}/{vendor}{suffix}"

    return Router(deployments=[
        {"alias": "smart", "model": "minimax/MiniMax-M3", "api_key": "sk-api-demo-minimax-key",
         "base_url": base("minimax", "/v1")},
        {"alias": "cheap", "model": "deepseek/deepseek-v4-flash", "api_key": "sk-demo-deepseek-key",
         "base_url": base("deepseek", "")},
        {"alias": "claude", "model": "anthropic/claude-sonnet-4-5", "api_key": "sk-ant-demo-key",
         "base_url": base("anthropic", "")},
    ], fallbacks={"smart": ["cheap"]}, num_retries=1)


class Running:
    """A gateway served on a background thread with its own loop (tests, benches); `.url` is its address."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app, self.host, self.port = app, host, port
        self.loop = asyncio.new_event_loop()
        self.runner: web.AppRunner | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, name="farebox-gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _start(self) -> None:
        self.runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.25, handler_cancellation=True)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    def start(self) -> Running:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    def flush(self) -> None:
        """Commit the records of every call answered so far: the gateway emits a record one loop turn after its
        answer went out (tracking.answered), so the commit is asked for on the gateway's own loop, after them."""
        asyncio.run_coroutine_threadsafe(tracking.aflush(), self.loop).result(30)

    def stop(self) -> None:
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
            self.runner = None
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(aclose_all(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


@contextlib.contextmanager
def running(router: Any, settings: GatewaySettings | None = None, *, host: str = "127.0.0.1",
            port: int = 0) -> Iterator[Running]:
    """`with running(router, settings) as gw:` — the gateway on a free port until the block ends."""
    server = Running(build_app(router, settings), host, port).start()
    try:
        yield server
    finally:
        server.stop()


def run(router: Any, settings: GatewaySettings, *, host: str, port: int, reuse_port: bool = False,
        banner: str | None = None) -> None:
    """Serve until interrupted (the CLI's `serve`)."""
    app = build_app(router, settings)
    app.on_startup.append(_freeze_heap)
    if banner:
        print(banner, flush=True)
    web.run_app(app, host=host, port=port, access_log=None, print=None, reuse_port=reuse_port or None,
                handler_cancellation=True, shutdown_timeout=5.0, loop=event_loop())


def event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when it is installed (the `gateway` extra; FAREBOX_UVLOOP=0 turns it off), else
    asyncio's. The server's sockets, the vendor connections and every task run on it; on libuv the gateway runs
    about 9 % fewer instructions per JSON request (callgrind) and answers ~10 % more per CPU second. LiteLLM's
    uvicorn picks uvloop the same way, so bench/gateway.py compares like with like."""
    if os.environ.get("FAREBOX_UVLOOP", "1") != "0":
        try:
            import uvloop  # lazy: an optional extra, only the served gateway uses it
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


async def _freeze_heap(app: web.Application) -> None:
    """What start-up built (modules, price tables, pydantic schemas: most of the heap) lives as long as the
    process: out of the collector's sight, so a full collection walks only what requests left behind (tens of
    milliseconds less at p99)."""
    gc.collect()
    gc.freeze()


def run_workers(config: str | None, demo_url: str | None, *, host: str, port: int, workers: int,
                ledger: str | None) -> int:
    """N processes on one port (SO_REUSEPORT); each builds its own Router, sharing the ledger (and Redis)."""
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(config, demo_url, host, port, ledger, os.getpid()), daemon=False)
             for _ in range(workers)]

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)  # `kill` of the parent stops the workers too
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(10)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return max((p.exitcode or 0) for p in procs)


def _orphaned(parent: int) -> None:
    """A worker whose parent died (SIGKILL) exits instead of serving on alone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _worker(config: str | None, demo_url: str | None, host: str, port: int, ledger: str | None,
            parent: int) -> None:
    threading.Thread(target=_orphaned, args=(parent,), name="farebox-worker-parent", daemon=True).start()
    if config is not None:
        router, settings = load(config)
    else:
        assert demo_url is not None
        router, settings = demo_router(demo_url), GatewaySettings(master_key=DEMO_MASTER_KEY)
    if ledger:
        settings = settings.model_copy(update={"ledger": str(Path(ledger).expanduser())})
    run(router, settings, host=host, port=port, reuse_port=True)
