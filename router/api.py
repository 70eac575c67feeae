"""`completion()` / `acompletion()`: resolve, check, send, decode, price — one OpenAI-style call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from router import loop, retry, tracking
from router.call import Call
from router.estimate import expected_cost
from router.params import check, schema_format
from router.request import build_request
from router.resolve import Target, resolve
from router.streaming import SyncStream, open_stream
from vendors.errors import ConfigError
from vendors.secrets import looks_like_key, register_secret
from vendors.types import Attempt, Response

__all__ = ["acompletion", "completion", "completion_cost", "prepare"]

# Handled here, not sent as OpenAI parameters.
_OWN = frozenset({"api_key", "base_url", "region", "wire", "stream", "reasoning_effort", "drop_params",
                  "num_retries", "timeout", "deadline", "metadata", "extra_body", "extra_headers", "_messages"})


def prepare(model: str, messages: Any, *, alias: str | None = None, target: Target | None = None,
            attempts: list[Attempt] | None = None,
            on_attempt: Callable[[Attempt, BaseException | None], None] | None = None,
            checked: bool = False, **kwargs: Any) -> Call:
    """Everything before the network: a Call ready to send, or a typed error.

    `checked`: the keyword arguments already went through router.params.check (the Router does it once).
    """
    kw = kwargs if checked else check(model, messages, kwargs)
    get = kw.get
    target = target or resolve(model, base_url=get("base_url"), region=get("region"), api_key=get("api_key"),
                               wire=get("wire"))
    params = {k: v for k, v in kw.items() if k not in _OWN and v is not None}
    parse_as = None
    fmt = params.get("response_format")
    if isinstance(fmt, type):
        parse_as, params["response_format"] = fmt, schema_format(fmt)
    extra = dict(get("extra_body") or ())
    stream = bool(get("stream"))
    req, dropped, effort = build_request(target, get("_messages", messages), params, extra,
                                         effort=get("reasoning_effort"), stream=stream,
                                         drop_params=bool(get("drop_params")))
    call = Call(target, req, effort=effort, dropped=dropped, timeout=get("timeout"), num_retries=get("num_retries"),
                metadata=get("metadata"), alias=alias, attempts=attempts, on_attempt=on_attempt,
                extra_headers=get("extra_headers"))
    call.parse_as = parse_as
    return call


async def acompletion(model: str, messages: Any, *, stream: bool = False, deadline: float | None = None,
                      **kwargs: Any) -> Any:
    """The async call: a Response, or with stream=True an async iterator of chunks (`.response` at the end).

    `timeout` bounds each attempt; `deadline` (seconds) bounds the whole call, retries included.
    With tracking on, the call leaves one CallRecord (router.tracking), a stream when it ends.
    """
    secret = looks_like_key(model) if isinstance(model, str) else None
    if secret is not None:  # a key passed as model: a secret before any text (error, record, log) is built
        register_secret(secret)
    kwargs["stream"], kwargs["deadline"] = stream, deadline
    kw = check(model, messages, kwargs)
    tracker = tracking.active()
    if tracker is None:
        return await _run(prepare(model, messages, checked=True, **kw), stream, kw.get("deadline"))
    trace = tracker.begin(model, kw.get("metadata"), stream)

    async def work() -> Any:
        call = trace.call = prepare(model, messages, checked=True, **kw)
        if tracker.gated:
            await trace.admit(lambda: _estimate(call, messages, kwargs))
        call.trace = trace
        return await _run(call, stream, kw.get("deadline"))

    return await tracking.traced(trace, stream, work)


async def _run(call: Call, stream: bool, deadline: float | None) -> Any:
    if stream:
        work = open_stream(call)
    else:
        work = call.run()
    if deadline is None:  # no bound on the whole call: one coroutine less per call
        return await work
    return await retry.within(deadline, work, vendor=call.target.vendor, model=call.target.model)


def _estimate(call: Call, messages: Any, kwargs: dict[str, Any]) -> Any:
    t = call.target
    return expected_cost(f"{t.vendor}/{t.catalogue_id or t.model}", messages, kwargs)


def completion(model: str, messages: Any, *, stream: bool = False, **kwargs: Any) -> Any:
    """The sync call, from scripts, worker threads or inside a running event loop (a notebook).

    Runs on Farebox's private background loop, so connections are pooled across calls and threads.
    """
    if stream:
        return SyncStream(loop.run(acompletion(model, messages, stream=True, **kwargs)))
    return tracking.run_sync(lambda: acompletion(model, messages, **kwargs))


def completion_cost(resp: Response | None = None, *, completion_response: Response | None = None) -> Any:
    """The total cost of a response in USD (Decimal), or None when its model has no price.

    `completion_response=` is LiteLLM's spelling of the same argument.
    """
    if (resp is None) == (completion_response is None):
        raise ConfigError("completion_cost() takes one response: completion_cost(resp) or "
                          "completion_cost(completion_response=resp)")
    cost = getattr(resp if resp is not None else completion_response, "cost", None)
    return cost.total if cost is not None else None
