"""The CallRecord: what one user-level call did and cost, one per call, as listeners and the ledger see it."""

from __future__ import annotations

import itertools
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from vendors.secrets import redact_url

__all__ = ["CallRecord", "Listener", "Mode"]

Mode = Literal["strict", "best-effort", "off"]
Listener = Callable[["CallRecord"], Any]
_ZERO = Decimal(0)
_PARTS = ("input", "cache_read", "cache_write", "output", "reasoning", "total")

# Record ids: a per-process random prefix and a counter — unique across processes, cheap on the hot path.
_prefix = uuid.uuid4().hex[:16]
_counter = itertools.count()
_pid = os.getpid()


def _next_id() -> str:
    return f"{_prefix}-{next(_counter):x}"


def _pid_now() -> int:
    return _pid


def _forked() -> None:
    global _prefix, _pid
    _prefix, _pid = uuid.uuid4().hex[:16], os.getpid()


os.register_at_fork(after_in_child=_forked)


@dataclass(slots=True)
class CallRecord:
    """What one user-level call did and cost. `status` is "ok", "error" or "cancelled" (a stream closed early)."""

    ts: float                       # Unix time (UTC) when the call ended
    vendor: str
    model: str                      # the vendor's model id as sent
    status: str
    alias: str | None = None        # the Router alias, None for a direct call
    deployment: str | None = None   # the Router deployment that answered (or failed last)
    error: str | None = None        # error class name
    vendor_code: str | None = None
    http_status: int | None = None
    stream: bool = False
    attempts: int = 0               # requests tried (0: rejected before any request)
    fallbacks: int = 0              # deployments tried beyond the first
    prompt_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Any = None                # pricing.Cost; None when unpriced or nothing was billed
    priced: bool = True             # False: tokens were used but the model has no price (cost unknown, not 0)
    sent_at: datetime | None = None  # when the request went out: the instant its prices were read for
    cache_write_1h_tokens: int = 0
    estimated: bool = False
    latency_s: float = 0.0
    ttft_s: float | None = None     # streams: time to the first chunk
    effort: str | None = None       # the reasoning level sent
    response_id: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)   # the caller's `metadata`
    record_id: str = field(default_factory=_next_id)
    pid: int = field(default_factory=_pid_now)

    def __post_init__(self) -> None:
        # Records reach the ledger, metric labels and spend output: a key given by mistake as a name is not kept.

        self.model = redact_url(self.model) if self.model else self.model
        if self.alias:
            self.alias = redact_url(self.alias)
        if self.deployment:
            self.deployment = redact_url(self.deployment)

    # Other common names for some fields, read-only: rec.time, rec.latency, rec.ttft, rec.error_class, rec.metadata.
    @property
    def time(self) -> datetime:
        """`ts` as an aware UTC datetime."""
        return datetime.fromtimestamp(self.ts, UTC)

    @property
    def latency(self) -> float:
        return self.latency_s

    @property
    def ttft(self) -> float | None:
        return self.ttft_s

    @property
    def error_class(self) -> str | None:
        return self.error

    @property
    def metadata(self) -> dict[str, Any]:
        return self.tags

    @property
    def cost_total(self) -> Decimal | None:
        """The cost in USD: 0 when nothing was billed, None when the call is unpriced (never a made-up 0)."""
        if self.cost is not None:
            return self.cost.total
        return _ZERO if self.priced else None

    @property
    def billing(self) -> str | None:
        return self.cost.billing if self.cost is not None else None

    def to_row(self) -> tuple[Any, ...]:
        """The ledger row (router.tracking.ledger.COLUMNS order); money as exact Decimal text."""
        cost = self.cost
        if cost is None:
            parts: list[str | None] = [None] * 6
            pico, exact = (0 if self.priced else None), 1
        else:
            parts = [format(getattr(cost, p), "f") for p in _PARTS]
            scaled = cost.total.scaleb(12)
            whole = scaled.to_integral_value()
            pico, exact = int(whole), int(whole == scaled)
        tags = json.dumps(self.tags, ensure_ascii=False, default=str, separators=(",", ":")) if self.tags else None
        return (self.record_id, self.ts, self.vendor, self.model, self.alias, self.deployment, self.status,
                self.error, self.vendor_code, self.http_status, int(self.stream), self.attempts, self.fallbacks,
                self.prompt_tokens, self.cached_tokens, self.cache_write_tokens, self.completion_tokens,
                self.reasoning_tokens, *parts, pico, exact, int(self.estimated), self.billing, self.latency_s,
                self.ttft_s, self.effort, self.response_id, tags, self.pid, int(self.priced),
                self.sent_at.timestamp() if self.sent_at is not None else None, self.cache_write_1h_tokens)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (the Cost as a dict of Decimals), e.g. for a JSON log listener."""
        data = asdict(self)
        data["cost"] = self.cost.model_dump() if self.cost is not None else None
        data["cost_total"] = self.cost_total
        return data
