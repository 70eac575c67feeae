"""`completion()` / `acompletion()`: resolve, check, send, decode, price — one OpenAI-style call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from router import loop, retry, tracking
from router.call import Call
from router.request import OPENAI_PARAMS, build_request
from router.resolve import Target, resolve
from vendors.types import Attempt, Response

__all__ = ["acompletion", "completion", "completion_cost", "prepare"]

_NAMED = ("tools", "tool_choice", "response_format", "temperature", "top_p", "max_tokens", "stop", "user")


def prepare(model: str, messages: Any, *, api_key: str | None = None, base_url: str | None = None,
            region: str | None = None, wire: str | None = None, stream: bool = False,
            reasoning_effort: str | None = None,
            drop_params: bool = False, num_retries: int | None = None, timeout: float | None = None,
            metadata: dict[str, Any] | None = None, alias: str | None = None, target: Target | None = None,
            attempts: list[Attempt] | None = None,
            on_attempt: Callable[[Attempt, BaseException | None], None] | None = None,
            **kwargs: Any) -> Call:
    """Everything before the network: a Call ready to send, or a typed error."""
    target = target or resolve(model, base_url=base_url, region=region, api_key=api_key, wire=wire)
    params: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key == "extra_body":
            if value:
                extra.update(value)
        elif value is None:
            continue
        elif key in _NAMED or key in OPENAI_PARAMS:
            params[key] = value
        else:
            extra[key] = value  # vendor-specific body key, passed verbatim
    req, dropped, effort = build_request(target, messages, params, extra, effort=reasoning_effort, stream=stream,
                                         drop_params=drop_params)
    return Call(target, req, effort=effort, dropped=dropped, timeout=timeout, num_retries=num_retries,
                metadata=metadata, alias=alias, attempts=attempts, on_attempt=on_attempt)


async def acompletion(model: str, messages: Any, *, stream: bool = False, deadline: float | None = None,
                      **kwargs: Any) -> Any:
    """The async call: a Response, or with stream=True an async iterator of chunks (`.response` at the end).

    `timeout` bounds each attempt; `deadline` (seconds) bounds the whole call, retries included.
    With tracking on, the call leaves one CallRecord (router.tracking), a stream when it ends.
    """
    tracker = tracking.active()
    if tracker is None:
        return await _run(prepare(model, messages, stream=stream, **kwargs), stream, deadline)
    trace = tracker.begin(model, kwargs.get("metadata"), stream)

    async def work() -> Any:
        call = trace.call = prepare(model, messages, stream=stream, **kwargs)
        if tracker.gated:
            await trace.admit(lambda: _estimate(call, messages, kwargs))
        call.trace = trace
        return await _run(call, stream, deadline)

    return await tracking.traced(trace, stream, work)


async def _run(call: Call, stream: bool, deadline: float | None) -> Any:
    if stream:
        from router.streaming import open_stream

        work = open_stream(call)
    else:
        work = call.run()
    return await retry.within(deadline, work, vendor=call.target.vendor, model=call.target.model)


def _estimate(call: Call, messages: Any, kwargs: dict[str, Any]) -> Any:
    from router.estimate import expected_cost

    t = call.target
    return expected_cost(f"{t.vendor}/{t.catalogue_id or t.model}", messages, kwargs)


def completion(model: str, messages: Any, *, stream: bool = False, **kwargs: Any) -> Any:
    """The sync call, from scripts, worker threads or inside a running event loop (a notebook).

    Runs on Farebox's private background loop, so connections are pooled across calls and threads.
    """
    if stream:
        from router.streaming import SyncStream

        return SyncStream(loop.run(acompletion(model, messages, stream=True, **kwargs)))
    return tracking.run_sync(lambda: acompletion(model, messages, **kwargs))


def completion_cost(resp: Response) -> Any:
    """The total cost of a response in USD (Decimal), or None when its model has no price."""
    cost = getattr(resp, "cost", None)
    return cost.total if cost is not None else None
