"""A minimal OpenAI- and Anthropic-compatible upstream for the benchmarks: fixed, pre-serialised replies.

Run as its own process so its CPU time is not charged to the client being measured:

    python -m bench.server --port 0 --chunks 200

It prints `READY <port>` on stdout once it accepts connections. Every POST is answered the same way:
a small `chat.completion` JSON, or (when the body asks for `"stream":true`) N content chunks, a finish
chunk, a usage chunk and `data: [DONE]`. A path ending in /v1/messages gets the Anthropic Messages shapes
(message_start, N text deltas, content_block_stop, message_delta with usage, message_stop). The request body
is not parsed: a byte search decides.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading

from aiohttp import web

__all__ = ["build_app", "completion_bytes", "stream_pieces"]

_ID = "chatcmpl-bench"
_CREATED = 1_767_225_600
_MODEL = "bench-model"
_STREAM_FLAG = b'"stream":true'
_STREAM_FLAG_SPACED = b'"stream": true'  # json.dumps' default separators (the openai SDK behind LiteLLM's proxy)


def completion_bytes() -> bytes:
    """The non-streamed reply: one short assistant message and its usage."""
    body = {
        "id": _ID, "object": "chat.completion", "created": _CREATED, "model": _MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the bench server."},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _event(choices: list[dict[str, object]], usage: dict[str, int] | None = None) -> bytes:
    chunk: dict[str, object] = {"id": _ID, "object": "chat.completion.chunk", "created": _CREATED,
                                "model": _MODEL, "choices": choices}
    if usage is not None:
        chunk["usage"] = usage
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


def stream_pieces(chunks: int, per_write: int = 1) -> list[bytes]:
    """The streamed reply as the byte strings written one by one (`per_write` events each)."""
    events = []
    for i in range(chunks):
        delta: dict[str, str] = {"content": f"tok{i} "}
        if i == 0:
            delta["role"] = "assistant"
        events.append(_event([{"index": 0, "delta": delta, "finish_reason": None}]))
    events.append(_event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    events.append(_event([], {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}))
    events.append(b"data: [DONE]\n\n")
    step = max(1, per_write)
    return [b"".join(events[i:i + step]) for i in range(0, len(events), step)]


def message_bytes() -> bytes:
    """The non-streamed Anthropic Messages reply."""
    body = {"id": "msg_bench", "type": "message", "role": "assistant", "model": _MODEL,
            "content": [{"type": "text", "text": "Hello from the bench server."}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 7}}
    return json.dumps(body, separators=(",", ":")).encode()


def _sse(name: str, obj: dict[str, object]) -> bytes:
    return f"event: {name}\ndata: ".encode() + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def message_stream_pieces(chunks: int, per_write: int = 1) -> list[bytes]:
    """The streamed Anthropic reply: N text deltas between the Messages framing events."""
    events = [_sse("message_start", {"type": "message_start", "message": {
        "id": "msg_bench", "type": "message", "role": "assistant", "model": _MODEL, "content": [],
        "stop_reason": None, "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}})]
    events += [_sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "text_delta", "text": f"tok{i} "}})
               for i in range(chunks)]
    events += [_sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
               _sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                      "usage": {"output_tokens": chunks}}),
               _sse("message_stop", {"type": "message_stop"})]
    step = max(1, per_write)
    return [b"".join(events[i:i + step]) for i in range(0, len(events), step)]


def build_app(chunks: int = 200, per_write: int = 1) -> web.Application:
    """The app: every path answers POST with the fixed reply (streamed when the body asks for it)."""
    replies = {False: (completion_bytes(), stream_pieces(chunks, per_write)),
               True: (message_bytes(), message_stream_pieces(chunks, per_write))}
    lengths = {wire: sum(map(len, pieces)) for wire, (_, pieces) in replies.items()}

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        anthropic = request.path.endswith("/messages")
        plain, pieces = replies[anthropic]
        if _STREAM_FLAG not in body and _STREAM_FLAG_SPACED not in body:
            return web.Response(body=plain, content_type="application/json")
        # A known length: no chunked framing to build on this side, the same parsing for every client.
        resp = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        resp.content_length = lengths[anthropic]
        await resp.prepare(request)
        for piece in pieces:
            await resp.write(piece)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", handle)
    return app


async def _serve(host: str, port: int, chunks: int, per_write: int) -> None:
    runner = web.AppRunner(build_app(chunks, per_write), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
    await site.start()
    bound = runner.addresses[0][1]
    sys.stdout.write(f"READY {bound}\n")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _exit_with_parent() -> None:
    """Exit when stdin reaches EOF: the parent that holds the other end of the pipe has gone, however it died."""
    sys.stdin.buffer.read()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on stdout)")
    parser.add_argument("--chunks", type=int, default=200, help="content chunks per streamed reply")
    parser.add_argument("--per-write", type=int, default=1, help="SSE events per socket write")
    parser.add_argument("--exit-on-eof", action="store_true", help="exit when stdin closes (bench/run.py's pipe)")
    args = parser.parse_args(argv)
    if args.exit_on_eof:
        threading.Thread(target=_exit_with_parent, name="exit-on-eof", daemon=True).start()
    try:
        asyncio.run(_serve(args.host, args.port, args.chunks, args.per_write))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
