"""Shared building blocks for vendor modules: OpenAI-compatible surfaces and lazy effort lookup."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from vendors.spec import Surface, Wire, frozen_map

__all__ = ["anthropic_surface", "effort_lookup", "openai_surface"]


def openai_surface(base_urls: Mapping[str, str], path: str = "/chat/completions") -> Surface:
    return Surface(wire=Wire.OPENAI_CHAT, base_urls=frozen_map(base_urls), path=path)


def anthropic_surface(base_urls: Mapping[str, str], *, auth: str = "bearer") -> Surface:
    return Surface(wire=Wire.ANTHROPIC_MESSAGES, base_urls=frozen_map(base_urls), path="/v1/messages",
                   auth=auth,  # type: ignore[arg-type]
                   headers=frozen_map({"anthropic-version": "2023-06-01"}), base_suffix="/anthropic")


def effort_lookup(vendor: str) -> Callable[[str, Wire], object]:
    """A `model_effort` hook that reads the effort tables only when first asked."""

    def lookup(model: str, wire: Wire) -> object:
        from vendors.effort_tables import profile_for

        return profile_for(vendor, model, wire)

    return lookup
