"""Incremental Server-Sent Events parser, correct at any byte boundary (WHATWG event-stream rules)."""

from __future__ import annotations

from vendors.errors import ConfigError, MalformedResponseError

__all__ = ["SSEParser", "get_limits", "set_limits"]

_MIB = 1024 * 1024
_limits = [8 * _MIB, 16 * _MIB]  # [max line bytes, max event bytes]: router.transport.configure() sets them


def set_limits(*, line: int | None = None, event: int | None = None) -> None:
    """Process-wide caps on one SSE line and one event's data (bytes); None keeps a cap."""
    for i, (name, value) in enumerate((("max_line_bytes", line), ("max_event_bytes", event))):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
            raise ConfigError(f"{name} must be a whole number of bytes >= 1024, got {value!r}")
        _limits[i] = value


def get_limits() -> tuple[int, int]:
    """(max line bytes, max event bytes) in force."""
    return _limits[0], _limits[1]


_BOM = b"\xef\xbb\xbf"


class SSEParser:
    """Feed raw bytes as they arrive; get back complete `(event, data)` pairs.

    Lines end in LF, CRLF or CR; a line is decoded only once complete, so a UTF-8 character split
    across reads is never broken. `:` lines are comments (keep-alives); `data:` with or without a
    space; several `data:` lines join with a newline; a blank line dispatches the event; one leading
    UTF-8 BOM is skipped. Linear time: each byte is scanned once; an unfinished line grows in place.
    A line longer than `max_line_bytes`, or an event's data longer than `max_event_bytes`, is a
    MalformedResponseError (naming `vendor` / `model` when given) rather than unbounded memory.
    """

    __slots__ = ("_after_cr", "_bom", "_buf", "_data", "_event", "_event_bytes", "_max_event", "_max_line",
                 "_model", "_vendor", "last_event_id")

    def __init__(self, *, vendor: str | None = None, model: str | None = None, max_line_bytes: int | None = None,
                 max_event_bytes: int | None = None) -> None:
        self._buf = bytearray()
        self._bom: bytes | None = b""  # the stream's first bytes while a BOM is still possible; then None
        self._after_cr = False  # the last read ended in CR: a LF first in the next read belongs to it
        self._event = ""
        self._data: list[str] = []
        self._event_bytes = 0
        self._max_line = max_line_bytes or _limits[0]
        self._max_event = max_event_bytes or _limits[1]
        self._vendor, self._model = vendor, model
        self.last_event_id: str | None = None

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        if self._bom is not None:
            head = self._bom + chunk
            if len(head) < len(_BOM) and _BOM.startswith(head):
                self._bom = head
                return []
            self._bom = None
            chunk = head[len(_BOM):] if head.startswith(_BOM) else head
        if self._after_cr and chunk[:1] == b"\n":
            chunk = chunk[1:]
        self._after_cr = False
        if not chunk:
            return []
        if b"\r" in chunk:
            self._after_cr = chunk[-1] == 13
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = chunk.split(b"\n")
        rest = lines.pop()
        events: list[tuple[str, str]] = []
        if lines:
            if self._buf:
                self._buf += lines[0]
                lines[0] = bytes(self._buf)
                self._buf.clear()
            line = self._line
            for raw in lines:
                # The commonest lines inline (about every line of a stream): `data: ...`, `event: ...` and the
                # blank line that ends an event; the same result as _line, which does every other line (and errors).
                if raw[:6] == b"data: " and len(raw) <= self._max_line and (
                        self._event_bytes + len(raw) <= self._max_event):
                    self._event_bytes += len(raw)
                    self._data.append(raw[6:].decode("utf-8", errors="replace"))  # an ASCII prefix: the same text
                elif raw[:7] == b"event: " and len(raw) <= self._max_line:
                    self._event = raw[7:].decode("utf-8", errors="replace")
                elif not raw and self._data:
                    data = self._data
                    events.append((self._event, data[0] if len(data) == 1 else "\n".join(data)))
                    self._event = ""
                    self._data = []
                    self._event_bytes = 0
                else:
                    line(raw, events)
        self._buf += rest
        if len(self._buf) > self._max_line:
            self._buf.clear()
            raise self._too_long("line", self._max_line, "max_line_bytes")
        return events

    def close(self) -> list[tuple[str, str]]:
        """End of input: a last line without its newline counts; an open event is dispatched."""
        events: list[tuple[str, str]] = []
        if self._bom:  # the whole input was shorter than a BOM
            self._buf += self._bom
        self._bom = None
        rest = bytes(self._buf)
        self._buf.clear()
        if rest:
            self._line(rest, events)
        if self._data:
            self._line(b"", events)
        return events

    def _too_long(self, what: str, cap: int, setting: str) -> Exception:
        return MalformedResponseError(f"an event-stream {what} is longer than {cap} bytes ({setting}); "
                                      "the stream was not read further", vendor=self._vendor, model=self._model)

    def _line(self, raw: bytes, events: list[tuple[str, str]]) -> None:
        if not raw:
            if self._data:
                events.append((self._event, "\n".join(self._data)))
            self._event = ""
            self._data = []
            self._event_bytes = 0
            return
        if raw[0] == 58:  # ":" comment / keep-alive
            return
        if len(raw) > self._max_line:
            raise self._too_long("line", self._max_line, "max_line_bytes")
        line = raw.decode("utf-8", errors="replace")
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._event_bytes += len(raw)
            if self._event_bytes > self._max_event:
                self._data = []
                raise self._too_long("event", self._max_event, "max_event_bytes")
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_event_id = value
