"""The demo's desired state per scope (issue 20): two business units with different rules, enforced, and
`explain` for one subscription of each (examples/desired-state/demo-business-units.yaml)."""

from __future__ import annotations

import os
from typing import Any

DOCUMENT = "examples/desired-state/demo-business-units.yaml"
RETAIL = "7e7a1100-0000-4000-8000-000000000001"
RESEARCH = "7e7a1100-0000-4000-8000-000000000002"


def show_business_units(emulator: Any, extra_env: dict[str, str]) -> None:
    """Add one subscription per business unit, enforce both under the demo document, print `explain` for each."""
    from enforcer.composition import build_cli_services
    from enforcer.core.explain import explain_text
    from enforcer.core.render import outcomes_table
    from enforcer.core.settings import Settings
    from enforcer.usecases.explain import explain

    emulator.add_subscription(
        RETAIL, display_name="retail-checkout", tags={"business-unit": "retail", "data-class": "restricted"}
    )
    emulator.add_subscription(RESEARCH, display_name="research-models", tags={"business-unit": "research"})
    env = {**os.environ, **extra_env, "ENFORCER_DESIRED_STATE": DOCUMENT}
    services = build_cli_services(Settings.from_env(env))
    try:
        print()
        print(f"Desired state per scope ({DOCUMENT}): explain before enforcing")
        reports = [explain(services, sub) for sub in (RETAIL, RESEARCH)]
        for report in reports:
            print()
            print(explain_text(report))
        outcomes = [services.enforcer.enforce(sub, _trigger()) for sub in (RETAIL, RESEARCH)]
        print()
        print(outcomes_table(outcomes))
    finally:
        services.close()


def _trigger() -> Any:
    from enforcer.core.models import Trigger

    return Trigger("demo", "demo-desired-state")
