"""Router: retries, fallbacks across vendors, cooldowns, strategies, config files — through the emulator."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

import router
from router import retry
from router.emulator import Emulator
from router.errors import (
    AllDeploymentsFailedError,
    ConfigError,
    FareboxError,
    MalformedResponseError,
    RateLimitError,
)

MSG = [{"role": "user", "content": "hello router"}]
KEY = "sk-api-router-test-0001"


@pytest.fixture(scope="module")
def emu():
    with Emulator.running() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(emu):
    emu.reset()
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    retry.set_sleep(record)
    yield sleeps
    retry.set_sleep(None)


def two_vendor_router(emu, **options) -> router.Router:
    return router.Router(
        deployments=[
            {"alias": "smart", "model": "minimax/MiniMax-M3", "api_key": KEY, "base_url": emu.base_url("minimax")},
            {"alias": "backup", "model": "deepseek/deepseek-v4-flash", "api_key": "sk-ds-router-0002",
             "base_url": emu.base_url("deepseek")},
        ],
        fallbacks={"smart": ["backup"]},
        **options,
    )


def vendors_hit(emu) -> list[str]:
    return [r.vendor for r in emu.requests]


def test_429_twice_then_ok_honours_retry_after(emu, _fresh):
    emu.fault(vendor="minimax", status=429, retry_after=3, times=2)
    resp = two_vendor_router(emu, num_retries=2).completion(model="smart", messages=MSG)
    assert resp.vendor == "minimax"
    assert [a.status for a in resp.attempts] == [429, 429, 200]
    assert [a.error for a in resp.attempts] == ["RateLimitError", "RateLimitError", None]
    assert _fresh == [3.0, 3.0]  # never less than asked


def test_retry_after_ms_is_honoured(emu, _fresh):
    emu.fault(vendor="minimax", status=429, retry_after_ms=1500)
    resp = two_vendor_router(emu).completion(model="smart", messages=MSG)
    assert resp.vendor == "minimax" and _fresh == [1.5]


def test_401_is_one_attempt_then_fallback(emu, _fresh):
    emu.fault(vendor="minimax", status=401)
    resp = two_vendor_router(emu, num_retries=3).completion(model="smart", messages=MSG)
    assert [(a.vendor, a.error) for a in resp.attempts] == [("minimax", "AuthenticationError"), ("deepseek", None)]
    assert _fresh == []


def test_401_without_fallback_raises_after_one_attempt(emu):
    r = router.Router(deployments=[{"alias": "a", "model": "minimax/MiniMax-M3", "api_key": KEY,
                                    "base_url": emu.base_url("minimax")}], num_retries=3)
    emu.fault(vendor="minimax", status=401)
    with pytest.raises(AllDeploymentsFailedError) as info:
        r.completion(model="a", messages=MSG)
    assert len(info.value.attempts) == 1 and info.value.attempts[0].error == "AuthenticationError"
    assert len(emu.requests) == 1


def test_minimax_1008_moves_to_the_fallback_vendor_at_once(emu, _fresh):
    emu.fault(vendor="minimax", vendor_code=1008, status=429)
    resp = two_vendor_router(emu, num_retries=3).completion(model="smart", messages=MSG)
    assert vendors_hit(emu) == ["minimax", "deepseek"]
    assert resp.attempts[0].error == "InsufficientBalanceError" and resp.attempts[0].vendor_code == 1008
    assert resp.vendor == "deepseek" and resp.cost is not None and _fresh == []


def test_503_repeatedly_cools_the_deployment_down(emu):
    r = two_vendor_router(emu, num_retries=0, allowed_fails=2, cooldown_s=60)
    emu.fault(vendor="minimax", status=503, times=-1)
    for _ in range(2):
        assert r.completion(model="smart", messages=MSG).vendor == "deepseek"
    emu.reset()
    resp = r.completion(model="smart", messages=MSG)
    assert resp.vendor == "deepseek"
    assert vendors_hit(emu) == ["deepseek"]  # minimax skipped while cooling down
    assert [a.vendor for a in resp.attempts] == ["deepseek"]


def test_long_retry_after_cools_down_instead_of_sleeping(emu, _fresh):
    emu.fault(vendor="minimax", status=429, retry_after=3600)
    r = two_vendor_router(emu, num_retries=3)
    resp = r.completion(model="smart", messages=MSG)
    assert resp.vendor == "deepseek" and _fresh == []
    emu.reset()
    r.completion(model="smart", messages=MSG)
    assert vendors_hit(emu) == ["deepseek"]


def test_long_retry_after_on_a_direct_call_raises_with_retry_after(emu, _fresh):
    emu.fault(vendor="minimax", status=429, retry_after=3600)
    with pytest.raises(RateLimitError) as info:
        router.completion(model="minimax/MiniMax-M3", messages=MSG, api_key=KEY, base_url=emu.base_url("minimax"))
    assert info.value.retry_after == pytest.approx(3600) and _fresh == []


def test_stream_failing_after_first_chunk_is_not_retried(emu):
    emu.fault(vendor="minimax", truncate_after_chunks=3)
    stream = two_vendor_router(emu, num_retries=3).completion(model="smart", messages=MSG, stream=True)
    received = []
    with pytest.raises(MalformedResponseError):
        for chunk in stream:
            received.append(chunk)
    assert received and vendors_hit(emu) == ["minimax"]


def test_stream_failing_before_first_chunk_falls_back(emu):
    emu.fault(vendor="minimax", status=503, times=-1)
    stream = two_vendor_router(emu, num_retries=1).completion(model="smart", messages=MSG, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "deepseek emulator" in text
    assert [a.vendor for a in stream.response.attempts] == ["minimax", "minimax", "deepseek"]


def test_lowest_cost_picks_the_cheaper_deployment(emu):
    r = router.Router(
        deployments=[
            {"alias": "any", "model": "anthropic/claude-sonnet-4-5", "api_key": "sk-ant-router-1",
             "base_url": emu.base_url("anthropic")},
            {"alias": "any", "model": "deepseek/deepseek-v4-flash", "api_key": "sk-ds-router-2",
             "base_url": emu.base_url("deepseek")},
        ],
        strategy="lowest-cost",
    )
    assert r.completion(model="any", messages=MSG).vendor == "deepseek"


def test_all_deployments_failed_carries_every_attempt(emu):
    emu.fault(status=500, times=-1)
    with pytest.raises(AllDeploymentsFailedError) as info:
        two_vendor_router(emu, num_retries=1).completion(model="smart", messages=MSG)
    attempts = info.value.attempts
    assert [(a.vendor, a.status) for a in attempts] == [("minimax", 500)] * 2 + [("deepseek", 500)] * 2
    assert all(a.error == "ServiceUnavailableError" and a.latency_s >= 0 for a in attempts)


def test_context_window_fallback_on_preflight_and_vendor_error(emu):
    r = router.Router(
        deployments=[
            {"alias": "small", "model": "minimax/MiniMax-M3", "api_key": KEY, "base_url": emu.base_url("minimax")},
            {"alias": "big", "model": "deepseek/deepseek-v4-flash", "api_key": "sk-ds-cw-0003",
             "base_url": emu.base_url("deepseek")},
        ],
        context_window_fallbacks={"small": ["big"]},
    )
    emu.fault(vendor="minimax", status=400, body={"type": "error", "error": {
        "type": "bad_request_error", "message": "invalid params, context window exceeds limit (2013)",
        "http_code": "400"}})
    resp = r.completion(model="small", messages=MSG)
    assert resp.vendor == "deepseek" and resp.attempts[0].error == "ContextWindowExceededError"


def test_unknown_alias_in_fallbacks_is_a_config_error():
    with pytest.raises(ConfigError, match="nope"):
        router.Router(deployments=[{"alias": "a", "model": "minimax/MiniMax-M3"}], fallbacks={"a": ["nope"]})


def test_bad_strategy_is_a_config_error():
    with pytest.raises(ConfigError, match="strategy"):
        router.Router(deployments=[{"alias": "a", "model": "minimax/MiniMax-M3"}], strategy="fastest")


def test_from_file_yaml_and_json(tmp_path, monkeypatch, emu):
    monkeypatch.setenv("ROUTER_TEST_KEY", KEY)
    yaml_file = tmp_path / "farebox.yaml"
    yaml_file.write_text(
        "deployments:\n"
        "  - alias: smart\n"
        "    model: minimax/MiniMax-M3\n"
        "    api_key: ${ROUTER_TEST_KEY}\n"
        f"    base_url: {emu.base_url('minimax')}\n"
        "num_retries: 0\n")
    r = router.Router.from_file(str(yaml_file))
    assert r.completion(model="smart", messages=MSG).vendor == "minimax"
    assert KEY not in repr(r.config)
    json_file = tmp_path / "farebox.json"
    json_file.write_text(json.dumps({"deployments": [{"alias": "x", "model": "deepseek/deepseek-v4-flash",
                                                      "api_key": KEY}],
                                     "fallbacks": {}}))
    assert router.Router.from_file(str(json_file)).config.deployments[0].alias == "x"


@pytest.mark.parametrize(("text", "needle"), [
    ("deployments:\n  - alias: a\n    model: minimax/MiniMax-M3\n    api_key: ${NOT_SET_ANYWHERE_X}\n",
     "deployments[0].api_key"),
    ("deployments:\n  - alias: a\n    modle: minimax/MiniMax-M3\n", "deployments.0"),
    ("deployments: [\n", "line"),
    ("- just a list\n", "top level"),
])
def test_config_errors_name_the_file_and_place(tmp_path, text, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        router.Router.from_file(str(path))
    assert str(path) in str(info.value) and needle in str(info.value)


async def test_500_concurrent_calls_with_random_faults_all_end(emu):
    rng = random.Random(7)
    for _ in range(120):
        emu.fault(vendor=rng.choice(["minimax", "deepseek"]), status=rng.choice([429, 500, 503, 401]))
    r = two_vendor_router(emu, num_retries=1, cooldown_s=0.01)

    async def one() -> str:
        try:
            resp = await r.acompletion(model="smart", messages=MSG)
            return resp.vendor
        except FareboxError as exc:
            return type(exc).__name__

    results = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(500))), timeout=60)
    assert len(results) == 500
    assert set(results) <= {"minimax", "deepseek", "AllDeploymentsFailedError"}
    assert results.count("minimax") + results.count("deepseek") > 400


def test_sync_router_from_threads(emu):
    from concurrent.futures import ThreadPoolExecutor

    r = two_vendor_router(emu)
    with ThreadPoolExecutor(8) as pool:
        vendors = list(pool.map(lambda _: r.completion(model="smart", messages=MSG).vendor, range(32)))
    assert vendors == ["minimax"] * 32


def test_router_passes_through_a_plain_model_name(emu):
    r = two_vendor_router(emu)
    resp = r.completion(model="deepseek/deepseek-v4-flash", messages=MSG, api_key="sk-ds-direct-0004",
                        base_url=emu.base_url("deepseek"))
    assert resp.vendor == "deepseek"


def test_deadline_bounds_a_direct_call_including_retries(emu):
    emu.fault(vendor="minimax", delay_s=2.0)
    with pytest.raises(router.errors.APITimeoutError, match="deadline"):
        router.completion(model="minimax/MiniMax-M3", messages=MSG, api_key=KEY, base_url=emu.base_url("minimax"),
                          deadline=0.3)
    assert "deadline" not in (emu.requests[0].body or {})


def test_preflight_context_window_check_moves_to_the_fallback(emu):
    import pricing

    row = {"vendor": "minimax", "id": "MiniMax-M2.7", "input_mtok": "0.30", "output_mtok": "1.20",
           "context_window": 64, "max_output": 32, "checked": "2026-11-21", "source": "https://example.invalid/test"}
    pricing.load_overrides({"model": [row]})
    try:
        r = router.Router(
            deployments=[
                {"alias": "small", "model": "minimax/MiniMax-M2.7", "api_key": KEY,
                 "base_url": emu.base_url("minimax")},
                {"alias": "big", "model": "deepseek/deepseek-v4-flash", "api_key": "sk-ds-cw-0005",
                 "base_url": emu.base_url("deepseek")},
            ],
            context_window_fallbacks={"small": ["big"]},
        )
        long_prompt = [{"role": "user", "content": "word " * 300}]
        resp = r.completion(model="small", messages=long_prompt)
        assert resp.vendor == "deepseek" and vendors_hit(emu) == ["deepseek"]  # nothing sent to MiniMax
        assert resp.attempts[0].error == "ContextWindowExceededError" and resp.attempts[0].status is None
        emu.reset()
        assert r.completion(model="small", messages=MSG).vendor == "minimax"  # a short prompt fits
    finally:
        pricing.reset_overrides()


def test_content_policy_fallback(emu):
    r = router.Router(
        deployments=[
            {"alias": "strict", "model": "minimax/MiniMax-M3", "api_key": KEY, "base_url": emu.base_url("minimax")},
            {"alias": "lenient", "model": "deepseek/deepseek-v4-flash", "api_key": "sk-ds-cp-0006",
             "base_url": emu.base_url("deepseek")},
        ],
        content_policy_fallbacks={"strict": ["lenient"]},
    )
    emu.fault(vendor="minimax", status=400, vendor_code=1026)
    resp = r.completion(model="strict", messages=MSG)
    assert resp.vendor == "deepseek" and resp.attempts[0].error == "ContentPolicyError"
