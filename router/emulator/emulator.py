"""Emulator: the public handle that starts/stops the server and exposes recording, faults and options."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from .faults import Fault
from .profiles import PROFILES
from .records import RecordedRequest
from .server import build_app
from .state import State, StreamEnd

HOST = "127.0.0.1"


class Emulator:
    """A local aiohttp server speaking each vendor's wire with deterministic answers.

    Async::

        async with Emulator() as emu:
            client = openai.AsyncOpenAI(base_url=emu.base_url("minimax"), api_key="sk-test")

    Sync (server on its own thread and loop)::

        with Emulator.running() as emu:
            ...

    Every request is recorded in ``emu.requests`` (credentials masked); ``emu.fault(...)`` queues
    misbehaviour; ``emu.set_options(vendor, ...)`` flips per-profile switches.
    """

    def __init__(self, port: int = 0, seed: int = 0) -> None:
        self.port = port
        self.seed = seed
        self._state = State(seed)
        self._runner: web.AppRunner | None = None
        self._bound: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> Emulator:
        """Bind 127.0.0.1:port (0 = a free port) and start serving in the running loop."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        # A short shutdown grace: stop() should not wait on clients' idle keep-alive sockets.
        runner = web.AppRunner(build_app(self._state), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, HOST, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._bound = int(runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        """Stop serving; idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self._bound = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def running(cls, port: int = 0, seed: int = 0) -> Iterator[Emulator]:
        """Run the server on a background thread with its own event loop; stop on exit."""
        emu = cls(port=port, seed=seed)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="farebox-emulator", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(emu.start(), loop).result(timeout=30)
            yield emu
        finally:
            try:
                asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(timeout=30)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=30)
                loop.close()

    # -- addresses ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._bound is None:
            raise RuntimeError("emulator is not running; call start() or use 'async with'")
        return f"http://{HOST}:{self._bound}"

    def base_url(self, vendor: str, surface: str | None = None, region: str = "global") -> str:
        """The base URL to give a client for ``vendor`` on ``surface`` (default: "openai", or
        "anthropic" for the anthropic profile).

        openai ``/openai/v1``; compatible ``/compatible/v1`` (anthropic: ``/compatible``);
        deepseek ``/deepseek`` (``/deepseek/anthropic``); moonshot ``/moonshot/v1``
        (``/moonshot/anthropic``); zhipu ``/zhipu/api/paas/v4`` (``/zhipu/api/anthropic``);
        minimax ``/minimax/v1`` (``/minimax/anthropic``); anthropic ``/anthropic``. Anthropic
        clients append ``/v1/messages``. A non-global region becomes ``/{vendor}-{region}/...``
        (served identically, recorded as ``RecordedRequest.region``).
        """
        profile = PROFILES.get(vendor)
        if profile is None:
            raise ValueError(f"unknown profile {vendor!r}; known: {', '.join(PROFILES)}")
        surface = surface or profile.surfaces[0]  # "openai", except the anthropic profile
        if surface not in ("openai", "anthropic"):
            raise ValueError("surface must be 'openai' or 'anthropic'")
        base = profile.openai_base if surface == "openai" else profile.anthropic_base
        if base is None:
            raise ValueError(f"profile {vendor!r} has no {surface} surface (it has: {', '.join(profile.surfaces)})")
        if not region or not region.replace("_", "").isalnum() or "-" in region:
            raise ValueError("region must be alphanumeric, e.g. 'global' or 'cn'")
        segment = vendor if region == "global" else f"{vendor}-{region}"
        return f"{self.url}/{segment}{base}"

    # -- recording ---------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far (including failed and faulted ones), oldest first."""
        return self._state.requests()

    @property
    def streams(self) -> list[StreamEnd]:
        """How each streamed answer ended, oldest first: complete, or cut when the client closed the connection."""
        return self._state.streams()

    def last_request(self, vendor: str | None = None) -> RecordedRequest | None:
        """The most recent request, optionally only among ``vendor``'s."""
        for rec in reversed(self._state.requests()):
            if vendor is None or rec.vendor == vendor:
                return rec
        return None

    def clear(self) -> None:
        """Forget recorded requests and pending faults (options are kept; see reset())."""
        self._state.clear()

    def reset(self) -> None:
        """clear() plus forget every set_options() setting."""
        self._state.clear()
        self._state.reset_options()

    # -- faults and options ------------------------------------------------------------------
    def fault(self, fault: Fault | None = None, /, **kwargs: Any) -> Fault:
        """Queue a fault (a Fault, or keyword arguments that build one); returns it."""
        if fault is not None and kwargs:
            raise TypeError("pass either a Fault or keyword arguments, not both")
        return self._state.faults.add(fault if fault is not None else Fault(**kwargs))

    @property
    def faults(self) -> list[Fault]:
        """Faults still pending, in matching order."""
        return self._state.faults.pending()

    def set_options(self, vendor: str | None, **opts: Any) -> dict[str, Any]:
        """Set behaviour switches for one profile, or for all with ``vendor=None`` / ``"*"``.

        Returns the profile's effective options. See ``router.emulator.OPTION_DEFAULTS``.
        """
        return self._state.set_options(vendor, opts)

    def options(self, vendor: str | None = None) -> dict[str, Any]:
        """The effective options of ``vendor`` (or the global ones)."""
        return self._state.options_for(vendor)
