"""Incremental Server-Sent Events parser, correct at any byte boundary (WHATWG event-stream rules)."""

from __future__ import annotations

__all__ = ["SSEParser", "get_limits", "set_limits"]

_MIB = 1024 * 1024
_limits = [8 * _MIB, 16 * _MIB]  # [max line bytes, max event bytes]: router.transport.configure() sets them


def set_limits(*, line: int | None = None, event: int | None = None) -> None:
    """Process-wide caps on one SSE line and one event's data (bytes); None keeps a cap."""
    for i, (name, value) in enumerate((("max_line_bytes", line), ("max_event_bytes", event))):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
            from vendors.errors import ConfigError

            raise ConfigError(f"{name} must be a whole number of bytes >= 1024, got {value!r}")
        _limits[i] = value


def get_limits() -> tuple[int, int]:
    """(max line bytes, max event bytes) in force."""
    return _limits[0], _limits[1]


class SSEParser:
    """Feed raw bytes as they arrive; get back complete `(event, data)` pairs.

    Lines end in LF, CRLF or CR; a line is decoded only once complete, so a UTF-8 character split
    across reads is never broken. `:` lines are comments (keep-alives); `data:` with or without a
    space; several `data:` lines join with a newline; a blank line dispatches the event.
    """

    __slots__ = ("_buf", "_data", "_event", "last_event_id")

    def __init__(self) -> None:
        self._buf = b""
        self._event = ""
        self._data: list[str] = []
        self.last_event_id: str | None = None

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            # A CR at the very end may be the first half of a CRLF: keep it for the next read.
            hold = buf.endswith(b"\r")
            if hold:
                buf = buf[:-1]
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if hold:
                buf += b"\r"
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        events: list[tuple[str, str]] = []
        for raw in lines:
            self._line(raw, events)
        return events

    def close(self) -> list[tuple[str, str]]:
        """End of input: a last line without its newline counts; an open event is dispatched."""
        events: list[tuple[str, str]] = []
        rest = self._buf.rstrip(b"\r")
        self._buf = b""
        if rest:
            self._line(rest, events)
        if self._data:
            self._line(b"", events)
        return events

    def _line(self, raw: bytes, events: list[tuple[str, str]]) -> None:
        if not raw:
            if self._data:
                events.append((self._event, "\n".join(self._data)))
            self._event = ""
            self._data = []
            return
        if raw[0] == 58:  # ":" comment / keep-alive
            return
        line = raw.decode("utf-8", errors="replace")
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
