"""API keys as secrets: registered once, redacted from every text Farebox produces, masked for display."""

from __future__ import annotations

import re
import threading

__all__ = ["mask_key", "redact", "redact_url", "register_secret"]

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secret_re: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Remember a key so that `redact` removes it from any text Farebox produces."""
    global _secret_re
    if not value or len(value) < 6 or value in _secrets:
        return
    with _secrets_lock:
        _secrets.add(value)
        parts = sorted(_secrets, key=len, reverse=True)
        _secret_re = re.compile("|".join(re.escape(s) for s in parts))


def redact(text: str) -> str:
    """`text` with every registered key replaced by a short masked form."""
    pattern = _secret_re
    if pattern is None or not text:
        return text
    return pattern.sub(lambda m: mask_key(m.group(0)), text)


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#@\s]*)@")


def redact_url(text: str) -> str:
    """`text` with the user-info of every URL in it (`https://user:key@host`) replaced, and keys redacted."""
    if "@" in text:
        text = _USERINFO.sub(lambda m: f"{m.group('scheme')}…@", text)
    return redact(text)


def mask_key(key: str) -> str:
    """A display form of a key that cannot be used: `sk-cp-…9f`."""
    if len(key) <= 10:
        return "…"
    return f"{key[:6]}…{key[-2:]}"
