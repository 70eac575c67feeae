"""API keys as secrets: registered once, redacted from every text Farebox produces, masked for display."""

from __future__ import annotations

import re
import threading

__all__ = ["looks_like_key", "mask_key", "redact", "redact_url", "register_secret"]

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
        _clean_urls.clear()


def redact(text: str) -> str:
    """`text` with every registered key replaced by a short masked form."""
    pattern = _secret_re
    if pattern is None or not text:
        return text
    return pattern.sub(lambda m: mask_key(m.group(0)), text)


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/?#@\s]*)@")


# Texts redact_url found nothing to redact in under the current secrets (every attempt redacts the same base
# URL and model name); emptied whenever a secret is added. No text holding a secret is ever kept here.
_clean_urls: set[str] = set()


def redact_url(text: str) -> str:
    """`text` with the user-info of every URL in it (`https://user:key@host`) replaced, and keys redacted."""
    if text in _clean_urls:
        return text
    if "@" in text:   # user-info may be a key: such a text is never kept as a memo key
        return redact(_USERINFO.sub(lambda m: f"{m.group('scheme')}…@", text))
    pattern = _secret_re
    out = redact(text)
    if pattern is _secret_re and out == text and len(_clean_urls) < 4096:  # nothing secret in it, none added
        _clean_urls.add(text)
    return out


# Key shapes, for a key passed by mistake where a name belongs (`model=`): vendor prefixes (sk-, sk-ant-, sk-cp-,
# AIza, a JWT's eyJ), or a long token with a run of 24+ characters no model name has (Zhipu's hex.secret form).
_KEY_SHAPE = re.compile(r"(?:sk[-_]|AIza|eyJ)[A-Za-z0-9._\-]{16,}|(?=[A-Za-z0-9._\-]{40,}$)"
                        r"[A-Za-z0-9._\-]*[A-Za-z0-9]{24,}[A-Za-z0-9._\-]*")


def looks_like_key(text: str) -> str | None:
    """The part of `text` (a model name, `vendor/...` parts each) shaped like an API key, or None."""
    if not isinstance(text, str) or len(text) < 19 or text in _not_keys:
        return None
    for part in text.split("/"):
        if _KEY_SHAPE.fullmatch(part.strip()):
            return part.strip()
    if len(_not_keys) < 4096:
        _not_keys.add(text)   # asked of the same model names on every call; a key-shaped text is never kept
    return None


_not_keys: set[str] = set()


def mask_key(key: str) -> str:
    """A display form of a key that cannot be used: `sk-cp-…9f`."""
    if len(key) <= 10:
        return "…"
    return f"{key[:6]}…{key[-2:]}"
