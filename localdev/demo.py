"""`python -m localdev demo`: the whole product on local stand-ins, start to finish, then exit.

It starts the ARM emulator with a small fleet (drifted, compliant, one denied, one with a failing
component, one disabled, one exempt, one busy with another update), Azurite (Table storage, in memory)
and a local webhook sink standing in for Teams; enforces every subscription; prints a before/after
table and a summary; saves the cards it sent; and stops everything it started.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from random import Random
from typing import Any

from enforcer.adapters.arm import RetrySettings

OUT_DIR = Path("out")


def _special_subscriptions(rng: Random) -> dict[str, str]:
    return {
        kind: str(uuid.UUID(int=rng.getrandbits(128), version=4))
        for kind in ("denied", "failing_component", "disabled", "exempt", "busy")
    }


def _state(s: Any) -> str:
    if s is None:
        return "-"
    on = sorted(e.name.replace("AI", "", 1) for e in s.extensions if e.enabled)
    return f"{s.tier:8} {'+'.join(on) or '(none)'}"


def table_lines(outcomes: Sequence[Any]) -> list[str]:
    """The before/after table, each column as wide as its longest cell (long state text keeps it aligned)."""
    rows = [("SUBSCRIPTION", "OUTCOME", "BEFORE", "AFTER")]
    for o in sorted(outcomes, key=lambda o: (o.outcome.value, o.subscription_name or "")):
        rows.append((o.subscription_name or o.subscription_id[:8], o.outcome.value, _state(o.before), _state(o.after)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return [
        " ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + " " + row[3] for row in rows
    ]


# The fleet's deliberately failing subscriptions: their failures are what the demo shows, not a demo failure.
EXPECTED_FAILURES = ("denied", "failing_component")


def unexpected_failures(outcomes: Sequence[Any], special: dict[str, str]) -> list[Any]:
    """Failed or partially failed outcomes of subscriptions the demo expects to fix."""
    expected = {special[kind] for kind in EXPECTED_FAILURES}
    return [o for o in outcomes if o.outcome.is_failure and o.subscription_id not in expected]


def _audit_line(services: Any) -> str:
    """Read back what the run wrote to the audit store (Azurite), as `python -m enforcer status` would."""
    if services.audit is None:
        return "Audit store: not configured (Azurite not available), nothing recorded"
    records = services.audit.latest_outcomes()
    settings = services.settings
    return f"Audit store: {len(records)} subscriptions recorded in table {settings.audit_table} (Azurite, in memory)"


@contextlib.contextmanager
def _local_stack(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    from localdev.emulator import Emulator, FaultConfig

    rng = Random(f"demo-special-{args.seed}")  # not the fleet seed: ids must not collide
    special = _special_subscriptions(rng)
    faults = FaultConfig(
        forbidden={special["denied"]: "write"},
        fail_extensions={
            special["failing_component"]: {"AIModelScanner": "Failed assigning roles to the scanner identity"}
        },
        conflict_next_puts={special["busy"]: 1},
        seed=args.seed,
    )
    with contextlib.ExitStack() as stack:
        emulator = stack.enter_context(Emulator(faults=faults))
        fleet = emulator.seed_fleet(max(1, args.subscriptions - len(special)), drift_fraction=0.4, seed=args.seed)
        emulator.add_subscription(special["denied"], display_name="denied-finance")
        emulator.add_subscription(special["failing_component"], display_name="failing-ml-lab")
        emulator.add_subscription(special["disabled"], display_name="disabled-legacy", state="Disabled")
        emulator.add_subscription(
            special["exempt"],
            display_name="exempt-sandbox",
            tags={"defender-ai-exempt": "sandbox, approved by CISO 2026-10"},
        )
        emulator.add_subscription(special["busy"], display_name="busy-platform")
        context: dict[str, Any] = {"emulator": emulator, "fleet": fleet, "special": special}
        try:
            from localdev.azurite import AzuriteProcess
            from localdev.webhook_sink import WebhookSink

            context["azurite"] = stack.enter_context(AzuriteProcess())
            context["sink"] = stack.enter_context(WebhookSink())
        except ImportError:
            pass
        yield context


def run(args: argparse.Namespace) -> int:
    from enforcer.adapters.arm import ArmGateway
    from enforcer.composition import build_cli_services
    from enforcer.core.render import outcomes_table, summary_line
    from enforcer.core.settings import Settings
    from enforcer.usecases.record import run_enforcement

    with _local_stack(args) as stack:
        emulator = stack["emulator"]
        env = {"ENFORCER_ARM_ENDPOINT": emulator.url, "ENFORCER_MODE": "enforce"}
        if "azurite" in stack:
            env["ENFORCER_STORAGE"] = stack["azurite"].connection_string
            env["ENFORCER_TEAMS_WEBHOOK_URL"] = stack["sink"].url
        settings = Settings.from_env({**os.environ, **env})
        arm = ArmGateway(settings.arm_endpoint, retry=RetrySettings(total=4, backoff_factor=0.2, backoff_max=2))
        services = build_cli_services(settings, arm=arm)
        try:
            inventory = arm.list_subscriptions().subscriptions
            services.enforcer.directory.remember(inventory)  # names, states and tags from one list call
            subscriptions = [s.subscription_id for s in inventory]
            print(f"ARM emulator at {emulator.url} with {len(subscriptions)} subscriptions")
            outcomes, summary = run_enforcement(services, subscriptions, kind="demo")
            audited = _audit_line(services)
            # AI accounts: the coverage report and screenshots under out/ (localdev/demo_accounts.py).
            from localdev.demo_accounts import seed_accounts, write_report_and_screenshots

            seed_accounts(emulator, subscriptions)
            OUT_DIR.mkdir(exist_ok=True)
            write_report_and_screenshots(services, OUT_DIR)
        finally:
            services.close()

        print()
        for line in table_lines(outcomes):
            print(line)
        problems = [o for o in outcomes if o.error or o.reason]
        if problems:
            print()
            print(outcomes_table(problems))
        print()
        print(summary_line(outcomes))
        print(f"ARM calls: {json.dumps(summary.arm_calls, sort_keys=True)}")
        print(audited)
        OUT_DIR.mkdir(exist_ok=True)
        (OUT_DIR / "demo-outcomes.json").write_text(json.dumps([o.to_dict() for o in outcomes], indent=2))
        print(f"Outcomes saved to {OUT_DIR / 'demo-outcomes.json'}")
        if "sink" in stack:
            cards = OUT_DIR / "demo-teams-cards.json"
            stack["sink"].save(cards)
            print(f"Teams cards sent: {len(stack['sink'].messages)}, saved to {cards}")
        from localdev.demo_desired_state import show_business_units

        show_business_units(emulator, env)  # issue 20: two business units, `explain` for one of each
        unexpected = unexpected_failures(outcomes, stack["special"])
    if unexpected:
        names = ", ".join(o.subscription_name or o.subscription_id for o in unexpected)
        print(f"demo FAILED: {len(unexpected)} subscription(s) the demo expects to fix failed: {names}")
        return 1
    return 0
