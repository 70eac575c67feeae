"""Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, LM Studio…) given by base_url."""

from vendors.profiles import effort_lookup, openai_surface
from vendors.spec import Caps, VendorSpec

SPEC = VendorSpec(
    name="compatible",
    surfaces=(openai_surface({}),),  # no default: the caller's base_url is the server
    api_key_env="COMPATIBLE_API_KEY",
    key_required=False,              # local servers usually take no key
    caps=Caps(),
    model_effort=effort_lookup("compatible"),  # type: ignore[arg-type]
    doc="https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
)
