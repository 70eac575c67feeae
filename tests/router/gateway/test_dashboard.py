"""The spend dashboard in a real headless Chromium: it loads offline, its charts draw the ledger's numbers (as
/spend gives them), a virtual key sees only its own spend, and the screenshot (docs/dashboard.png) is not blank."""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import time
import urllib.request
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai

from router.tracking.ledger_file import insert_many
from router.tracking.record import CallRecord
from tests.router.gateway.conftest import MASTER

ROOT = Path(__file__).resolve().parents[3]
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
HI = [{"role": "user", "content": "Hi"}]


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit PNG, unfiltered: enough to tell a blank image."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def history(ledger: Path, key_ids: list[str]) -> None:
    """Earlier days' calls, written as the ledger writes them (CallRecord.to_row), so the chart has a history."""
    import pricing

    rows = []
    for days_ago in range(1, 6):
        for n, (vendor, model, key, team) in enumerate([("deepseek", "deepseek-v4-flash", key_ids[0], "ml"),
                                                        ("minimax", "MiniMax-M3", key_ids[1], "web")]):
            usage = {"prompt_tokens": 4000 * days_ago + 900 * n, "completion_tokens": 1500 + 700 * days_ago}
            rec = CallRecord(ts=time.time() - 86400 * days_ago, vendor=vendor, model=model, status="ok",
                             alias="cheap" if n == 0 else "smart", attempts=1, cost=pricing.cost(f"{vendor}/{model}",
                                                                                                 usage),
                             prompt_tokens=usage["prompt_tokens"], completion_tokens=usage["completion_tokens"],
                             tags={"key_id": key, "team": team})
            rows.append(rec.to_row())
    with sqlite3.connect(ledger) as conn:
        for row in rows:
            conn.execute(insert_many(1), row)


def spend(gateway: Any, by: str, key: str = MASTER) -> dict[str, Any]:
    req = urllib.request.Request(f"{gateway.url}/spend?by={by}&since=7d", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def drawn(page: Any, chart: str) -> dict[tuple[str, ...], str]:
    return {tuple(filter(None, (r["x"], r["label"]))): r["value"] for r in page.eval_on_selector_all(
        f"#{chart} rect[data-value]",
        "els => els.map(e => ({x: e.dataset.x || '', label: e.dataset.label, value: e.dataset.value}))")}


def test_dashboard_draws_the_ledgers_numbers_offline(gateway: Any, store: Any, emu: Any, chromium: str,
                                                     monkeypatch: Any, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-browsers"))
    ml, ml_key = store.create(tags={"team": "ml"}, name="ml")
    web, web_key = store.create(tags={"team": "web"}, name="web")
    for key, model, times in ((ml, "cheap", 3), (ml, "smart", 1), (web, "claude", 2), (web, "smart", 1)):
        client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)
        for _ in range(times):
            client.chat.completions.create(model=model, messages=HI)
    emu.fault(vendor="minimax", vendor_code=1008, status=429)   # one fallback
    openai.OpenAI(base_url=gateway.url + "/v1", api_key=web, max_retries=0).chat.completions.create(
        model="smart", messages=HI)
    emu.fault(vendor="deepseek", status=400)   # one failure, no fallback for a bad request
    try:
        openai.OpenAI(base_url=gateway.url + "/v1", api_key=ml, max_retries=0).chat.completions.create(
            model="cheap", messages=HI)
    except openai.BadRequestError:
        pass
    history(gateway.ledger, [ml_key.id, web_key.id])

    expected = {name: spend(gateway, name) for name in ("day,model", "vendor", "key", "tag:team", "day")}
    assert len(expected["day,model"]["rows"]) >= 10 and expected["day,model"]["total"]["fallbacks"] == 1
    assert expected["day,model"]["total"]["failures"] == 1
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{gateway.url}/dashboard?token={MASTER}")
            assert page.url == f"{gateway.url}/dashboard"   # the token went into a cookie, out of the address
            page.wait_for_selector("body[data-ready='1']", timeout=15000)
            assert "error" not in (page.text_content("#status") or "").lower()
            day_model = {(r["day"], r["model"]): r["cost"] for r in expected["day,model"]["rows"]}
            assert drawn(page, "chart-day-model") == day_model
            assert drawn(page, "chart-vendor") == {(r["vendor"],): r["cost"] for r in expected["vendor"]["rows"]}
            assert drawn(page, "chart-key") == {(r["key"],): r["cost"] for r in expected["key"]["rows"]}
            assert drawn(page, "chart-tag") == {(r["tag:team"],): r["cost"] for r in expected["tag:team"]["rows"]}
            health = drawn(page, "chart-health")
            for kind in ("fallbacks", "failures"):
                assert sum(int(v) for k, v in health.items() if k[1] == kind) == 1
            assert sum(int(v) for k, v in health.items() if k[1] == "calls") == expected["day"]["total"]["calls"]
            assert "ml" in page.text_content("#chart-key")   # keys shown by name
            assert page.get_attribute("#total-cost", "data-value") == expected["day,model"]["total"]["cost"]
            assert Decimal(expected["day,model"]["total"]["cost"]) == sum(
                (Decimal(r["cost"]) for r in expected["vendor"]["rows"]), Decimal(0))
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            published = ROOT / "docs" / "dashboard.png"
            if os.environ.get("FAREBOX_UPDATE_SCREENSHOTS") == "1" or not published.exists():
                published.write_bytes(shot.read_bytes())   # README's picture; refresh on demand, not every run

            # A virtual key sees its own spend only.
            mine = browser.new_page()
            mine.goto(f"{gateway.url}/dashboard?token={ml}")
            mine.wait_for_selector("body[data-ready='1']", timeout=15000)
            assert set(drawn(mine, "chart-key")) == {(ml_key.id,)}
            assert mine.get_attribute("#total-cost", "data-value") == spend(gateway, "day", ml)["total"]["cost"]
            anonymous = browser.new_page()
            assert anonymous.goto(f"{gateway.url}/dashboard").status == 401
        finally:
            browser.close()
    assert requests and all(u.startswith(gateway.url) for u in requests), requests   # offline: no CDN
    assert not (tmp_path / "no-browsers").exists()
    width, height, rows = png_pixels(shot.read_bytes())
    assert width == 1280 and height >= 900
    pixels = [row[i:i + 3] for row in rows[::7] for i in range(0, len(row), 3 * 11)]
    distinct = set(pixels)
    assert len(distinct) > 50   # charts in several colours, not a blank page
    mean = sum(sum(p) for p in pixels) / (3 * len(pixels))
    variance = sum((sum(p) / 3 - mean) ** 2 for p in pixels) / len(pixels)
    assert variance > 100, variance
