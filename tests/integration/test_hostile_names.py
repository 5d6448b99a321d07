"""Issue 22, item 1: resource ids are read by Azure's naming rules, not by ASCII patterns. An AI account in a resource
group with Unicode letters is covered by the event, the sweep and the coverage report; an id the enforcer cannot read
is recorded "not readable" (escaped), never dropped. Real SDK clients on the ARM emulator; the audit store on
Azurite."""

from __future__ import annotations

import json
from typing import Any

import pytest

from enforcer.adapters.audit_store import AuditStore
from enforcer.core.cards import digest_card, outcome_card
from enforcer.core.events import Route
from enforcer.usecases.coverage import gather_coverage
from enforcer.usecases.handle_event import handle_event
from enforcer.usecases.sweep import sweep
from localdev.emulator import Emulator
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from tests.events.samples import SUBSCRIPTION, sample
from tests.integration.helpers import services_for
from tests.sweep.helpers import PATIENT_RETRY

pytestmark = pytest.mark.integration

EVENT = "resource-write-cognitive-account.eventgrid.json"
# Azure allows Unicode letters and digits in resource group names (Char.IsLetterOrDigit), plus - _ . ( ).
UNICODE_GROUP = "rg-données-日本(1)"
UNICODE_ACCOUNT = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{UNICODE_GROUP}/providers/Microsoft.CognitiveServices/accounts/"
    "ai-east"
)
# A name no Azure rule allows (a space, an escape sequence and a newline): the enforcer cannot address it.
HOSTILE_NAME = "bad name\x1b[31m\nFORGED"


def account_event(resource_id: str) -> dict[str, Any]:
    raw = sample(EVENT)
    raw["subject"] = raw["data"]["resourceUri"] = resource_id
    return raw


def test_an_account_in_a_unicode_resource_group_is_fixed_by_the_event(emulator: Emulator, audit_store: AuditStore):
    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, UNICODE_GROUP, "ai-east", state="Disabled")

    handle_event(account_event(UNICODE_ACCOUNT), Route.AI_ACCOUNT, services_for(emulator.url, audit=audit_store))

    assert emulator.cognitive.state(UNICODE_ACCOUNT) == "Enabled"
    (record,) = [r for r in audit_store.history(SUBSCRIPTION, limit=100) if r.is_account]
    assert (record.outcome, record.resource_id) == ("remediated", UNICODE_ACCOUNT)


def test_an_account_in_a_unicode_resource_group_is_found_by_the_sweep_and_coverage(
    emulator: Emulator, audit_store: AuditStore
):
    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, UNICODE_GROUP, "ai-east", state="Disabled")
    services = services_for(emulator.url, audit=audit_store, retry=PATIENT_RETRY)

    (before,) = gather_coverage(services)
    assert (before.resource_id, before.why_not) == (UNICODE_ACCOUNT, "account disabled")

    result = sweep(services)

    (fixed,) = [o for o in result.outcomes if o.is_account]
    assert (fixed.outcome.value, fixed.resource_id) == ("remediated", UNICODE_ACCOUNT)
    assert emulator.cognitive.state(UNICODE_ACCOUNT) == "Enabled"
    (after,) = gather_coverage(services)
    assert after.protected and after.last_changed is not None


def test_an_account_id_that_cannot_be_read_is_recorded_not_readable_by_the_sweep_and_coverage(
    emulator: Emulator, audit_store: AuditStore
):
    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    hostile = emulator.cognitive.add(SUBSCRIPTION, "rg-ai", HOSTILE_NAME, state="Disabled")
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "fine", state="Enabled")
    services = services_for(emulator.url, audit=audit_store, retry=PATIENT_RETRY)

    rows = {r.resource_id: r for r in gather_coverage(services)}
    assert len(rows) == 2
    assert rows[hostile].why_not == "not readable"
    assert "\\x1b[31m\\nFORGED" in (rows[hostile].error or "") and "\n" not in (rows[hostile].error or "")

    result = sweep(services)

    (unreadable,) = [o for o in result.outcomes if o.is_account and o.resource_id == hostile]
    assert (unreadable.outcome.value, unreadable.reason) == ("failed", "not readable")
    (record,) = [r for r in audit_store.history(SUBSCRIPTION, limit=100) if r.resource_id == hostile]
    assert record.outcome == "failed" and "\\x1b" in (record.error or "") and "\x1b" not in (record.error or "")
    assert emulator.calls["cognitive.defenderforai.put"] == 0  # nothing is written to an account it cannot name
    for card in (outcome_card(unreadable), digest_card(result.summary, [unreadable])):
        text = json.dumps(card)
        assert "not readable" in text and "\\u001b" not in text and "\\n" not in text.replace("\\\\n", "")


def test_an_event_naming_an_account_id_that_cannot_be_read_is_recorded_not_dropped(
    emulator: Emulator, audit_store: AuditStore
):
    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    hostile = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/"
        + HOSTILE_NAME
    )

    outcome = handle_event(account_event(hostile), Route.AI_ACCOUNT, services_for(emulator.url, audit=audit_store))

    assert outcome.outcome.value == "compliant"  # the plan step is unaffected
    (record,) = [r for r in audit_store.history(SUBSCRIPTION, limit=100) if r.is_account]
    assert (record.outcome, record.resource_id) == ("failed", hostile)
    assert "not readable" in (record.error or "") and "\\nFORGED" in (record.error or "")
    assert not any(k.startswith("cognitive.") for k in emulator.calls)


def test_an_unreadable_account_id_in_an_exempt_subscription_is_left_alone(emulator: Emulator, audit_store: AuditStore):
    emulator.add_subscription(SUBSCRIPTION, tags={"defender-ai-exempt": "sandbox"})
    hostile = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/"
        + HOSTILE_NAME
    )

    handle_event(account_event(hostile), Route.AI_ACCOUNT, services_for(emulator.url, audit=audit_store))

    (record,) = [r for r in audit_store.history(SUBSCRIPTION, limit=100) if r.is_account]
    assert record.outcome == "excluded" and "sandbox" in (record.reason or "")
