"""Vendor emulator: a local aiohttp server speaking each vendor's wire, for offline tests.

It is the *other side* of the wire, an independent judge: it imports only aiohttp and the
standard library, never ``vendors``, ``pricing`` or other ``router`` modules.

Profiles (base URLs from ``Emulator.base_url(vendor, surface)``): ``openai``, ``anthropic``,
``minimax``, ``deepseek``, ``moonshot``, ``zhipu``, ``compatible``. Answers are deterministic
(derived from the last user message), quirks follow docs/vendors.md, every request is
recorded with masked keys, and ``Fault``s inject errors, delays, resets, truncation and bad JSON.

    async with Emulator() as emu:
        emu.fault(status=429, retry_after=2)
        client = openai.AsyncOpenAI(base_url=emu.base_url("deepseek"), api_key="sk-test")

``Emulator.running()`` does the same from synchronous code (server on its own thread).
``emu.set_options(vendor_or_None, **opts)`` flips behaviour switches; the names and defaults are
in ``OPTION_DEFAULTS`` (e.g. ``split="random"``, ``crlf=True``, ``cache_hit_tokens=N``, ``reply_usage="omit"``,
MiniMax's ``reasoning_mode="cumulative"`` / ``stream_usage="never"`` / ``content_as_parts=True``,
``usage_in_choice`` (on for moonshot: usage inside choices[0] of the finish chunk), Anthropic's
``future_blocks=True``: an unknown block type after the server-tool blocks).

The anthropic profile runs server tools named in ``tools`` (web search, web fetch, code execution) and
``mcp_servers``: their blocks come back in JSON and SSE with ``usage.server_tool_use``, betas are checked,
and a replayed server-tool history must be intact (server_tools.py). Text-only models refuse image parts,
GLM-5.x and DeepSeek check ``reasoning_effort`` and ``n`` as their servers do (validate.py).

Out-of-process control API: ``GET /_emulator/health``; ``POST /_emulator/faults`` (Fault fields as
JSON), ``GET``/``DELETE /_emulator/faults``; ``GET /_emulator/requests``, ``DELETE
/_emulator/requests`` (= ``clear()``: requests and pending faults); ``POST /_emulator/options/{vendor}``
(``*`` = all profiles). Control requests are not recorded.
"""

from .cli import main
from .emulator import Emulator
from .faults import Fault
from .profiles import OPTION_DEFAULTS, PROFILES
from .records import RecordedRequest, key_fingerprint

__all__ = ["OPTION_DEFAULTS", "PROFILES", "Emulator", "Fault", "RecordedRequest", "key_fingerprint", "main"]
