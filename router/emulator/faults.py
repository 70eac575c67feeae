"""Fault: a queued misbehaviour (error status, delay, reset, truncation, bad JSON) and its FIFO queue."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(slots=True)
class Fault:
    """One injected fault, matched against completion requests in FIFO order.

    Matching: ``vendor`` / ``model`` / ``surface`` (None = any). ``times`` is how many matching
    requests it applies to (-1 = forever). Actions, all optional and combinable:

    - ``status`` (+ ``body`` or ``vendor_code``): answer with that status and the profile's
      native error envelope (or ``body`` verbatim) instead of the normal answer.
    - ``http200_base_resp``: MiniMax-native HTTP 200 whose ``base_resp.status_code`` is this code
      and which has no ``choices`` (docs/vendors.md §1.8 envelope 1); a plain JSON body even when a
      stream was asked for, since the request is refused before streaming starts.
    - ``headers`` / ``retry_after`` (Retry-After) / ``retry_after_ms`` (retry-after-ms).
    - ``delay_s`` before the headers, ``chunk_delay_s`` between stream chunks.
    - ``reset_after_chunks``: abort the TCP connection after N stream chunks; for a non-stream
      body 0 aborts before any byte and N > 0 after the headers and the first N body bytes.
    - ``truncate_after_chunks``: end the stream cleanly after N chunks, before any finish_reason
      and without ``[DONE]`` / ``message_stop``.
    - ``malformed``: non-stream → HTTP 200 with a broken JSON body; stream → one chunk of broken JSON.
    - ``redirect_to``: answer with a redirect (``status``, default 307; 301/302/303/307/308) whose
      ``Location`` is this origin (or URL prefix) followed by the request's own path and query.
    - ``huge_line_bytes``: stream → before the first chunk, one ``data:`` line of this many bytes
      (written in 1 MiB pieces), then the normal stream; non-stream → a 200 JSON body of that size.
    - ``events``: stream → these SSE events instead of the answer's (a string is sent as the
      ``data:`` verbatim, anything else as JSON; an object's ``type`` names the event). For a plain
      reply of arbitrary JSON use ``status=200, body=...``.
    - ``error_after_chunks``: after N chunks send an in-stream error (Anthropic ``event: error``
      with overloaded_error for 529 / api_error otherwise; OpenAI surfaces a ``data: {"error":…}``
      chunk) and close. ``status`` picks the error kind (default 529 Anthropic, 500 OpenAI). On a
      non-stream request it answers like ``status`` would.

    A chunk is one SSE event (an Anthropic ``ping`` counts; ``: comment`` lines do not). A stream
    shorter than N chunks completes normally.
    """

    vendor: str | None = None
    model: str | None = None
    surface: str | None = None
    times: int = 1
    status: int | None = None
    body: dict[str, Any] | list[Any] | str | None = None
    vendor_code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float | str | None = None
    retry_after_ms: int | None = None
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    reset_after_chunks: int | None = None
    truncate_after_chunks: int | None = None
    malformed: bool = False
    http200_base_resp: int | None = None
    error_after_chunks: int | None = None
    redirect_to: str | None = None
    huge_line_bytes: int | None = None
    events: list[Any] | None = None

    def __post_init__(self) -> None:
        if self.times == 0 or self.times < -1:
            raise ValueError("Fault.times must be >= 1, or -1 for forever")
        if self.surface not in (None, "openai", "anthropic"):
            raise ValueError("Fault.surface must be None, 'openai' or 'anthropic'")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("Fault.status must be an HTTP status code")
        if self.redirect_to is not None and self.status not in (None, 301, 302, 303, 307, 308):
            raise ValueError("Fault.redirect_to takes status 301, 302, 303, 307 or 308")
        for name in ("reset_after_chunks", "truncate_after_chunks", "error_after_chunks", "huge_line_bytes"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"Fault.{name} must be >= 0")

    @property
    def replaces_answer(self) -> bool:
        """True when the fault answers instead of the normal response (before any stream)."""
        if self.redirect_to is not None:
            return False
        return (self.status is not None or self.vendor_code is not None) and self.error_after_chunks is None

    def matches(self, vendor: str, model: str | None, surface: str) -> bool:
        return (
            (self.vendor is None or self.vendor == vendor)
            and (self.model is None or self.model == model)
            and (self.surface is None or self.surface == surface)
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """Build from a JSON object (the control API); unknown keys raise ValueError."""
        if not isinstance(data, dict):
            raise ValueError("a fault must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown Fault field(s): {', '.join(unknown)}")
        return cls(**data)


class FaultQueue:
    """Thread-safe FIFO of faults: the first matching one with times left is consumed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[list[Any]] = []  # [fault, remaining]

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._items.append([fault, fault.times])
        return fault

    def take(self, vendor: str, model: str | None, surface: str) -> Fault | None:
        with self._lock:
            for i, item in enumerate(self._items):
                fault, remaining = item
                if not fault.matches(vendor, model, surface):
                    continue
                if remaining > 0:
                    item[1] = remaining - 1
                    if item[1] == 0:
                        del self._items[i]
                return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [item[0] for item in self._items]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
