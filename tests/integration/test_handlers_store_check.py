"""The function handlers check that the audit store answers before their first write: the event handler through
its claim (an insert, made before any ARM call), the timer through the sweep's read of current state."""

from __future__ import annotations

from typing import Any

import pytest

from enforcer.adapters.audit_store import AuditStore, AuditStoreError
from enforcer.usecases.sweep import SweepError
from handlers import events as event_handlers
from handlers import runtime, timer
from localdev.azurite import AzuriteProcess
from tests.events.samples import SUBSCRIPTION, host_decoded, sample
from tests.fixtures.azurite import FAST_RETRIES
from tests.integration.helpers import services_for

pytestmark = pytest.mark.integration


class _Timer:
    past_due = False


@pytest.mark.timeout(60)
def test_both_handlers_refuse_to_act_when_the_store_does_not_answer(emulator):
    emulator.add_subscription(SUBSCRIPTION)
    down = AzuriteProcess()  # never started: nothing listens on its port
    store = AuditStore(down.connection_string, **FAST_RETRIES)
    runtime.use(services_for(emulator.url, audit=store))
    try:
        event: Any = host_decoded(sample("resource-write-cognitive-account.eventgrid.json"))
        with pytest.raises(AuditStoreError):  # the function fails: Event Grid delivers the event again
            event_handlers.on_function_event(event, event_handlers.AI_ACCOUNT)
        with pytest.raises(SweepError, match="did not start"):
            timer.on_timer(_Timer())
    finally:
        runtime.use(None)
        store.close()
    assert sum(emulator.calls.values()) == 0  # not even a GET
