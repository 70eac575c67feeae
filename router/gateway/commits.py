"""Records committed after the answer: a gateway call's ledger commit is not on its response path."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from router import tracking

__all__ = ["Commits"]

log = logging.getLogger("farebox.gateway")


class Commits:
    """The commits of answered calls still under way; failures counted (the ledger logs them), waited for at shutdown.

    A handler calls `claim()` first: its calls then return as soon as their record is queued to the ledger's
    writer, which is woken and commits it at once (durable mode) — the client does not wait for SQLite. The row
    is in the writer's queue before the answer's first byte is sent, so a later flush() or spend query sees it,
    and the writer commits what is queued when the process exits. Batching mode never waited in the first place.
    """

    def __init__(self) -> None:
        self.pending: set[asyncio.Future[None]] = set()
        self.failed = 0

    def claim(self) -> None:
        """Defer the current task's commits to this object (aiohttp runs each request in a task of its own)."""
        tracking.defer_commits(self._add)

    def _add(self, future: asyncio.Future[None]) -> None:
        if future.done():
            self._done(future)
            return
        self.pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: asyncio.Future[Any]) -> None:
        self.pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            self.failed += 1  # the ledger logged it, once per run of failures

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait (at shutdown) for every commit still under way."""
        if self.pending:
            await asyncio.wait(set(self.pending), timeout=timeout)
