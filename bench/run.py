"""Farebox's overhead over raw aiohttp: cold import, per call, per stream chunk; PASS/FAIL against targets.

    python -m bench.run              # full run, about 1-2 minutes on 2 cores
    python -m bench.run --quick      # a short run (< 20 s)
    python -m bench.run --profile    # also cProfile the Farebox loops, top functions by tottime
    python -m bench.run --tracking   # also: what call tracking (ledger durable / batched) adds per call

The upstream is bench/server.py in its own process. Each scenario runs the raw client and Farebox in
alternating rounds over the same number of calls; a figure is the median over rounds of wall time / units.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import logging
import os
import platform
import pstats
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

import router  # noqa: E402
from bench.clients import MODEL, Clients, OneCall, drive  # noqa: E402

IMPORT_TARGET_MS = 100.0
CALL_TARGET_US = 150.0
CHUNK_TARGET_US = 15.0
TRACKING_TARGET_US = 50.0
CONCURRENCY = (1, 32)

_IMPORT_PROBE = """\
import time
t0 = time.perf_counter()
import router
t1 = time.perf_counter()
router.completion
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


@dataclass(frozen=True)
class Plan:
    import_runs: int
    rounds: int
    block_s: float          # the wall time one Farebox round of one scenario aims at
    chunks: int = 200
    per_write: int = 1
    model: str = MODEL


@dataclass(frozen=True)
class Sample:
    """One round of one client: µs per unit by the wall clock and by this process's CPU clock."""

    wall_us: float
    cpu_us: float
    gc_us: float            # of which the cyclic garbage collector ran (wall)
    server_busy: float      # server CPU seconds / wall seconds


@dataclass
class Result:
    label: str
    unit: str
    target: float
    raw: list[Sample] = field(default_factory=list)
    farebox: list[Sample] = field(default_factory=list)

    def median(self, client: str, what: str = "wall_us") -> float:
        return _med([getattr(s, what) for s in getattr(self, client)])

    def overhead(self, what: str = "wall_us") -> float:
        """Median over rounds of (Farebox - raw): each pair ran back to back, so drift in the VM's load cancels."""
        return _med([getattr(f, what) - getattr(r, what) for r, f in zip(self.raw, self.farebox, strict=True)])


class GcClock:
    """Seconds the cyclic garbage collector ran while installed (gc.callbacks): GC is not in cProfile's view."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._start

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


# ---------------------------------------------------------------- the upstream process

@dataclass(frozen=True)
class Upstream:
    pid: int
    base_url: str

    def cpu_s(self) -> float:
        """User + system CPU seconds the server process has used (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def upstream(chunks: int, per_write: int) -> Iterator[Upstream]:
    """bench/server.py in a subprocess, until the block ends (always terminated)."""
    cmd = [sys.executable, "-m", "bench.server", "--port", "0", "--chunks", str(chunks), "--per-write", str(per_write),
           "--exit-on-eof"]
    # The server also exits when this process dies without running the finally below (SIGKILL): its stdin closes.
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = _ready_port(proc, timeout=20.0)
        with socket.create_connection(("127.0.0.1", port), timeout=5.0):
            pass
        yield Upstream(proc.pid, f"http://127.0.0.1:{port}/v1")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def _ready_port(proc: subprocess.Popen[str], timeout: float) -> int:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bench server exited with status {proc.returncode}")
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            line = proc.stdout.readline()
            if line.startswith("READY "):
                return int(line.split()[1])
    raise RuntimeError(f"bench server did not start within {timeout:.0f} s")


# ---------------------------------------------------------------- 1. import time

def measure_import(runs: int) -> tuple[list[float], list[float]]:
    """Seconds for `import router` and for the first `router.completion`, each in a fresh interpreter.

    Bytecode is cached in a private directory (as an installed package would have it), even where
    PYTHONDONTWRITEBYTECODE is set; the first run, which fills that cache, is not counted.
    """
    imports, lazy = [], []
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for i in range(runs + 1):
            out = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], cwd=ROOT, env=env, capture_output=True,
                                 text=True, check=True).stdout.split()
            if i:
                imports.append(float(out[0]))
                lazy.append(float(out[1]))
    return imports, lazy


# ---------------------------------------------------------------- 2 and 3. per call, per chunk

async def measure_calls(plan: Plan, up: Upstream) -> list[Result]:
    async with Clients(up.base_url, plan.model) as clients:
        await clients.check(plan.chunks)
        scenarios = (("non-stream", "call", CALL_TARGET_US, clients.raw_call, clients.farebox_call),
                     ("stream", "chunk", CHUNK_TARGET_US, clients.raw_stream, clients.farebox_stream))
        results = []
        with GcClock() as clock:
            for name, unit, target, raw, fbx in scenarios:
                for conc in CONCURRENCY:
                    result = Result(f"{name}, concurrency {conc}", unit, target)
                    await _scenario(result, raw, fbx, conc, plan, up, clock)
                    results.append(result)
                    print(f"  {result.label:<26} raw {result.median('raw'):8.1f}  farebox "
                          f"{result.median('farebox'):8.1f} µs/{unit}", flush=True)
        return results


async def _scenario(result: Result, raw: OneCall, fbx: OneCall, conc: int, plan: Plan, up: Upstream,
                    clock: GcClock) -> None:
    # Warm-up: opens `conc` pooled connections on both sides and loads every lazy module, then sizes the
    # rounds so one Farebox round takes about plan.block_s (both clients make the same number of calls).
    warm = max(16, 4 * conc)
    await drive(raw, warm, conc)
    wall, _ = await drive(fbx, warm, conc)
    calls = max(2 * conc, int(plan.block_s / (wall / warm)))
    for r in range(plan.rounds):
        order = (("raw", raw), ("farebox", fbx)) if r % 2 == 0 else (("farebox", fbx), ("raw", raw))
        for name, one in order:
            cpu0, gc0, srv0 = time.process_time(), clock.total, up.cpu_s()
            wall, units = await drive(one, calls, conc)
            cpu, gc_s, srv = time.process_time() - cpu0, clock.total - gc0, up.cpu_s() - srv0
            getattr(result, name).append(Sample(wall / units * 1e6, cpu / units * 1e6, gc_s / units * 1e6,
                                                srv / wall))


# ---------------------------------------------------------------- --tracking

TRACKING_MODES = {"durable": {"batching": False}, "batched": {"batching": True}}


async def measure_tracking(plan: Plan, up: Upstream, ledger: Path) -> list[Result]:
    """Non-stream calls with tracking off ("raw" side) against tracking on, durable and batched."""
    async with Clients(up.base_url, plan.model) as clients:
        results = []
        with GcClock() as clock:
            for mode, options in TRACKING_MODES.items():
                scenarios: list[tuple[str, OneCall, int]] = [
                    (f"concurrency {conc}", clients.farebox_call, conc) for conc in CONCURRENCY]
                scenarios.append(("sync API, 1 thread", clients.farebox_sync_calls, 1))
                for name, one, conc in scenarios:
                    result = Result(f"tracking {mode}, {name}", "call", TRACKING_TARGET_US)
                    await _tracking_scenario(result, one, options, ledger, conc, plan, up, clock)
                    results.append(result)
                    print(f"  {result.label:<32} off {result.median('raw'):8.1f}  on "
                          f"{result.median('farebox'):8.1f} µs/call", flush=True)
        router.configure(tracking="off")
        return results


async def _tracking_scenario(result: Result, one: OneCall, options: dict[str, bool], ledger: Path, conc: int,
                             plan: Plan, up: Upstream, clock: GcClock) -> None:
    def on() -> None:
        router.configure(tracking="strict", ledger=ledger, **options)

    def off() -> None:
        router.configure(tracking="off")

    on()
    await drive(one, max(16, 4 * conc), conc)  # opens the ledger, warms the writer thread
    wall, _ = await drive(one, max(16, 4 * conc), conc)
    calls = max(2 * conc, int(plan.block_s / (wall / max(16, 4 * conc))))
    for r in range(plan.rounds):
        order = (("raw", off), ("farebox", on)) if r % 2 == 0 else (("farebox", on), ("raw", off))
        for name, setup in order:
            setup()
            cpu0, gc0, srv0, start = time.process_time(), clock.total, up.cpu_s(), time.perf_counter()
            _, units = await drive(one, calls, conc)
            if name == "farebox":
                await router.aflush()  # batched: the last commit is part of the cost, paid inside the round
            wall = time.perf_counter() - start
            cpu, gc_s, srv = time.process_time() - cpu0, clock.total - gc0, up.cpu_s() - srv0
            getattr(result, name).append(Sample(wall / units * 1e6, cpu / units * 1e6, gc_s / units * 1e6,
                                                srv / wall))


# ---------------------------------------------------------------- --profile

@dataclass(frozen=True)
class Profiled:
    title: str
    stats: pstats.Stats
    wall_s: float
    gc_s: float


async def profile_loops(plan: Plan, up: Upstream, calls: int, streams: int) -> list[Profiled]:
    """cProfile over the Farebox loops at concurrency 32 (after a warm-up), timing GC on the side."""
    out = []
    async with Clients(up.base_url, plan.model) as clients:
        for label, one, total in (("non-stream", clients.farebox_call, calls),
                                  ("stream", clients.farebox_stream, streams)):
            await drive(one, 64, 32)
            prof = cProfile.Profile()
            with GcClock() as clock:
                prof.enable()
                wall, _ = await drive(one, total, 32)
                prof.disable()
            title = f"Farebox {label}, concurrency 32, {total} {'streams' if label == 'stream' else 'calls'}"
            out.append(Profiled(title, pstats.Stats(prof), wall, clock.total))
    return out


def _where(key: tuple[str, int, str]) -> str:
    filename, line, func = key
    if filename == "~":
        return func
    path = filename
    for prefix in (str(ROOT) + os.sep, *(p + os.sep for p in sys.path if p and "site-packages" in p)):
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    return f"{path}:{line}({func})"


def _package(key: tuple[str, int, str]) -> str:
    """The top-level package a profiled function belongs to; a C function by its owner, e.g. "pydantic_core"."""
    path = _where(key)
    if key[0] == "~":
        owner = key[2].rsplit(" of '", 1)[-1] if " of '" in key[2] else key[2].removeprefix("<built-in method ")
        return "C " + owner.lstrip("<'").split(".", 1)[0].split("'", 1)[0].lstrip("_")
    if path.startswith(os.sep):  # the standard library: name its module
        return Path(path).parent.name if Path(path).name == "__init__.py" else _stdlib_module(path)
    return path.split(os.sep, 1)[0].split(":", 1)[0].removesuffix(".py")


def _stdlib_module(path: str) -> str:
    parts = Path(path.split(":", 1)[0]).parts
    inside = parts[parts.index("lib") + 2:] if "lib" in parts else parts[-1:]
    return inside[0].removesuffix(".py") if inside else path


def _own(key: tuple[str, int, str]) -> bool:
    return any(key[0].startswith(str(ROOT / pkg) + os.sep) for pkg in ("router", "vendors", "pricing"))


def print_profile(run: Profiled, top: int = 25) -> None:
    entries = run.stats.stats  # type: ignore[attr-defined]
    total = run.stats.total_tt  # type: ignore[attr-defined]
    rows = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)
    own = [kv for kv in rows if _own(kv[0])]
    own_tt = sum(v[2] for _, v in own)
    print(f"\n{run.title}: {total:.2f} s of tottime, Farebox's own code {own_tt / total:.0%} of it; "
          f"the garbage collector ran {run.gc_s:.2f} s of {run.wall_s:.2f} s wall (charged to whichever "
          "function was allocating)")
    by_package: dict[str, float] = {}
    for key, value in rows:
        by_package[_package(key)] = by_package.get(_package(key), 0.0) + value[2]
    shares = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:10]
    print("  tottime by package: " + ", ".join(f"{name} {tt / total:.0%}" for name, tt in shares))
    for heading, subset in ((f"top {top} by tottime", rows[:top]),
                            ("Farebox's own code (router/, vendors/, pricing/), top 15", own[:15])):
        print(f"  {heading}\n  {'tottime':>8} {'share':>6} {'ncalls':>9} {'cumtime':>8}  function")
        for key, (_, ncalls, tt, ct, _) in subset:
            print(f"  {tt:8.3f} {tt / total:6.1%} {ncalls:9d} {ct:8.3f}  {_where(key)}")


# ---------------------------------------------------------------- report

def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _verdict(value: float, target: float) -> str:
    return "PASS" if value < target else "FAIL"


def report(imports: list[float], lazy: list[float], results: list[Result], load: tuple[float, float]) -> str:
    head = ("measure", "raw aiohttp", "Farebox", "overhead", "target", "result", "CPU overhead")
    imp_ms = _med(imports) * 1e3
    rows = [("import router (cold, ms)", "", f"{imp_ms:.1f}", "", f"< {IMPORT_TARGET_MS:.0f} ms",
             _verdict(imp_ms, IMPORT_TARGET_MS), ""),
            ("+ router.completion (lazy load, ms)", "", f"{_med(lazy) * 1e3:.1f}", "", "(info)", "", "")]
    lines = _table(head, rows, results)
    lines.append(f"load average (1 min) {load[0]:.2f} before, {load[1]:.2f} after on {os.cpu_count()} CPUs: wall "
                 "figures include waiting for a CPU that other processes hold; the CPU column does not.")
    return "\n".join(lines)


def tracking_report(results: list[Result]) -> str:
    head = ("measure", "tracking off", "tracking on", "overhead", "target", "result", "CPU overhead")
    return "\n".join(_table(head, [], results, sides=("off", "on")))


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]], results: list[Result],
           sides: tuple[str, str] = ("raw", "farebox")) -> list[str]:
    for res in results:
        raw, fbx, over = res.median("raw"), res.median("farebox"), res.overhead()
        rows.append((f"{res.label} (µs/{res.unit})", f"{raw:.1f}", f"{fbx:.1f}", f"{over:+.1f}",
                     f"< {res.target:.0f} µs", _verdict(over, res.target), f"{res.overhead('cpu_us'):+.1f}"))
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    lines = [_line(head, widths), _line(tuple("-" * w for w in widths), widths), *(_line(r, widths) for r in rows)]
    lines += ["", "rounds, µs per unit: wall min / median / max; medians of client CPU, of which GC; server busy"]
    for res in results:
        for name, side in zip(("raw", "farebox"), sides, strict=True):
            walls = [s.wall_us for s in getattr(res, name)]
            lines.append(f"  {res.label:<32} {side:<8} {min(walls):8.1f} {_med(walls):8.1f} {max(walls):8.1f}"
                         f"   cpu {res.median(name, 'cpu_us'):7.1f}   gc {res.median(name, 'gc_us'):6.1f}"
                         f"   server {res.median(name, 'server_busy'):4.0%}")
    return lines


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    left = f"{cells[0]:<{widths[0]}}"
    return "  ".join([left, *(f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True))]).rstrip()


def _banner(plan: Plan) -> str:
    return (f"Farebox benchmark: Python {platform.python_version()}, aiohttp {aiohttp.__version__}, "
            f"{os.cpu_count()} CPUs, model {plan.model!r}, {plan.chunks} content chunks per stream "
            f"({plan.per_write} event(s) per server write), {plan.rounds} rounds of ~{plan.block_s:g} s")


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (< 20 s)")
    parser.add_argument("--profile", action="store_true", help="cProfile the Farebox loops after the table")
    parser.add_argument("--tracking", action="store_true", help="also measure what call tracking adds per call "
                                                                "(ledger durable and batched vs tracking off)")
    parser.add_argument("--chunks", type=int, default=200, help="content chunks per streamed reply")
    parser.add_argument("--per-write", type=int, default=1, help="SSE events per server socket write")
    parser.add_argument("--model", default=MODEL, help="model name passed to acompletion (e.g. a priced "
                                                       "'openai/gpt-4o-mini' to include cost arithmetic)")
    args = parser.parse_args(argv)
    plan = (Plan(import_runs=5, rounds=3, block_s=0.25, chunks=args.chunks, per_write=args.per_write,
                 model=args.model) if args.quick else
            Plan(import_runs=15, rounds=11, block_s=1.0, chunks=args.chunks, per_write=args.per_write,
                 model=args.model))
    # SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the server is terminated in `upstream`'s finally.
    signal.signal(signal.SIGTERM, _terminate)
    # "bench-model" has no price row by design; the one "no price" warning would only clutter the output.
    logging.getLogger("farebox").setLevel(logging.ERROR)
    print(_banner(plan), flush=True)
    load_before = os.getloadavg()[0]
    imports, lazy = measure_import(plan.import_runs)
    print(f"  import router {_med(imports) * 1e3:.1f} ms, then router.completion {_med(lazy) * 1e3:.1f} ms",
          flush=True)
    # The main table is routing, pricing and decoding; tracking is off here and measured on its own (--tracking).
    router.configure(tracking="off")
    with upstream(plan.chunks, plan.per_write) as up:
        results = asyncio.run(measure_calls(plan, up))
        load = (load_before, os.getloadavg()[0])
        print("\n" + report(imports, lazy, results, load), flush=True)
        if args.tracking:
            with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
                tracked = asyncio.run(measure_tracking(plan, up, Path(tmp) / "ledger.sqlite"))
                print("\n" + tracking_report(tracked), flush=True)
        if args.profile:
            calls, streams = (500, 64) if args.quick else (3000, 320)
            for run in asyncio.run(profile_loops(plan, up, calls, streams)):
                print_profile(run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
