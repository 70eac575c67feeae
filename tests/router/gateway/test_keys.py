"""Virtual keys: the CLI and the admin API make them; no key, revoked, wrong model, rpm and budget are refused
before any vendor request; only a hash is stored; the client's vendor headers never reach a vendor."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

import openai
import pytest

from router.emulator.records import key_fingerprint
from router.gateway.keys import hash_key
from tests.router.gateway.conftest import MASTER, committed, make_gateway

HI = [{"role": "user", "content": "Hi"}]


def oa(gateway: Any, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)


def http(gateway: Any, method: str, path: str, body: Any = None, key: str | None = MASTER) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(gateway.url + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_cli_keys_create_list_revoke_against_a_running_gateway(emu: Any, ledger: Any) -> None:
    env_ledger = ["--ledger", str(ledger)]
    made = subprocess.run([sys.executable, "-m", "router", "keys", "create", "--budget", "10", "--period", "month",
                           "--models", "smart,cheap", "--rpm", "60", "--tag", "team=ml", "--json", *env_ledger],
                          capture_output=True, text=True, timeout=60, check=True)
    info = json.loads(made.stdout)
    raw = info["key"]
    assert raw.startswith("fb-") and info["models"] == ["smart", "cheap"] and info["tags"] == {"team": "ml"}
    listed = subprocess.run([sys.executable, "-m", "router", "keys", "list", *env_ledger], capture_output=True,
                            text=True, timeout=60, check=True).stdout
    assert info["id"] in listed and raw not in listed and "team=ml" in listed
    # Stored hashed, never in clear: the raw key appears nowhere in the database file.
    assert raw.encode() not in ledger.read_bytes()
    with sqlite3.connect(ledger) as conn:
        assert conn.execute("SELECT key_hash FROM gateway_keys").fetchone()[0] == hash_key(raw)
    with make_gateway(emu, key_cache_s=0) as gw:
        resp = oa(gw, raw).chat.completions.create(model="cheap", messages=HI)
        assert resp.choices[0].message.content
        row = committed(ledger)[-1]
        assert json.loads(row["tags"]) == {"team": "ml", "key_id": info["id"]}
        subprocess.run([sys.executable, "-m", "router", "keys", "revoke", info["id"], *env_ledger], check=True,
                       capture_output=True, timeout=60)
        before = len(emu.requests)
        with pytest.raises(openai.AuthenticationError):
            oa(gw, raw).chat.completions.create(model="cheap", messages=HI)
        assert len(emu.requests) == before


def test_admin_api_needs_the_master_key(gateway: Any) -> None:
    status, made = http(gateway, "POST", "/admin/keys", {"models": ["cheap"], "tags": {"team": "web"}})
    assert status == 201 and made["key"].startswith("fb-")
    status, body = http(gateway, "POST", "/admin/keys", {"models": ["cheap"]}, key=made["key"])
    assert status == 403 and body["error"]["code"] == "master_key_required"
    status, body = http(gateway, "GET", "/admin/keys", key=None)
    assert status == 401 and body["error"]["type"] == "authentication_error"
    status, listing = http(gateway, "GET", "/admin/keys")
    assert [k["id"] for k in listing["data"]] == [made["id"]] and "key" not in listing["data"][0]
    status, body = http(gateway, "POST", "/admin/keys", {"budget": -1})
    assert status == 400 and "budget" in body["error"]["message"]
    status, revoked = http(gateway, "DELETE", f"/admin/keys/{made['id']}")
    assert status == 200 and revoked["revoked"]
    with pytest.raises(openai.AuthenticationError):
        oa(gateway, made["key"]).chat.completions.create(model="cheap", messages=HI)
    assert http(gateway, "DELETE", "/admin/keys/key_nope")[0] == 404


def test_refusals_come_before_any_vendor_request(gateway: Any, store: Any, emu: Any) -> None:
    raw, _ = store.create(models=["cheap"], rpm=2)
    status, body = http(gateway, "POST", "/v1/chat/completions", {"model": "cheap", "messages": HI}, key=None)
    assert status == 401 and body["error"]["code"] == "missing_api_key"
    with pytest.raises(openai.PermissionDeniedError) as denied:
        oa(gateway, raw).chat.completions.create(model="smart", messages=HI)
    assert denied.value.body["code"] == "model_not_allowed"
    assert emu.requests == []
    assert [m.id for m in oa(gateway, raw).models.list()] == ["cheap"]
    for _ in range(2):
        oa(gateway, raw).chat.completions.create(model="cheap", messages=HI)
    with pytest.raises(openai.RateLimitError) as limited:
        oa(gateway, raw).chat.completions.create(model="cheap", messages=HI)
    assert limited.value.body["code"] == "rate_limit_exceeded"
    assert 1 <= int(limited.value.response.headers["retry-after"]) <= 60
    assert len(emu.requests) == 2


def test_budget_is_enforced_with_retry_after_until_the_period_ends(gateway: Any, store: Any, emu: Any) -> None:
    raw, key = store.create(budget="0.000005", period="day")
    oa(gateway, raw).chat.completions.create(model="cheap", messages=HI)   # ~$0.0000055: now over
    with pytest.raises(openai.RateLimitError) as info:
        oa(gateway, raw).chat.completions.create(model="cheap", messages=HI)
    assert info.value.body["code"] == "budget_exceeded" and "0.000005" in info.value.body["message"]
    assert 0 < int(info.value.response.headers["retry-after"]) <= 86400
    assert len(emu.requests) == 1
    rows = committed(gateway.ledger)   # first: the record is committed a moment after the answer
    assert store.spent(key.id, 0) == Decimal(rows[0]["cost_total"])


def test_client_vendor_headers_are_not_forwarded(gateway: Any, emu: Any) -> None:
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=MASTER, max_retries=0,
                           default_headers={"anthropic-beta": "evil-beta", "openai-organization": "org-evil",
                                            "x-api-key": "sk-client-vendor-key", "anthropic-version": "1999-01-01"})
    client.chat.completions.create(model="claude", messages=HI)
    rec = emu.last_request("anthropic")
    assert rec.key_fingerprint == key_fingerprint("sk-ant-demo-key")   # the server's own vendor key
    assert rec.headers.get("anthropic-beta") is None and "openai-organization" not in rec.headers
    assert rec.headers["anthropic-version"] != "1999-01-01"
    assert "evil" not in json.dumps(rec.headers) and MASTER not in json.dumps(rec.headers)


def test_a_budget_refresh_never_forgets_this_process_s_own_uncommitted_calls(store: Any) -> None:
    """Records are committed a moment after their answers: re-reading the ledger before then must not drop a
    key's spend below what this process already counted (the budget would let the next calls through)."""
    import asyncio
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from router.gateway.guard import LocalLimits

    _, key = store.create(budget="1", period="day")
    limits = LocalLimits(store, refresh_s=0)   # re-read the ledger at every check
    now = datetime.now(UTC)
    assert asyncio.run(limits.spent(key, now)) == 0
    limits.record(SimpleNamespace(tags={"key_id": key.id}, cost=SimpleNamespace(total=Decimal("0.25"))))
    assert asyncio.run(limits.spent(key, now)) == Decimal("0.25")   # the ledger has no row yet: the count stays
    limits.record(SimpleNamespace(tags={"key_id": key.id}, cost=SimpleNamespace(total=Decimal("0.5"))))
    assert asyncio.run(limits.spent(key, now)) == Decimal("0.75")
