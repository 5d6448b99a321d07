"""Event wiring against the ARM emulator: real azure-mgmt-eventgrid and Resource Graph clients over HTTP."""

from __future__ import annotations

import logging

import pytest

from enforcer.core.events import Route
from enforcer.core.models import OutcomeKind
from enforcer.usecases.handle_event import handle_event
from enforcer.usecases.sweep.run import sweep
from localdev.emulator import FaultConfig
from tests.events.samples import SUBSCRIPTION, sample
from tests.sweep.helpers import STANDARD_ALL_ON
from tests.wiring.helpers import (
    DEAD_LETTER_ID,
    DELIVERY_KEY,
    DELIVERY_URL,
    EVENT_SUBSCRIPTION,
    audited_services,
    our_subscription,
    seed,
    wiring_services,
)

WIRING_WRITES = ("resourcegroups.put", "eventgrid.systemtopics.put", "eventgrid.eventsubscriptions.put")


def wiring_outcomes(result):
    return {o.subscription_id: o for o in result.outcomes if o.outcome.is_wiring}


def test_a_sweep_wires_every_unwired_subscription_and_a_second_sweep_changes_nothing(emulator):
    subs = seed(emulator, 5)
    services = wiring_services(emulator)

    first = wiring_outcomes(sweep(services))
    assert {s: o.outcome for s, o in first.items()} == dict.fromkeys(subs, OutcomeKind.WIRED)
    for sub in subs:
        (topic,) = emulator.eventgrid.topics(sub)
        assert topic["properties"]["source"] == f"/subscriptions/{sub}"
        assert topic["properties"]["topicType"] == "Microsoft.Resources.Subscriptions"
        assert topic["location"] == "global"
        assert "rg-defender-ai-enforcer-events" in emulator.eventgrid.groups(sub)
        stored = our_subscription(emulator, sub)
        assert stored is not None
        props = stored["properties"]
        assert props["destination"]["properties"]["endpointUrl"] == f"{DELIVERY_URL}&code={DELIVERY_KEY}"
        assert props["filter"]["includedEventTypes"] == ["Microsoft.Resources.ResourceWriteSuccess"]
        assert props["filter"]["advancedFilters"] == [
            {
                "operatorType": "StringIn",
                "key": "data.operationName",
                "values": [
                    "Microsoft.CognitiveServices/accounts/write",
                    "Microsoft.Security/pricings/write",
                    "Microsoft.CognitiveServices/accounts/defenderForAISettings/write",
                ],
            }
        ]
        assert props["retryPolicy"] == {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}
        assert props["deadLetterDestination"]["properties"]["resourceId"] == DEAD_LETTER_ID

    emulator.reset_calls()
    second = sweep(services)
    assert {o.outcome for o in wiring_outcomes(second).values()} == {OutcomeKind.ALREADY_WIRED}
    assert all(emulator.call_count(kind) == 0 for kind in WIRING_WRITES)
    # Found cheaply: one Resource Graph query for the topics, then one GET per subscription.
    assert emulator.call_count("eventgrid.eventsubscriptions.get") == len(subs)
    assert emulator.call_count("eventgrid.systemtopics.list") == 0
    assert second.summary.counts["already_wired"] == len(subs)


def test_an_existing_topic_gets_our_event_subscription_and_keeps_its_others(emulator):
    (sub,) = seed(emulator, 1)
    theirs = emulator.eventgrid.add_topic(sub, "rg-platform", "platform-subscription-events")
    other = {
        "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": "https://platform.example/hook"}},
        "filter": {"includedEventTypes": ["Microsoft.Resources.ResourceDeleteSuccess"]},
    }
    emulator.eventgrid.add_event_subscription(theirs, "platform-deletes", other)
    before = emulator.eventgrid.event_subscriptions(theirs)["platform-deletes"]

    result = wiring_outcomes(sweep(wiring_services(emulator)))

    assert result[sub].outcome is OutcomeKind.WIRED
    assert [t["id"] for t in emulator.eventgrid.topics(sub)] == [theirs]  # no second topic
    assert "rg-defender-ai-enforcer-events" not in emulator.eventgrid.groups(sub)
    after = emulator.eventgrid.event_subscriptions(theirs)
    assert set(after) == {"platform-deletes", EVENT_SUBSCRIPTION}
    assert after["platform-deletes"] == before
    assert emulator.call_count("resourcegroups.put") == 0
    assert emulator.call_count("eventgrid.systemtopics.put") == 0


def test_without_the_wiring_role_the_plan_is_enforced_and_the_wiring_fails(emulator):
    (sub,) = seed(emulator, 1)
    emulator.set_pricing(sub, "AI", {"pricingTier": "Free"})
    emulator.eventgrid.forbidden_writes.add(sub)

    result = sweep(wiring_services(emulator))

    plan = next(o for o in result.outcomes if o.subscription_id == sub and not o.outcome.is_wiring)
    wiring = wiring_outcomes(result)[sub]
    assert plan.outcome is OutcomeKind.REMEDIATED
    assert emulator.pricing(sub)["properties"]["pricingTier"] == "Standard"
    assert wiring.outcome is OutcomeKind.WIRING_FAILED
    assert wiring.error_kind is not None and wiring.error_kind.value == "forbidden"
    assert "Defender for AI Enforcer event wiring" in (wiring.error or "")
    assert result.summary.counts.get("failed", 0) == 0
    assert result.summary.counts["wiring_failed"] == 1


def test_exempt_and_excluded_subscriptions_are_never_wired(emulator):
    wired, excluded = seed(emulator, 2)
    (exempt,) = seed(emulator, 1, start=10, tags={"defender-ai-exempt": "lab"})

    result = sweep(wiring_services(emulator, ENFORCER_EXCLUDE_SUBSCRIPTIONS=excluded))

    assert set(wiring_outcomes(result)) == {wired}
    assert emulator.eventgrid.topics(excluded) == []
    assert emulator.eventgrid.topics(exempt) == []


def test_report_mode_and_dry_run_record_what_would_be_wired_without_writing(emulator):
    subs = seed(emulator, 2)
    report = wiring_outcomes(sweep(wiring_services(emulator, ENFORCER_EVENT_WIRING="report")))
    dry = wiring_outcomes(sweep(wiring_services(emulator), dry_run=True))

    assert {o.outcome for o in report.values()} == {OutcomeKind.WOULD_WIRE}
    assert {o.outcome for o in dry.values()} == {OutcomeKind.WOULD_WIRE}
    assert all(emulator.call_count(kind) == 0 for kind in WIRING_WRITES)
    assert all(emulator.eventgrid.topics(s) == [] for s in subs)


def test_on_without_delivery_settings_skips_and_says_so(emulator):
    seed(emulator, 1)
    result = sweep(wiring_services(emulator, ENFORCER_EVENT_DELIVERY_KEY="@Microsoft.KeyVault(SecretUri=x)"))
    assert wiring_outcomes(result) == {}
    assert any("ENFORCER_EVENT_DELIVERY_KEY" in n for n in result.summary.notes)


def test_resource_graph_lag_is_confirmed_with_arm_before_a_write(emulator):
    """A topic created after the index was read (here: Resource Graph off, so ARM is asked) is reused."""
    (sub,) = seed(emulator, 1)
    theirs = emulator.eventgrid.add_topic(sub, "rg-other", "late-topic")
    result = wiring_outcomes(sweep(wiring_services(emulator, ENFORCER_RESOURCE_GRAPH="off")))
    assert result[sub].outcome is OutcomeKind.WIRED
    assert [t["id"] for t in emulator.eventgrid.topics(sub)] == [theirs]


def test_a_new_subscription_event_wires_within_its_own_invocation(emulator, azurite, audit_store):
    emulator.add_subscription(SUBSCRIPTION, pricing=STANDARD_ALL_ON)
    services = audited_services(emulator, audit_store, azurite.connection_string)

    outcome = handle_event(sample("subscription-created-vending.cloudevents.json"), Route.SUBSCRIPTION, services)

    assert outcome.outcome is OutcomeKind.COMPLIANT
    stored = our_subscription(emulator, SUBSCRIPTION)
    assert stored is not None
    wiring = {r.subscription_id: r for r in audit_store.latest_wiring()}
    assert wiring[SUBSCRIPTION].outcome == "wired"
    # The plan's latest record stays the plan's.
    (latest,) = audit_store.latest_outcomes(SUBSCRIPTION)
    assert latest.outcome == "compliant"


def test_an_ai_account_event_does_not_wire(emulator):
    emulator.add_subscription(SUBSCRIPTION, pricing=STANDARD_ALL_ON)
    handle_event(sample("resource-write-cognitive-account.eventgrid.json"), Route.AI_ACCOUNT, wiring_services(emulator))
    assert emulator.eventgrid.topics(SUBSCRIPTION) == []


def test_the_key_is_never_logged_or_recorded(emulator, azurite, audit_store, caplog):
    (sub,) = seed(emulator, 1)
    emulator.eventgrid.handshake_fails.add(sub)  # an error that quotes the endpoint URL, key included
    (other,) = seed(emulator, 1, start=20)
    services = audited_services(emulator, audit_store, azurite.connection_string)
    with caplog.at_level(logging.DEBUG):
        result = sweep(services)
    failed = next(o for o in result.outcomes if o.subscription_id == sub and o.outcome.is_wiring)
    assert failed.outcome is OutcomeKind.WIRING_FAILED
    assert "handshake failed" in (failed.error or "")
    assert DELIVERY_KEY not in caplog.text
    assert DELIVERY_KEY not in repr(services.settings)
    assert all(DELIVERY_KEY not in str(o.to_dict()) for o in result.outcomes)
    records = audit_store.history(sub) + audit_store.history(other)
    assert records and all(DELIVERY_KEY not in str(r.to_dict()) for r in records)
    stored = our_subscription(emulator, other)
    assert stored is not None
    assert stored["properties"]["destination"]["properties"]["endpointUrl"].endswith(DELIVERY_KEY)


@pytest.mark.parametrize("mode", ["off"])
def test_off_makes_no_event_grid_call(emulator, mode):
    seed(emulator, 2)
    result = sweep(wiring_services(emulator, ENFORCER_EVENT_WIRING=mode))
    assert wiring_outcomes(result) == {}
    assert not any(k.startswith(("eventgrid.", "resourcegroups.")) for k in emulator.calls)


def test_without_resource_graph_the_topics_are_listed_with_arm(emulator):
    subs = seed(emulator, 3)
    emulator.faults = FaultConfig(resource_graph_unavailable=True)

    result = sweep(wiring_services(emulator))

    assert {o.outcome for o in wiring_outcomes(result).values()} == {OutcomeKind.WIRED}
    assert emulator.call_count("eventgrid.systemtopics.list") == len(subs)
    assert any("event wiring: Resource Graph unavailable" in n for n in result.summary.notes)
