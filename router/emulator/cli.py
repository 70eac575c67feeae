"""Command line entry: serve every emulated vendor on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .emulator import Emulator
from .profiles import PROFILES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="farebox emulator",
        description="Local vendor emulator: OpenAI, Anthropic, MiniMax, DeepSeek, Moonshot, Zhipu and a "
        "generic OpenAI-compatible server, with deterministic answers and injectable faults.",
    )
    parser.add_argument("--port", type=int, default=4010, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids, signatures and random byte splits")
    return parser


def banner(emu: Emulator) -> str:
    lines = [f"Farebox vendor emulator on {emu.url}"]
    for name, profile in PROFILES.items():
        for surface in profile.surfaces:
            lines.append(f"  {name:<11} {surface:<9}  {emu.base_url(name, surface)}")
    lines.append(f"  control: GET/DELETE {emu.url}/_emulator/requests, POST {emu.url}/_emulator/faults")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


async def _serve(emu: Emulator) -> None:
    await emu.start()
    try:
        print(banner(emu), flush=True)
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m router emulator --port N --seed S``: print base URLs, serve until Ctrl-C."""
    args = _parser().parse_args(argv)
    # Ctrl-C and SIGTERM stop it even when started in the background, where the shell set SIGINT to ignored
    # (a process inherits that, and Python then installs no handler of its own).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        asyncio.run(_serve(Emulator(port=args.port, seed=args.seed)))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"emulator: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
