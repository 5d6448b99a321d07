"""Issue 22, item 2: every value from outside that becomes a Table key goes through one function (`table_key`), so a
hostile event id is claimed like any other on real Azurite; an event the store still refuses to claim is answered
`rejected` and never blocks its batch; the function returns normally for it (no 24-hour redelivery)."""

from __future__ import annotations

import json
import logging

import pytest

from enforcer.adapters.audit_store import AuditStore
from enforcer.adapters.claims import TableEventClaims
from enforcer.core.claims import Claim
from enforcer.core.errors import ClaimRefusedError
from enforcer.core.events import Route
from enforcer.usecases.handle_event import handle_event
from enforcer.usecases.ports import EventClaims
from localdev.emulator import Emulator
from tests.events.samples import SUBSCRIPTION, sample
from tests.integration.helpers import cli_env, services_for, start_cli

pytestmark = pytest.mark.integration

EVENT = "subscription-created-vending.cloudevents.json"
HOSTILE_IDS = (
    "evt\x00nul",
    "evt\nnewline",
    "evt\x1b[31mred",
    "evt\x85next-line",
    "a/b#c?d\\e",
    "a_b_c_d_e",  # what the old mapping turned the id above into: must not collide with it
    "x" * 2000,
    "lone-\ud800-surrogate",
    "~sha256-" + "0" * 64,  # posing as a hashed key
    "données-日本-🙂",
)


def vending_event(event_id: str) -> dict[str, object]:
    raw = sample(EVENT)
    raw["id"] = event_id
    return raw


def test_hostile_event_ids_are_claimed_once_each_and_never_collide(audit_store: AuditStore):
    claims = TableEventClaims(audit_store.tables, audit_store.runs_table)

    first = [claims.claim(event_id, SUBSCRIPTION) for event_id in HOSTILE_IDS]
    second = [claims.claim(event_id, SUBSCRIPTION) for event_id in HOSTILE_IDS]

    assert all(c.acquired for c in first)  # distinct keys: no id took another's claim
    assert not any(c.acquired for c in second)  # and each id finds its own claim again
    for claim in first:
        claims.complete(claim, "remediated")
    assert all(claims.claim(event_id, SUBSCRIPTION).outcome == "remediated" for event_id in HOSTILE_IDS)


def test_a_claim_azurite_refuses_as_invalid_input_is_a_refusal_not_a_store_outage(audit_store: AuditStore):
    claims = TableEventClaims(audit_store.tables, audit_store.runs_table)

    # A string property over 64 KiB: Azurite answers 400, as Azure does for PropertyValueTooLarge.
    with pytest.raises(ClaimRefusedError, match="refused the event's claim"):
        claims.claim("evt-1", "x" * 40000)
    assert claims.claim("evt-1", SUBSCRIPTION).acquired  # the store itself is fine


def test_an_event_id_the_key_rules_refuse_is_handled_once_and_its_duplicate_recognised(
    emulator: Emulator, audit_store: AuditStore
):
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")
    event_id = "vending/run#7?retry=1\\données"

    first = handle_event(vending_event(event_id), Route.SUBSCRIPTION, services_for(emulator.url, audit=audit_store))
    again = handle_event(vending_event(event_id), Route.SUBSCRIPTION, services_for(emulator.url, audit=audit_store))

    assert first.outcome.value == "remediated"
    assert again.outcome.value == "ignored" and "already handled (remediated)" in (again.reason or "")
    assert emulator.calls["pricings.put"] == 1
    (record,) = [r for r in audit_store.history(SUBSCRIPTION, limit=100) if r.trigger_id == event_id]
    assert record.outcome == "remediated"


class RefusingClaims:
    """A store that refuses one event's claim as invalid input (what Azure answers 400 for), whatever the reason."""

    def __init__(self, inner: EventClaims, refused: str) -> None:
        self._inner, self._refused = inner, refused

    def claim(self, event_id: str, subscription_id: str) -> Claim:
        if event_id == self._refused:
            raise ClaimRefusedError("the store refused the claim: 400 InvalidInput")
        return self._inner.claim(event_id, subscription_id)

    def complete(self, claim: Claim, outcome: str) -> None:
        self._inner.complete(claim, outcome)

    def release(self, claim: Claim) -> None:
        self._inner.release(claim)

    def purge(self, older_than_iso: str, *, deadline: float | None = None) -> int:
        return self._inner.purge(older_than_iso, deadline=deadline)


def test_a_control_character_event_id_is_rejected_and_the_rest_of_its_batch_handled(
    emulator: Emulator, azurite, tmp_path
):
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")
    second = "0b6e8a4c-1c1e-4d5e-9f00-2b3c4d5e6f70"
    emulator.add_subscription(second, display_name="other")
    poison = vending_event("evt-\x00\n\x1b[2J")
    fine = vending_event("evt-fine")
    fine["subject"] = f"/subscriptions/{second}"
    fine["data"] = {**fine["data"], "subscriptionId": second}  # type: ignore[dict-item]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps([poison, fine]))

    process = start_cli(cli_env(emulator.url, azurite.connection_string), "handle-event", str(path), "--json")
    out, err = process.communicate(timeout=60)

    assert process.returncode == 0, err
    rejected, handled = json.loads(out)
    assert rejected["outcome"] == "rejected" and "control characters" in rejected["reason"]
    assert (handled["outcome"], handled["subscription_id"]) == ("remediated", second)
    assert emulator.calls["pricings.put"] == 1
    assert "Traceback" not in err and "\x1b[2J" not in err  # the id is logged escaped, if at all


def test_an_event_the_store_refuses_to_claim_is_rejected_and_its_batch_goes_on(
    emulator: Emulator, audit_store: AuditStore, caplog: pytest.LogCaptureFixture
):
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")
    services = services_for(emulator.url, audit=audit_store)
    assert services.claims is not None
    services.claims = RefusingClaims(services.claims, "evt-refused")

    with caplog.at_level(logging.INFO):
        refused = handle_event(vending_event("evt-refused"), Route.SUBSCRIPTION, services)
        after = handle_event(vending_event("evt-after"), Route.SUBSCRIPTION, services)

    assert refused.outcome.value == "rejected"
    assert "cannot be claimed" in (refused.reason or "") and "400 InvalidInput" in (refused.reason or "")
    assert after.outcome.value == "remediated"
    assert emulator.calls["pricings.put"] == 1  # only the claimed event acted


def test_the_function_returns_normally_for_an_invalid_or_unclaimable_event(
    emulator: Emulator, audit_store: AuditStore, function_app_functions
):
    from handlers import runtime
    from tests.events.samples import host_decoded

    functions = {f.get_function_name(): f.get_user_function() for f in function_app_functions}
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")
    services = services_for(emulator.url, audit=audit_store)
    assert services.claims is not None
    services.claims = RefusingClaims(services.claims, "evt-refused")
    runtime.use(services)
    try:
        # Returning normally is the 200 that tells Event Grid not to redeliver for 24 hours.
        functions["subscription_created"](host_decoded(vending_event("evt-\x1b]0;owned\x07")))
        functions["subscription_created"](host_decoded(vending_event("evt-refused")))
    finally:
        runtime.use(None)
    assert emulator.calls["pricings.put"] == 0
