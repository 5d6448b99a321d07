"""`python -m enforcer health [--json] [--max-age MINUTES]`: is the enforcer working? For people and probes.

Exit codes: 0 healthy, 1 unhealthy (what is wrong and what to do are printed), 2 usage or configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from enforcer.cli.args import finite_number
from enforcer.core.health import render_health
from enforcer.core.render import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from enforcer.core.settings import SETTINGS, ConfigError, Settings

if TYPE_CHECKING:
    from enforcer.adapters.audit_store import AuditStore
    from enforcer.core.health import OutboxDepth

SCHEDULE_SETTING = "ENFORCER_SWEEP_SCHEDULE"
# A year: a bound that timedelta can hold (`inf` and `nan` are refused by the flag's type first).
MAX_AGE_MINUTES: Final = 525_600


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    health = commands.add_parser(
        "health", help="is the enforcer working? last sweep, last failure, outbox (exit 0 healthy, 1 unhealthy)"
    )
    health.add_argument("--json", action="store_true", help="print a JSON object")
    health.add_argument(
        "--max-age",
        type=finite_number(0, MAX_AGE_MINUTES, low_open=True),
        metavar="MINUTES",
        help="oldest acceptable last sweep (default: 3 x the ENFORCER_SWEEP_SCHEDULE interval)",
    )
    health.set_defaults(func=cmd_health)


def sweep_schedule() -> str:
    # The timer binding reads this setting, not Settings: read it the same way, with the same default.
    default = next(s.default for s in SETTINGS if s.name == SCHEDULE_SETTING)
    return os.environ.get(SCHEDULE_SETTING, "").strip() or default


def _outbox_depth(store: AuditStore) -> OutboxDepth | None:
    """The Teams outbox lives in the runs table (adapters/outbox.py); None when it cannot be read."""
    from enforcer.adapters.outbox import TableOutbox

    try:
        return TableOutbox(store.tables, store.runs_table).depth()
    except RuntimeError:
        return None


def cmd_health(args: argparse.Namespace) -> int:
    from enforcer.core.health import unreadable
    from enforcer.usecases.health import max_sweep_age, utc_now

    try:
        max_age = max_sweep_age(sweep_schedule(), timedelta(minutes=args.max_age) if args.max_age else None)
    except ValueError as error:
        raise ConfigError(f"{SCHEDULE_SETTING}: {error}; pass --max-age MINUTES instead") from None
    try:
        return _report_health(args, max_age)
    except ConfigError as error:
        # Answered here, not by main's usage path: a probe that parses JSON always gets a health object.
        if args.json:
            print(
                render_health(
                    unreadable(f"configuration error: {error}", now=utc_now(), max_sweep_age=max_age), as_json=True
                )
            )
        print(f"configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE


def _report_health(args: argparse.Namespace, max_age: timedelta) -> int:
    from enforcer.adapters.audit_store import AuditStore, AuditStoreError
    from enforcer.core.health import STORE_TODO, unreadable
    from enforcer.usecases.health import check_health, utc_now

    store = AuditStore.from_settings(Settings.from_env())
    if store is None:
        raise ConfigError("ENFORCER_STORAGE is not set: `health` reads the runs table of the audit store")
    try:
        with store:
            health = check_health(store, now=utc_now(), max_age=max_age, outbox=lambda: _outbox_depth(store))
    except AuditStoreError as error:
        reason = f"cannot read the runs table: {error}"
        if args.json:
            print(render_health(unreadable(reason, now=utc_now(), max_sweep_age=max_age), as_json=True))
        else:
            print(f"UNHEALTHY: {reason}", file=sys.stderr)
            print(f"what to do: {STORE_TODO}", file=sys.stderr)
        return EXIT_FAILED
    print(render_health(health, as_json=args.json))
    return EXIT_OK if health.healthy else EXIT_FAILED
