"""RecordedRequest: what the emulator received, with API keys masked and fingerprinted."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

# Headers whose values are credentials: never stored raw (STYLE.md §5 "no key in any message").
SECRET_HEADERS = ("authorization", "x-api-key", "api-key")


def key_fingerprint(raw_key: str) -> str:
    """sha256 hex[:12] of a raw key: lets tests tell keys apart without storing them."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()[:12]


def mask_key(raw_key: str) -> str:
    """First 6 chars + "…" + last 2 chars; short keys keep only a 3-char prefix.

    A key under 12 chars would be nearly fully revealed by the 6+2 rule, so it gets the
    shorter form (e.g. "sk-test" -> "sk-…").
    """
    if len(raw_key) >= 12:
        return f"{raw_key[:6]}…{raw_key[-2:]}"
    return f"{raw_key[: min(3, len(raw_key) // 2)]}…"


def mask_header(value: str) -> str:
    """Mask a credential header value, keeping its scheme ("Bearer sk-cp-…9f")."""
    scheme, sep, rest = value.partition(" ")
    if sep and rest:
        return f"{scheme} {mask_key(rest.strip())}"
    return mask_key(value.strip())


def extract_auth(headers: dict[str, str]) -> tuple[str | None, str | None]:
    """(auth_kind, raw_key) from lower-cased headers; Bearer wins over x-api-key over api-key."""
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "bearer", token.strip()
    if headers.get("x-api-key", "").strip():
        return "x-api-key", headers["x-api-key"].strip()
    if headers.get("api-key", "").strip():
        return "api-key", headers["api-key"].strip()
    return None, None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP request the emulator received (including failed and faulted ones).

    ``headers`` has lower-cased names and masked credential values; ``key_fingerprint`` is
    sha256(raw key)[:12] so a test can check *which* key was sent, e.g.
    ``rec.key_fingerprint == key_fingerprint("sk-cp-...")``.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body_len: int
    vendor: str
    surface: str
    time: float
    auth_kind: str | None = None
    key_fingerprint: str | None = None
    region: str = "global"

    @property
    def model(self) -> str | None:
        """The ``model`` field of a JSON body, if any."""
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def stream(self) -> bool:
        """True when the JSON body asked for a stream."""
        return bool(self.body.get("stream")) if isinstance(self.body, dict) else False

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (used by ``GET /_emulator/requests``)."""
        return asdict(self)


def build_record(
    *,
    method: str,
    path: str,
    query: dict[str, str],
    raw_headers: dict[str, str],
    body: Any,
    raw_body_len: int,
    vendor: str,
    surface: str,
    region: str,
    now: float,
) -> RecordedRequest:
    """Mask credentials and fingerprint the key; the raw key goes no further than this call."""
    headers = {k.lower(): v for k, v in raw_headers.items()}
    kind, raw_key = extract_auth(headers)
    for name in SECRET_HEADERS:
        if name in headers:
            headers[name] = mask_header(headers[name])
    return RecordedRequest(
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
        raw_body_len=raw_body_len,
        vendor=vendor,
        surface=surface,
        time=now,
        auth_kind=kind,
        key_fingerprint=key_fingerprint(raw_key) if raw_key else None,
        region=region,
    )
