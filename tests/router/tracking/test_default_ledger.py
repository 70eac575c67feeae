"""The implicit default ledger is best-effort (one warning, calls go on); a configured ledger stays strict."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import router
from router import errors, tracking
from router.emulator import Emulator
from tests.conftest import KEY

HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def unwritable_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be: even root cannot mkdir under it")
    monkeypatch.delenv("FAREBOX_LEDGER", raising=False)
    monkeypatch.delenv("FAREBOX_TRACKING", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    tracking.reset()
    yield blocker
    tracking.reset()


def test_default_ledger_that_cannot_open_warns_once_and_calls_go_on(emu: Emulator, unwritable_home: Path,
                                                                    caplog: pytest.LogCaptureFixture,
                                                                    records: list[Any]) -> None:
    kw = {"api_key": KEY, "base_url": emu.base_url("openai")}
    with caplog.at_level(logging.WARNING, logger="farebox"):
        first = router.completion("openai/gpt-5.1", HI, **kw)
        second = router.completion("openai/gpt-5.1", HI, **kw)
    assert first.choices[0].message.content and second.choices[0].message.content
    warnings = [r for r in caplog.records if "ledger" in r.getMessage()]
    assert len(warnings) == 1 and str(unwritable_home) in warnings[0].getMessage()
    assert [r.status for r in records] == ["ok", "ok"]  # listeners still get every record


def test_a_configured_ledger_stays_strict(emu: Emulator, unwritable_home: Path) -> None:
    with pytest.raises(errors.LedgerError):
        tracking.configure(ledger=unwritable_home / "ledger.sqlite")
    assert emu.requests == []


def test_ledger_from_the_environment_stays_strict(emu: Emulator, unwritable_home: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAREBOX_LEDGER", str(unwritable_home / "ledger.sqlite"))
    tracking.reset()
    with pytest.raises(errors.LedgerError):
        router.completion("openai/gpt-5.1", HI, api_key=KEY, base_url=emu.base_url("openai"))
    assert emu.requests == []
