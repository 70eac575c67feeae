"""One call to one target: encode, send with retries, decode, record each attempt, attach the cost."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from router import costing, retry, transport
from router.params import encode_body
from router.resolve import Target
from vendors.errors import FareboxError, MalformedResponseError
from vendors.secrets import redact_url
from vendors.spec import RequestContext, Wire
from vendors.types import Attempt, ChatRequest, Message, Response, trusted
from vendors.wires import Codec, anthropic_messages, jsontext, openai_chat

__all__ = ["Call", "codec_for"]


_CODECS: dict[Wire, Codec] = {Wire.OPENAI_CHAT: openai_chat.CODEC, Wire.ANTHROPIC_MESSAGES: anthropic_messages.CODEC}


def codec_for(wire: Wire) -> Codec:
    """The codec that speaks `wire`."""
    return _CODECS[wire]


class Call:
    """Everything about one call to one target, shared by the plain and the streamed path."""

    __slots__ = (
        "alias",
        "attempts",
        "body",
        "codec",
        "dropped",
        "effort",
        "headers",
        "metadata",
        "num_retries",
        "on_attempt",
        "parse_as",
        "req",
        "started",
        "target",
        "timeout",
        "trace",
    )

    def __init__(self, target: Target, req: ChatRequest, *, effort: Any, dropped: list[str], timeout: float | None,
                 num_retries: int | None, metadata: dict[str, Any] | None = None, alias: str | None = None,
                 attempts: list[Attempt] | None = None,
                 on_attempt: Callable[[Attempt, BaseException | None], None] | None = None,
                 extra_headers: Mapping[str, str] | None = None) -> None:
        self.target, self.req, self.effort, self.dropped = target, req, effort, dropped
        self.timeout, self.num_retries, self.metadata, self.alias = timeout, num_retries, metadata, alias
        self.attempts: list[Attempt] = attempts if attempts is not None else []
        self.on_attempt = on_attempt
        self.headers = {**target.headers, **extra_headers} if extra_headers else target.headers
        self.parse_as: type[Any] | None = None  # response_format's pydantic class: message.parsed is filled
        self.trace: Any = None  # router.tracking.Trace of the user-level call a stream reports to at its end
        self.codec = codec_for(target.wire)
        ctx = target.memo.get(("ctx", req.stream))   # the same (immutable) context for every call to this target
        if ctx is None:
            ctx = target.memo[("ctx", req.stream)] = RequestContext(
                model=target.model, wire=target.wire, region=target.region, stream=req.stream,
                key_kind=target.key_kind)
        spec = target.spec
        body = self.codec.encode_request(req, spec, ctx)
        if spec.patch_request is not None:
            body = spec.patch_request(body, ctx)
        if spec.patch_headers is not None:   # e.g. the anthropic-beta values server tools need (a new dict if so)
            self.headers = spec.patch_headers(body, self.headers)
        self.body = encode_body(body)
        self.started = time.perf_counter()

    def mark_sent(self) -> None:
        """The request goes out now: its cost is priced at this instant (time-of-day prices), not at the reply."""
        self.req.sent_at = datetime.now(UTC)

    def record(self, started: float, status: int | None, error: BaseException | None, cost: Any = None) -> None:
        if error is None:  # the hot path: every field is ours and of its type; the URL and model redacted here
            t = self.target
            attempt = trusted(Attempt, vendor=t.vendor, model=redact_url(t.model), base_url=redact_url(t.base_url),
                              status=status, ok=True, error=None, message=None, vendor_code=None,
                              latency_s=time.perf_counter() - started, cost=cost, alias=self.alias)
        else:
            attempt = self._failed(started, status, error, cost)
        self.attempts.append(attempt)
        if self.on_attempt is not None:
            self.on_attempt(attempt, error)

    def _failed(self, started: float, status: int | None, error: BaseException, cost: Any) -> Attempt:
        err = error if isinstance(error, FareboxError) else None
        return Attempt(vendor=self.target.vendor, model=self.target.model, base_url=self.target.base_url,
                       status=status, ok=False, error=type(error).__name__,
                       message=str(err.message) if err else str(error),
                       vendor_code=err.vendor_code if err else None, latency_s=time.perf_counter() - started,
                       cost=cost, alias=self.alias)

    async def _once(self) -> Response:
        t = self.target
        started = time.perf_counter()
        status: int | None = None
        try:
            tp = transport.current() or await transport.for_running_loop()
            self.mark_sent()
            status, headers, raw = await tp.post(t.url, self.headers, self.body, timeout=self.timeout,
                                                 vendor=t.vendor, model=t.model)
            if status >= 400:
                raise self.codec.decode_error(status, raw, headers, t.spec, model=t.model)
            obj = _json_or_none(raw)
            if obj is None:  # raised outside the except: a JSONDecodeError's .doc (the raw body) is not kept
                raise MalformedResponseError(f"reply is not JSON: {raw[:80]!r}", vendor=t.vendor, model=t.model,
                                             status_code=status)
            resp = self.codec.decode_response(obj, t.spec, model=t.model)
            if obj.get("usage") is None:  # a server that reports no usage (some local ones): counted, marked
                await costing.load_encodings(t)  # estimated, as a stream without usage is
                m = resp.choices[0].message if resp.choices else Message()
                resp.usage = costing.estimate_usage(t, self.req, text=m.content or "",
                                                    reasoning=m.reasoning_content or "", tool_calls=m.tool_calls or [])
        except BaseException as exc:
            self.record(started, status, exc)
            raise
        # The tier the reply says served it (an extra field: a dict read, not pydantic's __getattr__ on a miss).
        extra = resp.__pydantic_extra__
        resp.cost = costing.cost_for(t, resp.usage, self.req, service_tier=extra.get("service_tier") if extra else None)
        self.record(started, status, None, resp.cost)
        return resp

    async def run(self) -> Response:
        """The plain (non-streamed) call, retried per policy (the first attempt awaited here directly)."""
        try:
            resp = await self._once()
        except FareboxError as exc:  # retried (or re-raised) by the one retry policy
            resp = await retry.run_with_retries(self._once, self.num_retries, first=exc)
        return self.finish(resp)

    def finish(self, resp: Response) -> Response:
        # Set as pydantic's __setattr__ would (value and fields-set), without its per-assignment checks: a
        # Response is not frozen and validates no assignment, and this runs once per call.
        resp.__dict__.update(vendor=self.target.vendor, attempts=list(self.attempts),
                             effort=self.effort.as_dict() if self.effort is not None else None,
                             dropped_params=list(self.dropped), alias=self.alias)
        resp.__pydantic_fields_set__.update(_FINISHED)
        if self.parse_as is not None:
            _parse(resp, self.parse_as)
        return resp


_FINISHED = ("vendor", "attempts", "effort", "dropped_params", "alias")


def _parse(resp: Response, model: type[Any]) -> None:
    """message.parsed: the reply validated against response_format's pydantic class (left None if it fails)."""
    for choice in resp.choices:
        text = choice.message.content
        if text:
            try:
                choice.message.parsed = model.model_validate_json(text)
            except ValueError:
                choice.message.parsed = None


def _json_or_none(raw: bytes) -> Any:
    """The parsed reply body, or None when it is not JSON (nesting too deep included)."""
    try:
        return jsontext.loads(raw)
    except (ValueError, RecursionError):
        return None
