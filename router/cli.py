"""`python -m router` / `farebox`: demo, complete, models, price, effort, spend, emulator, serve, keys."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pricing
import router
import vendors
from pricing.cost import money
from router.cli_gateway import cmd_keys, cmd_serve
from router.tracking.doctor import diagnose
from router.tracking.ledger import default_path
from router.tracking.spending import spend
from vendors.catalogue import lookup
from vendors.effort import resolve_effort
from vendors.errors import FareboxError

__all__ = ["main"]


def cmd_complete(args: argparse.Namespace) -> int:
    kwargs: dict[str, Any] = {"base_url": args.base_url, "region": args.region, "reasoning_effort": args.effort,
                              "api_key": args.api_key}
    if args.max_tokens:
        kwargs["max_tokens"] = args.max_tokens
    messages = [{"role": "user", "content": args.prompt}]
    if args.stream:
        stream = router.completion(model=args.model, messages=messages, stream=True, **kwargs)
        for chunk in stream:
            for choice in chunk.choices:
                if choice.delta.content and not args.json:
                    print(choice.delta.content, end="", flush=True)
        resp = stream.response
        if not args.json:
            print()
    else:
        resp = router.completion(model=args.model, messages=messages, **kwargs)
        if not args.json:
            print(resp.choices[0].message.content or "")
    if args.json:
        print(resp.model_dump_json(indent=2))
    else:
        _print_footer(resp)
    return 0


def _print_footer(resp: Any) -> None:
    """The usage and cost line, on stderr: stdout carries only the answer (pipe it)."""
    usage, cost = resp.usage, resp.cost
    est = " (estimated)" if usage.estimated else ""
    print(f"-- {resp.vendor}/{resp.model}: {usage.prompt_tokens} in / {usage.completion_tokens} out{est}, "
          f"cost {money(cost.total if cost is not None else None)}"
          f"{' (plan quota)' if cost is not None and cost.billing == 'plan' else ''}", file=sys.stderr)


def cmd_models(args: argparse.Namespace) -> int:
    names = [vendors.get(args.vendor).name] if args.vendor else [n for n in vendors.names() if n != "compatible"]
    print(f"{'model':<42} {'context':>10} {'max out':>9} {'in $/M':>9} {'out $/M':>9} {'cached $/M':>11}")
    for name in names:
        for info in vendors.models(name):
            p = pricing.price(f"{name}/{info.id}")
            cached = p.cache_read if p.cache_read is not None else p.input
            window = f"{info.context_window:,}" if info.context_window else "-"
            max_out = f"{info.max_output:,}" if info.max_output else "-"
            print(f"{name + '/' + info.id:<42} {window:>10} {max_out:>9} "
                  f"{p.input:>9} {p.output:>9} {cached:>11}")
    return 0


def _instant(text: str) -> Any:
    """--at: an ISO date or datetime; "Z" or no offset means UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"cannot read {text!r} as a time: use e.g. 2026-08-01T12:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _mix_error(args: argparse.Namespace) -> str | None:
    """The one-line reason a token mix cannot happen, or None."""
    for flag in ("input", "output", "cached", "cache_write", "cache_write_1h", "reasoning"):
        if getattr(args, flag) < 0:
            return f"--{flag.replace('_', '-')} is {getattr(args, flag)}: token counts are 0 or more"
    if args.cached + args.cache_write > args.input:
        return (f"--cached ({args.cached}) + --cache-write ({args.cache_write}) exceed --input ({args.input}): "
                "--input counts every prompt token, cache reads and writes included")
    if args.cache_write_1h > args.cache_write:
        return f"--cache-write-1h ({args.cache_write_1h}) exceeds --cache-write ({args.cache_write}), which includes it"
    if args.reasoning > args.output:
        return f"--reasoning ({args.reasoning}) exceeds --output ({args.output}), which includes it"
    return None


def cmd_price(args: argparse.Namespace) -> int:
    problem = _mix_error(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    row = pricing.price(args.model, at=args.at)
    usage = {"prompt_tokens": args.input, "completion_tokens": args.output, "cached_tokens": args.cached,
             "cache_write_tokens": args.cache_write, "cache_write_1h_tokens": args.cache_write_1h,
             "reasoning_tokens": args.reasoning}
    cost = pricing.cost(f"{row.vendor}/{row.id}", usage, at=args.at, service_tier=args.service_tier)
    if args.json:  # exact Decimal strings, the row and the provenance of the rates used
        print(json.dumps({"price": row.model_dump(mode="json"), "cost": cost.model_dump(mode="json")}, indent=2))
        return 0
    rates, window = row.rates_at(cost.at, args.service_tier)
    tier = rates.tier_for(args.input)
    used = tier or rates
    print(f"{row.vendor}/{row.id}" + (f" (alias {row.alias_used})" if row.alias_used else ""))
    print(f"  at {cost.at:%Y-%m-%d %H:%M} UTC" + (f", {window} window" if window else "")
          + (f", {args.service_tier} tier" if cost.service_tier else "")
          + (f", prompt above {tier.above_tokens:,} tokens" if tier else ""))
    print(f"  per million tokens: input ${used.input}, output ${used.output}, cache read "
          f"${used.cache_read if used.cache_read is not None else used.input}, cache write "
          f"${used.cache_write if used.cache_write is not None else used.input}"
          + (f", 1-hour cache write ${used.cache_write_1h}" if used.cache_write_1h is not None else ""))
    print(f"  context {row.context_window}, max output {row.max_output}; checked {row.checked}; source {row.source}"
          + (" (third party)" if row.third_party else ""))
    if any(usage.values()):
        for part in ("input", "cache_read", "cache_write", "output", "reasoning"):
            print(f"  {part:<12} {money(getattr(cost, part))}")
        print(f"  {'total':<12} {cost.display()}")
    return 0


def cmd_effort(args: argparse.Namespace) -> int:
    match = lookup(args.model)
    spec, model_id = match.spec, match.model
    wire = spec.surfaces[0].wire
    profile = spec.effort_for(model_id, wire)
    # Resolved before anything is printed, so a bad LEVEL prints only the error line.
    result = None if args.level is None else resolve_effort(profile, args.level, wire=wire, vendor=spec.name,
                                                            model=model_id)
    if profile is None:
        print(f"{spec.name}/{model_id}: reasoning effort is not configurable")
    else:
        print(f"{spec.name}/{model_id}: levels {'|'.join(profile.levels)}; default {profile.default}")
    if result is not None:
        sent = json.dumps(dict(result.body), ensure_ascii=False)
        print(f"{args.level!r} -> level {result.level!r}; on the wire: {sent}"
              + (f"; never sent: {', '.join(sorted(result.remove))}" if result.remove else ""))
        if result.note:
            print(f"note: {result.note}")
    return 0


def cmd_spend(args: argparse.Namespace) -> int:

    group_by = [name.strip() for value in args.by or () for name in value.split(",") if name.strip()]
    try:
        rows = spend(group_by, since=args.since, until=args.until, ledger=args.ledger)
    except ValueError as exc:
        if isinstance(exc, FareboxError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    data = [row.as_dict() for row in rows]
    if args.format == "json":
        print(json.dumps(data, indent=2, default=str))
        return 0
    fields = [*group_by, "calls", "failures", "cancelled", "fallbacks", "prompt_tokens", "completion_tokens",
              "cached_tokens", "cache_write_tokens", "reasoning_tokens", "cost", "unpriced_calls",
              "unpriced_prompt_tokens", "unpriced_completion_tokens"]
    if args.format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)
        return 0
    if not rows:
        print(f"no calls recorded in {args.ledger or default_path()} for that period")
        return 0
    shown = [*group_by, "calls", "failures", "fallbacks", "prompt_tokens", "completion_tokens", "cost", "unpriced"]
    summed = ("calls", "failures", "fallbacks", "prompt_tokens", "completion_tokens", "cost", "unpriced_calls",
              "unpriced_prompt_tokens", "unpriced_completion_tokens")
    total = {name: sum(d[name] for d in data) for name in summed}
    cells = [[_spend_cell(d, name) for name in shown] for d in data]
    if not group_by:  # one ungrouped row: it is the total, so say so instead of printing it twice
        shown.insert(0, "")
        cells = [["total", *cells[0]]]
    elif len(cells) > 1:
        cells.append(["total" if i == 0 else "" for i in range(len(group_by))]
                     + [_spend_cell(total, n) for n in shown[len(group_by):]])
    widths = [max(len(name), *(len(row[i]) for row in cells)) for i, name in enumerate(shown)]
    numeric = [name not in group_by and name != "" for name in shown]
    print("  ".join(n.rjust(w) if r else n.ljust(w) for n, w, r in zip(shown, widths, numeric, strict=True)))
    for row in cells:
        print("  ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, numeric, strict=True)))
    return 0


def _spend_cell(row: dict[str, Any], name: str) -> str:
    """A spend table cell. Unpriced calls are never shown as $0: their cost is unknown, so a group of only
    unpriced calls shows "unknown" and a mixed group's cost is a lower bound ("≥$…")."""
    unpriced = row["unpriced_calls"]
    if name == "unpriced":
        tokens = row["unpriced_prompt_tokens"] + row["unpriced_completion_tokens"]
        return f"{unpriced} ({tokens} tok)" if unpriced else "-"
    if name == "cost":
        if unpriced and not row["cost"]:
            return "unknown"
        return ("≥" if unpriced else "") + money(row["cost"])
    value = row[name]
    return "-" if value is None else str(value)


def cmd_emulator(args: argparse.Namespace) -> int:
    from router.emulator import main as emulator_main  # lazy: only this subcommand loads aiohttp.web

    argv = ["--port", str(args.port)]
    return int(emulator_main(argv) or 0)


def cmd_doctor(args: argparse.Namespace) -> int:
    report = diagnose(state=args.state, ledger=args.ledger)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        for name, part in report.items():
            print(f"{name}:")
            for key, value in part.items():
                print(f"  {key:<16} {value}")
    ok = report["ledger"].get("reachable", True) and report["state"].get("reachable", True)
    return 0 if ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from router.demo import run_demo  # lazy: only this subcommand loads the emulator

    return run_demo()


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line (`error: ...`), exit status 2."""

    def error(self, message: str) -> Any:
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 0 (any free port) to 65535")
    return port


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="farebox", description="Route LLM calls across vendors; know each call's cost.")
    parser.add_argument("--version", action="version", version=f"farebox {router.__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="offline: emulator + a routed call with a fallback, answer and cost")
    p = sub.add_parser("complete", help="a real call (needs the vendor's key)")
    p.add_argument("-m", "--model", required=True, help="vendor/model, e.g. deepseek/deepseek-chat")
    p.add_argument("prompt", help="the user message")
    p.add_argument("--stream", action="store_true", help="print the answer as it arrives")
    p.add_argument("--effort", default=None, help="reasoning effort (see `effort MODEL`)")
    p.add_argument("--base-url", "--api-base", dest="base_url", default=None,
                   help="the server's address (a proxy, a local vLLM or Ollama); its host picks the vendor's quirks")
    p.add_argument("--api-key", default=None, help="the key (default: the vendor's environment variable)")
    p.add_argument("--region", default=None, choices=["global", "cn"], help="for vendors with regional endpoints")
    p.add_argument("--max-tokens", type=_positive, default=None, help="cap on output tokens")
    p.add_argument("--json", action="store_true",
                   help="print the whole Response as JSON (on stdout, cost included) instead of answer + cost line")
    p = sub.add_parser("models", help="known models with context window and prices")
    p.add_argument("vendor", nargs="?", help="only this vendor's models")
    p = sub.add_parser("price", help="a model's price row and the cost of a token count")
    p.add_argument("model", help="vendor/model or a known model name")
    for flag, what in (("input", "prompt tokens, cache reads and writes included"), ("output", "output tokens, "
                       "reasoning included"), ("cached", "prompt tokens read from the cache"),
                       ("cache-write", "prompt tokens written to the cache"),
                       ("cache-write-1h", "of those, written with a 1-hour lifetime"),
                       ("reasoning", "of the output tokens, those spent thinking")):
        p.add_argument(f"--{flag}", type=int, default=0, metavar="N", help=what)
    p.add_argument("--at", type=_instant, default=None, help="price a request sent then (ISO, UTC), e.g. "
                                                              "2026-08-01T12:00Z; default now")
    p.add_argument("--service-tier", default=None, help="batch, flex or priority, where the row prices it")
    p.add_argument("--json", action="store_true", help="the row and the exact cost as JSON")
    p = sub.add_parser("effort", help="a model's effort levels and what LEVEL becomes on the wire")
    p.add_argument("model", help="vendor/model or a known model name")
    p.add_argument("level", nargs="?", help="a reasoning_effort word: auto, none, low, medium, high, max, ...")
    p = sub.add_parser("spend", help="spend from the cost ledger, grouped (FAREBOX_LEDGER or --ledger)")
    p.add_argument("--by", action="append", metavar="KEY",
                   help="group by day, hour, month, vendor, model, alias, deployment, status, error, billing or "
                        "tag:KEY; repeat or comma-separate")
    p.add_argument("--since", default=None, help="7d, 24h, 30m, 2w, today, or an ISO date/datetime (UTC)")
    p.add_argument("--until", default=None, help="same forms; the end is excluded")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
    p.add_argument("--ledger", default=None, help="ledger file (default: $FAREBOX_LEDGER, else "
                                                  "~/.local/share/farebox/ledger.sqlite)")
    p = sub.add_parser("doctor", help="what each backend is doing: state, ledger, spool")
    p.add_argument("--state", default=None, help="a redis:// URL (default: $FAREBOX_STATE, else local)")
    p.add_argument("--ledger", default=None, help="a ledger file or postgresql:// URL (default: $FAREBOX_LEDGER)")
    p.add_argument("--json", action="store_true", help="the diagnosis as JSON")
    p = sub.add_parser("emulator", help="run the vendor emulator for your own tests")
    p.add_argument("--port", type=_port, default=4010, help="port on 127.0.0.1 (0: any free port)")
    p = sub.add_parser("serve", help="the OpenAI/Anthropic-compatible gateway (--demo: against the emulator)")
    p.add_argument("--config", default=None, help="farebox.yaml: Router deployments and a gateway: section")
    p.add_argument("--demo", action="store_true", help="serve demo aliases over the built-in vendor emulator")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=_port, default=4000, help="port to listen on")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the port (SO_REUSEPORT)")
    p.add_argument("--ledger", default=None, help="ledger file (default: gateway.ledger, else $FAREBOX_LEDGER)")
    p = sub.add_parser("keys", help="the gateway's virtual keys (create, list, revoke)")
    keys = p.add_subparsers(dest="action", required=True)
    for name in ("create", "list", "revoke"):
        k = keys.add_parser(name, help={"create": "a new virtual key (shown once)", "list": "the keys and their use",
                                        "revoke": "stop a key working"}[name])
        k.add_argument("--ledger", default=None, help="ledger file or postgresql:// URL (default: $FAREBOX_LEDGER)")
        k.add_argument("--config", default=None, help="read gateway.ledger from this farebox.yaml")
        k.add_argument("--json", action="store_true", help="JSON output")
        if name == "create":
            k.add_argument("--budget", default=None, help="USD per period")
            k.add_argument("--period", default="month", help="day or month")
            k.add_argument("--models", default=None, help="comma-separated aliases the key may use")
            k.add_argument("--rpm", type=int, default=None, help="requests per minute")
            k.add_argument("--tag", action="append", metavar="KEY=VALUE", help="recorded with every call")
            k.add_argument("--name", default=None, help="a label for the key")
        elif name == "revoke":
            k.add_argument("key_id", help="the key's id (or its shown prefix)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"demo": cmd_demo, "complete": cmd_complete, "models": cmd_models, "price": cmd_price,
               "effort": cmd_effort, "spend": cmd_spend, "doctor": cmd_doctor, "emulator": cmd_emulator,
               "serve": cmd_serve, "keys": cmd_keys}[args.command]
    try:
        return handler(args)
    except FareboxError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except (LookupError, ValueError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a port in use, an unreadable file
        print(f"error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `farebox models | head`
        sys.stderr.close()
        return 0
