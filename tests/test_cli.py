"""`python -m router` / `farebox`: each subcommand run as a user would, in a subprocess."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pricing.cost import money
from router import cli
from router.emulator import Emulator
from tests.conftest import KEY
from tests.router.tracking.test_spending import seed

ROOT = Path(__file__).resolve().parents[1]


def farebox(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "router", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout, check=False)


# ── money: one formatter for the CLI and the demo ──────────────────────────────────────────────────
def test_money_is_six_places_half_up_and_never_shows_a_charge_as_free() -> None:
    assert money(None) == "unpriced"
    assert money(Decimal("0.0004505")) == "$0.000451"
    assert money(Decimal("0.0000001")) == "<$0.000001"
    assert money(Decimal(0)) == "$0.000000"


def test_price_prints_the_breakdown_with_the_shared_money_format() -> None:
    out = farebox("price", "deepseek/deepseek-v4-flash", "--input", "1000", "--output", "500")
    assert out.returncode == 0, out.stderr
    parts = dict(re.findall(r"^  (\w+)\s+(\$\S+)$", out.stdout, re.M))
    assert parts["total"] == money(Decimal(parts["input"][1:]) + Decimal(parts["output"][1:]))
    assert all(re.fullmatch(r"\$\d+\.\d{6}", v) for v in parts.values()), parts


# ── effort ─────────────────────────────────────────────────────────────────────────────────────────
def test_effort_prints_levels_default_and_fragment() -> None:
    out = farebox("effort", "minimax/MiniMax-M3", "high")
    assert out.returncode == 0, out.stderr
    assert "auto|adaptive|disabled" in out.stdout
    assert re.search(r"\bdefault adaptive\b", out.stdout)
    found = re.search(r"on the wire: (\{.*?\})(?:;|$)", out.stdout, re.M)
    assert found, out.stdout
    assert json.loads(found.group(1)) == {"thinking": {"type": "adaptive"}}
    assert "reasoning_effort" in out.stdout             # listed as never sent


def test_effort_rejects_a_garbage_level_with_the_levels() -> None:
    out = farebox("effort", "minimax/MiniMax-M3", "turbo")
    assert out.returncode != 0
    assert "auto|adaptive|disabled" in out.stderr + out.stdout


# ── spend ──────────────────────────────────────────────────────────────────────────────────────────
def spend(path: Path, *args: str) -> str:
    proc = farebox("spend", *args, env={**os.environ, "FAREBOX_LEDGER": str(path)}, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_spend_by_model_in_json_csv_and_table(ledger: Path) -> None:
    records = seed(ledger)
    expected = {m: sum((r.cost.total for r in records if r.model == m and r.cost), Decimal(0))
                for m in ("gpt-4o-mini", "deepseek-v4-flash")}
    data = json.loads(spend(ledger, "--by", "model", "--since", "7d", "--format", "json"))
    assert {d["model"]: Decimal(d["cost"]) for d in data} == expected
    assert {d["model"]: d["calls"] for d in data} == {"gpt-4o-mini": 3, "deepseek-v4-flash": 2}

    rows = list(csv.DictReader(io.StringIO(spend(ledger, "--by", "model,tag:team", "--format", "csv"))))
    assert {(r["model"], r["tag:team"]) for r in rows} == {("gpt-4o-mini", "ml"), ("gpt-4o-mini", "web"),
                                                          ("deepseek-v4-flash", "ml"), ("deepseek-v4-flash", "web")}
    assert sum(Decimal(r["cost"]) for r in rows) == sum(expected.values())

    table = spend(ledger, "--by", "model")
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["model", "calls", "failures"] and lines[-1].split()[:3] == ["total", "5", "1"]
    assert money(sum(expected.values())) in lines[-1]
    assert KEY not in table


def test_spend_without_a_ledger_says_so(tmp_path: Path) -> None:
    out = spend(tmp_path / "missing.sqlite", "--since", "7d")
    assert "no calls recorded" in out and not (tmp_path / "missing.sqlite").exists()


# ── demo ───────────────────────────────────────────────────────────────────────────────────────────
def test_demo_routes_with_a_fallback_prints_answers_and_costs_and_leaves_no_ledger(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("FAREBOX_LEDGER", None)
    done = farebox("demo", env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "attempt 1: minimax/MiniMax-M3 status 429 -> InsufficientBalanceError (vendor code 1008)" in out
    assert "attempt 2: deepseek/deepseek-v4-flash status 200 -> ok" in out
    assert "answer (deepseek/deepseek-v4-flash): Hello from the deepseek emulator" in out
    assert "estimated with tiktoken" in out and "estimated: True" in out
    assert out.count("cost: $") == 2
    assert re.search(r"cost: \$\d+\.\d{6} = input \$\d+\.\d{6} ", out)  # the shared six-place format
    assert "deepseek/deepseek-v4-flash: 1 call(s), 0 failed, 1 fallback(s)" in out
    assert not (tmp_path / "data").exists() and not (tmp_path / ".local").exists()  # the user's ledger is untouched
    assert "sk-api-demo-minimax-key" not in out + done.stderr


# -- issue 12: one error line, help on every option, stdout vs stderr (in-process via cli.main) ------------




def run(capsys: Any, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse's own exits (--version, usage errors)
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("argv", [
    ["price", "openai/gpt-4o-mini", "--input", "-5"],
    ["price", "openai/gpt-4o-mini", "--output", "5", "--reasoning", "10"],
    ["price", "openai/gpt-4o-mini", "--input", "5", "--cached", "10"],
    ["price", "openai/gpt-4o-mini", "--input", "five"],
    ["price", "nosuch/model", "--input", "1"],
    ["emulator", "--port", "99999"],
    ["models", "nosuch"],
    ["effort", "openai/gpt-5.1", "hotter"],
    ["complete", "-m", "openai/gpt-5.1", "hi", "--max-tokens", "0"],
    ["complete", "-m", "nosuch/model", "hi"],
    ["spend", "--since", "yesterday-ish"],
    ["nosuchcommand"],
])
def test_one_error_line_never_a_traceback(capsys: Any, argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""  # `models nosuch` prints only the error, no table header
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err


def test_version(capsys: Any) -> None:
    import router

    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"farebox {router.__version__}"


def _actions(parser: argparse.ArgumentParser, where: str = "farebox") -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _actions(sub, f"{where} {name}")
        elif not isinstance(action, argparse._HelpAction):
            found.append((where, action))
    return found


def test_every_option_has_help() -> None:
    missing = [f"{where} {a.option_strings or a.dest}" for where, a in _actions(cli.build_parser()) if not a.help]
    assert missing == []


def test_complete_answer_on_stdout_cost_on_stderr(capsys: Any, emu: Emulator) -> None:
    code, out, err = run(capsys, "complete", "-m", "openai/gpt-5.1", "--api-key", KEY, "--api-base",
                         emu.base_url("openai"), "Hi")
    assert code == 0
    assert out == "Hello from the openai emulator (gpt-5.1). You said: Hi\n"
    assert err.startswith("-- openai/gpt-5.1:") and "cost $" in err
    assert emu.last_request().key_fingerprint is not None and KEY not in out + err


def test_complete_stream_and_json(capsys: Any, emu: Emulator) -> None:
    code, out, err = run(capsys, "complete", "-m", "openai/gpt-5.1", "--api-key", KEY, "--base-url",
                         emu.base_url("openai"), "--stream", "Hi")
    assert code == 0 and out.endswith("You said: Hi\n") and "cost" in err
    code, out, err = run(capsys, "complete", "-m", "openai/gpt-5.1", "--api-key", KEY, "--base-url",
                         emu.base_url("openai"), "--json", "Hi")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["choices"][0]["message"]["content"].endswith("You said: Hi") and data["cost"]["total"]


def test_spend_labels_its_total_and_prints_no_duplicate_rows(capsys: Any, emu: Emulator, ledger: Path) -> None:
    import router

    for model in ("openai/gpt-5.1", "openai/gpt-4o-mini"):
        router.completion(model, [{"role": "user", "content": "Hi"}], api_key=KEY, base_url=emu.base_url("openai"))
    code, out, _ = run(capsys, "spend", "--ledger", str(ledger))
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 2 and lines[1].startswith("total") and " 2 " in lines[1]
    code, out, _ = run(capsys, "spend", "--ledger", str(ledger), "--by", "model")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 4 and lines[-1].startswith("total")
    assert len(set(lines)) == len(lines)
    code, out, _ = run(capsys, "spend", "--ledger", str(ledger), "--by", "vendor")
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("openai")  # one group: no total row repeating it


def test_metrics_serve_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from router import errors
    from router.tracking import metrics

    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if the extra were not installed
    with pytest.raises(errors.ConfigError, match=r"pip install 'farebox\[metrics\]'"):
        metrics.serve(0)


def test_subprocess_error_is_one_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "router", "price", "openai/gpt-4o-mini", "--input", "-5"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == ["error: --input is -5: token counts are 0 or more"]
