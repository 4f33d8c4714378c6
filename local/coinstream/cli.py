"""The `coinstream` command: run the whole system on one machine."""

from __future__ import annotations

import argparse
import os
import sys
import time

from coinstream_common.settings import SettingsError

from .runtime.fetch import FetchError
from .runtime.java import JavaNotFound
from .runtime.process import StartError


def _stack(args):
    from .runtime.stack import Stack

    return Stack()


def cmd_up(args) -> int:
    stack = _stack(args)
    names = args.components or None
    if args.prometheus:
        names = [c.name for c in stack.resolve(names)] + ["prometheus"]
    started = time.monotonic()
    print(f"coinstream up: state in {stack.cfg.state}, downloads cached in {stack.cfg.cache}")
    stack.up(names)
    print(f"\nready in {time.monotonic() - started:.0f}s. Endpoints:")
    for name, eps in stack.endpoints().items():
        if names is None or name in {c.name for c in stack.resolve(names)}:
            for label, url in eps.items():
                print(f"  {name:<16} {label:<10} {url}")
    print("\n`coinstream status` checks health, `coinstream down` stops everything.")
    return 0


def cmd_down(args) -> int:
    _stack(args).down(args.components or None)
    return 0


def cmd_status(args) -> int:
    healthy = True
    for name, ok, detail in _stack(args).status():
        healthy &= ok
        print(f"{name:<16} {'healthy' if ok else 'DOWN':<8} {detail}")
    return 0 if healthy else 1


def cmd_logs(args) -> int:
    stack = _stack(args)
    comp = stack.by_name.get(args.component)
    if comp is None:
        print(f"unknown component {args.component!r}; known: {', '.join(stack.by_name)}", file=sys.stderr)
        return 2
    path = comp.proc.log_file
    if not path.exists():
        print(f"no log yet at {path}", file=sys.stderr)
        return 1
    if args.follow:
        os.execvp("tail", ["tail", "-n", str(args.lines), "-F", str(path)])
    print(comp.proc.tail(args.lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="coinstream", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the whole system (or the named components and what they need)")
    up.add_argument("components", nargs="*")
    up.add_argument("--prometheus", action="store_true", help="also start Prometheus scraping every component")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop what `up` started")
    down.add_argument("components", nargs="*")
    down.set_defaults(func=cmd_down)
    sub.add_parser("status", help="one line per component: healthy or not and why").set_defaults(func=cmd_status)
    logs = sub.add_parser("logs", help="show a component's log")
    logs.add_argument("component")
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.add_argument("-f", "--follow", action="store_true")
    logs.set_defaults(func=cmd_logs)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (StartError, FetchError, JavaNotFound, KeyError) as exc:
        print(f"coinstream: {exc}".strip("'\""), file=sys.stderr)
        return 1
    except SettingsError as exc:
        print(f"coinstream: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
