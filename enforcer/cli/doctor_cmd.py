"""`python -m enforcer doctor [--json] [--subscription ID] [--management-group ID] [--send-test-card]`: check the
enforcer's assumptions in this tenant (identity, permissions, extension names, Resource Graph columns, event
wiring, tables, Teams, Application Insights, schedule). Read-only unless --send-test-card.

Exit codes: 0 nothing failed (warnings allowed), 1 a check failed, 2 usage or configuration.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from enforcer.core.render import EXIT_USAGE
from enforcer.core.settings import ConfigError, Settings
from enforcer.core.text import is_guid

# host.json sits next to function_app.py at the root of the deployed package.
HOST_JSON = Path(__file__).resolve().parents[2] / "host.json"
MANAGEMENT_GROUP_SETTING = "ENFORCER_MANAGEMENT_GROUP_ID"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser(
        "doctor", help="check the enforcer's assumptions in this tenant: pass/warn/fail, evidence and fix"
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.add_argument("--subscription", "-s", metavar="ID", help="sample subscription (default: the first in scope)")
    doctor.add_argument(
        "--management-group",
        metavar="ID",
        help=f"management group to check permissions at (default: ${MANAGEMENT_GROUP_SETTING})",
    )
    doctor.add_argument("--send-test-card", action="store_true", help="post one test card to the Teams webhook")
    doctor.set_defaults(func=cmd_doctor)


def _usage(message: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"status": "usage", "error": message}))
    print(f"doctor: {message}", file=sys.stderr)
    return EXIT_USAGE


def _function_timeout() -> int | None:
    from enforcer.core.doctor import function_timeout_seconds

    try:
        return function_timeout_seconds(json.loads(HOST_JSON.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _teams_form_problem(url: str | None) -> str | None:
    if not url:
        return None
    from enforcer.adapters.teams import validate_webhook_url

    try:
        validate_webhook_url(url)
    except ConfigError as error:
        return str(error)
    return None


def cmd_doctor(args: argparse.Namespace) -> int:
    subscription = (args.subscription or "").strip().lower() or None
    if subscription is not None and not is_guid(subscription):
        return _usage(f"--subscription {subscription[:80]!r} is not a subscription id (GUID)", args.json)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        return _usage(f"configuration error: {error}", args.json)

    from enforcer.cli.health import sweep_schedule
    from enforcer.composition import build_doctor
    from enforcer.usecases.doctor import DoctorInputs, run_doctor

    teams_reference = (settings.teams_webhook_url or "").startswith("@Microsoft.KeyVault(")
    teams_form_problem = None if teams_reference else _teams_form_problem(settings.teams_webhook_url)
    if teams_form_problem is not None or teams_reference:
        # Reported by the teams check; no notifier is built for a URL of the wrong form or one held in Key Vault.
        settings = dataclasses.replace(settings, teams_webhook_url=None)
    try:
        services = build_doctor(settings)
    except ConfigError as error:
        return _usage(f"configuration error: {error}", args.json)
    probe = services.doctor_probe
    assert probe is not None  # build_doctor attaches it
    inputs = DoctorInputs(
        subscription=subscription,
        management_group=(args.management_group or os.environ.get(MANAGEMENT_GROUP_SETTING, "")).strip() or None,
        raw_delivery_key=os.environ.get("ENFORCER_EVENT_DELIVERY_KEY", ""),
        app_insights_connection=os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING", ""),
        function_timeout_seconds=_function_timeout(),
        schedule=sweep_schedule(),
        teams_form_problem=teams_form_problem,
        teams_key_vault_reference=teams_reference,
        send_test_card=args.send_test_card,
    )
    try:
        report = run_doctor(services, probe, services.table_probes, inputs)
    finally:
        services.close()
    print(report.to_json() if args.json else report.table())
    return report.exit_code
