"""`python -m enforcer`: enforce, status, handle-event, publish-subscription-created, sweep, health.

The local stand-ins (ARM emulator, demo) are not deployed; they run as `python -m localdev`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from enforcer.cli.args import subscription_id as _subscription_id
from enforcer.core.models import Mode
from enforcer.core.render import EXIT_USAGE, exit_code, outcomes_json, outcomes_table, summary_line
from enforcer.core.settings import ConfigError, Settings

logger = logging.getLogger("enforcer.cli")


def cmd_enforce(args: argparse.Namespace) -> int:
    from enforcer.adapters.audit_store import AuditStoreError
    from enforcer.cli.signals import EXIT_INTERRUPTED, stop_on_signals
    from enforcer.cli.store import check_store, store_failed
    from enforcer.composition import build_cli_services
    from enforcer.usecases.record import run_enforcement

    settings = Settings.from_env().for_dry_run(args.dry_run)
    services = build_cli_services(settings)
    acted = False
    try:
        check_store(services)  # before any PUT: nothing is changed that could not be recorded
        acted = True
        with stop_on_signals(services.stop):
            outcomes, _summary = run_enforcement(services, args.subscription, kind="cli")
    except AuditStoreError as error:
        return store_failed(error, as_json=args.json, acted=acted and settings.mode is Mode.ENFORCE)
    finally:
        services.close()
    if args.json:
        print(outcomes_json(outcomes))
    else:
        print(outcomes_table(outcomes, show_state=True))
        print()
        print(summary_line(outcomes))
    if services.stop.is_set():
        print(f"stopped: {len(outcomes)} of {len(args.subscription)} subscription(s) handled", file=sys.stderr)
        return EXIT_INTERRUPTED
    return exit_code(outcomes)


class UsageError(Exception):
    """A command line argparse refused; `text` is what argparse would have printed on stderr."""

    def __init__(self, message: str, text: str) -> None:
        super().__init__(message)
        self.message = message
        self.text = text


class _Parser(argparse.ArgumentParser):
    """argparse, except that a usage error is raised instead of exiting, so that `main` can still print JSON on
    stdout under `--json`. Subparsers are built with the same class (argparse's default `parser_class`)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, f"{self.format_usage()}{self.prog}: error: {message}\n")


def _usage_failed(message: str, text: str, *, as_json: bool) -> int:
    """Exit 2: the message on stderr for people and, under `--json`, one JSON object on stdout for scripts, so that
    `--json` always prints valid JSON (doctor prints the same shape)."""
    if as_json:
        print(json.dumps({"status": "usage", "error": message}))
    sys.stderr.write(text)
    return EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = _Parser(
        prog="python -m enforcer",
        description="Defender for AI Enforcer: keep the Defender for AI Services plan on, exactly as configured.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enforce = commands.add_parser("enforce", help="enforce the plan on the given subscriptions")
    enforce.add_argument(
        "--subscription",
        "-s",
        action="append",
        required=True,
        type=_subscription_id,
        metavar="ID",
        help="subscription id (repeatable)",
    )
    enforce.add_argument("--dry-run", action="store_true", help="decide and report, never write (audit mode)")
    enforce.add_argument("--json", action="store_true", help="print a JSON array of outcomes")
    enforce.set_defaults(func=cmd_enforce)

    _add_optional_commands(commands)
    for command in commands.choices.values():
        # `-v` after the command too; SUPPRESS keeps a `-v` given before it.
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log progress")
    return parser


def _add_optional_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Commands whose modules register themselves (status, events, sweep)."""
    from enforcer.cli import commands as extra

    extra.register(commands)


def configure_logging(*, verbose: bool) -> None:
    """Log lines to stderr (stdout is for results and `--json`): INFO with -v, WARNING otherwise."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Read before parsing, because parsing is what may fail.
    as_json = "--json" in arguments
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except UsageError as error:
        return _usage_failed(error.message, error.text, as_json=as_json)
    configure_logging(verbose=args.verbose)
    try:
        return int(args.func(args))
    except ConfigError as error:
        message = f"configuration error: {error}"
        return _usage_failed(message, message + "\n", as_json=as_json)
    except KeyboardInterrupt:
        return 130
