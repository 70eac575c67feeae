"""Reasoning text in its vendor shapes: inline `<think>` tags and cumulative-or-incremental fragments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ReasoningStream", "ThinkSplitter", "split_think"]

OPEN, CLOSE = "<think>", "</think>"


def split_think(content: str) -> tuple[str | None, str]:
    """Split a leading `<think>…</think>` off a whole message: (reasoning or None, answer)."""
    stripped = content.lstrip()
    if not stripped.startswith(OPEN):
        return None, content
    end = stripped.find(CLOSE)
    if end < 0:  # unterminated: everything is still thinking (output cut short)
        return stripped[len(OPEN):].strip(), ""
    return stripped[len(OPEN):end].strip(), stripped[end + len(CLOSE):].lstrip()


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkSplitter:
    """The streaming form of `split_think`: tags may be split across chunks at any character."""

    __slots__ = ("_buf", "_started", "_state")

    def __init__(self) -> None:
        self._state = 0  # 0: undecided, 1: inside <think>, 3: after </think>, before the answer's first char, 2: answer
        self._buf = ""
        self._started = False

    def feed(self, text: str) -> tuple[str, str]:
        """(reasoning, answer) text that can be released now."""
        if self._state == 2:
            return "", text
        if self._state == 3:
            # split_think drops the whitespace after </think> ("\n\n"), even when it comes in later chunks.
            text = text.lstrip()
            if text:
                self._state = 2
            return "", text
        self._buf += text
        if self._state == 0:
            head = self._buf.lstrip()
            if head.startswith(OPEN):
                self._state, self._buf = 1, head[len(OPEN):]
            elif OPEN.startswith(head):
                return "", ""  # could still become "<think>"
            else:
                self._state, out, self._buf = 2, self._buf, ""
                return "", out
        end = self._buf.find(CLOSE)
        if end >= 0:
            reasoning = self._buf[:end].rstrip()
            answer = self._buf[end + len(CLOSE):].lstrip()
            self._state, self._buf = (2 if answer else 3), ""
            return self._lead(reasoning), answer
        keep = _partial_suffix(self._buf, CLOSE)
        release = self._buf[: len(self._buf) - keep].rstrip()
        self._buf = self._buf[len(release):]
        return self._lead(release), ""

    def _lead(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        return text

    def close(self) -> tuple[str, str]:
        """End of stream: whatever is held back."""
        buf, state = self._buf, self._state
        self._buf, self._state = "", 2
        if state == 1:  # what is held back follows released text: only its end is trimmed, as split_think does
            return self._lead(buf.rstrip()), ""
        return "", buf


class ReasoningStream:
    """Reasoning fragments that may be cumulative snapshots or increments (docs/vendors.md §1.5).

    The mode is locked at the first unambiguous fragment: one that extends everything so far (and is
    longer) is a snapshot; anything else but an exact repeat is an increment. Each call returns only
    the new text.
    """

    __slots__ = ("_meta", "_mode", "structured", "text")

    def __init__(self) -> None:
        self.text = ""
        self._mode = ""
        self._meta: dict[str, Any] | None = None
        self.structured = False

    def add(self, fragment: str, details: Any = None) -> str:
        self.structured = True
        if self._meta is None and isinstance(details, list) and details and isinstance(details[0], Mapping):
            self._meta = {k: v for k, v in details[0].items() if k != "text"}
        if not self.text:
            self.text = fragment
            return fragment
        extends = fragment.startswith(self.text) and (len(fragment) > len(self.text) or self._mode == "cum")
        if self._mode != "inc" and extends:
            self._mode = "cum"
            new, self.text = fragment[len(self.text):], fragment
            return new
        if self._mode or fragment != self.text:
            # A repeat of everything so far is ambiguous ("ha", "ha"): an increment, but the mode stays open.
            self._mode = self._mode or "inc"
        self.text += fragment
        return fragment

    def details(self) -> list[dict[str, Any]] | None:
        """The whole reasoning as one `reasoning_details` item, for replay; None if none came."""
        if self._meta is None:
            return None
        return [{**self._meta, "text": self.text}]
