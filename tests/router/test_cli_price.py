"""`python -m router price`: pricing at a past instant, impossible mixes refused in one line, one rounding rule."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

import pricing
from pricing.cost import usd
from router.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["price", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_price_at_a_past_instant_uses_that_row_and_window(capsys) -> None:
    code, out, _ = run(capsys, "deepseek-v4-pro", "--input", "1000000", "--cached", "200000", "--output", "100000",
                       "--at", "2026-11-30T02:00Z")
    assert code == 0
    assert "at 2026-11-30 02:00 UTC, peak window" in out and "input $1.32" in out
    assert out.splitlines()[-1].split() == ["total", "$1.460800"]
    code, out, _ = run(capsys, "deepseek-v4-pro", "--input", "1000", "--at", "2026-08-01T12:00Z")
    assert "input $0.435" in out and "window" not in out.splitlines()[1]   # before peak pricing existed


def test_json_is_exact_and_carries_the_provenance(capsys) -> None:
    code, out, _ = run(capsys, "openai/gpt-5-nano", "--input", "10", "--json")
    data = json.loads(out)
    assert code == 0 and Decimal(data["cost"]["total"]) == Decimal("0.0000005")   # exact, not rounded
    assert data["cost"]["source"] == data["price"]["source"] and data["cost"]["checked"] == "2026-11-21"
    code, out, _ = run(capsys, "deepseek-flash", "--input", "100", "--at", "2026-11-30T03:00", "--json")
    cost = json.loads(out)["cost"]
    assert (cost["window"], cost["at"], Decimal(cost["total"])) == ("peak", "2026-11-30T03:00:00Z", Decimal("0.00003"))


def test_display_and_cli_round_the_same_way(capsys) -> None:
    # 10 x 0.05 per million = $0.0000005: half-up to $0.000001 in both, never $0.000000
    cost = pricing.cost("openai/gpt-5-nano", {"prompt_tokens": 10})
    _, out, _ = run(capsys, "openai/gpt-5-nano", "--input", "10")
    assert cost.display() == "$0.000001"
    assert out.splitlines()[-1].split() == ["total", cost.display()]
    assert f"input        {usd(cost.input)}" in out
    # below half a millionth: shown as less than one, not as free
    assert usd(Decimal("0.0000001")) == "<$0.000001" and usd(Decimal(0)) == "$0.000000"
    assert pricing.cost("deepseek-flash", {"prompt_tokens": 1}).display() == "<$0.000001"


@pytest.mark.parametrize(("args", "message"), [
    (["--input", "100", "--cached", "200"], "--cached (200) + --cache-write (0) exceed --input (100)"),
    (["--input", "100", "--cached", "60", "--cache-write", "50"], "exceed --input (100)"),
    (["--input", "100", "--cache-write", "5", "--cache-write-1h", "6"], "--cache-write-1h (6) exceeds"),
    (["--output", "3", "--reasoning", "4"], "--reasoning (4) exceeds --output (3)"),
    (["--input", "-3"], "--input is -3"),
])
def test_impossible_mixes_are_one_error_line(capsys, args: list[str], message: str) -> None:
    code, out, err = run(capsys, "anthropic/claude-sonnet-4-5", *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and message in err


def test_unknown_model_and_unpriced_service_tier_are_one_line(capsys) -> None:
    code, _, err = run(capsys, "nosuch-model-x", "--input", "1")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "load_overrides" in err
    code, _, err = run(capsys, "MiniMax-M3", "--input", "1", "--service-tier", "batch")
    assert code == 2 and "no 'batch' service-tier price" in err
