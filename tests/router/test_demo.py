"""`python -m router demo`: the offline main job of the README, run as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_routes_with_a_fallback_prints_answers_and_costs_and_leaves_no_ledger(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("FAREBOX_LEDGER", None)
    done = subprocess.run([sys.executable, "-m", "router", "demo"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "attempt 1: minimax/MiniMax-M3 status 429 -> InsufficientBalanceError (vendor code 1008)" in out
    assert "attempt 2: deepseek/deepseek-v4-flash status 200 -> ok" in out
    assert "answer (deepseek/deepseek-v4-flash): Hello from the deepseek emulator" in out
    assert "estimated with tiktoken" in out and "estimated: True" in out
    assert out.count("cost: $") == 2
    assert "deepseek/deepseek-v4-flash: 1 call(s), 0 failed, 1 fallback(s)" in out
    assert not (tmp_path / "data").exists() and not (tmp_path / ".local").exists()  # the user's ledger is untouched
    assert "sk-api-demo-minimax-key" not in out + done.stderr
