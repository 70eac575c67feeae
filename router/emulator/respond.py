"""Answer one completion request: apply a fault, validate, plan the answer, write JSON or SSE."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import time
from typing import Any

from aiohttp import web

from . import anthropic_wire, minimax_wire, openai_wire, server_tools
from .answers import Plan, build_plan, digest, read_turn
from .errors import error_body, minimax_text, stream_error_payload
from .faults import Fault
from .sse import Event, SSEWriter
from .state import State, StreamEnd
from .validate import Incoming, validate


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    return web.Response(text=text, status=status, content_type=_content_type(obj), headers=headers)


def _content_type(obj: Any) -> str:
    if not isinstance(obj, str):
        return "application/json"
    try:
        json.loads(obj)
    except (ValueError, RecursionError):
        return "text/html" if obj.lstrip().startswith("<") else "text/plain"
    return "application/json"


def _fault_headers(fault: Fault | None) -> dict[str, str]:
    if fault is None:
        return {}
    headers = dict(fault.headers)
    if fault.retry_after is not None:
        value = fault.retry_after
        headers["Retry-After"] = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = str(int(fault.retry_after_ms))
    return headers


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


async def _send_body(
    request: web.Request, obj: dict[str, Any], headers: dict[str, str], fault: Fault | None
) -> web.StreamResponse:
    """A 200 JSON body, possibly malformed or cut by a connection reset."""
    data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    if fault is not None and fault.huge_line_bytes is not None:
        pad = max(0, fault.huge_line_bytes - len(data))
        data = data[:-1] + b', "pad": "' + b"x" * pad + b'"}'
    if fault is not None and fault.malformed:
        data = data[: len(data) // 2]  # broken JSON with a success status
    if fault is None or fault.reset_after_chunks is None:
        return web.Response(body=data, status=200, content_type="application/json", headers=headers)
    resp = web.StreamResponse(status=200, headers={**headers, "Content-Type": "application/json"})
    resp.content_length = len(data)
    if fault.reset_after_chunks > 0:
        await resp.prepare(request)
        await resp.write(data[: min(fault.reset_after_chunks, len(data) - 1)])
    _abort(request)
    return resp


def _plan(state: State, call: Incoming, opts: dict[str, Any], thinking: bool, n: int) -> Plan:
    profile = call.profile
    if call.surface == "anthropic" and profile.anthropic_tool_ids:
        tool_id = f"toolu_{digest(state.seed, n, 'tool')[:24]}"
        make_tool_id = lambda name: tool_id  # noqa: E731
    else:
        make_tool_id = lambda name: profile.tool_id(digest(state.seed, n, "tool"), name)  # noqa: E731
    plan = build_plan(
        profile=profile.name,
        surface=call.surface,
        body=call.body,
        thinking=thinking,
        n=n,
        tool_id=make_tool_id,
        cache_hit_tokens=opts["cache_hit_tokens"],
        finish_reason=opts["finish_reason"],
        cache_write_tokens=tuple(opts["cache_write_tokens"]),
    )
    if not profile.server_tools:
        return plan
    user_text = read_turn(call.body, call.surface).user_text
    blocks, usage, citations = server_tools.plan_blocks(call.body, user_text, digest(state.seed, n, "server"),
                                                        state.seed, future=opts["future_blocks"])
    container = server_tools.container_for(blocks, digest(state.seed, n, "container"))
    return dataclasses.replace(plan, server_blocks=tuple(blocks), server_usage=usage, citations=tuple(citations),
                               container=container)


def _wire(state: State, call: Incoming, plan: Plan, opts: dict[str, Any], stream: bool) -> Any:
    """The JSON body (non-stream) or the list of SSE events (stream) for this profile and surface."""
    d = digest(state.seed, plan.n)
    body, words = call.body, opts["chunk_words"]
    include_usage = isinstance(body.get("stream_options"), dict) and body["stream_options"].get("include_usage") is True
    if call.surface == "anthropic":
        msg_id = f"msg_{d[:24]}"
        if stream:
            return list(anthropic_wire.stream_events(msg_id, plan, state.seed, words))
        return anthropic_wire.message_body(msg_id, plan, state.seed)
    if call.profile.chat_wire == "minimax":
        ctx = minimax_wire.MiniMaxCtx(
            chat_id=call.profile.chat_id(d),
            reasoning_split=body.get("reasoning_split") is True,
            include_usage=include_usage,
            stream_usage=opts["stream_usage"],
            reasoning_mode=opts["reasoning_mode"],
            content_as_parts=opts["content_as_parts"],
            chunk_words=words,
            inline_think_split=opts["inline_think_split"],
        )
        return list(minimax_wire.stream_events(ctx, plan)) if stream else minimax_wire.completion_body(ctx, plan)
    octx = openai_wire.Ctx(
        shape=call.profile.chat_shape,
        chat_id=call.profile.chat_id(d),
        show_reasoning=call.profile.show_reasoning,
        include_usage=include_usage,
        keepalive=opts["keepalive"],
        chunk_words=words,
        fingerprint=f"fp_{d[32:42]}" if call.profile.fingerprint else None,
        request_id=d[:20],
        usage_in_choice=opts["usage_in_choice"],
        choices=_choices(call),
    )
    if stream:
        return list(openai_wire.stream_events(octx, plan))
    reply = openai_wire.completion_body(octx, plan)
    if call.profile.service_tier:
        asked = body.get("service_tier")
        reply["service_tier"] = opts["served_tier"] or (asked if asked not in (None, "auto") else "default")
    if opts["reply_usage"] == "omit":
        del reply["usage"]  # some OpenAI-compatible servers and proxies send none
    return reply


def _choices(call: Incoming) -> int:
    """How many choices to answer: n, up to the profile's max_choices; one otherwise."""
    n = call.body.get("n") if isinstance(call.body, dict) else None
    if type(n) is int and 1 <= n <= call.profile.max_choices:
        return n
    return 1


def _fault_error(call: Incoming, fault: Fault, rid: str, headers: dict[str, str]) -> web.Response:
    style, surface = call.profile.errors, call.surface
    status = fault.status
    if status is None and fault.vendor_code is not None:
        status = style.status_for_code(fault.vendor_code, surface)
    status = status or (529 if surface == "anthropic" else 500)
    body = fault.body
    if body is None:
        body = error_body(style, surface, status, code=fault.vendor_code, request_id=rid)
    return json_response(body, status, headers)


async def answer(request: web.Request, state: State, call: Incoming) -> web.StreamResponse:
    """Fault first (it models server state), then the vendor's checks, then the answer."""
    n = state.next_n()
    rid = f"req_{digest(state.seed, n, 'request')[:24]}"
    opts = state.options_for(call.profile.name)
    body = call.body if isinstance(call.body, dict) else {}
    model = body.get("model") if isinstance(body.get("model"), str) else None
    stream = body.get("stream") is True
    fault = state.faults.take(call.profile.name, model, call.surface)
    headers = {"request-id" if call.surface == "anthropic" else "x-request-id": rid, **_fault_headers(fault)}
    if fault is not None and fault.delay_s > 0:
        await asyncio.sleep(fault.delay_s)
    if fault is not None and fault.redirect_to is not None:
        location = fault.redirect_to.rstrip("/") + request.path_qs
        return web.Response(status=fault.status or 307, headers={**headers, "Location": location},
                            text="moved", content_type="text/plain")
    if fault is not None and (fault.replaces_answer or (fault.error_after_chunks is not None and not stream)):
        return _fault_error(call, fault, rid, headers)
    if fault is not None and fault.http200_base_resp is not None:
        code = fault.http200_base_resp
        chat_id = call.profile.chat_id(digest(state.seed, n))
        obj = minimax_wire.base_resp_body(chat_id, model or "", code, minimax_text(code))
        return json_response(obj, 200, headers)
    thinking = opts["thinking"] if opts["thinking"] is not None else call.profile.thinks(body, call.surface)
    call = dataclasses.replace(call, options=opts, seed=state.seed, thinking=thinking)
    reject = validate(call)
    if reject is not None:
        err = error_body(call.profile.errors, call.surface, reject.status, reject.message, code=reject.code,
                         request_id=rid)
        return json_response(err, reject.status, headers)
    plan = _plan(state, call, opts, thinking, n)
    if not stream:
        return await _send_body(request, _wire(state, call, plan, opts, False), headers, fault)
    return await _send_stream(request, state, call, plan, opts, headers, fault)


async def _send_stream(
    request: web.Request,
    state: State,
    call: Incoming,
    plan: Plan,
    opts: dict[str, Any],
    headers: dict[str, str],
    fault: Fault | None,
) -> web.StreamResponse:
    events: list[Event] = _wire(state, call, plan, opts, True)
    if fault is not None and fault.events is not None:
        events = [Event(data=e) if isinstance(e, str) else
                  Event.json(e, name=e.get("type") if isinstance(e, dict) and isinstance(e.get("type"), str)
                             and call.surface == "anthropic" else None) for e in fault.events]
    resp = web.StreamResponse(
        status=200,
        headers={**headers, "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"},
    )
    await resp.prepare(request)
    rng = random.Random(f"{state.seed}:{plan.n}") if opts["split"] == "random" else None
    writer = SSEWriter(request, resp, crlf=opts["crlf"], rng=rng, fault=fault)

    def error_event() -> Event:
        status = (fault.status if fault else None) or (529 if call.surface == "anthropic" else 500)
        payload = stream_error_payload(call.profile.errors, call.surface, status, headers.get("request-id", ""))
        if call.surface == "anthropic":
            return anthropic_wire.error_event(payload)
        return openai_wire.error_chunk(payload)

    complete = await writer.send(events, error_event)
    state.stream_ended(StreamEnd(plan.n, request.path, writer.chunks, sum(1 for e in events if e.is_chunk),
                                 complete, time.monotonic()))
    return resp
