"""`python -m localdev`: the local stand-ins (not deployed): `emulator` and `demo`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from localdev.emulator.cli import add_arguments

    parser = argparse.ArgumentParser(
        prog="python -m localdev", description="Local stand-ins for Azure: the ARM emulator and the end-to-end demo."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    emulator = commands.add_parser("emulator", help="run the local ARM emulator (loopback only)")
    add_arguments(emulator)
    emulator.set_defaults(func=_emulator)
    demo = commands.add_parser("demo", help="run the end-to-end demo on local stand-ins and exit")
    demo.add_argument("--subscriptions", type=int, default=25, help="fleet size (default 25)")
    demo.add_argument("--seed", type=int, default=7, help="fleet seed (default 7)")
    demo.set_defaults(func=_demo)
    return parser


def _emulator(args: argparse.Namespace) -> int:
    from localdev.emulator.cli import run

    return run(args)


def _demo(args: argparse.Namespace) -> int:
    from localdev import demo

    return demo.run(args)


def main(argv: Sequence[str] | None = None) -> int:
    from enforcer.cli.main import configure_logging

    args = build_parser().parse_args(argv)
    configure_logging(verbose=args.verbose)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
