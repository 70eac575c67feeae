"""Image parts are checked against the catalogue's vision capability before sending (issue 14 item 5); the
emulator refuses them for text models as the vendors do (research/wire.md §5)."""

from __future__ import annotations

from typing import Any

import pytest

import router
import vendors
from router.emulator import Emulator
from vendors import errors as e

KEY = "sk-vision-0123456789abcdef"
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
LOOK = [{"role": "user", "content": [{"type": "text", "text": "what is this?"}, IMAGE]}]


def call(emu: Emulator, model: str, *, surface: str | None = None, **kw: Any) -> Any:
    vendor = model.split("/")[0]
    base = emu.base_url(vendor, surface) if surface else emu.base_url(vendor)
    return router.completion(model, LOOK, api_key=KEY, base_url=base, num_retries=0, **kw)


@pytest.mark.parametrize(("model", "suggests"), [
    ("zhipu/glm-5.2", "no zhipu model"),
    ("zhipu/glm-5.3", "no zhipu model"),
    ("deepseek/deepseek-v4-pro", "deepseek-flash"),
    ("minimax/MiniMax-M2.7", "MiniMax-M3"),
])
def test_text_models_refuse_images_before_sending(emu: Emulator, model: str, suggests: str) -> None:
    with pytest.raises(e.UnsupportedParamError) as info:
        call(emu, model)
    err = info.value
    assert err.model == model.split("/")[1] and "does not take image input" in str(err)
    assert "messages[0].content[1]" in str(err) and suggests in (err.hint or "")
    assert emu.requests == []
    with pytest.raises(e.UnsupportedParamError):      # drop_params never drops a message's images
        call(emu, model, drop_params=True)


@pytest.mark.parametrize("model", ["deepseek/deepseek-flash", "minimax/MiniMax-M3", "moonshot/kimi-k2.6",
                                   "openai/gpt-5.1", "anthropic/claude-sonnet-4-6"])
def test_vision_models_get_their_images(emu: Emulator, model: str) -> None:
    resp = call(emu, model, max_tokens=100)
    assert resp.choices[0].message.content
    sent = emu.last_request().body["messages"][0]["content"]
    assert any(p.get("type") in ("image_url", "image") for p in sent)


@pytest.mark.parametrize("model", ["compatible/my-llava", "zhipu/glm-5v-turbo", "moonshot/kimi-k3"])
def test_models_without_a_vision_record_are_not_refused(emu: Emulator, model: str) -> None:
    # A compatible server's model, an id the catalogue does not list (reached with base_url), a row with no
    # vision field: Farebox does not know, so it lets the server decide.
    assert call(emu, model).choices[0].message.content


def test_the_catalogue_exposes_vision() -> None:
    by_id = {m.id: m for m in vendors.models()}
    assert by_id["glm-5.2"].vision is False and by_id["kimi-k2.6"].vision is True
    assert by_id["deepseek-flash"].vision is True and by_id["deepseek-v4-pro"].vision is False
    assert by_id["kimi-k3"].vision is None            # unverified: not recorded


@pytest.mark.parametrize(("profile", "model", "needle"), [
    ("zhipu", "glm-5.2", "not supported"),
    ("deepseek", "deepseek-v4-pro", "unknown variant `image_url`"),
    ("minimax", "MiniMax-M2.7", "chat content is empty"),
    ("openai", "o3-mini", "only supported by certain models"),
])
async def test_emulator_refuses_images_for_text_models(emu: Emulator, session: Any, profile: str, model: str,
                                                       needle: str) -> None:
    body = {"model": model, "messages": LOOK}
    async with session.post(emu.base_url(profile) + "/chat/completions", json=body,
                            headers={"Authorization": f"Bearer {KEY}"}) as resp:
        assert resp.status == 400
        assert needle in str(await resp.json())
    async with session.post(emu.base_url("zhipu") + "/chat/completions", json={**body, "model": "glm-5v-turbo"},
                            headers={"Authorization": f"Bearer {KEY}"}) as resp:
        assert resp.status == 200
