"""Issue 4: what each vendor's wire RECEIVES for every reasoning_effort word, judged at the emulator.

The expected fragments below are written out by hand from docs/vendors.md (§1.11, §2.3/§2.8, §3, §4, §5, §6,
§7.2, §7.3) and the profile comments in vendors/effort_tables.py; they are never computed with
vendors.effort.resolve_effort. For every (vendor, model, surface) the table is total over the twelve
vocabulary words plus "not given" (None), so a new word or a changed mapping fails loudly here.

Each row is either (level, fragment): the request must reach the emulator with exactly `fragment` as its
thinking / reasoning_effort / output_config keys (every other one of those keys absent), and resp.effort
must record requested/level/sent; or REJECT: InvalidEffortError naming the vendor's level list and no
request at all, while drop_params=True sends the request without any effort key and reports the drop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import router
from router.emulator import Emulator
from router.errors import InvalidEffortError, InvalidRequestError

KEY = "sk-api-effort-wire-0001"
MSG = [{"role": "user", "content": "How deep should you think?"}]
EFFORT_KEYS = ("thinking", "reasoning_effort", "output_config")
WORDS = ("auto", "none", "off", "disabled", "enabled", "adaptive", "minimal", "low", "medium", "high", "xhigh", "max")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Reject:
    """The word cannot be expressed; `level` is what resp.effort records when drop_params drops it."""

    level: str | None = None


REJECT = Reject()

# ── wire fragments, by hand ────────────────────────────────────────────────────────────────────
NOTHING: dict[str, Any] = {}


def thinking(kind: str) -> dict[str, Any]:
    return {"thinking": {"type": kind}}


def effort(level: str) -> dict[str, Any]:
    return {"reasoning_effort": level}


def ds_chat(level: str) -> dict[str, Any]:
    """DeepSeek OpenAI surface: thinking switch + reasoning_effort (§2.3, §7.3 TestBuildRequestDeepSeekThinking)."""
    return {"thinking": {"type": "enabled"}, "reasoning_effort": level}


def ds_messages(level: str) -> dict[str, Any]:
    """DeepSeek Anthropic surface: thinking switch + output_config.effort (§2.3)."""
    return {"thinking": {"type": "enabled"}, "output_config": {"effort": level}}


def budget(tokens: int) -> dict[str, Any]:
    """Claude ≤4.5 extended thinking (§5)."""
    return {"thinking": {"type": "enabled", "budget_tokens": tokens}}


def adaptive(level: str) -> dict[str, Any]:
    """Claude 4.6+: adaptive thinking with output_config.effort (§5)."""
    return {"thinking": {"type": "adaptive"}, "output_config": {"effort": level}}


def rows(groups: dict[Any, Any]) -> dict[str | None, Any]:
    """{"a b c": row, None: row} -> one entry per word (the words are still written by hand)."""
    out: dict[str | None, Any] = {}
    for words, row in groups.items():
        for word in [None] if words is None else words.split():
            assert word not in out, f"{word} listed twice"
            out[word] = row
    return out


@dataclass(frozen=True)
class Combo:
    id: str
    model: str
    emu: str            # emulator profile
    surface: str        # "openai" | "anthropic"
    levels: str         # the level list InvalidEffortError must show
    table: dict[str | None, Any]
    kwargs: dict[str, Any] = field(default_factory=dict)


# Anthropic calls get max_tokens=128000 so every budget (max: 63999) fits unclamped with a quarter for the answer.
BIG = {"max_tokens": 128000}

_M3 = rows({
    None: ("adaptive", thinking("adaptive")),             # §7.3 "minimax, effort "" → adaptive"
    "auto adaptive": ("adaptive", thinking("adaptive")),  # §7.2
    "enabled minimal low medium high": ("adaptive", thinking("adaptive")),
    "none off disabled": ("disabled", thinking("disabled")),
    "xhigh max": ("disabled", thinking("disabled")),      # §7.2 TestNormalizeEffortMiniMax
})

_DEEPSEEK_V4_CHAT = rows({
    None: (None, NOTHING),
    "auto high enabled adaptive medium xhigh": ("high", ds_chat("high")),  # Thinking Mode guide: xhigh → high
    "low minimal": ("low", ds_chat("low")),
    "max": ("max", ds_chat("max")),
    "none off disabled": ("disabled", thinking("disabled")),               # §7.3 no reasoning_effort
})

COMBOS = [
    Combo("minimax-M3-openai", "minimax/MiniMax-M3", "minimax", "openai", "auto|adaptive|disabled", _M3),
    Combo("minimax-M3-anthropic", "minimax/MiniMax-M3", "minimax", "anthropic", "auto|adaptive|disabled", _M3),
    Combo("minimax-M2.7", "minimax/MiniMax-M2.7", "minimax", "openai", "auto", rows({
        None: (None, NOTHING),
        "auto enabled adaptive minimal low medium high xhigh max": ("model-default", NOTHING),
        "none off disabled": Reject("model-default"),     # M2.x always think (§1.11)
    })),
    Combo("deepseek-v4-flash", "deepseek/deepseek-v4-flash", "deepseek", "openai", "auto|disabled|low|high|max",
          _DEEPSEEK_V4_CHAT),
    Combo("deepseek-v4-flash-anthropic", "deepseek/deepseek-v4-flash", "deepseek", "anthropic",
          "auto|disabled|low|high|max", rows({
              None: (None, NOTHING),
              "auto high enabled adaptive medium xhigh": ("high", ds_messages("high")),
              "low minimal": ("low", ds_messages("low")),
              "max": ("max", ds_messages("max")),
              "none off disabled": ("disabled", thinking("disabled")),
          })),
    # A DeepSeek id Farebox does not list, reachable with base_url: the generic DeepSeek scale (§7.2).
    Combo("deepseek-generic", "deepseek/deepseek-v3.2", "deepseek", "openai", "auto|disabled|high|max", rows({
        None: (None, NOTHING),
        "auto high enabled adaptive minimal low medium xhigh": ("high", ds_chat("high")),
        "max": ("max", ds_chat("max")),
        "none off disabled": ("disabled", thinking("disabled")),
    })),
    # OpenAI (§6): gpt-5 minimal..high default medium, no none; gpt-5.1 none..high default none, no minimal.
    Combo("openai-gpt-5", "openai/gpt-5", "openai", "openai", "auto|minimal|low|medium|high", rows({
        None: (None, NOTHING),
        "auto enabled adaptive": ("medium", NOTHING),
        "minimal": ("minimal", effort("minimal")),
        "low": ("low", effort("low")),
        "medium": ("medium", effort("medium")),
        "high": ("high", effort("high")),
        "max": ("high", effort("high")),
        "none off disabled xhigh": REJECT,
    })),
    Combo("openai-gpt-5.1", "openai/gpt-5.1", "openai", "openai", "auto|none|low|medium|high", rows({
        None: (None, NOTHING),
        "auto": ("none", NOTHING),
        "none off disabled": ("none", effort("none")),
        "low": ("low", effort("low")),
        "medium": ("medium", effort("medium")),
        "high": ("high", effort("high")),
        "max": ("high", effort("high")),
        "enabled adaptive minimal xhigh": REJECT,
    })),
    Combo("openai-gpt-4o", "openai/gpt-4o", "openai", "openai", "auto|none", rows({
        None: (None, NOTHING),
        "auto none off disabled": ("none", NOTHING),
        "enabled adaptive minimal low medium high xhigh max": REJECT,
    })),
    Combo("openai-o3", "openai/o3", "openai", "openai", "auto|low|medium|high", rows({
        None: (None, NOTHING),
        "auto enabled adaptive": ("medium", NOTHING),
        "low": ("low", effort("low")),
        "medium": ("medium", effort("medium")),
        "high max": ("high", effort("high")),
        "none off disabled minimal xhigh": REJECT,
    })),
    Combo("anthropic-sonnet-4-5", "anthropic/claude-sonnet-4-5", "anthropic", "anthropic",
          "auto|disabled|low|medium|high|xhigh|max", rows({
              None: (None, NOTHING),
              "auto": ("disabled", NOTHING),
              "none off disabled": ("disabled", thinking("disabled")),
              "minimal low": ("low", budget(1024)),
              "enabled adaptive medium": ("medium", budget(4096)),
              "high": ("high", budget(16384)),
              "xhigh": ("xhigh", budget(32768)),
              "max": ("max", budget(63999)),
          }), BIG),
    Combo("anthropic-opus-4-6", "anthropic/claude-opus-4-6", "anthropic", "anthropic",
          "auto|adaptive|disabled|low|medium|high|max", rows({
              None: (None, NOTHING),
              "auto": (None, NOTHING),
              "enabled adaptive": ("adaptive", thinking("adaptive")),
              "none off disabled": ("disabled", thinking("disabled")),
              "minimal low": ("low", adaptive("low")),
              "medium": ("medium", adaptive("medium")),
              "high": ("high", adaptive("high")),
              "max": ("max", adaptive("max")),
              "xhigh": REJECT,                            # xhigh arrives with Opus 4.7
          }), BIG),
    # GLM-5.2 / 5.3 (docs.z.ai Core Parameters; docs/vendors.md Errata): reasoning_effort beside thinking enabled.
    Combo("zhipu-glm-5.2", "zhipu/glm-5.2", "zhipu", "openai", "auto|disabled|high|max", rows({
        None: (None, NOTHING),
        "auto": ("max", NOTHING),
        "enabled adaptive xhigh max": ("max", ds_chat("max")),
        "low medium high": ("high", ds_chat("high")),
        "none off disabled minimal": ("disabled", thinking("disabled")),
    })),
    Combo("zhipu-glm-5.3", "zhipu/glm-5.3", "zhipu", "openai", "auto|low|high|max", rows({
        None: (None, NOTHING),
        "auto": ("max", NOTHING),
        "enabled adaptive xhigh max": ("max", ds_chat("max")),
        "medium high": ("high", ds_chat("high")),
        "minimal low": ("low", ds_chat("low")),
        "none off disabled": REJECT,                      # always thinks
    })),
    Combo("zhipu-glm-5.1", "zhipu/glm-5.1", "zhipu", "openai", "auto|enabled|disabled", rows({
        None: (None, NOTHING),
        "auto enabled adaptive minimal low medium high xhigh max": ("enabled", thinking("enabled")),
        "none off disabled": ("disabled", thinking("disabled")),
    })),
    Combo("moonshot-kimi-k3", "moonshot/kimi-k3", "moonshot", "openai", "auto|low|high|max", rows({
        None: (None, NOTHING),
        "auto enabled adaptive": ("max", NOTHING),        # always thinks, default max (§4)
        "minimal low": ("low", effort("low")),
        "medium high": ("high", effort("high")),
        "xhigh max": ("max", effort("max")),
        "none off disabled": REJECT,
    })),
    Combo("moonshot-kimi-k2.6", "moonshot/kimi-k2.6", "moonshot", "openai", "auto|enabled|disabled", rows({
        None: (None, NOTHING),
        "auto": ("enabled", NOTHING),
        "enabled adaptive minimal low medium high xhigh max": ("enabled", thinking("enabled")),
        "none off disabled": ("disabled", thinking("disabled")),
    })),
    # An OpenAI-compatible server gets the caller's word verbatim (pass-through).
    Combo("compatible", "compatible/my-llama", "compatible", "openai", "|".join(WORDS), rows({
        None: (None, NOTHING),
        "auto": (None, NOTHING),
        **{w: (w, effort(w)) for w in WORDS if w != "auto"},
    })),
]

SENT = [pytest.param(c, w, id=f"{c.id}-{w or 'unset'}") for c in COMBOS for w, row in c.table.items()
        if not isinstance(row, Reject)]
REJECTED = [pytest.param(c, w, id=f"{c.id}-{w}") for c in COMBOS for w, row in c.table.items()
            if isinstance(row, Reject)]
BY_COMBO = [pytest.param(c, id=c.id) for c in COMBOS]


def call(emu: Emulator, combo: Combo, word: str | None, **kw: Any) -> Any:
    return router.completion(model=combo.model, messages=MSG, api_key=KEY,
                             base_url=emu.base_url(combo.emu, combo.surface),
                             reasoning_effort=word, **{**combo.kwargs, **kw})


def received(emu: Emulator, combo: Combo) -> dict[str, Any]:
    """The body of the one request the emulator got, checked to be on the expected surface."""
    recs = emu.requests
    assert len(recs) == 1, [r.path for r in recs]
    assert (recs[0].vendor, recs[0].surface) == (combo.emu, combo.surface)
    assert isinstance(recs[0].body, dict)
    return recs[0].body


def effort_keys(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in EFFORT_KEYS if k in body}


def test_tables_are_total() -> None:
    for combo in COMBOS:
        assert set(combo.table) == {None, *WORDS}, combo.id


@pytest.mark.parametrize(("combo", "word"), SENT)
def test_emulator_receives_the_fragment(emu: Emulator, combo: Combo, word: str | None) -> None:
    level, fragment = combo.table[word]
    resp = call(emu, combo, word)
    body = received(emu, combo)
    # Exactly these effort keys, and none of the others (forbidden keys absent).
    assert effort_keys(body) == fragment
    old_glm = combo.emu == "zhipu" and not combo.model.startswith(("zhipu/glm-5.2", "zhipu/glm-5.3"))
    if combo.emu == "minimax" or old_glm or combo.surface == "anthropic":
        assert "reasoning_effort" not in body   # M3 answers 2013 to it; GLM < 5.2 / Anthropic wires never take it
    if combo.model.startswith("minimax/MiniMax-M2"):
        assert "thinking" not in body
    thought = body.get("thinking")
    if isinstance(thought, dict) and "budget_tokens" in thought:
        assert 1024 <= thought["budget_tokens"] < body["max_tokens"]
    assert resp.effort["requested"] == word
    assert resp.effort["level"] == level
    assert resp.effort["sent"] == fragment
    assert resp.effort["dropped"] is False
    assert "reasoning_effort" not in resp.dropped_params


@pytest.mark.parametrize(("combo", "word"), REJECTED)
def test_inexpressible_word_raises_before_any_request(emu: Emulator, combo: Combo, word: str) -> None:
    with pytest.raises(InvalidEffortError) as info:
        call(emu, combo, word)
    assert combo.levels in str(info.value)
    assert emu.requests == []


@pytest.mark.parametrize(("combo", "word"), REJECTED)
def test_inexpressible_word_is_dropped_with_drop_params(emu: Emulator, combo: Combo, word: str) -> None:
    resp = call(emu, combo, word, drop_params=True)
    body = received(emu, combo)
    assert effort_keys(body) == {}
    assert "reasoning_effort" in resp.dropped_params
    assert resp.effort["requested"] == word
    assert resp.effort["level"] == combo.table[word].level
    assert resp.effort["sent"] == {}
    assert resp.effort["dropped"] is True
    assert word in resp.effort["note"]


@pytest.mark.parametrize("combo", BY_COMBO)
@pytest.mark.parametrize("drop", [False, True])
def test_garbage_word_lists_the_levels_and_sends_nothing(emu: Emulator, combo: Combo, drop: bool) -> None:
    with pytest.raises(InvalidEffortError) as info:
        call(emu, combo, "turbo", drop_params=drop)   # a typo is never dropped
    assert combo.levels in str(info.value)
    assert "turbo" in str(info.value)
    assert emu.requests == []


def test_words_are_trimmed_and_lower_cased(emu: Emulator) -> None:
    resp = call(emu, COMBOS[0], "  HIGH ")
    assert effort_keys(received(emu, COMBOS[0])) == thinking("adaptive")
    assert resp.effort["requested"] == "high"


def test_minimax_m27_off_error_names_the_vendor_and_model(emu: Emulator) -> None:
    m27 = next(c for c in COMBOS if c.id == "minimax-M2.7")
    with pytest.raises(InvalidEffortError) as info:
        call(emu, m27, "off")
    assert info.value.vendor == "minimax"
    assert info.value.model == "MiniMax-M2.7"
    assert "MiniMax-M3" in str(info.value)              # the hint says which model can turn thinking off
    assert emu.requests == []


# ── a raw effort key next to reasoning_effort ─────────────────────────────────────────────────────
CLASH = [
    pytest.param("minimax-M3-openai", "off", {"thinking": {"type": "adaptive"}}, id="minimax-M3-off+thinking"),
    pytest.param("deepseek-v4-flash", "high", {"thinking": {"type": "disabled"}}, id="deepseek-high+thinking-off"),
    pytest.param("anthropic-opus-4-6", "high", {"thinking": {"type": "disabled"}}, id="opus-high+thinking-off"),
]


@pytest.mark.parametrize(("combo_id", "word", "extra"), CLASH)
def test_extra_body_effort_keys_never_contradict_resp_effort(emu: Emulator, combo_id: str, word: str,
                                                             extra: dict[str, Any]) -> None:
    combo = next(c for c in COMBOS if c.id == combo_id)
    with pytest.raises(InvalidRequestError, match="reasoning control"):
        call(emu, combo, word, extra_body=extra)
    assert emu.requests == []     # refused before any request


# ── Claude budgets must stay below max_tokens ─────────────────────────────────────────────────────
SONNET = next(c for c in COMBOS if c.id == "anthropic-sonnet-4-5")


def test_sonnet_budget_without_max_tokens_leaves_the_answer_room(emu: Emulator) -> None:
    bodies = {}
    for level in ("medium", "high"):
        resp = router.completion(model=SONNET.model, messages=MSG, api_key=KEY, base_url=emu.base_url("anthropic"),
                                 reasoning_effort=level)
        body = bodies[level] = received(emu, SONNET)
        emu.clear()
        assert body["max_tokens"] - body["thinking"]["budget_tokens"] >= 4096
        assert resp.effort["sent"]["max_tokens"] == body["max_tokens"]
    assert [bodies[level]["thinking"]["budget_tokens"] for level in ("medium", "high")] == [4096, 16384]


@pytest.mark.parametrize(("max_tokens", "tokens"), [(2048, 1024), (16385, 12289)])
def test_sonnet_budget_fits_an_explicit_max_tokens(emu: Emulator, max_tokens: int, tokens: int) -> None:
    resp = call(emu, SONNET, "max", max_tokens=max_tokens)
    body = received(emu, SONNET)
    assert body["max_tokens"] == max_tokens
    assert body["thinking"] == {"type": "enabled", "budget_tokens": tokens}
    assert "collapse" in resp.effort["note"]


def test_sonnet_budget_cannot_fit_a_tiny_max_tokens(emu: Emulator) -> None:
    with pytest.raises(InvalidEffortError) as info:
        call(emu, SONNET, "low", max_tokens=1000)
    assert SONNET.levels in str(info.value)
    assert emu.requests == []
    resp = call(emu, SONNET, "low", max_tokens=1000, drop_params=True)
    body = received(emu, SONNET)
    assert "thinking" not in body and body["max_tokens"] == 1000
    assert resp.effort["dropped"] is True and "reasoning_effort" in resp.dropped_params
