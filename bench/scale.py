"""Per-call cost of shared state on Redis and of the PostgreSQL ledger over the defaults (in-process, SQLite).

    python -m bench.scale                 # concurrency 1 and 32, 4 set-ups side by side (~2 min on 2 cores)
    python -m bench.scale --calls 200     # calls per round

The vendor is the emulator in its own process; redis-server and PostgreSQL are started by tests/servers.py.
Each set-up routes through a Router with a budget and an rpm limit (so a call reserves, picks under the
limit and settles), durable tracking (the call returns after its record is committed). Rounds alternate
between set-ups; a figure is the median over rounds of wall time per call.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def round_(r: Any, calls: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)
    msg = [{"role": "user", "content": "bench"}]

    async def one() -> None:
        async with gate:
            await r.acompletion("a", msg, max_tokens=16)

    began = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    return (time.perf_counter() - began) / calls


async def run(setups: dict[str, tuple[Any, Any]], calls: int, rounds: int, concurrency: int) -> dict[str, float]:
    from router import tracking

    times: dict[str, list[float]] = {name: [] for name in setups}
    for i in range(rounds + 1):
        for name, (ledger, r) in setups.items():
            tracking.configure(ledger=ledger)
            t = await round_(r, calls, concurrency)
            if i:  # the first round warms connections and scripts
                times[name].append(t)
    return {name: statistics.median(v) for name, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    from tests.servers import PostgresServer, RedisServer

    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="farebox-bench-scale-"))
    os.environ["FAREBOX_SPOOL"] = str(tmp / "spool")
    emu = subprocess.Popen([sys.executable, "-m", "router", "emulator", "--port", str(port)], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with RedisServer() as redis, PostgresServer() as pg:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            import router

            base = f"http://127.0.0.1:{port}"
            dep = {"alias": "a", "model": "openai/gpt-4o-mini", "api_key": "sk-bench",
                   "base_url": f"{base}/openai/v1", "rpm": 10**9}
            options = {"deployments": [dep], "max_budget": 10**6}
            setups = {
                "in-process + SQLite": (str(tmp / "a.sqlite"), router.Router(**options)),
                "Redis state + SQLite": (str(tmp / "b.sqlite"), router.Router(**options, state=redis.url)),
                "in-process + PostgreSQL": (pg.url, router.Router(**options)),
                "Redis state + PostgreSQL": (pg.url, router.Router(**options, state=redis.url)),
            }
            print(f"{'set-up':26} {'c=1 ms/call':>12} {'+ over default':>15} {'c=32 ms/call':>13} "
                  f"{'+ over default':>15}")
            results = {c: router.loop.run(run(setups, args.calls, args.rounds, c)) for c in (1, 32)}
            for name in setups:
                cells = []
                for c in (1, 32):
                    t, base_t = results[c][name], results[c]["in-process + SQLite"]
                    cells += [f"{t * 1000:12.3f}", f"{(t - base_t) * 1000:+15.3f}"]
                print(f"{name:26} {cells[0]} {cells[1]} {cells[2]:>13} {cells[3]}")
            router.tracking.reset()
    finally:
        emu.terminate()
        emu.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
