"""OpenAI first party: Chat Completions at api.openai.com."""

import re

from vendors.effort import (
    VOCABULARY,
    Decision,
    EffortProfile,
    WireShape,
    by_words,
    keep,
    reasoning_effort,
    reject,
    use,
)
from vendors.spec import Caps, VendorSpec, Wire, openai_surface


# ── OpenAI ─────────────────────────────────────────────────────────────────────────────────────
# reasoning_effort per family (§6 [V-doc]). OpenAI answers 400 unsupported_value for a level a model
# does not take, so its own words (none, minimal, low, medium, high, xhigh) pass only where the family
# takes them and are otherwise refused with the family's list. Our other words are renamed only where
# the meaning is kept: off/disabled → none; max → the family's top level ("as much as there is");
# enabled/adaptive → nothing sent where the model reasons by default. off/none on a family that
# cannot stop reasoning is refused: its lowest level still reasons.
def _openai(name: str, accepts: tuple[str, ...], default: str) -> EffortProfile:
    stops = "none" in accepts
    cannot_stop = reject(f"{{model}} cannot turn reasoning off; its lowest level is {accepts[0]}")
    table: dict[str, Decision] = {}
    for word in VOCABULARY:
        if word == "auto":
            table[word] = keep(default, f"no reasoning_effort sent; the model's default ({default}) applies")
        elif word in accepts:
            table[word] = use(word)
        elif word in ("none", "off", "disabled"):
            table[word] = use("none") if stops else cannot_stop
        elif word == "max":
            table[word] = use(accepts[-1], f"max → {accepts[-1]}, the model's top level")
        elif word in ("enabled", "adaptive"):
            table[word] = (
                keep(default, f"{{model}} reasons by default; its default ({default}) applies")
                if default != "none" else reject("{model} does not reason by default; choose a level")
            )
        else:   # an OpenAI level this family does not take (minimal on gpt-5.1, xhigh before codex-max)
            table[word] = reject(f"{{model}} does not accept reasoning_effort {word!r}")
    return EffortProfile(
        name=name,
        levels=("auto", *accepts),
        default=default,
        table=table,
        wires={Wire.OPENAI_CHAT: WireShape(reasoning_effort)},
        hint="OpenAI refuses levels a model does not take; drop_params=True sends the request without one",
    )


OPENAI_GPT5 = _openai("openai-gpt-5", ("minimal", "low", "medium", "high"), "medium")  # before 5.1
OPENAI_GPT5_1 = _openai("openai-gpt-5.1", ("none", "low", "medium", "high"), "none")  # rejects minimal
OPENAI_GPT5_PRO = _openai("openai-gpt-5-pro", ("high",), "high")                      # high only
OPENAI_O_SERIES = _openai("openai-o-series", ("low", "medium", "high"), "medium")
# "xhigh for models after gpt-5.1-codex-max" (§6); codex-max itself: low..xhigh, default medium
# (openai/codex PR #7449 docs [3P]); later models keep 5.1's none default [INF] (ChatMock #101 [3P]).
OPENAI_CODEX_MAX = _openai("openai-codex-max", ("low", "medium", "high", "xhigh"), "medium")
OPENAI_GPT5_2 = _openai("openai-gpt-5.2+", ("none", "low", "medium", "high", "xhigh"), "none")

OPENAI_NON_REASONING = EffortProfile(
    name="openai-non-reasoning",
    levels=("auto", "none"),
    default="none",
    table=by_words({
        "auto": keep("none"),
        "none off disabled": keep("none", "{model} is not a reasoning model; nothing sent"),
        "enabled adaptive minimal low medium high xhigh max": reject("{model} is not a reasoning model"),
    }),
    wires={Wire.OPENAI_CHAT: WireShape(reasoning_effort)},
    hint="use a reasoning model (gpt-5*, o3, o4-mini) or drop_params=True",
)

# An OpenAI model we do not know: pass OpenAI's own words through and let the vendor judge.
OPENAI_PASSTHROUGH = EffortProfile(
    name="openai-passthrough",
    levels=("auto", "none", "minimal", "low", "medium", "high", "xhigh"),
    default="auto",
    table=by_words({
        "auto": keep(None, "no reasoning_effort sent; the model's default applies"),
        "none": use("none"),
        "off disabled": use("none", "OpenAI's word for no reasoning is none"),
        **{w: use(w) for w in ("minimal", "low", "medium", "high", "xhigh")},
        "enabled adaptive max": reject("{model} is not a known OpenAI model, so only OpenAI's own levels "
                                       "are passed through"),
    }),
    wires={Wire.OPENAI_CHAT: WireShape(reasoning_effort)},
    hint="OpenAI levels are none|minimal|low|medium|high|xhigh",
)


def pick_effort(model: str, wire: Wire) -> EffortProfile | None:
    if model.startswith("gpt-5-pro"):
        return OPENAI_GPT5_PRO
    if model.startswith("gpt-5-chat") or model.startswith("chatgpt-"):
        return OPENAI_NON_REASONING           # the ChatGPT chat snapshots do not reason
    if model.startswith("gpt-5.1-codex-max"):
        return OPENAI_CODEX_MAX
    found = re.match(r"gpt-(\d+)(?:\.(\d+))?", model)
    if found is not None:
        version = (int(found.group(1)), int(found.group(2) or 0))
        if version >= (5, 2):
            return OPENAI_GPT5_2
        if version == (5, 1):
            return OPENAI_GPT5_1
        return OPENAI_GPT5 if version[0] == 5 else OPENAI_NON_REASONING   # gpt-4o, gpt-4.1, gpt-3.5
    if re.match(r"o\d", model):
        # o1-mini and o1-preview take no reasoning_effort at all.
        return None if model.startswith(("o1-mini", "o1-preview")) else OPENAI_O_SERIES
    return OPENAI_PASSTHROUGH


SPEC = VendorSpec(
    name="openai",
    surfaces=(openai_surface({"global": "https://api.openai.com/v1"}),),
    hosts=frozenset({"api.openai.com"}),  # platform.openai.com is the console, not the API (§7.1 row 48)
    api_key_env="OPENAI_API_KEY",
    key_optional_locally=True,  # "openai/<model>" + a local api_base is any OpenAI-compatible server
    # api.openai.com wants max_completion_tokens; max_tokens is refused by reasoning models (§6).
    caps=Caps(max_tokens_field="max_completion_tokens", max_tools=128),
    effort_profiles=(OPENAI_GPT5, OPENAI_GPT5_1, OPENAI_GPT5_PRO, OPENAI_O_SERIES, OPENAI_CODEX_MAX, OPENAI_GPT5_2,
                     OPENAI_NON_REASONING, OPENAI_PASSTHROUGH),
    model_effort=pick_effort,
    doc="https://platform.openai.com/docs/api-reference/chat",
)
