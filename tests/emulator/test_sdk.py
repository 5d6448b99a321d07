"""The real Azure SDK clients against the emulator: what the enforcer's adapters will do."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions
from azure.mgmt.security import SecurityCenter
from azure.mgmt.security.v2024_01_01.models import Extension, Pricing

from localdev.emulator import Emulator, FaultConfig
from tests.fixtures.emulator import StaticTokenCredential, sdk_client_kwargs

pytestmark = pytest.mark.integration

SUB = "33333333-3333-4333-8333-333333333333"
SCOPE = f"subscriptions/{SUB}"
ARG_QUERY = (
    "securityresources | where type =~ 'microsoft.security/pricings' and name =~ 'AI' "
    "| project subscriptionId, pricingTier = tostring(properties.pricingTier), extensions = properties.extensions"
)


def security_center(emu: Emulator, **kwargs) -> SecurityCenter:
    return SecurityCenter(subscription_id=SUB, **sdk_client_kwargs(emu), **kwargs)


def test_pricings_get_update_list_through_security_center(emulator):
    emulator.add_subscription(SUB)
    credential = StaticTokenCredential()
    client = SecurityCenter(subscription_id=SUB, **sdk_client_kwargs(emulator, credential))
    assert client.pricings.get(SCOPE, "AI").pricing_tier == "Free"

    wanted = Pricing(
        pricing_tier="Standard",
        extensions=[
            Extension(name="AIPromptEvidence", is_enabled="True"),
            Extension(name="AIPromptSharingWithPurview", is_enabled="False"),
        ],
    )
    updated = client.pricings.update(SCOPE, "AI", wanted)
    statuses = {e.name: (e.is_enabled, e.operation_status.code) for e in updated.extensions}
    assert statuses == {
        "AIPromptEvidence": ("True", "Succeeded"),
        "AIPromptSharingWithPurview": ("False", "Succeeded"),
        "AIModelScanner": ("True", "Succeeded"),
    }
    assert updated.enablement_time is not None

    listed = client.pricings.list(SCOPE, filter="name in (AI)").value
    assert [(p.name, p.pricing_tier) for p in listed] == [("AI", "Standard")]
    assert all(e.operation_status is None for e in listed[0].extensions)
    assert credential.requests >= 1
    assert all(r.had_bearer for r in emulator.requests)


def test_sdk_surfaces_arm_errors_with_their_codes(emulator):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(forbidden={SUB: "write"})
    client = security_center(emulator)
    with pytest.raises(HttpResponseError) as raised:
        client.pricings.update(SCOPE, "AI", Pricing(pricing_tier="Standard"))
    assert raised.value.status_code == 403
    assert raised.value.error is not None
    assert raised.value.error.code == "AuthorizationFailed"


def test_sdk_honours_retry_after_so_no_early_retries(emulator):
    emulator.add_subscription(SUB)
    emulator.faults = FaultConfig(throttle_next_calls=1, retry_after_seconds=1)
    client = security_center(emulator)
    assert client.pricings.get(SCOPE, "AI").pricing_tier == "Free"
    assert [r.status for r in emulator.requests] == [429, 200]
    assert emulator.early_retries == 0


def test_sdk_retries_server_errors(emulator):
    emulator.add_subscription(SUB)
    # With this seed the first draws give errors then a success; the SDK's retry policy gets through.
    emulator.faults = FaultConfig(error_fraction=0.5, seed=3)
    client = security_center(emulator, retry_backoff_factor=0.01)
    assert client.pricings.get(SCOPE, "AI").name == "AI"
    assert [r.status for r in emulator.requests] == [500, 503, 200]


def test_subscription_client_pages_through_every_subscription():
    with Emulator(page_size=3) as emu:
        members = emu.seed_fleet(8, seed=5)
        emu.set_subscription_state(members[2].subscription_id, "Disabled")
        client = SubscriptionClient(**sdk_client_kwargs(emu))
        listed = list(client.subscriptions.list())
        assert [s.subscription_id for s in listed] == [m.subscription_id for m in members]
        assert listed[2].state == "Disabled"
        assert listed[0].display_name == "sub-0001"
        assert listed[0].tags == emu.subscription(members[0].subscription_id)["tags"]
        assert emu.calls["subscriptions.list"] == 3
        one = client.subscriptions.get(members[4].subscription_id)
        assert one.display_name == "sub-0005"


def test_resource_graph_client_pages_with_skip_token(emulator):
    members = emulator.seed_fleet(12, drift_fraction=0.5, seed=9)
    client = ResourceGraphClient(**sdk_client_kwargs(emulator))
    rows: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        request = QueryRequest(
            subscriptions=[m.subscription_id for m in members],
            query=ARG_QUERY,
            options=QueryRequestOptions(top=5, skip_token=token, result_format="objectArray"),
        )
        response = client.resources(request)
        assert response.total_records == 12
        data: Any = response.data  # typed as a mapping by the SDK; objectArray results are a list
        rows += data
        token = response.skip_token
        if not token:
            break
    assert len(rows) == 12
    tiers = {r["subscriptionId"]: r["pricingTier"] for r in rows}
    assert {m.subscription_id for m in members if m.drift_kind == "free"} == {
        s for s, t in tiers.items() if t == "Free"
    }
    assert emulator.requests[0].query == "api-version=2021-03-01"


def test_auto_registration_policy_registers_and_retries(emulator):
    """azure-mgmt-core's ARMAutoResourceProviderRegistrationPolicy parses our 409 and registers.

    Slow on purpose: the policy sleeps 10 s before checking the registration state.
    """
    emulator.add_subscription(SUB, registered=False)
    client = security_center(emulator)
    assert client.pricings.get(SCOPE, "AI").name == "AI"
    kinds = [r.kind for r in emulator.requests]
    assert kinds == ["pricings.get", "providers.register", "providers.get", "pricings.get"]
    assert emulator.requests[1].query == "api-version=2016-02-01"
    assert emulator.is_registered(SUB)
