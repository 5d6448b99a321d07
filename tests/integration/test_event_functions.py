"""The Event Grid functions as the host would run them: real func.EventGridEvent / func.CloudEvent objects,
decoded from Microsoft's documented samples by the worker's own converter, against the ARM emulator,
Azurite and a local Teams sink."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from enforcer.adapters.audit_store import AuditStore
from enforcer.adapters.teams import TeamsNotifier
from enforcer.core.models import OutcomeKind, SubscriptionInfo
from enforcer.usecases.handle_event import handle_event
from enforcer.usecases.services import RecentEvents
from handlers import events as event_handlers
from handlers import runtime
from localdev.emulator import Emulator
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from localdev.webhook_sink import WebhookSink
from tests.events.samples import SUBSCRIPTION, host_decoded, sample
from tests.integration.helpers import services_for

pytestmark = pytest.mark.integration


@pytest.fixture
def app_functions(function_app_functions) -> dict[str, Any]:
    return {f.get_function_name(): f.get_user_function() for f in function_app_functions}


@pytest.fixture
def stack(emulator: Emulator, audit_store: AuditStore, webhook_sink: WebhookSink) -> Iterator[dict[str, Any]]:
    notifier = TeamsNotifier(webhook_sink.url, retry_total=1, total_timeout=5)
    services = services_for(emulator.url, audit=audit_store, notifier=notifier)
    runtime.use(services)
    yield {"emulator": emulator, "audit": audit_store, "sink": webhook_sink, "services": services}
    runtime.use(None)


def plan_calls(emulator: Emulator) -> dict[str, int]:
    """The plan's calls; the account the event names is checked after them (tests/integration/test_accounts.py)."""
    return {k: v for k, v in emulator.calls.items() if not k.startswith("cognitive.")}


def warm_directory(stack: dict[str, Any], **info: Any) -> None:
    """What a running app has after its sweep listed subscriptions (names, states, tags cached)."""
    stack["services"].enforcer.directory.remember([SubscriptionInfo(SUBSCRIPTION, "ai-team", "Enabled", {}, **info)])


@pytest.mark.parametrize("schema", ["eventgrid", "cloudevents"])
def test_cognitive_services_write_enables_the_plan(stack, app_functions, schema):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")
    warm_directory(stack)
    emulator.reset_calls()

    app_functions["ai_account_created"](host_decoded(sample(f"resource-write-cognitive-account.{schema}.json")))

    assert emulator.pricing(SUBSCRIPTION, "AI")["properties"]["pricingTier"] == "Standard"
    assert sum(plan_calls(emulator).values()) <= 2
    assert plan_calls(emulator) == {"pricings.get": 1, "pricings.put": 1}
    (record,) = stack["audit"].latest_outcomes(SUBSCRIPTION)
    assert record.outcome == "remediated"
    assert record.new_subscription is False  # an AI account on an existing subscription
    assert len(stack["sink"].messages) == 1


def test_cold_instance_reads_subscription_metadata_once_before_writing(stack, app_functions):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")
    emulator.reset_calls()

    app_functions["ai_account_created"](host_decoded(sample("resource-write-cognitive-account.eventgrid.json")))

    assert plan_calls(emulator) == {"pricings.get": 1, "subscriptions.get": 1, "pricings.put": 1}


def test_same_event_delivered_three_times_gives_one_put_and_one_card(stack, app_functions):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")
    raw = sample("resource-write-cognitive-account.eventgrid.json")

    app_functions["ai_account_created"](host_decoded(raw))
    app_functions["ai_account_created"](host_decoded(raw))
    stack["services"].recent_events = RecentEvents()  # another instance: only the audit store knows the event
    app_functions["ai_account_created"](host_decoded(raw))

    assert emulator.calls["pricings.put"] == 1
    assert len(stack["sink"].messages) == 1
    assert len(stack["audit"].latest_outcomes(SUBSCRIPTION)) == 1


# A pricings write is not irrelevant since issue 19 (tests/drift/test_drift_events.py).
@pytest.mark.parametrize("name", ["resource-write-storage-account.eventgrid.json"])
def test_irrelevant_writes_cause_no_arm_call(stack, app_functions, name):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION)
    emulator.reset_calls()

    app_functions["ai_account_created"](host_decoded(sample(name)))

    assert sum(emulator.calls.values()) == 0
    assert stack["sink"].messages == []


def test_exempt_subscription_is_not_written(stack, app_functions):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, tags={"defender-ai-exempt": "research sandbox"})

    app_functions["ai_account_created"](host_decoded(sample("resource-write-cognitive-account.eventgrid.json")))

    assert emulator.calls["pricings.put"] == 0
    (record,) = stack["audit"].latest_outcomes(SUBSCRIPTION)
    assert record.outcome == "excluded"
    assert "research sandbox" in (record.reason or "")
    assert stack["sink"].messages == []


def test_out_of_scope_subscription_is_not_touched(emulator, audit_store, app_functions):
    emulator.add_subscription(SUBSCRIPTION)
    other = "00000000-0000-0000-0000-00000000abcd"
    services = services_for(emulator.url, {"ENFORCER_SUBSCRIPTIONS": other}, audit=audit_store)
    runtime.use(services)
    try:
        app_functions["ai_account_created"](host_decoded(sample("resource-write-cognitive-account.eventgrid.json")))
    finally:
        runtime.use(None)
    assert sum(emulator.calls.values()) == 0


def test_mismatched_subscription_ids_are_rejected_without_any_call(stack, app_functions):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION)
    raw = sample("resource-write-cognitive-account.eventgrid.json")
    raw["data"]["subscriptionId"] = "11111111-2222-3333-4444-555555555555"

    outcome = handle_event(raw, event_handlers.AI_ACCOUNT, stack["services"])

    assert outcome.outcome is OutcomeKind.REJECTED
    assert "11111111-2222-3333-4444-555555555555" in (outcome.reason or "")
    assert sum(emulator.calls.values()) == 0


@pytest.mark.parametrize(
    "name",
    [
        "subscription-created-vending.cloudevents.json",
        "subscription-created-vending.eventgrid.json",
        "policy-state-created-defender-ai.eventgrid.json",
        "policy-state-changed-defender-ai.cloudevents.json",
        "management-group-subscription-move.eventgrid.json",
    ],
)
def test_new_subscription_events_enforce_and_mark_new(stack, app_functions, name):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, display_name="fresh")

    app_functions["subscription_created"](host_decoded(sample(name)))

    assert emulator.pricing(SUBSCRIPTION, "AI")["properties"]["pricingTier"] == "Standard"
    (record,) = stack["audit"].latest_outcomes(SUBSCRIPTION)
    assert record.outcome == "remediated"
    assert record.new_subscription is True


def test_unrelated_policy_is_ignored(stack, app_functions):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION)
    app_functions["subscription_created"](host_decoded(sample("policy-state-created-unrelated.eventgrid.json")))
    assert sum(emulator.calls.values()) == 0


def test_compliant_subscription_event_sends_no_card(stack, app_functions):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    app_functions["ai_account_created"](host_decoded(sample("resource-write-cognitive-account.cloudevents.json")))
    assert emulator.calls["pricings.put"] == 0
    assert stack["sink"].messages == []


def test_audit_store_down_fails_the_invocation_so_event_grid_retries(stack, app_functions, azurite):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION)
    azurite.stop()
    try:
        with pytest.raises(Exception, match=r"(?i)audit|table"):
            app_functions["ai_account_created"](host_decoded(sample("resource-write-cognitive-account.eventgrid.json")))
    finally:
        azurite.start()
    # The retry (same event id) finds the plan already on and records it: nothing is lost.
    app_functions["ai_account_created"](host_decoded(sample("resource-write-cognitive-account.eventgrid.json")))
    (record,) = stack["audit"].latest_outcomes(SUBSCRIPTION)
    assert record.outcome in ("compliant", "remediated")


def test_handle_event_cli_prints_ignored_and_rejected_with_reasons(emulator, tmp_path):
    import os
    import subprocess
    import sys

    emulator.add_subscription(SUBSCRIPTION)
    bad = sample("resource-write-cognitive-account.eventgrid.json")
    bad["subject"] = bad["subject"].replace(SUBSCRIPTION, "99999999-9999-9999-9999-999999999999")
    events = [
        sample("resource-write-cognitive-account.eventgrid.json"),
        sample("resource-write-storage-account.eventgrid.json"),
        bad,
    ]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENFORCER_")}
    env["ENFORCER_ARM_ENDPOINT"] = emulator.url
    result = subprocess.run(
        [sys.executable, "-m", "enforcer", "handle-event", str(path), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)
    # Every outcome is printed (issue 19): the first event's AI account too, after its plan.
    outcomes = [o for o in outcomes if not o.get("resource_id")]
    assert [o["outcome"] for o in outcomes] == ["remediated", "ignored", "rejected"]
    assert all(o["reason"] for o in outcomes[1:])


def test_function_app_refuses_to_run_without_an_audit_store(app_functions, monkeypatch):
    from enforcer.core.settings import ConfigError

    monkeypatch.delenv("ENFORCER_STORAGE", raising=False)
    runtime.use(None)
    with pytest.raises(ConfigError, match="ENFORCER_STORAGE must be set"):
        app_functions["ai_account_created"](host_decoded(sample("resource-write-cognitive-account.eventgrid.json")))


def test_function_app_reports_a_bad_setting_by_name(app_functions, monkeypatch):
    from enforcer.core.settings import ConfigError

    monkeypatch.setenv("ENFORCER_STORAGE", "UseDevelopmentStorage=true")
    monkeypatch.setenv("ENFORCER_PROMPT_EVIDENCE", "maybe")
    runtime.use(None)
    with pytest.raises(ConfigError, match="ENFORCER_PROMPT_EVIDENCE='maybe'"):
        app_functions["subscription_created"](host_decoded(sample("subscription-created-vending.cloudevents.json")))


def test_after_a_sweep_an_ai_account_write_on_a_drifted_plan_costs_two_arm_calls(stack, app_functions):
    from enforcer.usecases.sweep import run_sweep

    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team", pricing=COMPLIANT_AI)
    run_sweep(stack["services"])  # lists subscriptions; compliant per Resource Graph, so no call for this one
    emulator.set_pricing(SUBSCRIPTION, "AI", {"pricingTier": "Free"})  # someone switches the plan off again
    emulator.reset_calls()

    app_functions["ai_account_created"](host_decoded(sample("resource-write-cognitive-account.eventgrid.json")))

    assert plan_calls(emulator) == {"pricings.get": 1, "pricings.put": 1}
    assert emulator.pricing(SUBSCRIPTION, "AI")["properties"]["pricingTier"] == "Standard"
