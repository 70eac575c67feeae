"""`python -m router` / `farebox`: each subcommand run as a user would, in a subprocess."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from pricing.cost import money
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
