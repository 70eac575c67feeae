"""Vendor emulator: a local aiohttp server speaking each vendor's wire, for offline tests.

It is the *other side* of the wire, an independent judge: it imports only aiohttp and the
standard library, never ``vendors``, ``pricing`` or other ``router`` modules.

Profiles (base URLs from ``Emulator.base_url(vendor, surface)``): ``openai``, ``anthropic``,
``minimax``, ``deepseek``, ``moonshot``, ``zhipu``, ``compatible``. Answers are deterministic
(derived from the last user message), quirks follow /work/shared/VENDORS.md, every request is
recorded with masked keys, and ``Fault``s inject errors, delays, resets, truncation and bad JSON.

    async with Emulator() as emu:
        emu.fault(status=429, retry_after=2)
        client = openai.AsyncOpenAI(base_url=emu.base_url("deepseek"), api_key="sk-test")
"""

from .cli import main
from .emulator import Emulator
from .faults import Fault
from .profiles import OPTION_DEFAULTS, PROFILES
from .records import RecordedRequest, key_fingerprint

__all__ = ["OPTION_DEFAULTS", "PROFILES", "Emulator", "Fault", "RecordedRequest", "key_fingerprint", "main"]
