"""Cross-cutting hardening through real sockets: junk replies fall back; a planted key appears in no text."""

from __future__ import annotations

from typing import Any

import pytest

import router
from router import errors
from router.emulator import Emulator
from tests.conftest import KEY

HI = [{"role": "user", "content": "Hi"}]


def _reply(**choice: Any) -> dict[str, Any]:
    base = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}
    return {"id": "x", "object": "chat.completion", "created": 1, "model": "gpt-5.1", "choices": [{**base, **choice}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


PLAIN_JUNK = {
    "finish_reason": _reply(finish_reason={}),
    "index": _reply(index=None),
    "tool_calls": _reply(message={"role": "assistant", "content": None, "tool_calls": ["x"]}),
    "message": _reply(message=[]),
    "function": _reply(message={"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": 5}]}),
    "usage": {**_reply(), "usage": {"prompt_tokens": "many"}},
    "deep": _deep(100_000),
}
STREAM_JUNK = {
    "finish_reason": [{"id": "x", "choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": {}}]}],
    "index": [{"id": "x", "choices": [{"index": None, "delta": {"content": "a"}}]}, "[DONE]"],
    "delta": [{"id": "x", "choices": [{"index": 0, "delta": ["x"]}]}, "[DONE]"],
    "tool_calls": [{"id": "x", "choices": [{"index": 0, "delta": {"tool_calls": ["x"]}}]}, "[DONE]"],
    "deep": [_deep(100_000)],
}


def _router(emu: Emulator) -> Any:
    return router.Router(deployments=[
        {"alias": "main", "model": "openai/gpt-5.1", "api_key": KEY, "base_url": emu.base_url("openai")},
        {"alias": "spare", "model": "deepseek/deepseek-chat", "api_key": KEY, "base_url": emu.base_url("deepseek")},
    ], fallbacks={"main": ["spare"]}, num_retries=0)


@pytest.mark.parametrize("name", list(PLAIN_JUNK))
def test_a_junk_plain_reply_is_malformed_and_the_fallback_answers(emu: Emulator, name: str) -> None:
    emu.fault(vendor="openai", status=200, body=PLAIN_JUNK[name])
    with pytest.raises(errors.MalformedResponseError) as info:
        router.completion("openai/gpt-5.1", HI, api_key=KEY, base_url=emu.base_url("openai"), num_retries=0)
    assert info.value.vendor == "openai" and KEY not in str(info.value)
    emu.fault(vendor="openai", status=200, body=PLAIN_JUNK[name])
    resp = _router(emu).completion("main", HI)
    assert resp.vendor == "deepseek"
    assert [r.vendor for r in emu.requests][-2:] == ["openai", "deepseek"]
    assert [a.error for a in resp.attempts] == ["MalformedResponseError", None]


@pytest.mark.parametrize("name", list(STREAM_JUNK))
def test_a_junk_stream_is_malformed_and_the_fallback_answers(emu: Emulator, name: str) -> None:
    emu.fault(vendor="openai", events=STREAM_JUNK[name])
    resp = _router(emu).completion("main", HI, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in resp if c.choices)
    assert text and resp.response.vendor == "deepseek"
    assert [r.vendor for r in emu.requests] == ["openai", "deepseek"]


# -- a planted key, in no text Farebox produces ----------------------------------------------------------------

MISTAKE = "sk-model-MISTAKE-0123456789abcdef"  # a key passed as model: registered by nobody else


def _exception_texts(exc: BaseException) -> list[str]:
    texts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        texts += [str(e), repr(e), repr(e.args), repr(getattr(e, "doc", "")), repr(getattr(e, "body", "")),
                  repr(getattr(e, "location", "")), repr(getattr(e, "partial", ""))]
        texts += [repr(a) for a in getattr(e, "attempts", [])]
        todo += [e.__cause__, e.__context__]
    return texts


def test_a_planted_key_appears_in_no_text(emu: Emulator, tmp_path: Any, caplog: Any, capsys: Any,
                                          records: list[Any]) -> None:
    import dataclasses
    import logging
    import sqlite3

    from prometheus_client import CollectorRegistry, generate_latest

    from router import cli, tracking
    from router.tracking import metrics

    path = tmp_path / "ledger.sqlite"
    tracking.reset()
    tracking.configure(ledger=path)
    registry = CollectorRegistry()
    collectors = metrics.attach(registry)
    texts: list[str] = []
    kw = {"api_key": KEY, "num_retries": 0}
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}. {MISTAKE}", "type": "invalid_request_error",
                      "code": "invalid_api_key"}}
    attempts: list[Any] = [
        lambda: router.completion(MISTAKE, HI, base_url=emu.base_url("openai"), **kw),
        lambda: router.completion(f"openai/{MISTAKE}", HI, **kw),
        lambda: router.completion(MISTAKE, HI, base_url=emu.base_url("openai"), stream=True, **kw),
        lambda: router.completion("compatible/m", HI, base_url=f"https://u:{KEY}@llm.example.com/v1", **kw),
        lambda: (emu.fault(status=401, body=echo),
                 router.completion("openai/gpt-5.1", HI, base_url=emu.base_url("openai"), **kw)),
        lambda: (emu.fault(status=200, body='{"echo": "' + KEY + '", "broken'),
                 router.completion("openai/gpt-5.1", HI, base_url=emu.base_url("openai"), **kw)),
        lambda: (emu.fault(events=['{"echo": "' + KEY + '", "broken']),
                 list(router.completion("openai/gpt-5.1", HI, base_url=emu.base_url("openai"), stream=True, **kw))),
        lambda: (emu.fault(redirect_to=f"http://u:{KEY}@localhost:9/{KEY}"),
                 router.completion("openai/gpt-5.1", HI, base_url=emu.base_url("openai"), **kw)),
        lambda: router.Router(deployments=[{"alias": "a", "model": MISTAKE, "api_key": KEY,
                                            "base_url": emu.base_url("openai")}]).completion("a", HI),
    ]
    try:
        with caplog.at_level(logging.DEBUG):
            for attempt in attempts:
                try:
                    attempt()
                except Exception as exc:
                    texts += _exception_texts(exc)
                else:
                    raise AssertionError("every planted call must fail")
            router.flush()
        texts += [repr(r) for r in records] + [repr(dataclasses.asdict(r)) for r in records]
        conn = sqlite3.connect(path)
        try:
            texts += [repr(row) for row in conn.execute("SELECT * FROM calls")]
        finally:
            conn.close()
        texts.append(generate_latest(registry).decode())
        for fmt in ("table", "csv", "json"):
            cli.main(["spend", "--ledger", str(path), "--by", "model,alias", "--format", fmt])
        out = capsys.readouterr()
        texts += [out.out, out.err, caplog.text]
        texts += [repr(r) for r in emu.requests]
    finally:
        collectors.detach()
        tracking.reset()
    assert len(records) >= len(attempts) - 1, [(r.model, r.alias, r.error) for r in records]
    assert any("llm.example.com" in t for t in texts)  # the texts were there to be scanned
    for text in texts:
        assert KEY not in text and MISTAKE not in text, text[:2000]
