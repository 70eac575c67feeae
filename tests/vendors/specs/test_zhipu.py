"""Zhipu GLM conformance (docs/vendors.md §3): /api/paas/v4 paths, regions, the body the emulator receives,
tool_choice limits, and the numeric error codes (docs.z.ai/api-reference/api-code)."""

from __future__ import annotations

from typing import Any

import pytest

import router
import vendors
from router.emulator import Emulator, key_fingerprint
from router.resolve import resolve
from vendors import errors as e
from vendors.wires.envelope import decode_error

KEY = "zhipu-key-0123456789abcdef.secret"
SPEC = vendors.get("zhipu")
HI = [{"role": "user", "content": "hi"}]


def call(emu: Emulator, messages: list[dict[str, Any]] | None = None, *, surface: str | None = None,
         **kw: Any) -> Any:
    base = emu.base_url("zhipu", surface) if surface else emu.base_url("zhipu")
    return router.completion("zhipu/glm-5.2", messages or HI, api_key=KEY, base_url=base, num_retries=0, **kw)


@pytest.mark.parametrize(("region", "wire", "url"), [
    ("global", None, "https://api.z.ai/api/paas/v4/chat/completions"),
    ("cn", None, "https://open.bigmodel.cn/api/paas/v4/chat/completions"),
    ("global", "anthropic", "https://api.z.ai/api/anthropic/v1/messages"),
    ("cn", "anthropic", "https://open.bigmodel.cn/api/anthropic/v1/messages"),
])
def test_paths_and_regions(region: str, wire: str | None, url: str) -> None:
    assert resolve("zhipu/glm-5.2", region=region, wire=wire, api_key=KEY).url == url


@pytest.mark.parametrize(("base", "region"), [
    ("https://open.bigmodel.cn/api/paas/v4", "cn"),
    ("https://open.bigmodel.cn/api/coding/paas/v4", "cn"),   # coding plan endpoint (§3)
    ("https://api.z.ai/api/paas/v4", "global"),
    ("https://api.z.ai/api/coding/paas/v4", "global"),
])
def test_host_implies_region(base: str, region: str) -> None:
    target = resolve("glm-5.2", base_url=base, api_key=KEY)
    assert (target.vendor, target.region, target.url) == ("zhipu", region, base + "/chat/completions")


def test_exact_body_and_headers(emu: Emulator) -> None:
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello", "reasoning_content": "thought"},
            {"role": "user", "content": "again"}]
    call(emu, msgs, max_tokens=64, temperature=0.6, reasoning_effort="disabled")
    rec = emu.last_request("zhipu")
    assert rec.path == "/zhipu/api/paas/v4/chat/completions"
    assert rec.body == {
        "model": "glm-5.2",
        "messages": msgs,               # reasoning_content replayed unmodified (§3 preserved thinking)
        "max_tokens": 64,
        "temperature": 0.6,
        "thinking": {"type": "disabled"},
    }
    assert "reasoning_effort" not in rec.body
    assert rec.auth_kind == "bearer" and rec.key_fingerprint == key_fingerprint(KEY)


def test_stream_sends_no_stream_options(emu: Emulator) -> None:
    s = call(emu, stream=True)
    list(s)
    body = emu.last_request("zhipu").body
    assert body["stream"] is True and "stream_options" not in body  # agentscope drops it (§3)
    assert s.response.usage.completion_tokens > 0


@pytest.mark.parametrize("choice", ["required", {"type": "function", "function": {"name": "t"}}])
def test_tool_choice_auto_none_only(emu: Emulator, choice: Any) -> None:
    tool = {"type": "function", "function": {"name": "t", "parameters": {"type": "object"}}}
    with pytest.raises(e.UnsupportedParamError, match="tool_choice"):
        call(emu, tools=[tool], tool_choice=choice)
    assert emu.requests == []


# docs.z.ai/api-reference/api-code business codes; docs/vendors.md §3 gives only the ranges.
ZHIPU_CODES = [
    (1000, e.AuthenticationError), (1001, e.AuthenticationError), (1002, e.AuthenticationError),
    (1003, e.AuthenticationError), (1004, e.AuthenticationError),
    (1110, e.PermissionDeniedError), (1112, e.PermissionDeniedError), (1121, e.PermissionDeniedError),
    (1113, e.InsufficientBalanceError),
    (1210, e.InvalidRequestError), (1211, e.NotFoundError), (1214, e.InvalidRequestError),
    (1215, e.InvalidRequestError), (1220, e.PermissionDeniedError), (1221, e.NotFoundError),
    (1222, e.NotFoundError), (1230, e.ServiceUnavailableError), (1234, e.ServiceUnavailableError),
    (1261, e.ContextWindowExceededError),
    (1300, e.ContentPolicyError), (1301, e.ContentPolicyError),
    (1302, e.RateLimitError), (1303, e.RateLimitError), (1304, e.RateLimitError), (1305, e.RateLimitError),
    (1308, e.RateLimitError), (1309, e.PermissionDeniedError),
]


@pytest.mark.parametrize(("code", "cls"), ZHIPU_CODES)
def test_error_codes(code: int, cls: type[e.FareboxError]) -> None:
    body = {"error": {"code": str(code), "message": "m"}}
    for status in (400, 401, 429, 500):
        err = decode_error(status, body, {}, SPEC, model="glm-5.2")
        assert type(err) is cls, status
        assert err.vendor_code == code


@pytest.mark.parametrize(("code", "cls"), [(1002, e.AuthenticationError), (1113, e.InsufficientBalanceError),
                                           (1211, e.NotFoundError), (1214, e.InvalidRequestError),
                                           (1261, e.ContextWindowExceededError), (1301, e.ContentPolicyError),
                                           (1302, e.RateLimitError), (1220, e.PermissionDeniedError)])
def test_error_codes_through_the_emulator(emu: Emulator, code: int, cls: type[e.FareboxError]) -> None:
    emu.fault(vendor_code=code)
    with pytest.raises(cls) as info:
        call(emu)
    assert type(info.value) is cls and info.value.vendor_code == code


@pytest.mark.parametrize(("reason", "finish"), [("sensitive", "content_filter"),
                                                ("model_context_window_exceeded", "length")])
def test_zhipu_finish_reasons(emu: Emulator, reason: str, finish: str) -> None:
    emu.set_options("zhipu", finish_reason=reason)
    assert call(emu).choices[0].finish_reason == finish
    s = call(emu, stream=True)
    list(s)
    assert s.response.choices[0].finish_reason == finish


@pytest.mark.parametrize("stream", [False, True])
def test_zhipu_network_error_finish_is_an_error(emu: Emulator, stream: bool) -> None:
    """A stream that fails during inference ends with finish_reason network_error, not an error body."""
    emu.set_options("zhipu", finish_reason="network_error")
    with pytest.raises(e.ServiceUnavailableError, match="network_error"):
        resp = call(emu, stream=stream)
        if stream:
            list(resp)


# ── GLM-5.x reasoning_effort (docs.z.ai Core Parameters; docs/vendors.md Errata) ──────────────────────────────
def glm(emu: Emulator, model: str, **kw: Any) -> Any:
    return router.completion(f"zhipu/{model}", HI, api_key=KEY, base_url=emu.base_url("zhipu"), num_retries=0, **kw)


@pytest.mark.parametrize(("model", "word", "sent"), [
    ("glm-5.3", "low", "low"), ("glm-5.3", "high", "high"), ("glm-5.3", "max", "max"), ("glm-5.3", "xhigh", "max"),
    ("glm-5.3", "medium", "high"), ("glm-5.2", "high", "high"), ("glm-5.2", "max", "max"),
    ("glm-5.2", "low", "high"), ("glm-5.2", "medium", "high"), ("glm-5.2", "xhigh", "max"),
])
def test_glm5_effort_is_sent_with_thinking_enabled(emu: Emulator, model: str, word: str, sent: str) -> None:
    resp = glm(emu, model, reasoning_effort=word)
    body = emu.last_request("zhipu").body
    assert (body["thinking"], body["reasoning_effort"]) == ({"type": "enabled"}, sent)
    assert resp.effort["level"] == sent and resp.message.reasoning_content


def test_glm5_levels_menu() -> None:
    assert vendors.effort_levels("zhipu/glm-5.3") == vendors.effort.EffortLevels(("auto", "low", "high", "max"), "max")
    assert vendors.effort_levels("zhipu/glm-5.2").levels == ("auto", "disabled", "high", "max")
    assert vendors.effort_levels("zhipu/glm-5.1").levels == ("auto", "enabled", "disabled")   # binary, as before


def test_glm53_cannot_turn_thinking_off(emu: Emulator) -> None:
    with pytest.raises(e.InvalidEffortError, match=r"always thinks.*auto\|low\|high\|max"):
        glm(emu, "glm-5.3", reasoning_effort="disabled")
    assert emu.requests == []
    resp = glm(emu, "glm-5.2", reasoning_effort="minimal")   # Z.AI: minimal skips thinking on 5.2
    assert emu.last_request("zhipu").body["thinking"] == {"type": "disabled"}
    assert "reasoning_effort" not in emu.last_request("zhipu").body and not resp.message.reasoning_content


def test_older_glm_keeps_the_thinking_switch(emu: Emulator) -> None:
    glm(emu, "glm-5.1", reasoning_effort="max")
    body = emu.last_request("zhipu").body
    assert body["thinking"] == {"type": "enabled"} and "reasoning_effort" not in body


def test_clear_thinking_joins_the_thinking_object(emu: Emulator) -> None:
    glm(emu, "glm-5.2", reasoning_effort="high", extra_body={"thinking": {"clear_thinking": False}})
    body = emu.last_request("zhipu").body
    assert body["thinking"] == {"type": "enabled", "clear_thinking": False} and body["reasoning_effort"] == "high"
    glm(emu, "glm-5.1", extra_body={"thinking": {"type": "enabled", "clear_thinking": False}})
    assert emu.last_request("zhipu").body["thinking"] == {"type": "enabled", "clear_thinking": False}
    glm(emu, "glm-5.3", reasoning_effort="auto", extra_body={"thinking": {"clear_thinking": False}})
    assert emu.last_request("zhipu").body["thinking"] == {"clear_thinking": False}   # auto sends no switch
    with pytest.raises(e.InvalidRequestError, match="both set"):   # the type itself stays one control
        glm(emu, "glm-5.2", reasoning_effort="high", extra_body={"thinking": {"type": "disabled"}})


def test_anthropic_surface_sends_the_switch_and_says_so(emu: Emulator) -> None:
    resp = router.completion("zhipu/glm-5.2", HI, api_key=KEY, base_url=emu.base_url("zhipu", "anthropic"),
                             reasoning_effort="high")
    assert emu.last_request("zhipu").body["thinking"] == {"type": "enabled"}
    assert "not sent on Zhipu's Anthropic surface" in resp.effort["note"]


@pytest.mark.parametrize(("model", "extra", "needle"), [
    ("glm-5.3", {"reasoning_effort": "medium"}, "supported: max, high, low"),
    ("glm-5.3", {"thinking": {"type": "disabled"}}, "always thinks"),
    ("glm-5.2", {"reasoning_effort": "extreme"}, "supported: max, xhigh"),
    ("glm-5.2", {"thinking": {"type": "enabled", "clear_thinking": "no"}}, "clear_thinking"),
])
async def test_emulator_validates_glm_effort_like_the_server(emu: Emulator, session: Any, model: str,
                                                              extra: dict[str, Any], needle: str) -> None:
    url = emu.base_url("zhipu") + "/chat/completions"
    body = {"model": model, "messages": HI, **extra}
    async with session.post(url, json=body, headers={"Authorization": f"Bearer {KEY}"}) as resp:
        assert resp.status == 400
        error = (await resp.json())["error"]
        assert needle in error["message"] and str(error["code"]) == "1214"
