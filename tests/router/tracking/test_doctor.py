"""`python -m router doctor` on real servers: reachable, latency, schema version, spool; exit 1 when one is down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pricing
from router.tracking import CallRecord
from router.tracking import ledger as ledger_mod
from router.tracking.ledger_pg_sql import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[3]


def doctor(*args: str, env: dict[str, str]) -> tuple[int, dict]:
    out = subprocess.run([sys.executable, "-m", "router", "doctor", "--json", *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={**os.environ, **env})
    return out.returncode, json.loads(out.stdout)


def test_doctor_reports_each_backend_and_the_spool(redis_clean, postgres_fresh, tmp_path) -> None:
    env = {"FAREBOX_SPOOL": str(tmp_path / "spool")}
    os.environ.update(env)
    try:
        led = ledger_mod.get(postgres_fresh.url)
        led.open()
        code, report = doctor("--state", redis_clean.url, "--ledger", postgres_fresh.url, env=env)
        assert code == 0
        assert report["state"]["reachable"] and report["state"]["backend"] == "redis"
        assert report["ledger"]["reachable"] and report["ledger"]["schema_version"] == SCHEMA_VERSION
        assert report["ledger"]["spool_bytes"] == 0
        postgres_fresh.kill()
        cost = pricing.cost("openai/gpt-4o-mini", {"prompt_tokens": 10, "completion_tokens": 1})
        led.submit(CallRecord(ts=1.0, vendor="openai", model="gpt-4o-mini", status="ok", cost=cost).to_row())
        led.flush()
        code, report = doctor("--ledger", postgres_fresh.url, env=env)
        assert code == 1 and not report["ledger"]["reachable"]
        assert report["ledger"]["spool_files"] == 1 and report["ledger"]["spool_bytes"] > 0
        assert report["state"]["backend"] == "local"
    finally:
        ledger_mod.close_all()
        for key in env:
            os.environ.pop(key, None)
