"""Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, LM Studio…) given by base_url."""


from vendors.effort import (
    VOCABULARY,
    EffortProfile,
    WireShape,
    by_words,
    keep,
    reasoning_effort,
    thinking_type,
    use,
)
from vendors.spec import Caps, VendorSpec, Wire, openai_surface

# ── OpenAI-compatible servers (vLLM, llama.cpp, Ollama, …) ─────────────────────────────────────
# The caller's word goes through unchanged: only the server knows its scale (brief; Reasonix sends a
# configured effort verbatim to generic hosts, §7.3 TestBuildRequestNonDeepSeekOmitsThinking).
# An undeclared Anthropic-compatible gateway gets the binary menu and thinking.type alone (§5,
# Reasonix docs/REASONING_PROVIDERS.md [V-code]): relays answer 4xx/5xx to output_config.
ANTHROPIC_GATEWAY = EffortProfile(
    name="anthropic-gateway",
    levels=("auto", "enabled", "disabled"),
    default="auto",
    table=by_words({
        "auto": keep(None),
        "enabled": use("enabled"),
        "adaptive minimal low medium high xhigh max":
            use("enabled", "an Anthropic-compatible gateway gets the thinking switch only; thinking enabled"),
        "none off disabled": use("disabled"),
    }),
    wires={Wire.ANTHROPIC_MESSAGES: WireShape(thinking_type)},
    hint="this gateway gets Anthropic's thinking switch only (enabled|disabled)",
)


COMPATIBLE = EffortProfile(
    name="compatible",
    levels=VOCABULARY,
    default="auto",
    table={w: keep(None) if w == "auto" else use(w) for w in VOCABULARY},
    wires={Wire.OPENAI_CHAT: WireShape(reasoning_effort)},
    hint="an OpenAI-compatible server receives reasoning_effort as given",
)

def pick_effort(model: str, wire: Wire) -> EffortProfile | None:
    return ANTHROPIC_GATEWAY if wire == Wire.ANTHROPIC_MESSAGES else COMPATIBLE


SPEC = VendorSpec(
    name="compatible",
    surfaces=(openai_surface({}),),  # no default: the caller's base_url is the server
    api_key_env="COMPATIBLE_API_KEY",
    key_required=False,              # local servers usually take no key
    caps=Caps(),
    effort_profiles=(COMPATIBLE, ANTHROPIC_GATEWAY),
    model_effort=pick_effort,
    doc="https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
)
