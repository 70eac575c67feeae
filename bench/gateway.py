"""Gateways side by side: Farebox's gateway, LiteLLM's proxy and direct calls to the same mock vendor.

    python -m bench.gateway                    # full run (LiteLLM's venv is created under the cache dir once)
    python -m bench.gateway --quick            # 1 s per scenario
    python -m bench.gateway --skip-litellm     # Farebox vs direct only
    python -m bench.gateway --json out.json    # the figures as JSON too

The mock vendor (bench/server.py, its own process) and this load generator share CPU 0; the gateways under
test run on CPU 1 (os.sched_setaffinity), one process, one worker each. All of them are started first, then
every scenario runs in rounds (--rounds) that go round the targets in turn, direct calls included, so each
target's figures and the added latency over direct come from the same minutes of a shared machine. For each
of JSON and streaming (64 chunks) at 1, 32 and 256 concurrent clients: throughput, p50/p99 latency, time to the
first chunk, the gateway's CPU per request (/proc utime+stime) and its peak RSS (VmHWM, the process tree).
LiteLLM (`litellm[proxy]`, pinned below) lives in its own venv, never a Farebox dependency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LITELLM = os.environ.get("FAREBOX_BENCH_LITELLM", "litellm[proxy]==1.108.7")
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "farebox-bench"
KEY = "sk-bench-master"
CHUNKS = 64
ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Read once, before run() pins this process to the first: computed later, every child landed on CPU 0 too,
# the gateway under test sharing one core with the load generator and the mock vendor.
CPUS = sorted(os.sched_getaffinity(0))


def pin(cpu: int) -> Any:
    target = {CPUS[cpu % len(CPUS)]}
    return lambda: os.sched_setaffinity(0, target)


def tree(pid: int) -> list[int]:
    """pid and its descendants, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def peak_rss_mib(pid: int) -> float:
    total = 0
    for p in tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
    return total / 1024


def wait_http(url: str, proc: subprocess.Popen[Any], timeout: float = 180.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:g}s")


@contextlib.contextmanager
def process(cmd: list[str], *, cpu: int, env: dict[str, str] | None = None, cwd: Path | None = None,
            log: Path | None = None) -> Iterator[subprocess.Popen[Any]]:
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, preexec_fn=pin(cpu),
                            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(5)
        if log:
            out.close()


def litellm_bin(quiet: bool = False) -> Path | None:
    """LiteLLM's proxy in its own venv under the cache dir (created on first use)."""
    venv = CACHE / "litellm-venv"
    exe = venv / "bin" / "litellm"
    if exe.exists():
        return exe
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"installing {LITELLM} into {venv} (once; can take minutes)", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", LITELLM], check=True)
    except subprocess.CalledProcessError as exc:
        print(f"LiteLLM could not be installed ({exc}); measuring Farebox and direct only", file=sys.stderr)
        return None
    return exe if exe.exists() else None


# -- load --------------------------------------------------------------------------------------------------
async def scenario(url: str, headers: dict[str, str], body: bytes, stream: bool, clients: int,
                   seconds: float, pid: int | None = None) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    ttfbs: list[float] = []
    errors = 0
    chunks_seen: list[int] = []
    headers = {**headers, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def one() -> None:
            nonlocal errors
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    if resp.status != 200:
                        errors += 1
                        await resp.read()
                        return
                    if not stream:
                        json.loads(await resp.read())
                    else:
                        first, seen, buf = None, 0, b""
                        async for data in resp.content.iter_any():
                            buf += data
                            *lines, buf = buf.split(b"\n")
                            for line in lines:
                                if line.startswith(b"data: {"):
                                    if first is None and b'"content"' in line:
                                        first = time.perf_counter() - started
                                    seen += 1
                        ttfbs.append(first if first is not None else time.perf_counter() - started)
                        chunks_seen.append(seen)
            except (aiohttp.ClientError, OSError, ValueError):
                errors += 1
                return
            latencies.append(time.perf_counter() - started)

        async def worker(stop: float) -> None:
            while time.perf_counter() < stop:
                await one()

        # Warm up: open the connections and load every lazy path.
        await asyncio.gather(*(one() for _ in range(min(clients, 64))))
        latencies.clear()
        ttfbs.clear()
        chunks_seen.clear()
        errors = 0
        cpu = cpu_seconds(pid) if pid else 0.0  # the server's CPU over the measured seconds, not the warm-up
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds) for _ in range(clients)))
        wall = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu if pid else 0.0
    return {**figures(latencies, ttfbs if stream else None, chunks_seen, errors, wall), "cpu_s": cpu}


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def figures(latencies: list[float], ttfbs: list[float] | None, chunks_seen: list[int], errors: int,
            wall: float) -> dict[str, Any]:
    return {"requests": len(latencies), "errors": errors, "wall_s": wall, "rps": len(latencies) / wall,
            "p50_ms": pct(latencies, 0.50), "p99_ms": pct(latencies, 0.99),
            "ttfb_p50_ms": pct(ttfbs, 0.50) if ttfbs is not None else None,
            "ttfb_p99_ms": pct(ttfbs, 0.99) if ttfbs is not None else None,
            "chunks": statistics.median(chunks_seen) if chunks_seen else None,
            "_raw": (latencies, ttfbs or [], chunks_seen)}


def merged(rows: list[dict[str, Any]], stream: bool) -> dict[str, Any]:
    """Rounds of one scenario as one: percentiles over all their requests."""
    lat = [x for r in rows for x in r["_raw"][0]]
    ttfbs = [x for r in rows for x in r["_raw"][1]] if stream else None
    return figures(lat, ttfbs, [x for r in rows for x in r["_raw"][2]], sum(r["errors"] for r in rows),
                   sum(r["wall_s"] for r in rows))


@dataclass
class Target:
    """One thing measured: its URL, what a client sends it, and its process (None: the mock vendor itself)."""

    name: str
    url: str
    headers: dict[str, str]
    model: str
    pid: int | None = None


def body(model: str, stream: bool) -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": "Hello, bench"}],
                       "stream": stream, "max_tokens": 64}, separators=(",", ":")).encode()


def measure(targets: list[Target], args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    """Every scenario, each cut into `args.rounds` rounds that go round the targets in turn: on a shared host
    other work moves latency and throughput by more than a gateway adds, and this way every target (the
    direct calls, the gateways, LiteLLM) sees the same machine for its share of each scenario."""
    for stream in (False, True):
        for clients in args.clients:
            rounds: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
            used = dict.fromkeys(rounds, 0.0)
            for _ in range(args.rounds):
                for t in targets:
                    row = asyncio.run(scenario(t.url, t.headers, body(t.model, stream), stream, clients,
                                               args.seconds / args.rounds, t.pid))
                    rounds[t.name].append(row)
                    used[t.name] += row["cpu_s"]
            for t in targets:
                row = merged(rounds[t.name], stream)
                row.pop("_raw")
                row.update(target=t.name, mode="stream" if stream else "json", clients=clients,
                           cpu_ms_per_req=(used[t.name] / max(row["requests"], 1) * 1000) if t.pid else None,
                           peak_rss_mib=peak_rss_mib(t.pid) if t.pid else None)
                results.append(row)
                show(row)


def show(row: dict[str, Any]) -> None:
    print(f"  {row['target']:<15} {row['mode']:<6} c={row['clients']:<4} {row['rps']:9.1f} req/s"
          f"  p50 {row['p50_ms'] or 0:7.2f} ms  p99 {row['p99_ms'] or 0:7.2f} ms"
          + (f"  ttfb {row['ttfb_p50_ms']:6.2f} ms" if row["ttfb_p50_ms"] is not None else "")
          + (f"  cpu {row['cpu_ms_per_req']:.3f} ms/req" if row["cpu_ms_per_req"] is not None else "")
          + (f"  rss {row['peak_rss_mib']:.0f} MiB" if row["peak_rss_mib"] else "")
          + (f"  ERRORS {row['errors']}" if row["errors"] else ""), flush=True)


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    os.sched_setaffinity(0, {CPUS[0]})   # the load generator: CPU 0
    work = Path(tempfile.mkdtemp(prefix="farebox-bench-gw-"))
    up_port = free_port()
    upstream_cmd = [sys.executable, "-m", "bench.server", "--port", str(up_port), "--chunks", str(CHUNKS)]
    with contextlib.ExitStack() as stack:
        stack.enter_context(process(upstream_cmd, cpu=0, cwd=ROOT))
        time.sleep(1.0)
        upstream = f"http://127.0.0.1:{up_port}/v1"
        targets = [Target("direct", upstream + "/chat/completions", {"Authorization": "Bearer sk-bench"},
                          "bench-model")]
        # Every server is started first (each alone on CPU 1; an idle one costs nothing), then measured in turns.
        port = free_port()
        cmd = [sys.executable, "-m", "bench.bare_proxy", str(port), upstream + "/chat/completions"]
        proc = stack.enter_context(process(cmd, cpu=1, cwd=ROOT))
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        print(f"bare: an aiohttp proxy, the floor of any Python gateway (pid {proc.pid}, CPU 1)", flush=True)
        targets.append(Target("bare", f"http://127.0.0.1:{port}/v1/chat/completions", {}, "bench-model", proc.pid))

        for name, batching in (("farebox", False), ("farebox-batched", True)):
            if batching and args.quick:
                continue
            port = free_port()
            config = work / f"{name}.yaml"
            config.write_text(json.dumps({
                "deployments": [{"alias": "bench", "model": "openai/gpt-4o-mini", "api_key": "sk-bench",
                                 "base_url": upstream}],
                "num_retries": 0, "gateway": {"master_key": KEY, "ledger_batching": batching}}))
            cmd = [sys.executable, "-m", "router", "serve", "--config", str(config), "--port", str(port),
                   "--ledger", str(work / f"{name}.sqlite")]
            proc = stack.enter_context(process(cmd, cpu=1, cwd=ROOT, log=work / f"{name}.log"))
            wait_http(f"http://127.0.0.1:{port}/healthz", proc)
            groups = "1 s" if batching else "0.05 s"  # gateway.ledger_batching / ledger_flush_s
            print(f"{name}: Farebox's gateway (pid {proc.pid}, CPU 1, ledger commits in groups within {groups})",
                  flush=True)
            targets.append(Target(name, f"http://127.0.0.1:{port}/v1/chat/completions",
                                  {"Authorization": f"Bearer {KEY}"}, "bench", proc.pid))

        exe = None if args.skip_litellm else litellm_bin()
        if exe is not None:
            port = free_port()
            lconfig = work / "litellm.yaml"
            lconfig.write_text(json.dumps({
                "model_list": [{"model_name": "bench", "litellm_params": {
                    "model": "openai/bench-model", "api_base": upstream, "api_key": "sk-bench"}}],
                "general_settings": {"master_key": KEY}, "litellm_settings": {"telemetry": False}}))
            env = {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "NO_DOCS": "True"}
            lcmd = [str(exe), "--config", str(lconfig), "--port", str(port), "--num_workers", "1"]
            proc = stack.enter_context(process(lcmd, cpu=1, env=env, cwd=work, log=work / "litellm.log"))
            wait_http(f"http://127.0.0.1:{port}/health/liveliness", proc)
            print(f"litellm: LiteLLM's proxy (pid {proc.pid}, CPU 1, no database)", flush=True)
            targets.append(Target("litellm", f"http://127.0.0.1:{port}/v1/chat/completions",
                                  {"Authorization": f"Bearer {KEY}"}, "bench", proc.pid))
        measure(targets, args, results)
    return results


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    def row(target: str, mode: str, clients: int) -> dict[str, Any] | None:
        return next((r for r in results if r["target"] == target and r["mode"] == mode and r["clients"] == clients),
                    None)

    out: dict[str, Any] = {}
    for target in ("bare", "farebox", "farebox-batched", "litellm"):
        d_json, g_json = row("direct", "json", 1), row(target, "json", 1)
        d_str, g_str = row("direct", "stream", 1), row(target, "stream", 1)
        if g_json is None or g_json["p50_ms"] is None or g_str is None or g_str["ttfb_p50_ms"] is None:
            continue
        # The direct rounds ran in turn with this target's (measure()): the same machine.
        out[target] = {
            "added_p50_ms": g_json["p50_ms"] - d_json["p50_ms"], "added_p99_ms": g_json["p99_ms"] - d_json["p99_ms"],
            "added_ttfb_ms": g_str["ttfb_p50_ms"] - d_str["ttfb_p50_ms"],
            "peak_rss_mib": max(r["peak_rss_mib"] or 0 for r in results if r["target"] == target),
        }
    if "litellm" in out:
        out["farebox_over_litellm_throughput"] = {
            f"{m} c={c}": row("farebox", m, c)["rps"] / row("litellm", m, c)["rps"]
            for m in ("json", "stream") for c in sorted({r["clients"] for r in results})
            if row("litellm", m, c) and row("litellm", m, c)["rps"]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s per scenario")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per scenario")
    parser.add_argument("--clients", default="1,32,256")
    parser.add_argument("--rounds", type=int, default=4,
                        help="each scenario in this many rounds going round the targets in turn")
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    args.clients = [int(c) for c in args.clients.split(",")]
    if args.quick:
        args.seconds, args.rounds = 1.0, 2
    results = run(args)
    summ = summary(results)
    summ["load_average"] = os.getloadavg()
    print(json.dumps(summ, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "summary": summ}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
