"""Call records through the emulator: plain, streamed, failed, rejected, routed, listeners, tracking off."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import pytest

import router
from router import tracking
from router.emulator import Emulator
from router.errors import (
    AllDeploymentsFailedError,
    AuthenticationError,
    ConfigError,
    MalformedResponseError,
    ServiceUnavailableError,
)
from tests.conftest import KEY, ledger_rows

HI = [{"role": "user", "content": "Hi there"}]
LONG = [{"role": "user", "content": "tell me a long story " * 5}]


def minimax(emu: Emulator) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": emu.base_url("minimax")}


def test_plain_call_leaves_one_record_with_tokens_cost_effort_and_tags(emu, ledger, records) -> None:
    resp = router.completion("minimax/MiniMax-M3", HI, reasoning_effort="high", metadata={"team": "ml", "user": 7},
                             **minimax(emu))
    [rec] = records
    assert (rec.status, rec.vendor, rec.model, rec.alias, rec.stream) == ("ok", "minimax", "MiniMax-M3", None, False)
    assert (rec.attempts, rec.fallbacks, rec.error, rec.http_status) == (1, 0, None, 200)
    assert rec.prompt_tokens == resp.usage.prompt_tokens > 0
    assert rec.completion_tokens == resp.usage.completion_tokens > 0
    assert rec.reasoning_tokens == resp.usage.reasoning_tokens
    assert rec.cost == resp.cost and rec.cost_total == resp.cost.total > 0 and rec.billing == "metered"
    assert rec.effort == resp.effort["level"] and rec.effort is not None
    assert rec.tags == {"team": "ml", "user": 7} and rec.response_id == resp.id and rec.latency_s > 0
    assert rec.ttft_s is None
    # The words work too: time, latency, time to first token, error class, metadata.
    assert (rec.metadata, rec.latency, rec.ttft, rec.error_class) == (rec.tags, rec.latency_s, None, None)
    assert rec.time.tzinfo is not None and abs(rec.time.timestamp() - rec.ts) < 1e-6
    [row] = ledger_rows(ledger)  # durable: committed before completion() returned
    assert row["record_id"] == rec.record_id and Decimal(row["cost_total"]) == resp.cost.total
    assert row["cost_pico"] == int(resp.cost.total * 10**12) and row["cost_exact"] == 1
    assert Decimal(row["cost_input"]) + Decimal(row["cost_output"]) == resp.cost.total
    assert row["tags"] == '{"team":"ml","user":7}' and row["status"] == "ok"


def test_streamed_call_records_at_the_end_with_time_to_first_chunk(emu, ledger, records) -> None:
    emu.fault(vendor="openai", chunk_delay_s=0.05)
    stream = router.completion("openai/gpt-4o-mini", HI, stream=True, api_key=KEY, base_url=emu.base_url("openai"))
    next(stream)
    assert records == []  # nothing yet: the stream has not ended
    list(stream)
    [rec] = records
    assert rec.stream and rec.status == "ok" and rec.ttft_s is not None and 0 < rec.ttft_s <= rec.latency_s
    assert rec.ttft == rec.ttft_s
    assert rec.cost_total == stream.response.cost.total > 0
    assert rec.completion_tokens == stream.response.usage.completion_tokens
    assert [r["record_id"] for r in ledger_rows(ledger)] == [rec.record_id]


async def test_async_stream_closed_early_is_cancelled_with_what_was_received(emu, ledger, records) -> None:
    emu.fault(vendor="minimax", chunk_delay_s=0.01)
    stream = await router.acompletion("minimax/MiniMax-M3", LONG, stream=True, **minimax(emu))
    async for _ in stream:
        break
    await stream.aclose()
    [rec] = records
    assert rec.status == "cancelled" and rec.stream and rec.completion_tokens > 0 and rec.estimated
    assert rec.cost_total > 0
    assert ledger_rows(ledger)[0]["status"] == "cancelled"


def test_sync_stream_closed_early_is_cancelled(emu, ledger, records) -> None:
    emu.fault(vendor="minimax", chunk_delay_s=0.01)
    with router.completion("minimax/MiniMax-M3", LONG, stream=True, **minimax(emu)) as stream:
        next(stream)
    [rec] = records
    assert rec.status == "cancelled" and len(ledger_rows(ledger)) == 1


def test_stream_cut_after_chunks_is_an_error_with_the_estimated_cost_received(emu, ledger, records) -> None:
    emu.fault(vendor="minimax", truncate_after_chunks=4)
    stream = router.completion("minimax/MiniMax-M3", LONG, stream=True, **minimax(emu))
    with pytest.raises(MalformedResponseError) as info:
        list(stream)
    [rec] = records
    assert rec.status == "error" and rec.error == "MalformedResponseError" and rec.estimated
    assert rec.cost_total == info.value.partial.cost.total > 0


def test_failed_call_records_error_class_status_and_vendor_code(emu, ledger, records) -> None:
    emu.fault(vendor="minimax", status=500, vendor_code=1000)
    with pytest.raises(ServiceUnavailableError):
        router.completion("minimax/MiniMax-M3", HI, num_retries=0, **minimax(emu))
    [rec] = records
    assert rec.error_class == "ServiceUnavailableError"
    assert (rec.status, rec.error, rec.vendor_code) == ("error", "ServiceUnavailableError", "1000")
    assert rec.http_status == 500
    assert rec.attempts == 1 and rec.cost is None and rec.cost_total == 0
    [row] = ledger_rows(ledger)
    assert (row["status"], row["error"], row["vendor_code"], row["cost_total"]) == ("error", "ServiceUnavailableError",
                                                                                  "1000", None)


def test_retries_count_as_attempts_of_one_record(emu, ledger, records, sleeps) -> None:
    emu.fault(vendor="minimax", status=503)
    resp = router.completion("minimax/MiniMax-M3", HI, num_retries=2, **minimax(emu))
    [rec] = records
    assert rec.status == "ok" and rec.attempts == 2 == len(resp.attempts) and rec.fallbacks == 0


def test_a_call_rejected_before_any_request_is_recorded(emu, ledger, records) -> None:
    with pytest.raises(ConfigError):
        router.completion("nosuchvendor/some-model", HI)
    [rec] = records
    assert (rec.status, rec.error, rec.attempts, rec.vendor, rec.model) == ("error", "ConfigError", 0, "",
                                                                           "nosuchvendor/some-model")
    assert emu.requests == [] and len(ledger_rows(ledger)) == 1


def two_vendor_router(emu: Emulator) -> router.Router:
    return router.Router(
        deployments=[{"alias": "smart", "model": "minimax/MiniMax-M3", "api_key": KEY,
                      "base_url": emu.base_url("minimax")},
                     {"alias": "backup", "model": "deepseek/deepseek-v4-flash", "api_key": "sk-ds-track-0002",
                      "base_url": emu.base_url("deepseek"), "name": "ds-backup"}],
        fallbacks={"smart": ["backup"]}, num_retries=0)


def test_router_fallback_is_one_record_naming_the_deployment_that_answered(emu, ledger, records) -> None:
    r = two_vendor_router(emu)
    mine: list[Any] = []
    r.add_listener(mine.append)
    emu.fault(vendor="minimax", status=500)
    resp = r.completion(model="smart", messages=HI, metadata={"team": "search"})
    [rec] = records
    assert mine == [rec]
    assert (rec.alias, rec.deployment, rec.vendor, rec.model) == ("smart", "ds-backup", "deepseek", "deepseek-v4-flash")
    assert (rec.fallbacks, rec.attempts, rec.status) == (1, 2, "ok") and rec.cost_total == resp.cost.total
    assert rec.tags == {"team": "search"}
    [row] = ledger_rows(ledger)
    assert (row["alias"], row["deployment"], row["fallbacks"]) == ("smart", "ds-backup", 1)
    router.completion("minimax/MiniMax-M3", HI, **minimax(emu))  # not through the Router: not its listener's
    assert len(records) == 2 and mine == [rec]


def test_router_streamed_fallback_is_one_record(emu, ledger, records) -> None:
    emu.fault(vendor="minimax", status=500)
    stream = two_vendor_router(emu).completion(model="smart", messages=HI, stream=True)
    list(stream)
    [rec] = records
    assert (rec.alias, rec.deployment, rec.fallbacks, rec.stream) == ("smart", "ds-backup", 1, True)
    assert rec.cost_total == stream.response.cost.total


def test_router_all_failed_is_one_error_record(emu, ledger, records) -> None:
    emu.fault(status=500, times=2)
    with pytest.raises(AllDeploymentsFailedError):
        two_vendor_router(emu).completion(model="smart", messages=HI)
    [rec] = records
    assert (rec.status, rec.error, rec.fallbacks, rec.attempts, rec.deployment) == (
        "error", "AllDeploymentsFailedError", 1, 2, "ds-backup")
    assert rec.http_status == 500


async def test_async_listener_and_sync_listener_both_see_the_record(emu, ledger) -> None:
    got: list[str] = []

    async def slow(record: tracking.CallRecord) -> None:
        await asyncio.sleep(0)
        got.append("async:" + record.status)

    def quick(record: tracking.CallRecord) -> None:
        got.append("sync:" + record.status)

    router.add_listener(slow)
    router.add_listener(quick)
    try:
        await router.acompletion("minimax/MiniMax-M3", HI, **minimax(emu))
        for _ in range(5):
            await asyncio.sleep(0)
    finally:
        router.remove_listener(slow)
        router.remove_listener(quick)
    assert sorted(got) == ["async:ok", "sync:ok"]


async def test_a_failing_listener_is_logged_and_never_breaks_the_call(emu, ledger, caplog) -> None:
    def broken(record: tracking.CallRecord) -> None:
        raise RuntimeError("dashboard down")

    async def broken_async(record: tracking.CallRecord) -> None:
        raise RuntimeError("async dashboard down")

    router.add_listener(broken)
    router.add_listener(broken_async)
    try:
        with caplog.at_level(logging.ERROR, logger="farebox"):
            resp = await router.acompletion("minimax/MiniMax-M3", HI, **minimax(emu))
            for _ in range(5):
                await asyncio.sleep(0)
    finally:
        router.remove_listener(broken)
        router.remove_listener(broken_async)
    assert resp.choices[0].message.content
    text = caplog.text
    assert "dashboard down" in text and "async dashboard down" in text and "listener" in text
    assert len(ledger_rows(ledger)) == 1


def test_the_api_key_never_reaches_the_ledger(emu, ledger, records) -> None:
    router.completion("minimax/MiniMax-M3", HI, metadata={"team": "x"}, **minimax(emu))
    emu.fault(vendor="minimax", status=401)
    with pytest.raises(AuthenticationError):
        router.completion("minimax/MiniMax-M3", HI, **minimax(emu))
    tracking.flush()
    for name in (ledger, ledger.with_name(ledger.name + "-wal")):
        if name.exists():
            assert KEY.encode() not in name.read_bytes()
    assert all(KEY not in repr(r.as_dict()) for r in records)


def test_tracking_off_records_nothing(emu, tmp_path, records, monkeypatch) -> None:
    path = tmp_path / "off.sqlite"
    monkeypatch.setenv("FAREBOX_LEDGER", str(path))
    monkeypatch.setenv("FAREBOX_TRACKING", "off")
    tracking.reset()
    try:
        router.completion("minimax/MiniMax-M3", HI, **minimax(emu))
    finally:
        monkeypatch.delenv("FAREBOX_TRACKING")
        tracking.reset()
    assert records == [] and not path.exists()


def test_ledger_false_keeps_listeners_without_a_file(emu, tmp_path, records) -> None:
    tracking.configure(ledger=False)
    try:
        router.completion("minimax/MiniMax-M3", HI, **minimax(emu))
    finally:
        tracking.reset()
    assert [r.status for r in records] == ["ok"]


def test_configure_rejects_an_unknown_mode() -> None:
    with pytest.raises(ConfigError, match="tracking must be one of"):
        tracking.configure(tracking="sometimes")  # type: ignore[arg-type]


def test_metadata_that_is_not_a_mapping_is_kept_as_one_tag(emu, ledger, records) -> None:
    router.completion("minimax/MiniMax-M3", HI, metadata=["a", "b"], **minimax(emu))  # type: ignore[arg-type]
    assert records[0].tags == {"metadata": ["a", "b"]}
    assert ledger_rows(ledger)[0]["tags"] == '{"metadata":["a","b"]}'



class _Ledger:
    def __init__(self) -> None:
        self.rows: list[Any] = []

    def write_here(self, row: Any) -> None:
        self.rows.append(row)


def test_a_sync_callers_handoff_is_written_once_and_refused_after_the_caller_stopped_waiting() -> None:
    # The loop side take()s the row; the caller's thread commit()s it. A take() after the caller's thread
    # finished (or was interrupted) is refused, so the tracer queues the row for the writer instead.
    ledger, done = _Ledger(), []
    box = tracking.Handoff()
    assert box.take(ledger, ("row",), done.append, True)
    box.commit("answer")
    box.commit("answer")
    assert ledger.rows == [("row",)] and done == [None]
    assert not box.take(ledger, ("again",), done.append, True)
    late = tracking.Handoff()
    late.commit()
    assert not late.take(ledger, ("row",), done.append, True) and ledger.rows == [("row",)]
