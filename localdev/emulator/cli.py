"""`python -m localdev emulator`: run the ARM emulator with a seeded fleet until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import collections
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from enforcer.cli.args import finite_number
from localdev.emulator.faults import FaultConfig
from localdev.emulator.fleet import FleetMember
from localdev.emulator.management_groups import seed_demo_tree
from localdev.emulator.server import Emulator

# Fleets larger than this are summarised rather than listed in full.
_LIST_LIMIT = 50


def _count(text: str) -> int:
    """A whole number >= 0 (an argparse type: a bad value is a one-line usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give 0 or more")
    return value


def _fraction(text: str) -> float:
    """A share between 0 and 1 (an argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value:g} is not a share between 0 and 1 (e.g. 0.2 for 20%)")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8181, help="port on 127.0.0.1 (0 picks a free one; default 8181)")
    parser.add_argument("--subscriptions", type=_count, default=25, metavar="N", help="fleet size (default 25)")
    parser.add_argument("--drift", type=_fraction, default=0.2, metavar="FRACTION", help="share drifted (default 0.2)")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="fleet and fault seed (default 1)")
    parser.add_argument(
        "--latency-ms", type=finite_number(0, 600_000), default=0.0, metavar="MS", help="latency added to every call"
    )
    parser.add_argument(
        "--throttle-fraction", type=_fraction, default=0.0, metavar="F", help="share of calls answered 429"
    )
    parser.add_argument(
        "--retry-after", type=int, default=1, metavar="S", help="Retry-After seconds on 429 (default 1)"
    )
    parser.add_argument("--error-fraction", type=_fraction, default=0.0, metavar="F", help="share answered 500/503")
    parser.add_argument(
        "--forbid",
        default="",
        metavar="SUB[,SUB]",
        help="subscriptions (id or display name) where pricing writes are 403",
    )
    parser.add_argument("--disable", default="", metavar="SUB[,SUB]", help="subscriptions set to state Disabled")
    parser.add_argument(
        "--fail-extension",
        default="",
        metavar="SUB:EXT[,...]",
        help="PUTs on SUB answer 200 with extension EXT's operationStatus Failed",
    )
    parser.add_argument(
        "--resource-graph-lag", type=finite_number(0, 86_400), default=0.0, metavar="S", help="Resource Graph staleness"
    )
    parser.add_argument("--resource-graph-unavailable", action="store_true", help="Resource Graph answers 503")
    parser.add_argument("--no-auth-check", action="store_true", help="accept calls without a bearer token")
    parser.add_argument(
        "--management-groups",
        action="store_true",
        help="seed a small management-group tree (corp > prod, dev; sandbox) and deal the fleet into it",
    )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def resolve_subscription(reference: str, members: Sequence[FleetMember]) -> str:
    """A subscription id, or a seeded display name such as sub-0003, to its id."""
    lowered = reference.lower()
    for member in members:
        if lowered in (member.subscription_id, member.display_name.lower()):
            return member.subscription_id
    raise ValueError(f"no seeded subscription {reference!r} (use an id or a display name like sub-0001)")


def fault_config_from_args(args: argparse.Namespace, members: Sequence[FleetMember]) -> FaultConfig:
    fail_extensions: dict[str, dict[str, str]] = {}
    for item in _split(args.fail_extension):
        sub_ref, sep, extension = item.rpartition(":")
        if not sep or not sub_ref or not extension:
            raise ValueError(f"--fail-extension expects SUB:EXT, got {item!r}")
        sub_id = resolve_subscription(sub_ref, members)
        fail_extensions.setdefault(sub_id, {})[extension] = (
            f"Failed assigning roles to the extension's identity for extension {extension} (emulated failure)"
        )
    return FaultConfig(
        latency_ms=args.latency_ms,
        throttle_fraction=args.throttle_fraction,
        retry_after_seconds=args.retry_after,
        error_fraction=args.error_fraction,
        forbidden={resolve_subscription(ref, members): "write" for ref in _split(args.forbid)},
        fail_extensions=fail_extensions,
        require_auth=not args.no_auth_check,
        resource_graph_unavailable=args.resource_graph_unavailable,
        resource_graph_lag_seconds=args.resource_graph_lag,
        seed=args.seed,
    )


def print_summary(emulator: Emulator, members: Sequence[FleetMember], out: TextIO) -> None:
    kinds = collections.Counter(m.drift_kind for m in members)
    print(f"ARM emulator listening on {emulator.url}", file=out)
    print(f"Set ENFORCER_ARM_ENDPOINT={emulator.url}", file=out)
    print(f"{len(members)} subscriptions: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())), file=out)
    shown = (
        members if len(members) <= _LIST_LIMIT else [m for m in members if m.drift_kind != "compliant"][:_LIST_LIMIT]
    )
    if len(shown) < len(members):
        print(f"(showing {len(shown)} drifted of {len(members)})", file=out)
    for member in shown:
        state = emulator.subscription(member.subscription_id)["state"]
        print(f"  {member.subscription_id}  {member.display_name}  {member.drift_kind:<14} {state}", file=out)
    out.flush()


def run(args: argparse.Namespace, stop: threading.Event | None = None, out: TextIO | None = None) -> int:
    """Serve until Ctrl-C / SIGTERM (or until `stop` is set, for tests). Returns the exit code."""
    out = out or sys.stdout
    stop = stop or threading.Event()
    emulator = Emulator(port=args.port)
    members = emulator.seed_fleet(args.subscriptions, args.drift, args.seed)
    try:
        emulator.faults = fault_config_from_args(args, members)
        for ref in _split(args.disable):
            emulator.set_subscription_state(resolve_subscription(ref, members), "Disabled")
        if args.management_groups:
            seed_demo_tree(emulator.management_groups, [m.subscription_id for m in members])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    try:
        emulator.start()
    except OSError as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        print_summary(emulator, members, out)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    print("ARM emulator stopped.", file=out)
    return 0
