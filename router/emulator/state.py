"""Shared emulator state: recorded requests, pending faults, options, the id counter (thread-safe)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .faults import FaultQueue
from .profiles import OPTION_DEFAULTS, PROFILE_DEFAULTS, PROFILES, check_option
from .records import RecordedRequest, key_fingerprint


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """How one streamed answer ended: every event written (`complete`), or the client went away after `chunks`."""

    n: int            # the request number (as in ids)
    path: str
    chunks: int       # SSE events written before the end
    total: int        # events the full answer has
    complete: bool    # False: the connection was lost or aborted before the end
    at: float         # time.monotonic() when it ended


class State:
    """Everything the handlers and the public Emulator API share; safe across threads."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.faults = FaultQueue()
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._streams: list[StreamEnd] = []
        self._options: dict[str, dict[str, Any]] = {}
        self._counter = 0

    def record(self, rec: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(rec)

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def stream_ended(self, end: StreamEnd) -> None:
        with self._lock:
            self._streams.append(end)

    def streams(self) -> list[StreamEnd]:
        with self._lock:
            return list(self._streams)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._streams.clear()
        self.faults.clear()

    def next_n(self) -> int:
        """The request number that seeds ids, ``created`` and random splitting."""
        with self._lock:
            self._counter += 1
            return self._counter

    def set_options(self, vendor: str | None, opts: dict[str, Any]) -> dict[str, Any]:
        scope = "*" if vendor in (None, "*") else str(vendor)
        if scope != "*" and scope not in PROFILES:
            raise ValueError(f"unknown profile {vendor!r}; known: {', '.join(PROFILES)}")
        clean: dict[str, Any] = {}
        for name, value in opts.items():
            check_option(name, value)
            clean[name] = _fingerprints(value) if name == "valid_keys" else value
        with self._lock:
            self._options.setdefault(scope, {}).update(clean)
        return self.options_for(None if scope == "*" else scope)

    def reset_options(self) -> None:
        with self._lock:
            self._options.clear()

    def options_for(self, profile: str | None) -> dict[str, Any]:
        """Per-profile setting > global setting > profile default > global default."""
        merged = dict(OPTION_DEFAULTS)
        if profile is not None:
            merged.update(PROFILE_DEFAULTS.get(profile, {}))
        with self._lock:
            merged.update(self._options.get("*", {}))
            if profile is not None:
                merged.update(self._options.get(profile, {}))
        return merged


def _fingerprints(keys: Any) -> frozenset[str] | None:
    """Accepted keys are kept only as fingerprints, never raw."""
    if keys is None:
        return None
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, Iterable):
        raise ValueError("option 'valid_keys' must be a list of keys or None")
    return frozenset(key_fingerprint(str(k)) for k in keys)
