"""Hostile and malformed events thrown at the real handler (emulator behind it): no crash, and no ARM
call at all unless the event is a well-formed request for one subscription."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enforcer.core.models import OutcomeKind
from enforcer.usecases.handle_event import handle_event
from handlers import events as event_handlers
from tests.events.samples import SUBSCRIPTION, sample, sample_names
from tests.integration.helpers import services_for

SAMPLES = [sample(name) for name in sample_names()]
junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30), st.text(min_size=5000, max_size=6000)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=8,
)
FIELDS = ["id", "type", "eventType", "source", "topic", "subject", "data", "specversion", "dataVersion"]
DATA_FIELDS = ["subscriptionId", "resourceUri", "operationName", "policyDefinitionId", "tenantId"]


@st.composite
def hostile_events(draw: st.DrawFn) -> Any:
    if draw(st.booleans()):
        return draw(junk)
    event: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = event if draw(st.booleans()) or not isinstance(event.get("data"), dict) else event["data"]
        keys = FIELDS if target is event else DATA_FIELDS
        key = draw(st.sampled_from(keys))
        action = draw(st.sampled_from(["drop", "junk", "other_subscription"]))
        if action == "drop":
            target.pop(key, None)
        elif action == "junk":
            target[key] = draw(junk)
        else:
            target[key] = str(target.get(key, "")).replace(SUBSCRIPTION, "0badc0de-0000-4000-8000-000000000000")
    return event


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=hostile_events())
def test_hostile_events_never_crash_and_never_call_arm_unless_well_formed(emulator, event):
    with contextlib.suppress(ValueError):  # already added by an earlier example
        emulator.add_subscription(SUBSCRIPTION)
    services = services_for(emulator.url, {"ENFORCER_MODE": "audit"})  # audit mode: even a valid event writes nothing
    emulator.reset_calls()

    outcome = handle_event(event, event_handlers.SUBSCRIPTION, services)
    services.close()  # 150 examples: one set of clients at a time

    assert emulator.calls["pricings.put"] == 0
    if outcome.outcome in (OutcomeKind.IGNORED, OutcomeKind.REJECTED):
        assert sum(emulator.calls.values()) == 0
        assert outcome.reason
        assert len(outcome.reason) <= 1000
