"""Issue 19 (f): an AI-account creation event handles the plan and the account at once, on the emulator (with a
latency per call) and Azurite, with the real SDK clients; a cold instance still reads the subscription's metadata
once."""

from __future__ import annotations

import pytest

from enforcer.adapters.audit_store import AuditStore
from enforcer.core.events import Route
from enforcer.core.models import SubscriptionInfo
from enforcer.usecases.handle_event import handle_event_outcomes
from localdev.emulator import Emulator, FaultConfig
from localdev.emulator.timeline import overlaps, sequential_round_trips
from tests.events.samples import SUBSCRIPTION, sample
from tests.integration.helpers import services_for

pytestmark = pytest.mark.integration

EVENT = "resource-write-cognitive-account.eventgrid.json"
ACCOUNT = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-openai"
)


def test_cold_instance_handles_plan_and_account_at_once_and_reads_metadata_once(
    emulator: Emulator, audit_store: AuditStore
):
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")  # Free plan
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled")
    emulator.faults = FaultConfig(latency_ms=150)
    services = services_for(emulator.url, audit=audit_store)  # a cold instance: nothing cached
    emulator.reset_calls()

    outcomes = handle_event_outcomes(sample(EVENT), Route.AI_ACCOUNT, services)

    assert [(o.resource_id, o.outcome.value) for o in outcomes] == [(None, "remediated"), (ACCOUNT, "remediated")]
    assert outcomes[1].subscription_name == "ai-team"
    assert emulator.cognitive.state(ACCOUNT) == "Enabled"
    assert emulator.pricing(SUBSCRIPTION, "AI")["properties"]["pricingTier"] == "Standard"
    assert emulator.calls["subscriptions.get"] == 1  # shared by both branches
    requests = emulator.requests
    plan = [r for r in requests if r.kind.startswith("pricings.")]
    account = [r for r in requests if r.kind.startswith("cognitive.")]
    assert plan and account
    # The plan's requests and the account's run at the same time, not one after the other.
    assert any(overlaps(p, a) for p in plan for a in account)
    assert min(a.started for a in account) < max(p.ended for p in plan)


def test_warm_instance_needs_two_sequential_round_trips_when_plan_and_account_both_need_a_write(
    emulator: Emulator, audit_store: AuditStore
):
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")  # Free plan
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled")
    services = services_for(emulator.url, audit=audit_store)
    services.enforcer.directory.remember([SubscriptionInfo(SUBSCRIPTION, "ai-team", "Enabled", {})])  # as after a sweep
    emulator.faults = FaultConfig(latency_ms=150)
    emulator.reset_calls()

    outcomes = handle_event_outcomes(sample(EVENT), Route.AI_ACCOUNT, services)

    assert [o.outcome.value for o in outcomes] == ["remediated", "remediated"]
    requests = emulator.requests
    # Plan: GET, PUT. Account: its setting and the account itself (its exempt tag) read at once, then the PUT.
    assert sorted(r.kind for r in requests) == [
        "cognitive.accounts.get",
        "cognitive.defenderforai.get",
        "cognitive.defenderforai.put",
        "pricings.get",
        "pricings.put",
    ]
    assert sequential_round_trips(requests) == 2
