"""One process of a multi-process test: N concurrent routed calls under given state/ledger, results as JSON.

    python -m tests.router.tracking.scale_worker '{"state": ..., "ledger": ..., "router": {...}, "calls": 50}'

Prints one JSON line: every call's outcome (vendor, cost, error class) and the record ids it emitted.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import router
from router import tracking


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    tracking.configure(ledger=spec["ledger"], **({"state": spec["state"]} if spec.get("state") else {}))
    ids: list[str] = []
    tracking.add_listener(lambda rec: ids.append(rec.record_id))
    r = router.Router(**spec["router"])
    gate = asyncio.Semaphore(spec.get("concurrency", 50))
    out: list[dict[str, Any]] = []
    if spec.get("start_at"):
        await asyncio.sleep(max(0.0, spec["start_at"] - time.time()))  # every process starts together

    async def one(i: int) -> None:
        async with gate:
            try:
                resp = await r.acompletion("a", [{"role": "user", "content": f"call {i}"}],
                                           **spec.get("kwargs", {}))
            except router.errors.FareboxError as exc:
                out.append({"error": type(exc).__name__, "message": str(exc)[:200]})
            else:
                out.append({"vendor": resp.vendor, "cost": str(resp.cost.total) if resp.cost else None})
            if spec.get("pause_s"):
                await asyncio.sleep(spec["pause_s"])

    await asyncio.gather(*(one(i) for i in range(spec["calls"])))
    await tracking.aflush()
    from router.tracking.state import drain

    await drain()
    ledger = tracking.active().ledger
    return {"results": out, "ids": ids, "spooled": getattr(ledger, "spooled", 0)}


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    result = asyncio.run(main(spec))
    print(json.dumps(result), flush=True)
    tracking.reset()  # commits, or spools, what is left
