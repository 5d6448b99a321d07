"""The `drift_sweep` timer function as the host calls it: from `app.get_functions()`, with a TimerRequest."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.functions.timer import TimerRequest

from enforcer.adapters.teams import TeamsNotifier
from handlers import runtime
from tests.sweep.helpers import is_compliant, sweep_services

pytestmark = pytest.mark.integration


@pytest.fixture
def drift_sweep(function_app_functions) -> Callable[[TimerRequest], None]:
    by_name = {f.get_function_name(): f.get_user_function() for f in function_app_functions}
    return by_name["drift_sweep"]  # type: ignore[no-any-return]


@pytest.fixture
def stack(emulator, azurite, audit_store, webhook_sink) -> Iterator[dict[str, Any]]:
    notifier = TeamsNotifier(webhook_sink.url, retry_total=1, total_timeout=5)
    services = sweep_services(emulator, audit=audit_store, storage=azurite.connection_string, notifier=notifier)
    runtime.use(services)
    yield {"services": services, "audit": audit_store, "sink": webhook_sink}
    runtime.use(None)
    services.close()


def test_past_due_timer_sweeps_the_fleet_records_the_run_and_sends_one_digest(emulator, stack, drift_sweep, caplog):
    fleet = emulator.seed_fleet(30, drift_fraction=0.3, seed=23)
    services = stack["services"]
    drifted = [m for m in fleet if not is_compliant(emulator, m.subscription_id, services.settings)]

    with caplog.at_level(logging.WARNING, logger="handlers.timer"):
        drift_sweep(TimerRequest(past_due=True))

    assert "past due" in caplog.text
    assert all(is_compliant(emulator, m.subscription_id, services.settings) for m in fleet)
    run = stack["audit"].latest_run("sweep")
    assert run is not None and run.complete
    assert run.counts == {"remediated": len(drifted), "compliant": len(fleet) - len(drifted)}
    assert len(stack["sink"].accepted) == 1  # one digest, no per-subscription cards

    drift_sweep(TimerRequest(past_due=False))

    assert stack["audit"].latest_run("sweep").counts == {"compliant": len(fleet)}
    assert emulator.calls["pricings.put"] == len(drifted)
    # Nothing changed: no digest, but the day's heartbeat (ENFORCER_HEARTBEAT_HOURS, 24 by default).
    assert len(stack["sink"].accepted) == 2
    assert f"All {len(fleet)} subscription(s) compliant, checked at" in json.dumps(stack["sink"].accepted[1])
    assert stack["audit"].latest_run("heartbeat") is not None

    drift_sweep(TimerRequest(past_due=False))

    assert len(stack["sink"].accepted) == 2  # at most one heartbeat a day: the runs table remembers the last


def test_a_new_subscription_is_reported_as_new_in_the_digest(emulator, stack, drift_sweep):
    emulator.seed_fleet(5, drift_fraction=0.0, seed=29)
    drift_sweep(TimerRequest())  # the baseline: nothing changed, so only the heartbeat
    (heartbeat,) = stack["sink"].accepted
    assert "All 5 subscription(s) compliant" in json.dumps(heartbeat)

    new = str(uuid.uuid4())
    emulator.add_subscription(new, display_name="vended-today")
    drift_sweep(TimerRequest())

    run = stack["audit"].latest_run("sweep")
    assert run.new_subscriptions == 1
    assert stack["audit"].history(new)[0].new_subscription is True
    assert len(stack["sink"].accepted) == 2
    assert "New subscriptions" in json.dumps(stack["sink"].accepted[-1])
