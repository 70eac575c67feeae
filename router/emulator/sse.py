"""SSE framing and writing: byte splitting, CRLF, chunk delays, and stream faults (reset, truncate, error)."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .faults import Fault


def dumps(obj: Any) -> str:
    """Compact JSON with raw UTF-8 (not \\u escapes), so byte splits can cut inside a character."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


_BROKEN = '{"type":"content_block_delta","choices":[{"delta":{"co'  # a JSON object cut short


@dataclass(frozen=True, slots=True)
class Event:
    """One SSE event; ``final`` marks events a truncated stream must not reach (finish, usage, stop)."""

    data: str | None = None
    name: str | None = None
    comment: str | None = None
    final: bool = False

    @classmethod
    def json(cls, obj: Any, name: str | None = None, final: bool = False) -> Event:
        return cls(data=dumps(obj), name=name, final=final)

    @property
    def is_chunk(self) -> bool:
        return self.comment is None

    def encode(self, crlf: bool = False) -> bytes:
        lines = []
        if self.comment is not None:
            lines.append(f": {self.comment}")
        if self.name is not None:
            lines.append(f"event: {self.name}")
        if self.data is not None:
            lines.append(f"data: {self.data}")
        nl = "\r\n" if crlf else "\n"
        return (nl.join(lines) + nl + nl).encode("utf-8")


def split_bytes(data: bytes, rng: random.Random) -> list[bytes]:
    """Random-sized pieces (1..24 bytes); always cuts inside the first multi-byte UTF-8 character."""
    cuts = set()
    pos = 0
    while True:
        pos += rng.randint(1, 24)
        if pos >= len(data):
            break
        cuts.add(pos)
    first_multi = next((i for i, b in enumerate(data) if b >= 0x80), None)
    if first_multi is not None:
        cuts.add(first_multi + 1)  # a lead byte is always followed by a continuation byte
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(data)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


class SSEWriter:
    """Writes events to a prepared StreamResponse, applying split/CRLF options and a Fault."""

    def __init__(
        self,
        request: web.Request,
        resp: web.StreamResponse,
        *,
        crlf: bool = False,
        rng: random.Random | None = None,
        fault: Fault | None = None,
    ) -> None:
        self.request, self.resp, self.crlf, self.rng, self.fault = request, resp, crlf, rng, fault
        self.chunks = 0

    async def _write(self, event: Event) -> None:
        data = event.encode(self.crlf)
        if self.rng is None:
            await self.resp.write(data)  # write() drains; StreamResponse.drain() is deprecated
            return
        for piece in split_bytes(data, self.rng):
            await self.resp.write(piece)
            await asyncio.sleep(0)  # let each piece leave as its own TCP segment

    async def _huge_line(self, size: int) -> None:
        await self.resp.write(b"data: ")
        piece = b"x" * (1024 * 1024)
        for start in range(0, size, len(piece)):
            await self.resp.write(piece[: size - start])
        await self.resp.write(b"\n\n")

    def _abort(self) -> None:
        if self.request.transport is not None:
            self.request.transport.abort()

    async def send(self, events: Iterable[Event], error_event: Callable[[], Event]) -> bool:
        """Write the stream; returns False when the connection was aborted or lost."""
        fault = self.fault or Fault()
        try:
            if fault.huge_line_bytes:
                await self._huge_line(fault.huge_line_bytes)
            for event in events:
                if event.is_chunk:
                    stop = await self._before_chunk(event, fault, error_event)
                    if stop is not None:
                        return stop == "end"
                elif fault.truncate_after_chunks is not None and self.chunks >= fault.truncate_after_chunks:
                    continue
                await self._write(event)
                if event.is_chunk:
                    self.chunks += 1
                    if fault.malformed and self.chunks == 1:
                        # One extra chunk of broken JSON; the rest of the stream stays whole.
                        await self._write(Event(data=_BROKEN, name="content_block_delta" if event.name else None))
            await self.resp.write_eof()
        except ConnectionError:
            return False
        return True

    async def _before_chunk(self, event: Event, fault: Fault, error_event: Callable[[], Event]) -> str | None:
        """Apply the fault before the next chunk: None = write it, "end" = ended cleanly, "abort"."""
        n = self.chunks
        if fault.reset_after_chunks is not None and n >= fault.reset_after_chunks:
            self._abort()
            return "abort"
        if fault.truncate_after_chunks is not None and (n >= fault.truncate_after_chunks or event.final):
            await self.resp.write_eof()
            return "end"
        if fault.error_after_chunks is not None and n >= fault.error_after_chunks:
            await self._write(error_event())
            await self.resp.write_eof()
            return "end"
        if n > 0 and fault.chunk_delay_s > 0:
            await asyncio.sleep(fault.chunk_delay_s)
        return None
