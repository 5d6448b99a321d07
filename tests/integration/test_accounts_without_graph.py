"""AI accounts without Resource Graph (issue 19, item 7): when Resource Graph answers 404 or 500, or is turned off,
the sweep's account pass and `coverage` list each subscription's accounts with `Accounts - List` (paged with
nextLink, within the deadline). Real SDK clients against the emulator; the audit store on Azurite."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from enforcer.core.errors import EnforcementError
from enforcer.core.models import ErrorKind
from enforcer.usecases.account_listing import list_accounts
from enforcer.usecases.coverage import gather_coverage
from enforcer.usecases.sweep import sweep
from localdev.emulator import Emulator, FaultConfig
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from tests.integration.helpers import cli_env, services_for, start_cli
from tests.sweep.helpers import PATIENT_RETRY

pytestmark = pytest.mark.integration

SUB_A, SUB_B = (str(uuid.uuid4()) for _ in range(2))


def seed(emulator: Emulator) -> dict[str, str]:
    """Two subscriptions with 5 and 1 accounts, two of them Disabled; the list answers 2 accounts a page."""
    emulator.cognitive.list_page_size = 2
    emulator.add_subscription(SUB_A, display_name="ai-a", pricing=COMPLIANT_AI)
    emulator.add_subscription(SUB_B, display_name="ai-b", pricing=COMPLIANT_AI)
    ids = {
        f"a{i}": emulator.cognitive.add(SUB_A, "rg-ai", f"a{i}", state="Disabled" if i == 3 else "Enabled")
        for i in range(5)
    }
    ids["b0"] = emulator.cognitive.add(SUB_B, "rg-b", "b0", state="Disabled")
    return ids


@pytest.mark.parametrize("status", [404, 500])
def test_account_pass_lists_accounts_with_arm_when_resource_graph_fails(emulator, audit_store, status):
    ids = seed(emulator)
    emulator.faults = FaultConfig(resource_graph_error=status)
    services = services_for(emulator.url, audit=audit_store, retry=PATIENT_RETRY)

    result = sweep(services)

    accounts = {o.resource_id: o for o in result.outcomes if o.is_account}
    assert set(accounts) == set(ids.values())
    assert {emulator.cognitive.state(i) for i in ids.values()} == {"Enabled"}
    assert sum(o.outcome.value == "remediated" for o in accounts.values()) == 2
    # 5 accounts at 2 a page: 3 pages; 1 account: 1 page. Resource Graph was asked and failed.
    assert emulator.calls["cognitive.accounts.list"] == 4
    assert emulator.calls["resourcegraph.resources.accounts"] >= 1
    assert result.summary.arm_calls["cognitive.accounts.list"] == 4
    assert any("listed them per subscription with ARM instead" in n and str(status) in n for n in result.summary.notes)
    assert result.summary.complete


def test_account_pass_uses_the_list_api_when_resource_graph_is_off(emulator):
    ids = seed(emulator)
    services = services_for(emulator.url, {"ENFORCER_RESOURCE_GRAPH": "off"}, retry=PATIENT_RETRY)

    result = sweep(services)

    assert {o.resource_id for o in result.outcomes if o.is_account} == set(ids.values())
    assert emulator.calls["resourcegraph.resources.accounts"] == 0
    assert emulator.calls["cognitive.accounts.list"] == 4
    assert any("ENFORCER_RESOURCE_GRAPH=off" in n for n in result.summary.notes)


@pytest.mark.parametrize("status", [404, 500])
def test_coverage_lists_accounts_with_arm_when_resource_graph_fails(emulator, audit_store, status):
    ids = seed(emulator)
    emulator.faults = FaultConfig(resource_graph_error=status)
    services = services_for(emulator.url, audit=audit_store)

    rows = {r.resource_id: r for r in gather_coverage(services)}

    assert set(rows) == set(ids.values())
    assert not rows[ids["a3"]].protected and rows[ids["a3"]].why_not == "account disabled"
    assert rows[ids["a0"]].protected and rows[ids["a0"]].plan_tier == "Standard"
    assert emulator.calls["cognitive.accounts.list"] == 4
    assert emulator.calls["cognitive.defenderforai.put"] == 0  # the report only reads


def test_coverage_command_exits_0_with_resource_graph_answering_404(emulator, azurite):
    ids = seed(emulator)
    emulator.faults = FaultConfig(resource_graph_error=404)
    process = start_cli(cli_env(emulator.url, azurite.connection_string), "coverage", "--json")
    out, err = process.communicate(timeout=120)

    assert process.returncode == 0, err
    report = json.loads(out)
    assert sorted(a["resource_id"] for a in report["accounts"]) == sorted(ids.values())
    assert report["summary"]["protected"] == 4


def test_listing_stops_at_the_deadline_between_pages(emulator):
    seed(emulator)
    services = services_for(emulator.url)
    assert services.accounts is not None

    with pytest.raises(EnforcementError) as raised:
        services.accounts.list_accounts(SUB_A, deadline=time.monotonic())  # spent before the first page answers

    assert raised.value.kind is ErrorKind.THROTTLED and "time budget" in raised.value.message
    assert emulator.calls["cognitive.accounts.list"] == 1  # the first page, then no further page
    found, pages = services.accounts.list_accounts(SUB_A)
    assert (len(found), pages) == (5, 3)


def test_subscriptions_not_started_by_the_deadline_are_reported_unlisted(emulator):
    seed(emulator)
    services = services_for(emulator.url, {"ENFORCER_RESOURCE_GRAPH": "off"})

    listing = list_accounts(services, services.settings, [SUB_A, SUB_B], deadline=time.monotonic() - 1)

    assert listing.accounts == [] and listing.out_of_time
    assert sorted(listing.unlisted) == sorted([SUB_A, SUB_B])
    assert emulator.calls["cognitive.accounts.list"] == 0
    assert any("time budget spent" in n for n in listing.notes)


def test_a_subscription_whose_accounts_cannot_be_read_is_named_and_the_others_listed(emulator):
    ids = seed(emulator)
    emulator.faults = FaultConfig(forbidden={SUB_B: "all"})
    services = services_for(emulator.url, {"ENFORCER_RESOURCE_GRAPH": "off"})

    listing = list_accounts(services, services.settings, [SUB_A, SUB_B])

    assert sorted(a.resource_id for a in listing.accounts) == sorted(v for k, v in ids.items() if k != "b0")
    assert listing.unlisted == [SUB_B] and not listing.out_of_time
    assert any("Defender for AI Enforcer account settings" in n and SUB_B in n for n in listing.notes)
