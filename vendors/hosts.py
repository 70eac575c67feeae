"""Spoof-proof host detection: a URL's real hostname against exact hosts and apex domains."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

__all__ = ["host_matches", "hostname", "is_loopback", "is_private", "scheme"]

_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f\\]")


def hostname(url: object) -> str | None:
    """The lower-cased hostname of an http(s) URL, or None for anything else.

    `urlsplit(...).hostname` already ignores user-info (`https://api.x.com@evil/`), the path and the
    query; a URL without a scheme has no host, and a malformed one raises ValueError (docs/vendors.md §7.1).
    """
    if not isinstance(url, str) or not url.strip():
        return None
    if _UNSAFE.search(url.strip()):
        return None  # whitespace, control characters or a backslash: parsers disagree on such hosts
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    host = host.rstrip(".")  # "api.deepseek.com." is the same host as "api.deepseek.com"
    return host or None


def scheme(url: str) -> str:
    try:
        return urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""


def host_matches(host: str | None, hosts: frozenset[str], apexes: frozenset[str]) -> bool:
    """Exact canonical host, or a proper subdomain of an apex; the bare apex never matches."""
    if not host or not host.isascii() or any(label.startswith("xn--") for label in host.split(".")):
        return False  # no vendor API host is internationalised: IDN/punycode names are lookalikes
    if host in hosts:
        return True
    return any(host.endswith("." + apex) for apex in apexes)


def is_loopback(host: str | None) -> bool:
    """localhost, 127.0.0.0/8 or ::1: local servers and the emulator may use plain http."""
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_private(host: str | None) -> bool:
    """Loopback, or an IP literal in a private range (10/8, 172.16/12, 192.168/16, fc00::/7, link-local)."""
    if is_loopback(host):
        return True
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_private or address.is_link_local
