"""Issue 19 (f): an AI-account creation event handles the plan and the account at once, on the emulator (with a
latency per call) and Azurite, with the real SDK clients; a cold instance still reads the subscription's metadata
once."""

from __future__ import annotations

import threading
import time

import pytest

from enforcer.adapters.audit_store import AuditStore
from enforcer.core.events import Route
from enforcer.core.models import SubscriptionInfo
from enforcer.usecases.handle_event import handle_event_outcomes
from enforcer.usecases.ports import AccountGateway
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


class StalledAccounts:
    """The real account gateway, except that reading the account's setting stalls until the test lets it go: an
    ARM that stops answering one branch (a stand-in for the port, not a patch of the SDK)."""

    def __init__(self, real: AccountGateway) -> None:
        self._real = real
        self.go = threading.Event()

    def get_setting(self, resource_id: str) -> str | None:
        self.go.wait(60)
        return self._real.get_setting(resource_id)

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


def test_an_account_branch_past_the_events_deadline_is_answered_failed_and_the_plan_is_not_held_up(
    emulator: Emulator, audit_store: AuditStore
):
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")  # Free plan
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled")
    services = services_for(emulator.url, {"ENFORCER_EVENT_RETRY_DEADLINE_SECONDS": "5"}, audit=audit_store)
    assert services.accounts is not None
    stalled = StalledAccounts(services.accounts)
    services.accounts = stalled  # type: ignore[assignment]
    started = time.monotonic()
    try:
        outcomes = handle_event_outcomes(sample(EVENT), Route.AI_ACCOUNT, services)
    finally:
        stalled.go.set()
    elapsed = time.monotonic() - started

    plan, account = outcomes
    assert plan.outcome.value == "remediated" and plan.resource_id is None
    assert (account.resource_id, account.outcome.value) == (ACCOUNT, "failed")
    assert "longer than the event's 5 s deadline" in (account.error or "")
    assert "ENFORCER_EVENT_RETRY_DEADLINE_SECONDS" in (account.error or "")
    assert account.subscription_name == "ai-team"
    # Answered at the deadline, well inside Event Grid's 30 s; the failure is recorded like any other outcome.
    assert 5 <= elapsed < 10
    assert any(r.resource_id == ACCOUNT and r.outcome == "failed" for r in audit_store.history(SUBSCRIPTION))
