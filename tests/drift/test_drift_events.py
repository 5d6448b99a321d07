"""Drift in seconds (issue 19) on the emulator and Azurite, with the real SDK clients and the local Teams sink:
someone else's write to the AI plan or an account's own switch is restored at once, with who did it on record."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from enforcer.adapters.audit_store import AuditStore
from enforcer.adapters.teams import TeamsNotifier
from enforcer.core.events import Route
from enforcer.core.render import render_status
from enforcer.usecases.handle_event import handle_event_outcomes
from localdev.emulator import Emulator
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from localdev.emulator.server import CLIENT_OBJECT_ID
from localdev.emulator.write_events import Caller
from localdev.webhook_sink import WebhookSink
from tests.events.samples import SUBSCRIPTION
from tests.integration.helpers import services_for

pytestmark = pytest.mark.integration

ALICE = Caller(object_id="0a11ce00-0000-4000-8000-000000000001", upn="alice@contoso.example", name="Alice")
PIPELINE = Caller(object_id="0b0b0000-0000-4000-8000-000000000002", app_id="a99a0000-0000-4000-8000-000000000003")
FREE = {"pricingTier": "Free"}
ACCOUNT = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/oai-1"


def cards(sink: WebhookSink) -> list[str]:
    return [json.dumps(m["attachments"][0]["content"], ensure_ascii=False) for m in sink.messages]


@pytest.fixture
def stack(emulator: Emulator, audit_store: AuditStore, webhook_sink: WebhookSink) -> Iterator[dict[str, Any]]:
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team", pricing=COMPLIANT_AI)

    def build(**env: str) -> Any:
        notifier = TeamsNotifier(webhook_sink.url, retry_total=1, total_timeout=5)
        env = {"ENFORCER_IDENTITY_OBJECT_ID": CLIENT_OBJECT_ID, **env}
        return services_for(emulator.url, env, audit=audit_store, notifier=notifier)

    yield {"emulator": emulator, "audit": audit_store, "sink": webhook_sink, "build": build}


def test_a_foreign_switch_to_free_is_restored_with_the_actor_in_record_status_and_card(stack):
    emulator, audit, services = stack["emulator"], stack["audit"], stack["build"]()
    event = emulator.user_write_pricing(SUBSCRIPTION, FREE, ALICE)
    emulator.reset_calls()

    (outcome,) = handle_event_outcomes(event, Route.AI_ACCOUNT, services)

    assert outcome.outcome.value == "remediated"
    assert emulator.pricing(SUBSCRIPTION)["properties"]["pricingTier"] == "Standard"
    assert emulator.calls["pricings.get"] == 1 and emulator.calls["pricings.put"] == 1
    (record,) = [r for r in audit.history(SUBSCRIPTION) if r.trigger_id == event["id"]]
    actor = record.actor_value()
    assert actor is not None and actor.name == "alice@contoso.example" and actor.object_id == ALICE.object_id
    assert actor.at == outcome.actor.at != ""  # type: ignore[union-attr]
    status = render_status(audit.latest_outcomes(SUBSCRIPTION), as_json=False)
    assert "caused by alice@contoso.example (0a11ce00" in status
    as_json = json.loads(render_status(audit.latest_outcomes(SUBSCRIPTION), as_json=True))
    assert as_json[0]["actor"]["name"] == "alice@contoso.example"
    (card,) = cards(stack["sink"])
    assert "Defender for AI was switched to Free on ai-team by alice@contoso.example (0a11ce00" in card
    assert "; restored " in card and " s later" in card


def test_the_enforcers_own_write_costs_no_arm_call(stack):
    emulator, services = stack["emulator"], stack["build"]()
    handle_event_outcomes(emulator.user_write_pricing(SUBSCRIPTION, FREE, ALICE), Route.AI_ACCOUNT, services)
    (own_event,) = emulator.write_events.take()  # the topic's event for the enforcer's restoring PUT
    emulator.reset_calls()

    (outcome,) = handle_event_outcomes(own_event, Route.AI_ACCOUNT, services)

    assert outcome.outcome.value == "ignored" and "own write" in (outcome.reason or "")
    assert sum(emulator.calls.values()) == 0


def test_the_own_id_is_learned_from_the_token_when_the_setting_is_empty(stack):
    import base64

    from enforcer.core.actors import object_id_from_token

    payload = base64.urlsafe_b64encode(json.dumps({"oid": CLIENT_OBJECT_ID.upper()}).encode()).decode().rstrip("=")
    assert object_id_from_token(f"e30.{payload}.sig") == CLIENT_OBJECT_ID
    assert object_id_from_token("local-emulator-token") is None
    # The emulator's fixed token says nothing: then the enforcer's own write is read back (1 GET, no PUT).
    emulator, services = stack["emulator"], stack["build"](ENFORCER_IDENTITY_OBJECT_ID="")
    handle_event_outcomes(emulator.user_write_pricing(SUBSCRIPTION, FREE, ALICE), Route.AI_ACCOUNT, services)
    (own_event,) = emulator.write_events.take()
    emulator.reset_calls()
    (outcome,) = handle_event_outcomes(own_event, Route.AI_ACCOUNT, services)
    assert outcome.outcome.value == "compliant"
    assert dict(emulator.calls) == {"pricings.get": 1}


def test_a_foreign_write_that_leaves_the_plan_compliant_costs_one_get_and_no_put(stack):
    emulator, audit, services = stack["emulator"], stack["audit"], stack["build"]()
    purview_on = {
        **COMPLIANT_AI,
        "extensions": [*COMPLIANT_AI["extensions"], {"name": "AIPromptSharingWithPurview", "isEnabled": "True"}],
    }
    event = emulator.user_write_pricing(SUBSCRIPTION, purview_on, ALICE)  # Purview is `unmanaged` by default
    emulator.reset_calls()

    (outcome,) = handle_event_outcomes(event, Route.AI_ACCOUNT, services)

    assert outcome.outcome.value == "compliant"
    assert dict(emulator.calls) == {"pricings.get": 1}
    (record,) = [r for r in audit.history(SUBSCRIPTION) if r.trigger_id == event["id"]]
    assert record.outcome == "compliant" and record.actor_value().name == "alice@contoso.example"
    assert stack["sink"].messages == []


def test_a_write_to_another_plan_is_ignored(stack):
    emulator, services = stack["emulator"], stack["build"]()
    event = emulator.user_write_pricing(SUBSCRIPTION, FREE, ALICE, plan_name="VirtualMachines")
    emulator.reset_calls()
    (outcome,) = handle_event_outcomes(event, Route.AI_ACCOUNT, services)
    assert outcome.outcome.value == "ignored" and "not AI" in (outcome.reason or "")
    assert sum(emulator.calls.values()) == 0


def test_a_fourth_restore_within_the_hour_is_a_conflict_with_one_card_and_no_put(stack):
    emulator, services, sink = stack["emulator"], stack["build"](), stack["sink"]
    for _ in range(3):
        (restored,) = handle_event_outcomes(
            emulator.user_write_pricing(SUBSCRIPTION, FREE, PIPELINE), Route.AI_ACCOUNT, services
        )
        assert restored.outcome.value == "remediated"
        emulator.write_events.take()
    assert len(sink.messages) == 3
    # Another instance (fresh services) sees the same count: it lives in the audit store.
    other_instance = stack["build"]()
    emulator.reset_calls()
    (fourth,) = handle_event_outcomes(
        emulator.user_write_pricing(SUBSCRIPTION, FREE, PIPELINE), Route.AI_ACCOUNT, other_instance
    )
    (fifth,) = handle_event_outcomes(
        emulator.user_write_pricing(SUBSCRIPTION, FREE, PIPELINE), Route.AI_ACCOUNT, other_instance
    )
    assert fourth.outcome.value == fifth.outcome.value == "conflict"
    assert "app a99a0000-0000-4000-8000-000000000003" in (fourth.reason or "")
    assert sum(emulator.calls.values()) == 0  # no GET, no PUT
    assert emulator.pricing(SUBSCRIPTION)["properties"]["pricingTier"] == "Free"  # left to the sweep
    assert len(sink.messages) == 4  # one card for the conflict, none for the fifth
    assert f"Tug of war over Defender for AI on {SUBSCRIPTION}" in cards(sink)[-1]


def test_an_account_switched_to_disabled_by_a_user_is_enabled_again_with_the_actor(stack):
    emulator, audit, services = stack["emulator"], stack["audit"], stack["build"]()
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "oai-1", state="Enabled")
    event = emulator.user_write_account_setting(ACCOUNT, "Disabled", ALICE)
    emulator.reset_calls()

    (outcome,) = handle_event_outcomes(event, Route.AI_ACCOUNT, services)

    assert outcome.outcome.value == "remediated" and outcome.resource_id == ACCOUNT
    assert emulator.cognitive.state(ACCOUNT) == "Enabled"
    assert emulator.calls["pricings.put"] == 0
    (record,) = [r for r in audit.history(SUBSCRIPTION) if r.is_account]
    assert record.actor_value().name == "alice@contoso.example"
    (card,) = cards(stack["sink"])
    assert "Defender for AI was switched to Disabled on AI account oai-1 by alice@contoso.example" in card


def test_hostile_claim_values_stay_text(stack):
    emulator, services = stack["emulator"], stack["build"]()
    hostile = Caller(
        object_id="0e0e0000-0000-4000-8000-000000000004",
        upn="[click](https://evil.example)\n**admin**",
    )
    event = emulator.user_write_pricing(SUBSCRIPTION, FREE, hostile)
    (outcome,) = handle_event_outcomes(event, Route.AI_ACCOUNT, services)
    assert outcome.outcome.value == "remediated"
    (card,) = cards(stack["sink"])
    assert "[click](https" not in card and "**admin**" not in card
    (line,) = [
        b["text"]
        for m in stack["sink"].messages
        for b in m["attachments"][0]["content"]["body"]
        if b.get("text", "").startswith("Defender for AI was switched")
    ]
    assert "\n" not in line and "\\[click\\](https" in line and "\\*\\*admin\\*\\*" in line
    status = render_status(stack["audit"].latest_outcomes(SUBSCRIPTION), as_json=False)
    assert "\n**admin**" not in status and "\\n**admin**" in status


def test_handle_event_json_lists_the_account_outcome_and_exits_1_when_it_failed(stack, tmp_path):
    emulator = stack["emulator"]
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "oai-1", state="Disabled")
    emulator.faults.forbidden[SUBSCRIPTION] = "write"  # our reading: the account PUT is refused too
    from tests.events.samples import sample

    path = tmp_path / "event.json"
    raw = sample("resource-write-cognitive-account.eventgrid.json")
    raw["subject"] = raw["data"]["resourceUri"] = ACCOUNT
    path.write_text(json.dumps(raw))
    env = {"ENFORCER_ARM_ENDPOINT": emulator.url, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "enforcer", "handle-event", str(path), "--json"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    outcomes = json.loads(result.stdout)
    assert [o.get("resource_id") for o in outcomes] == [None, ACCOUNT]
    assert outcomes[1]["outcome"] == "failed"
    assert result.returncode == 1
