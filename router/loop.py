"""A private background event loop on a daemon thread: the sync API runs its coroutines there."""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["loop", "run"]

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def loop() -> asyncio.AbstractEventLoop:
    """The background loop, started on first use."""
    global _loop, _thread
    if _loop is not None:
        return _loop
    with _lock:
        if _loop is None:
            new = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(new)
                new.call_soon(ready.set)
                new.run_forever()

            _thread = threading.Thread(target=serve, name="farebox-loop", daemon=True)
            _thread.start()
            ready.wait()
            _loop = new
            atexit.register(_shutdown)
    return _loop


def started() -> bool:
    """Whether the background loop is running (without starting it)."""
    return _loop is not None and _loop.is_running()


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run `coro` on the background loop and wait for it from this (any) thread."""
    bg = loop()
    if threading.current_thread() is _thread:
        coro.close()
        raise RuntimeError("the sync Farebox API was called from Farebox's own loop thread; use the async API")
    future = asyncio.run_coroutine_threadsafe(coro, bg)
    try:
        return future.result(timeout)
    except BaseException:
        future.cancel()
        raise


_orphans: list[asyncio.AbstractEventLoop] = []


def _forked() -> None:
    # The loop's thread did not survive fork(): the child starts its own loop on first use. The parent's
    # loop object is kept, never closed here: its sockets (pooled connections) are the parent's too.
    global _loop, _thread, _lock
    if _loop is not None:
        _orphans.append(_loop)
    _loop, _thread, _lock = None, None, threading.Lock()  # a lock held by another thread at fork stays held


os.register_at_fork(after_in_child=_forked)


async def _drain() -> None:
    """Close the pooled session, then cancel what still runs (a stream left open) and let it unwind,
    as asyncio.run does: a task still pending when the loop stops is reported as destroyed."""
    from router.transport import aclose_all  # lazy: router.tracking imports this module and must not load aiohttp

    state = sys.modules.get("router.tracking.state")
    if state is not None:  # budget settlements and latency samples still on their way to Redis go first
        try:
            await asyncio.wait_for(state.drain(), 2)
            await state.aclose_all()
        except Exception:
            pass
    await aclose_all()
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=2)


def _shutdown() -> None:
    """At exit: close the pooled session and stop the loop, so nothing warns about unclosed sockets."""
    global _loop
    bg = _loop
    if bg is None or bg.is_closed():
        return
    try:
        asyncio.run_coroutine_threadsafe(_drain(), bg).result(5)
    except Exception:
        pass
    bg.call_soon_threadsafe(bg.stop)
    if _thread is not None:
        _thread.join(5)
    if not bg.is_running():
        bg.close()  # else "ResourceWarning: unclosed event loop" at exit
    _loop = None
