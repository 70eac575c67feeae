"""Alibaba Qwen (Model Studio, OpenAI-compatible mode; docs/vendors.md §8): regions, hosts and spoofs, the body
the emulator receives, every effort word, streamed usage, tiered cost, and DashScope's error codes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import pricing
import router
import vendors
from router.emulator import Emulator
from router.resolve import resolve
from vendors import errors as e
from vendors.effort import VOCABULARY

KEY = "sk-dashscope-0123456789abcdef"
HI = [{"role": "user", "content": "hi"}]
SPEC = vendors.get("qwen")


def call(emu: Emulator, model: str = "qwen-plus", *, region: str = "global", **kw: Any) -> Any:
    return router.completion(f"qwen/{model}", HI, api_key=KEY, base_url=emu.base_url("qwen", region=region),
                             num_retries=0, **kw)


# ── regions, hosts, spoofs ─────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(("region", "url"), [
    ("global", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"),
    ("cn", "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"),
])
def test_both_regions(region: str, url: str) -> None:
    target = resolve("qwen/qwen-plus", region=region, api_key=KEY)
    assert (target.url, target.region) == (url, region)


@pytest.mark.parametrize(("base", "region"), [
    ("https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "global"),
    ("https://dashscope.aliyuncs.com/compatible-mode/v1", "cn"),
    ("HTTPS://DashScope.Aliyuncs.COM./compatible-mode/v1", "cn"),
])
def test_host_detection_and_region(base: str, region: str) -> None:
    assert vendors.detect(base) is SPEC
    target = resolve("qwen-plus", base_url=base, api_key=KEY)
    assert (target.vendor, target.region) == ("qwen", region)


SPOOFS = [
    "https://dashscope.aliyuncs.com.evil.example/compatible-mode/v1",   # vendor host as a prefix
    "https://evil.example/dashscope.aliyuncs.com/compatible-mode/v1",   # in the path
    "https://evil.example/?h=dashscope-intl.aliyuncs.com",              # in the query
    "https://xdashscope.aliyuncs.com/compatible-mode/v1",               # lookalike label
    "https://dashscope-intl.aliyuncs.co/compatible-mode/v1",            # lookalike TLD
    "https://my-bucket.oss-cn-hangzhou.aliyuncs.com/v1",                # another Alibaba Cloud customer
    "https://aliyuncs.com/compatible-mode/v1",                          # the bare apex
]


@pytest.mark.parametrize("url", SPOOFS)
def test_spoofed_hosts_are_not_qwen_and_get_no_key(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-dashscope-env-000000000")
    assert vendors.detect(url) is None
    target = resolve("qwen-plus", base_url=url)
    assert target.vendor == "compatible" and not target.api_key   # the DashScope key never goes there


def test_user_info_is_refused() -> None:
    with pytest.raises(e.ConfigError, match="user-info"):
        resolve("qwen/qwen-plus", base_url="https://dashscope.aliyuncs.com@evil.example/compatible-mode/v1",
                api_key=KEY)


def test_key_from_dashscope_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-dashscope-env-000000000")
    assert resolve("qwen-plus").api_key == "sk-dashscope-env-000000000"


# ── the wire, through the emulator ────────────────────────────────────────────────────────────────
def test_plain_call_body_and_path(emu: Emulator) -> None:
    resp = call(emu, max_tokens=64, temperature=0.5)
    rec = emu.last_request("qwen")
    assert rec.path == "/qwen/compatible-mode/v1/chat/completions"
    assert rec.body == {"model": "qwen-plus", "messages": HI, "max_tokens": 64, "temperature": 0.5}
    assert rec.headers["authorization"].startswith("Bearer ")
    assert resp.vendor == "qwen" and resp.choices[0].message.content
    assert resp.usage.prompt_tokens > 0 and not resp.usage.estimated


@pytest.mark.parametrize("region", ["global", "cn"])
def test_streamed_call_asks_for_usage(emu: Emulator, region: str) -> None:
    chunks = list(call(emu, region=region, stream=True))
    rec = emu.last_request("qwen")
    assert rec.region == region
    assert rec.body["stream"] is True and rec.body["stream_options"] == {"include_usage": True}
    last = chunks[-1]
    assert last.usage is not None and not last.usage.estimated and last.usage.completion_tokens > 0
    assert last.cost is not None and last.cost.total > 0


_SENT = {   # what each word puts on the wire for a hybrid model (qwen-plus)
    "auto": {},
    "none": {"enable_thinking": False}, "off": {"enable_thinking": False}, "disabled": {"enable_thinking": False},
    "enabled": {"enable_thinking": True}, "adaptive": {"enable_thinking": True},
    "minimal": {"enable_thinking": True, "thinking_budget": 2048},
    "low": {"enable_thinking": True, "thinking_budget": 2048},
    "medium": {"enable_thinking": True, "thinking_budget": 8192},
    "high": {"enable_thinking": True, "thinking_budget": 32768},
    "xhigh": {"enable_thinking": True}, "max": {"enable_thinking": True},
}


def test_the_table_covers_the_vocabulary() -> None:
    assert set(_SENT) == set(VOCABULARY)


@pytest.mark.parametrize("word", VOCABULARY)
def test_every_effort_word_on_a_hybrid_model(emu: Emulator, word: str) -> None:
    resp = call(emu, reasoning_effort=word, stream=True)
    chunks = list(resp)
    body = emu.last_request("qwen").body
    sent = {k: body[k] for k in ("enable_thinking", "thinking_budget") if k in body}
    assert sent == _SENT[word] and "reasoning_effort" not in body
    reasoning = "".join(c.choices[0].delta.reasoning_content or "" for c in chunks if c.choices)
    assert bool(reasoning) is (_SENT[word].get("enable_thinking") is True)   # the emulator thinks as asked


def test_thinking_only_model_refuses_disabled(emu: Emulator) -> None:
    with pytest.raises(e.InvalidEffortError, match="always thinks"):
        call(emu, "qwen3-max-thinking", reasoning_effort="disabled")
    assert emu.requests == []   # refused before any request


def test_models_without_a_switch_get_no_thinking_keys(emu: Emulator) -> None:
    assert SPEC.effort_for("qwen3-max") is None and SPEC.effort_for("qwen3-coder-plus") is None
    call(emu, "qwen3-max")
    assert not {"enable_thinking", "thinking_budget"} & emu.last_request("qwen").body.keys()


# ── cost ──────────────────────────────────────────────────────────────────────────────────────────
def test_cost_of_a_call_matches_its_price_row(emu: Emulator) -> None:
    resp = call(emu, "qwen3-max")
    u = resp.usage
    row = pricing.price("qwen/qwen3-max")
    want = (Decimal(u.prompt_tokens - u.cached_tokens) * row.input + Decimal(u.cached_tokens) * row.cache_read
            + Decimal(u.completion_tokens) * row.output) / 1_000_000
    assert resp.cost.total == want


@pytest.mark.parametrize(("prompt", "rate_in", "rate_out"), [
    (32_000, "1.20", "6.00"), (32_001, "2.40", "12.00"), (128_001, "3.00", "15.00")])
def test_tiered_prices_bill_the_whole_request_at_its_tier(prompt: int, rate_in: str, rate_out: str) -> None:
    cost = pricing.cost("qwen/qwen3-max", {"prompt_tokens": prompt, "completion_tokens": 1000})
    assert cost.total == (prompt * Decimal(rate_in) + 1000 * Decimal(rate_out)) / 1_000_000


def test_models_are_listed_with_their_windows() -> None:
    got = {m.id: (m.context_window, m.max_output) for m in vendors.models("qwen")}
    assert got == {"qwen3-max": (262144, 65536), "qwen-plus": (1000000, 32768), "qwen-flash": (1000000, 32768),
                   "qwen3-coder-plus": (1000000, 65536)}


# ── errors: DashScope's compatible-mode envelope ──────────────────────────────────────────────────
def envelope(code: str, message: str, kind: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind or code, "param": None, "code": code},
            "id": "chatcmpl-0", "request_id": "0b1c2d3e-0000"}


@pytest.mark.parametrize(("status", "body", "cls"), [
    (400, envelope("Arrearage", "Access denied, please make sure your account is in good standing."),
     e.InsufficientBalanceError),
    (403, envelope("Arrearage", "Access denied, please make sure your account is in good standing."),
     e.InsufficientBalanceError),
    (400, envelope("data_inspection_failed", "Input data may contain inappropriate content."), e.ContentPolicyError),
    (400, envelope("InternalError.Algo.DataInspectionFailed", "Input text data may contain inappropriate content."),
     e.ContentPolicyError),
    (429, envelope("insufficient_quota", "You exceeded your current quota"), e.RateLimitError),
    (429, envelope("Throttling.RateQuota", "Requests rate limit exceeded"), e.RateLimitError),
    (401, envelope("invalid_api_key", "Incorrect API key provided."), e.AuthenticationError),
    (403, envelope("access_denied", "Access denied."), e.PermissionDeniedError),
    (404, envelope("model_not_found", "The model does not exist."), e.NotFoundError),
    (400, envelope("InvalidParameter", "Range of input length should be [1, 258048]", "invalid_request_error"),
     e.ContextWindowExceededError),
])
def test_error_codes(emu: Emulator, status: int, body: dict[str, Any], cls: type[e.FareboxError]) -> None:
    emu.fault(vendor="qwen", status=status, body=body)
    with pytest.raises(e.FareboxError) as info:
        call(emu)
    err = info.value
    assert type(err) is cls and err.vendor == "qwen" and err.vendor_code == body["error"]["code"]
    assert err.request_id == "0b1c2d3e-0000" and KEY not in str(err)


def test_a_wrong_region_key_says_how_keys_and_hosts_pair(emu: Emulator) -> None:
    emu.fault(vendor="qwen", status=401, body=envelope("invalid_api_key", "Incorrect API key provided."))
    with pytest.raises(e.AuthenticationError) as info:
        call(emu)
    assert "dashscope-intl.aliyuncs.com" in (info.value.hint or "")
