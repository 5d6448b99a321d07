"""`python -m enforcer explain SUBSCRIPTION [--account RESOURCE_ID] [--json]`: which rule applies, and why."""

from __future__ import annotations

import argparse
import json
import sys

from enforcer.cli.args import subscription_id
from enforcer.core.render import EXIT_FAILED, EXIT_OK
from enforcer.core.settings import Settings
from enforcer.core.text import escape_control


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = commands.add_parser(
        "explain", help="read-only: matched rules, the winner per field, desired and current state, what would happen"
    )
    explain.add_argument("subscription", type=subscription_id, metavar="SUBSCRIPTION", help="subscription id")
    explain.add_argument("--account", metavar="RESOURCE_ID", help="also explain one AI account of the subscription")
    explain.add_argument("--json", action="store_true", help="print the report as one JSON object")
    explain.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    from enforcer.composition import build_cli_services
    from enforcer.core.desired_state import ResolveConflict
    from enforcer.core.errors import EnforcementError
    from enforcer.core.explain import explain_json, explain_text
    from enforcer.usecases.explain import ExplainError, explain

    services = build_cli_services(Settings.from_env())
    try:
        report = explain(services, args.subscription, args.account)
    except (ResolveConflict, ExplainError, EnforcementError) as error:
        message = error.message if isinstance(error, EnforcementError) else str(error)
        if args.json:
            print(json.dumps({"subscription_id": args.subscription, "error": message}))
        print(f"explain failed: {escape_control(message)}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        services.close()
    print(explain_json(report) if args.json else explain_text(report))
    return EXIT_OK
