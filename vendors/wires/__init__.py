"""Pure wire codecs: OpenAI Chat, Anthropic Messages, SSE framing, accumulation, reasoning, usage, error envelopes.

No module here names a vendor: what differs per vendor arrives as a VendorSpec (its Quirks, Caps and hooks).
Each wire module exposes its codec as `CODEC`, an object satisfying `Codec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from vendors.errors import FareboxError
    from vendors.spec import RequestContext, VendorSpec
    from vendors.types import ChatRequest, Chunk, Response, Wire

__all__ = ["Codec", "StreamDecoder"]


class StreamDecoder(Protocol):
    """Turns one stream's SSE events into Chunks, one event at a time."""

    done: bool

    def feed(self, event: str, data: str) -> list[Chunk]: ...

    def finish(self) -> list[Chunk]: ...


class Codec(Protocol):
    """One wire format: request body out, reply and stream events in, error replies as Farebox errors."""

    wire: Wire

    def encode_request(self, req: ChatRequest, spec: VendorSpec, ctx: RequestContext) -> dict[str, Any]: ...

    def decode_response(self, body: Any, spec: VendorSpec, *, model: str) -> Response: ...

    def stream_decoder(self, spec: VendorSpec, *, model: str) -> StreamDecoder: ...

    def decode_error(self, status: int, body: bytes | str | Any, headers: Mapping[str, str], spec: VendorSpec,
                     *, model: str) -> FareboxError: ...
