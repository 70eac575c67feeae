"""`python -m router serve` and `keys`: the gateway and its virtual keys from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from router.gateway.settings import GatewaySettings
from router.gateway.wiring import key_store
from router.tracking.ledger import default_path

__all__ = ["cmd_keys", "cmd_serve"]


def cmd_serve(args: argparse.Namespace) -> int:
    from router.gateway import server  # lazy: only this subcommand loads the gateway (aiohttp.web)

    if (args.config is None) == (not args.demo):
        print("error: give --config FILE or --demo", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    where = f"http://{args.host}:{args.port}"
    if args.demo:
        from router.emulator import Emulator  # lazy: only the demo gateway runs the emulator

        # The emulator's spend is not real: a throw-away ledger unless --ledger names one.
        scratch = tempfile.TemporaryDirectory(prefix="farebox-serve-demo-")
        args.ledger = args.ledger or str(Path(scratch.name) / "ledger.sqlite")
        with scratch, Emulator.running() as emu:
            banner = (f"Farebox gateway (demo, vendors emulated at {emu.url}) on {where}\n"
                      f"  models: smart (falls back to cheap), cheap, claude; master key: {server.DEMO_MASTER_KEY}\n"
                      f"  try: curl {where}/v1/chat/completions -H 'Authorization: Bearer {server.DEMO_MASTER_KEY}'"
                      " -H 'Content-Type: application/json' -d '{\"model\":\"smart\",\"messages\":"
                      "[{\"role\":\"user\",\"content\":\"Hi\"}]}'\n"
                      f"  dashboard: {where}/dashboard?token={server.DEMO_MASTER_KEY}")
            if args.workers > 1:
                print(banner, flush=True)
                return server.run_workers(None, emu.url, host=args.host, port=args.port, workers=args.workers,
                                          ledger=args.ledger)

            settings = GatewaySettings(master_key=server.DEMO_MASTER_KEY, ledger=args.ledger)
            server.run(server.demo_router(emu.url), settings, host=args.host, port=args.port, banner=banner)
        return 0
    if args.workers > 1:
        print(f"Farebox gateway ({args.workers} workers) on {where}", flush=True)
        return server.run_workers(args.config, None, host=args.host, port=args.port, workers=args.workers,
                                  ledger=args.ledger)
    router, settings = server.load(args.config)
    if args.ledger:
        settings = settings.model_copy(update={"ledger": args.ledger})
    server.run(router, settings, host=args.host, port=args.port,
               banner=f"Farebox gateway on {where}: models {', '.join(sorted(router.aliases))}")
    return 0


def _key_store(args: argparse.Namespace) -> Any:
    ledger = args.ledger
    if ledger is None and args.config:
        from router.gateway.server import load  # lazy: the gateway server loads aiohttp.web

        ledger = load(args.config)[1].ledger
    return key_store(ledger or str(default_path()))


def cmd_keys(args: argparse.Namespace) -> int:
    store = _key_store(args)
    try:
        if args.action == "create":
            tags = {}
            for item in args.tag or ():
                name, sep, value = item.partition("=")
                if not sep or not name:
                    print(f"error: --tag takes KEY=VALUE, got {item!r}", file=sys.stderr)
                    return 2
                tags[name] = value
            raw, key = store.create(budget=args.budget, period=args.period, models=args.models, rpm=args.rpm,
                                    tags=tags, name=args.name)
            if args.json:
                print(json.dumps({"key": raw, **key.as_dict()}, indent=2))
            else:
                print(raw)
                print(f"id {key.id}; shown once, stored only as a sha256 hash", file=sys.stderr)
        elif args.action == "list":
            keys = store.list()
            if args.json:
                print(json.dumps([k.as_dict() for k in keys], indent=2))
                return 0
            print(f"{'id':<17} {'prefix':<10} {'state':<8} {'budget':>12} {'period':<6} {'rpm':>5}  models / tags")
            for k in keys:
                budget = f"${k.max_budget}" if k.max_budget is not None else "-"
                tags = ",".join(f"{a}={b}" for a, b in k.tags.items())
                print(f"{k.id:<17} {k.prefix:<10} {'revoked' if k.revoked else 'live':<8} {budget:>12} "
                      f"{k.budget_period:<6} {k.rpm or '-':>5}  {','.join(k.models) if k.models else '*'}"
                      f"{' / ' + tags if tags else ''}")
        else:
            key = store.revoke(args.key_id)
            print(f"revoked {key.id} ({key.prefix}…)")
    finally:
        store.close()
    return 0
