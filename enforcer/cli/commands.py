"""Subcommands beyond enforce/emulator/demo, kept apart so the core CLI stays small."""

from __future__ import annotations

import argparse
import os
import sys
import time

from enforcer.core.render import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    exit_code,
    outcomes_json,
    outcomes_table,
    summary_line,
)
from enforcer.core.settings import ConfigError, Settings
from enforcer.core.text import escape_control, is_guid

TOPIC_KEY_ENV = "ENFORCER_TOPIC_KEY"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the status, handle-event, publish-subscription-created and sweep commands."""
    _register_status(commands)
    _register_events(commands)
    _register_sweep(commands)
    from enforcer.cli import health

    health.register(commands)

    from enforcer.cli import coverage_cmd

    coverage_cmd.register(commands)

    from enforcer.cli import doctor_cmd

    doctor_cmd.register(commands)
    from enforcer.cli import desired_state_cmd

    desired_state_cmd.register(commands)
    from enforcer.cli import explain_cmd

    explain_cmd.register(commands)


def _register_sweep(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`sweep`: the drift sweep from a terminal (enforcer/sweep.py)."""
    sweep = commands.add_parser("sweep", help="re-check every subscription in scope and repair drift (the timer's run)")
    sweep.add_argument("--dry-run", action="store_true", help="decide and report, never write (audit mode)")
    sweep.add_argument("--json", action="store_true", help="print a JSON array of outcomes")
    sweep.set_defaults(func=cmd_sweep)


class _ProgressBar:
    """A one-line `\r` progress bar on stderr (only used when stderr is a terminal)."""

    def __init__(self, width: int = 30) -> None:
        self._width = width
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if percent == self._shown and done != total:
            return  # redraw only when the figure changes
        self._shown = percent
        filled = self._width * percent // 100
        bar = "#" * filled + "-" * (self._width - filled)
        sys.stderr.write(f"\rsweep [{bar}] {done}/{total} ({percent}%)")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_sweep(args: argparse.Namespace) -> int:
    from enforcer.adapters.audit_store import AuditStoreError
    from enforcer.cli.signals import EXIT_INTERRUPTED, stop_on_signals
    from enforcer.cli.store import check_store, store_failed
    from enforcer.composition import build_cli_services
    from enforcer.core.models import Mode, OutcomeKind
    from enforcer.usecases.sweep import SweepError, sweep

    settings = Settings.from_env().for_dry_run(args.dry_run)
    services = build_cli_services(settings)
    acted = False
    try:
        check_store(services)  # before any PUT: nothing is changed that could not be recorded
        acted = not args.dry_run and settings.mode is Mode.ENFORCE
        with stop_on_signals(services.stop):
            result = sweep(services, dry_run=args.dry_run, progress=_ProgressBar() if sys.stderr.isatty() else None)
    except AuditStoreError as error:
        return store_failed(error, as_json=args.json, acted=acted)
    except SweepError as error:
        print(f"sweep failed: {error}", file=sys.stderr)
        if args.json:
            print("[]")
        return EXIT_FAILED
    finally:
        services.close()
    outcomes, summary = result.outcomes, result.summary
    if args.json:
        print(outcomes_json(outcomes))
    else:
        # Compliant subscriptions are counted, not listed: a fleet has thousands.
        shown = [o for o in outcomes if o.outcome is not OutcomeKind.COMPLIANT]
        if shown:
            print(outcomes_table(shown))
            print()
        print(summary_line(outcomes))
        for note in summary.notes:
            print(f"note: {escape_control(note)}")  # notes can quote Azure's error text
        if not summary.complete:
            print(f"incomplete: the next sweep resumes after {summary.resume_after}")
    if result.store_error is not None:
        print(
            f"the audit store failed mid-sweep ({result.store_error}): {len(result.unrecorded)} decision(s) could not "
            "be recorded; each is in the output above and in the log at ERROR, and no new subscription was started",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if services.stop.is_set():
        print(f"stopped: {len(outcomes)} subscription(s) handled and recorded", file=sys.stderr)
        return EXIT_INTERRUPTED
    return exit_code(outcomes)


# -- status -----------------------------------------------------------------------------------------
def _register_status(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = commands.add_parser("status", help="latest outcome per subscription from the audit store")
    status.add_argument("--subscription", "-s", metavar="ID", help="only this subscription")
    status.add_argument("--json", action="store_true", help="print a JSON array")
    status.add_argument(
        "--wiring", action="store_true", help="the latest event-wiring record per subscription instead of the plan's"
    )
    status.set_defaults(func=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    from enforcer.adapters.audit_store import AuditStore, AuditStoreError
    from enforcer.cli.store import store_failed
    from enforcer.core.render import render_status

    if args.subscription and not is_guid(args.subscription):
        print(f"{args.subscription[:80]!r} is not a subscription id (GUID)", file=sys.stderr)
        return EXIT_USAGE
    store = AuditStore.from_settings(Settings.from_env())
    if store is None:
        raise ConfigError("ENFORCER_STORAGE is not set: `status` reads the audit store")
    try:
        with store:
            if args.wiring:
                wanted = args.subscription.lower() if args.subscription else None
                records = [r for r in store.latest_wiring() if wanted in (None, r.subscription_id)]
            else:
                records = store.latest_outcomes(args.subscription.lower() if args.subscription else None)
    except AuditStoreError as error:
        return store_failed(error, as_json=args.json, acted=False)
    print(render_status(records, as_json=args.json))
    return EXIT_OK


# -- events -----------------------------------------------------------------------------------------
def _register_events(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    handle = commands.add_parser(
        "handle-event", help="run one event (or a JSON array), in either schema, exactly as the functions do"
    )
    handle.add_argument("file", metavar="FILE|-", help="a JSON file, or - for standard input")
    handle.add_argument("--dry-run", action="store_true", help="decide and report, never write (audit mode)")
    handle.add_argument("--json", action="store_true", help="print a JSON array of outcomes")
    handle.set_defaults(func=cmd_handle_event)

    publish = commands.add_parser(
        "publish-subscription-created", help="publish Enforcer.SubscriptionCreated (for vending pipelines)"
    )
    publish.add_argument("--endpoint", required=True, help="the custom topic endpoint (https)")
    publish.add_argument("--subscription", required=True, metavar="ID", help="the new subscription id")
    publish.add_argument("--display-name", help="the subscription's display name")
    publish.add_argument("--requested-by", help="who asked for the subscription")
    key = publish.add_mutually_exclusive_group()
    key.add_argument(
        "--key-stdin",
        action="store_true",
        help=f"read the topic access key from standard input (or set {TOPIC_KEY_ENV}); "
        "without a key, Entra ID (DefaultAzureCredential)",
    )
    key.add_argument("--key", help=f"topic access key; visible to other users in `ps`: prefer {TOPIC_KEY_ENV}")
    publish.set_defaults(func=cmd_publish)


def cmd_handle_event(args: argparse.Namespace) -> int:
    from enforcer.adapters.audit_store import AuditStoreError
    from enforcer.cli.store import check_store, store_failed
    from enforcer.composition import build_cli_services
    from enforcer.core.events import Route, load_events
    from enforcer.core.models import Mode, utc_now_iso
    from enforcer.usecases.handle_event import handle_event_outcomes
    from enforcer.usecases.record import finish_run, new_run_id, summarise

    text = sys.stdin.read() if args.file == "-" else _read(args.file)
    if text is None:
        return EXIT_USAGE
    try:
        events = load_events(text)
    except ValueError as error:
        print(f"not a valid event file: {error}", file=sys.stderr)
        return EXIT_USAGE
    settings = Settings.from_env().for_dry_run(args.dry_run)
    services = build_cli_services(settings)
    run_id, started_at, started = new_run_id("event"), utc_now_iso(), time.perf_counter()
    acted = False
    try:
        check_store(services)  # before any PUT: nothing is changed that could not be recorded
        acted = settings.mode is Mode.ENFORCE
        # Every outcome of every event (the subscription's, the wiring's, the AI account's): printed and counted.
        outcomes = [o for event in events for o in handle_event_outcomes(event, Route.ANY, services)]
        summary = summarise(services, run_id, "event", started_at=started_at, started=started, outcomes=outcomes)
        finish_run(services, summary, outcomes)
    except AuditStoreError as error:
        return store_failed(error, as_json=args.json, acted=acted)
    finally:
        services.close()
    if args.json:
        print(outcomes_json(outcomes))
    else:
        print(outcomes_table(outcomes))
        print()
        print(summary_line(outcomes, noun="event"))
    return exit_code(outcomes)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as error:
        print(f"cannot read {path}: {error.strerror}", file=sys.stderr)
        return None


def cmd_publish(args: argparse.Namespace) -> int:
    from enforcer.adapters.publisher import publish_subscription_created

    if not is_guid(args.subscription):
        print(f"{args.subscription[:80]!r} is not a subscription id (GUID)", file=sys.stderr)
        return EXIT_USAGE
    from azure.core.exceptions import AzureError, ServiceRequestError

    if args.key is not None:
        print(
            f"warning: --key is visible to other users of this machine (ps); set {TOPIC_KEY_ENV} or use --key-stdin",
            file=sys.stderr,
        )
        key: str | None = args.key
    elif args.key_stdin:
        key = sys.stdin.readline().strip()
    else:
        key = os.environ.get(TOPIC_KEY_ENV) or None
    try:
        publish_subscription_created(
            args.endpoint,
            args.subscription.lower(),
            display_name=args.display_name,
            requested_by=args.requested_by,
            key=key,
        )
    except ValueError as error:  # ConfigError included: a bad endpoint, id or key
        print(f"cannot publish: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ServiceRequestError as error:
        # No answer at all: the request never reached a topic (wrong host, port closed, no network).
        print(
            f"the topic is unreachable: {type(error).__name__} (connection error). "
            "Fix: check --endpoint (the topic's endpoint URL) and the network, then publish again",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except AzureError as error:
        # The endpoint is not a secret, but the key is: print only the error's type and status.
        status = getattr(error, "status_code", None)
        print(f"the topic refused the event: {type(error).__name__} {status or ''}".rstrip(), file=sys.stderr)
        return EXIT_FAILED
    print(f"published Enforcer.SubscriptionCreated for {args.subscription.lower()}")
    return EXIT_OK
