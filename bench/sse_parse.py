"""SSE parser time against input size: one long line, and many small events, fed in socket-sized reads.

    python -m bench.sse_parse            # lines of 1..64 MiB and event streams of 1..64 MiB
    python -m bench.sse_parse --max 16   # stop at 16 MiB

Each size is parsed in 64 KiB reads (what aiohttp's readany() hands over); the figure is the best of 3
runs in seconds and in ns per byte. Linear time shows as a flat ns/byte column. The caps are raised for
the run, so that the long lines are parsed rather than refused.
"""

from __future__ import annotations

import argparse
import time

from vendors.wires import sse

READ = 64 * 1024
MIB = 1024 * 1024


def _feed(data: bytes) -> int:
    parser = sse.SSEParser()
    n = 0
    for i in range(0, len(data), READ):
        n += len(parser.feed(data[i : i + READ]))
    return n + len(parser.close())


def _best(data: bytes, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        _feed(data)
        best = min(best, time.perf_counter() - started)
    return best


def one_line(size: int) -> bytes:
    return b"data: " + b"x" * size + b"\n\n"


def many_events(size: int) -> bytes:
    event = b'data: {"choices":[{"index":0,"delta":{"content":"word "}}]}\n\n'
    return event * (size // len(event))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=64, help="largest input in MiB (default 64)")
    args = ap.parse_args(argv)
    saved = sse.get_limits()
    sse.set_limits(line=(args.max + 1) * MIB, event=(args.max + 1) * MIB)
    try:
        print(f"{'input':>22} {'MiB':>4} {'seconds':>9} {'ns/byte':>8}")
        for name, build in (("one line", one_line), ("64-byte events", many_events)):
            size = 1
            while size <= args.max:
                data = build(size * MIB)
                t = _best(data)
                print(f"{name:>22} {size:>4} {t:>9.4f} {t * 1e9 / len(data):>8.2f}")
                size *= 2
    finally:
        sse.set_limits(line=saved[0], event=saved[1])


if __name__ == "__main__":
    main()
