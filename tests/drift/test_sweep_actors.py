"""Drift the sweep finds with no event delivered (issue 19 item 3), on the emulator and Azurite with the real SDK
clients: the last writer comes from the subscription's Activity Log, one read per drifted resource, or the record
says "actor unknown" and why."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from enforcer.adapters.audit_store import AuditStore
from enforcer.adapters.teams import TeamsNotifier
from enforcer.core.actors import ACTIVITY_LOG
from enforcer.core.render import render_status
from enforcer.usecases.drift_actors import ACTIVITY_LOG_CALL
from enforcer.usecases.sweep import sweep
from localdev.emulator import Emulator
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from localdev.emulator.server import CLIENT_OBJECT_ID
from localdev.webhook_sink import WebhookSink
from tests.drift.test_drift_events import ALICE, FREE, PIPELINE
from tests.events.samples import SUBSCRIPTION
from tests.integration.helpers import services_for

pytestmark = pytest.mark.integration

QUIET = "00000000-0000-4000-8000-0000000000c1"  # a compliant subscription nobody touched
ACCOUNT = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/oai-1"
QUIET_ACCOUNT = f"/subscriptions/{QUIET}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/oai-2"


@pytest.fixture
def stack(emulator: Emulator, audit_store: AuditStore, webhook_sink: WebhookSink) -> Iterator[dict[str, Any]]:
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team", pricing=COMPLIANT_AI)
    emulator.add_subscription(QUIET, display_name="quiet", pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "oai-1", state="Enabled")
    emulator.cognitive.add(QUIET, "rg-ai", "oai-2", state="Enabled")

    def build(**env: str) -> Any:
        notifier = TeamsNotifier(webhook_sink.url, retry_total=1, total_timeout=5)
        env = {"ENFORCER_IDENTITY_OBJECT_ID": CLIENT_OBJECT_ID, **env}
        return services_for(emulator.url, env, audit=audit_store, notifier=notifier)

    yield {"emulator": emulator, "audit": audit_store, "sink": webhook_sink, "build": build}


def lost_events(emulator: Emulator) -> None:
    """The writes' events never reach the enforcer (lost, or the wiring was missing)."""
    emulator.write_events.take()


def digest_text(sink: WebhookSink) -> str:
    return json.dumps(sink.messages[-1]["attachments"][0]["content"], ensure_ascii=False)


def test_a_plan_switched_to_free_with_no_event_is_restored_naming_the_user_from_the_activity_log(stack):
    emulator, audit, services = stack["emulator"], stack["audit"], stack["build"]()
    emulator.user_write_pricing(SUBSCRIPTION, FREE, ALICE)
    lost_events(emulator)
    emulator.reset_calls()

    result = sweep(services)

    assert emulator.pricing(SUBSCRIPTION)["properties"]["pricingTier"] == "Standard"
    (restored,) = [o for o in result.outcomes if o.outcome.value == "remediated"]
    actor = restored.actor
    assert actor is not None and actor.source == ACTIVITY_LOG
    assert (actor.name, actor.object_id) == ("alice@contoso.example", ALICE.object_id)
    (record,) = [r for r in audit.history(SUBSCRIPTION) if r.outcome == "remediated"]
    assert record.actor_value() == actor
    status = render_status(audit.latest_outcomes(SUBSCRIPTION), as_json=False)
    assert "caused by alice@contoso.example (0a11ce00" in status and "[activity log]" in status
    as_json = json.loads(render_status(audit.latest_outcomes(SUBSCRIPTION), as_json=True))
    assert as_json[0]["actor"]["name"] == "alice@contoso.example"
    assert as_json[0]["actor"]["source"] == ACTIVITY_LOG
    assert "by alice@contoso.example (0a11ce00" in digest_text(stack["sink"])


def test_one_lookup_per_drifted_resource_and_none_for_compliant_ones(stack):
    emulator, services = stack["emulator"], stack["build"]()
    emulator.user_write_pricing(SUBSCRIPTION, FREE, PIPELINE)
    emulator.user_write_account_setting(ACCOUNT, "Disabled", ALICE)
    lost_events(emulator)
    emulator.reset_calls()

    result = sweep(services)

    assert emulator.calls[ACTIVITY_LOG_CALL] == 2  # the plan and the account; nothing for QUIET and its account
    assert result.summary.arm_calls.get(ACTIVITY_LOG_CALL) == 2
    assert emulator.cognitive.state(ACCOUNT) == "Enabled"
    (account,) = [o for o in result.outcomes if o.resource_id == ACCOUNT]
    assert account.outcome.value == "remediated"
    assert account.actor is not None and account.actor.name == "alice@contoso.example"
    (plan,) = [o for o in result.outcomes if o.subscription_id == SUBSCRIPTION and not o.is_account]
    assert plan.actor is not None and plan.actor.name == f"app {PIPELINE.app_id}" and plan.actor.kind == "app"
    assert all(o.actor is None for o in result.outcomes if o.subscription_id == QUIET)

    emulator.reset_calls()
    again = sweep(services)  # nothing drifted since: no lookup at all
    assert emulator.calls[ACTIVITY_LOG_CALL] == 0
    assert all(o.actor is None for o in again.outcomes)


def test_an_activity_log_answering_403_records_actor_unknown_with_the_reason(stack):
    emulator, audit, services = stack["emulator"], stack["audit"], stack["build"]()
    emulator.user_write_pricing(SUBSCRIPTION, FREE, ALICE)
    lost_events(emulator)
    emulator.faults.activity_log_error = 403

    result = sweep(services)

    (restored,) = [o for o in result.outcomes if o.outcome.value == "remediated"]
    assert emulator.pricing(SUBSCRIPTION)["properties"]["pricingTier"] == "Standard"  # attribution never blocks
    actor = restored.actor
    assert actor is not None and not actor.known
    assert "Activity Log not readable: 403" in actor.unknown_reason and "Reader" in actor.unknown_reason
    (record,) = [r for r in audit.history(SUBSCRIPTION) if r.outcome == "remediated"]
    assert record.actor_value() == actor
    status = render_status(audit.latest_outcomes(SUBSCRIPTION), as_json=False)
    assert "actor unknown (Activity Log not readable: 403" in status
    assert "by actor unknown (Activity Log not readable: 403" in digest_text(stack["sink"])


def test_the_enforcers_own_writes_are_not_taken_for_the_actor(stack):
    emulator, services = stack["emulator"], stack["build"]()
    emulator.user_write_pricing(SUBSCRIPTION, FREE, ALICE)
    lost_events(emulator)
    sweep(services)  # restores it: the enforcer's own write is now the newest in the Activity Log
    emulator.set_pricing(SUBSCRIPTION, "AI", FREE)  # set directly: a change with no Activity Log entry

    result = sweep(services)

    (restored,) = [o for o in result.outcomes if o.outcome.value == "remediated"]
    assert restored.actor is not None and restored.actor.name == "alice@contoso.example"


def test_no_lookup_once_the_sweeps_budget_is_spent(stack):
    from enforcer.core.models import Outcome, OutcomeKind, Trigger
    from enforcer.usecases.drift_actors import attribute_drift

    emulator, services = stack["emulator"], stack["build"]()
    emulator.reset_calls()
    outcome = Outcome(SUBSCRIPTION, OutcomeKind.REMEDIATED, Trigger("sweep", "run-1"))

    attribute_drift(services, outcome, remaining=0.0)

    assert emulator.calls[ACTIVITY_LOG_CALL] == 0
    assert outcome.actor is not None and "time budget was spent" in outcome.actor.unknown_reason


def test_an_activity_log_failing_with_500_records_actor_unknown_with_the_cause(stack):
    emulator, services = stack["emulator"], stack["build"]()
    emulator.user_write_pricing(SUBSCRIPTION, FREE, ALICE)
    lost_events(emulator)
    emulator.faults.activity_log_error = 500

    result = sweep(services)

    (restored,) = [o for o in result.outcomes if o.outcome.value == "remediated"]
    actor = restored.actor
    assert actor is not None and not actor.known
    assert actor.unknown_reason.startswith("Activity Log lookup failed: Azure Resource Manager answered 500")
