"""The emulator's per-vendor facts are its profiles (router/emulator/profiles.py): a vendor is one entry."""

from __future__ import annotations

import ast
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from router.emulator import Emulator, emulator, profiles
from router.emulator import errors as emu_errors
from router.emulator.profiles import PROFILES, Profile
from router.emulator.validate import Auth, Reject

EMULATOR = Path(emulator.__file__).parent
KEY = "sk-acme-0123456789abcdef"


def _post(url: str, body: dict[str, Any], key: str | None = KEY) -> tuple[int, dict[str, Any]]:
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(url + "/chat/completions", json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> Profile:
    entry = Profile(
        name="acme", openai_base="/v1", anthropic_base=None, models=("acme-1", "acme-1-vision"),
        models_endpoint=True, show_reasoning=True, thinks=lambda body, surface: False,
        chat_id=lambda d: f"chatcmpl-{d[:12]}", tool_id=lambda d, name: f"call_{d[:12]}",
        errors=emu_errors.ZHIPU,                                  # numeric string codes, code -> status
        auth=Auth(missing=Reject(401, None, 1001), wrong_code=1002),
        text_only=lambda model: "vision" not in model,
        no_images=Reject(400, "acme-1 reads text only", 1210),
    )
    monkeypatch.setitem(PROFILES, "acme", entry)
    return entry


def test_a_new_vendor_is_served_from_its_profile_entry_alone(emu: Emulator, acme: Profile) -> None:
    base = emu.base_url("acme")
    hi = {"model": "acme-1", "messages": [{"role": "user", "content": "Hi"}]}
    status, reply = _post(base, hi)
    assert status == 200 and reply["id"].startswith("chatcmpl-") and reply["choices"][0]["message"]["content"]
    # Its auth answers, its error envelope (Zhipu-shaped: a string code), its image refusal, its code -> status.
    assert _post(base, hi, key=None) == (401, {"error": {"code": "1001",
                                                         "message": "Authentication parameter not received in header"}})
    image = {"model": "acme-1", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]}
    assert _post(base, image) == (400, {"error": {"code": "1210", "message": "acme-1 reads text only"}})
    assert _post(base, {**image, "model": "acme-1-vision"})[0] == 200
    emu.fault(vendor="acme", vendor_code=1302)
    status, reply = _post(base, hi)
    assert (status, reply["error"]["code"]) == (429, "1302")
    assert [r.vendor for r in emu.requests] == ["acme"] * 5


def test_the_shared_checks_and_envelopes_never_branch_on_a_vendor_name() -> None:
    # Per-vendor facts live in the profile entries; the modules that check and answer read them, never
    # `profile == "x"`.
    names = set(PROFILES)
    for module in ("errors.py", "validate.py", "respond.py", "openai_wire.py"):
        tree = ast.parse((EMULATOR / module).read_text(encoding="utf-8"))
        compared = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Compare)
                    and ast.unparse(node.left).endswith(("profile", ".name"))  # the vendor's identity, not a field
                    and any(isinstance(c, ast.Constant) and c.value in names for c in node.comparators)]
        assert compared == [], module


def test_a_profile_that_refuses_images_says_how() -> None:
    for profile in PROFILES.values():
        assert isinstance(profile.errors, emu_errors.ErrorStyle) and isinstance(profile.auth, Auth), profile.name
        assert profile.no_images is not None or profile.text_only is profiles._never, profile.name
