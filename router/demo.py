"""`python -m router demo`: the emulator in-process, a routed call that falls back, answers and costs."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pricing.cost import money
from router.emulator import Emulator
from router.routing import Router
from router.tracking import configure
from router.tracking.spending import spend

__all__ = ["run_demo"]

PROMPT = [{"role": "user", "content": "In one sentence: why route LLM calls across vendors?"}]


def _attempts(resp: Any) -> None:
    for i, a in enumerate(resp.attempts, 1):
        outcome = "ok" if a.ok else f"{a.error}" + (f" (vendor code {a.vendor_code})" if a.vendor_code else "")
        cost = money(a.cost.total) if a.cost is not None else "-"
        print(f"    attempt {i}: {a.vendor}/{a.model} status {a.status} -> {outcome}, "
              f"{a.latency_s * 1000:.1f} ms, cost {cost}")


def _cost(resp: Any) -> None:
    u, c = resp.usage, resp.cost
    print(f"    usage: {u.prompt_tokens} prompt + {u.completion_tokens} completion tokens"
          f" ({u.reasoning_tokens} reasoning){' — estimated with tiktoken' if u.estimated else ''}")
    if c is None:
        print("    cost: unpriced")
        return
    print(f"    cost: {money(c.total)} = input {money(c.input)} + cached {money(c.cache_read)}"
          f" + output {money(c.output)} ({c.usage_source}, prices checked {c.checked})")


def run_demo() -> int:
    # The emulator's spend is not real: record it in a throw-away ledger, never the user's own.
    scratch = tempfile.TemporaryDirectory(prefix="farebox-demo-")
    ledger = Path(scratch.name) / "ledger.sqlite"
    configure(ledger=str(ledger))
    with scratch, Emulator.running() as emu:
        smart = Router(
            deployments=[
                {"alias": "smart", "model": "minimax/MiniMax-M3", "api_key": "sk-api-demo-minimax-key",
                 "base_url": emu.base_url("minimax")},
                {"alias": "backup", "model": "deepseek/deepseek-v4-flash", "api_key": "sk-demo-deepseek-key",
                 "base_url": emu.base_url("deepseek")},
            ],
            fallbacks={"smart": ["backup"]},
            num_retries=1,
        )
        print("Farebox demo — everything below runs against the local vendor emulator at", emu.url)
        print("\n1. Router alias 'smart' = MiniMax-M3; the emulator answers it with 'insufficient balance (1008)',")
        print("   so Farebox moves straight on to the fallback alias 'backup' (DeepSeek):")
        emu.fault(vendor="minimax", vendor_code=1008, status=429)
        resp = smart.completion(model="smart", messages=PROMPT, reasoning_effort="high")
        print(f"    answer ({resp.vendor}/{resp.model}): {resp.choices[0].message.content}")
        _attempts(resp)
        _cost(resp)

        print("\n2. MiniMax-M3 again, streamed; this time it answers, but its stream sends no usage,")
        print("   so the tokens are counted with tiktoken and the cost is marked estimated:")
        emu.set_options("minimax", stream_usage="never")
        smart_direct = Router(deployments=[{"alias": "m3", "model": "minimax/MiniMax-M3",
                                            "api_key": "sk-api-demo-minimax-key", "base_url": emu.base_url("minimax")}])
        stream = smart_direct.completion(model="m3", messages=PROMPT, stream=True)
        print("    streamed: ", end="")
        for chunk in stream:
            for choice in chunk.choices:
                if choice.delta.content:
                    print(choice.delta.content, end="", flush=True)
        print()
        final = stream.response
        print(f"    reasoning: {final.choices[0].message.reasoning_content}")
        _attempts(final)
        _cost(final)
        print(f"    estimated: {final.cost.estimated if final.cost else 'n/a'}")

        print("\n3. Every call was recorded in a ledger (here a throw-away one); spend by vendor and model:")
        for row in spend(group_by=["vendor", "model"], ledger=ledger):
            print(f"    {row.group['vendor']}/{row.group['model']}: {row.calls} call(s), {row.failures} failed, "
                  f"{row.fallbacks} fallback(s), {row.prompt_tokens + row.completion_tokens} tokens, "
                  f"{money(row.cost)}")
        configure(tracking="off")  # flush and let go of the throw-away ledger before it is deleted
    return 0
