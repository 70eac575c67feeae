"""JSON text to Python objects on the hot paths: the C scanner at once, json.loads for everything else."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["loads"]

_scan = json.JSONDecoder().scan_once  # the decoder json.loads uses by default, without its per-call wrapper


def loads(text: str | bytes) -> Any:
    """json.loads(text): the same objects, the same errors. One JSON value that fills the text exactly (a stream
    chunk, a reply body) is scanned directly; whitespace around it, a BOM, another encoding than UTF-8 or
    invalid JSON go to json.loads, which answers or raises as it always does."""
    try:
        s = text.decode() if type(text) is bytes else text
        value, end = _scan(s, 0)
    except Exception:  # not one plain value here (or not UTF-8): json.loads says what it is
        return json.loads(text)
    if end != len(s):
        return json.loads(text)
    return value
