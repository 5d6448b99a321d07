"""The sweep against the ARM emulator over loopback HTTP, through the real SDK clients."""

from __future__ import annotations

import uuid

import pytest

from enforcer.adapters.arm import RetrySettings
from enforcer.adapters.resource_graph import ResourceGraphGateway
from enforcer.core.models import OutcomeKind
from enforcer.usecases.sweep import COMPLIANT_PER_GRAPH, SweepError, sweep
from localdev.emulator import FaultConfig
from tests.sweep.helpers import (
    STANDARD_ALL_ON,
    RecordingNotifier,
    extensions,
    is_compliant,
    sweep_services,
)

pytestmark = pytest.mark.integration


def new_sub() -> str:
    return str(uuid.uuid4())


def test_one_sweep_fixes_every_drift_kind_and_a_second_makes_no_put(emulator):
    fleet = emulator.seed_fleet(40, drift_fraction=0.5, seed=11)
    never_written = new_sub()
    emulator.add_subscription(never_written)  # Free, no extensions listed
    drifted = {m.subscription_id for m in fleet if m.drift_kind != "compliant"} | {never_written}
    assert {m.drift_kind for m in fleet} == {"compliant", "free", "component_off", "purview_on", "no_extensions"}
    # Data security off (not unmanaged), so that Purview turned on is drift too.
    services = sweep_services(emulator, ENFORCER_DATA_SECURITY="off")

    first = sweep(services)

    everyone = [m.subscription_id for m in fleet] + [never_written]
    assert all(is_compliant(emulator, s, services.settings) for s in everyone)
    by_sub = {o.subscription_id: o for o in first.outcomes}
    assert {s for s, o in by_sub.items() if o.outcome is OutcomeKind.REMEDIATED} == drifted
    assert first.summary.counts == {"remediated": len(drifted), "compliant": len(everyone) - len(drifted)}
    assert first.summary.complete and first.summary.resume_after is None
    # Resource Graph found the candidates: compliant subscriptions cost no ARM call.
    assert emulator.calls["resourcegraph.resources"] == 1
    assert emulator.calls["pricings.get"] == len(drifted)
    assert emulator.calls["pricings.put"] == len(drifted)
    compliant = [o for o in first.outcomes if o.outcome is OutcomeKind.COMPLIANT]
    assert compliant and all(o.reason == COMPLIANT_PER_GRAPH and not o.arm_calls for o in compliant)
    assert first.summary.arm_calls["pricings.put"] == len(drifted)
    assert first.summary.arm_calls["resourcegraph.resources"] == 1
    assert first.summary.arm_calls["subscriptions.list"] == emulator.calls["subscriptions.list"]

    emulator.reset_calls()
    second = sweep(services)

    assert emulator.calls["pricings.put"] == 0
    assert second.summary.counts == {"compliant": len(everyone)}
    services.close()


def test_stale_resource_graph_rows_never_cause_a_wrong_put(emulator):
    emulator.faults = FaultConfig(resource_graph_lag_seconds=3600)
    fleet = emulator.seed_fleet(12, drift_fraction=0.5, seed=5)
    # Seeded Free; since then someone turned the plan on with Purview (unmanaged: to be kept) and the scanner off.
    changed = new_sub()
    emulator.add_subscription(changed)
    emulator.set_pricing(
        changed,
        "AI",
        {
            "pricingTier": "Standard",
            "extensions": [
                {"name": "AIPromptEvidence", "isEnabled": "True"},
                {"name": "AIPromptSharingWithPurview", "isEnabled": "True"},
                {"name": "AIModelScanner", "isEnabled": "False"},
            ],
        },
    )
    # Listed from the subscriptions API every sweep: `changed` is not in the lagging Resource Graph at all.
    services = sweep_services(emulator, ENFORCER_FULL_LISTING_MINUTES="0")
    drifted = {m.subscription_id for m in fleet if not is_compliant(emulator, m.subscription_id, services.settings)}

    first = sweep(services)

    # The PUT was built from the ARM GET, not from the stale row: Purview stays on.
    assert extensions(emulator, changed) == {
        "AIPromptEvidence": "True",
        "AIPromptSharingWithPurview": "True",
        "AIModelScanner": "True",
    }
    assert emulator.call_count("pricings.put", changed) == 1
    changed_outcome = next(o for o in first.outcomes if o.subscription_id == changed)
    assert [c.field for c in changed_outcome.changes] == ["extensions.AIModelScanner"]

    emulator.reset_calls()
    second = sweep(services)

    # Resource Graph still shows the old drift: every such row is confirmed by a GET, and nothing is written.
    assert emulator.calls["pricings.get"] == len(drifted) + 1
    assert emulator.calls["pricings.put"] == 0
    assert second.summary.counts == {"compliant": len(fleet) + 1}
    services.close()


def test_with_30_percent_throttling_everything_ends_fixed_and_retries_wait(emulator):
    fleet = emulator.seed_fleet(16, drift_fraction=0.5, seed=21)
    emulator.faults = FaultConfig(throttle_fraction=0.3, retry_after_seconds=1, seed=4)
    services = sweep_services(emulator)

    result = sweep(services)

    throttled = [r for r in emulator.requests if r.status == 429]
    assert throttled, "the fault should have throttled some calls"
    assert emulator.early_retries == 0
    failures = [o for o in result.outcomes if o.outcome.is_failure]
    assert failures == []
    emulator.faults = FaultConfig()
    assert all(is_compliant(emulator, m.subscription_id, services.settings) for m in fleet)
    services.close()


@pytest.mark.parametrize("resource_graph", ["on", "off"])
def test_disabled_deleted_excluded_and_exempt_subscriptions_are_untouched(emulator, resource_graph):
    disabled, deleted, excluded, tagged, tagged_no_reason, normal = (new_sub() for _ in range(6))
    for sub in (disabled, deleted, excluded, normal):
        emulator.add_subscription(sub)  # Free: drifted
    emulator.add_subscription(tagged, tags={"defender-ai-exempt": "sandbox, approved by CISO"})
    emulator.add_subscription(tagged_no_reason, tags={"Defender-AI-Exempt": ""})  # tag keys are case-insensitive
    emulator.set_subscription_state(disabled, "Disabled")
    emulator.set_subscription_state(deleted, "Deleted")
    services = sweep_services(emulator, ENFORCER_EXCLUDE_SUBSCRIPTIONS=excluded, ENFORCER_RESOURCE_GRAPH=resource_graph)

    result = sweep(services)

    by_sub = {o.subscription_id: o for o in result.outcomes}
    for sub in (disabled, deleted, excluded, tagged, tagged_no_reason):
        assert by_sub[sub].outcome is OutcomeKind.EXCLUDED, sub
        assert emulator.call_count("pricings.get", sub) == 0
        assert emulator.call_count("pricings.put", sub) == 0
        assert emulator.pricing(sub)["properties"]["pricingTier"] == "Free"
    assert by_sub[disabled].reason == "subscription state is Disabled (read-only)"
    assert by_sub[deleted].reason == "subscription state is Deleted (read-only)"
    assert by_sub[excluded].reason == "listed in ENFORCER_EXCLUDE_SUBSCRIPTIONS"
    assert by_sub[tagged].reason == "tagged defender-ai-exempt: sandbox, approved by CISO"
    assert by_sub[tagged_no_reason].reason == "tagged defender-ai-exempt: (no reason given)"
    assert by_sub[normal].outcome is OutcomeKind.REMEDIATED
    assert emulator.calls["pricings.put"] == 1
    services.close()


def test_resource_graph_unavailable_falls_back_to_direct_gets(emulator):
    fleet = emulator.seed_fleet(20, drift_fraction=0.4, seed=8)
    emulator.faults = FaultConfig(resource_graph_unavailable=True)
    services = sweep_services(emulator)

    result = sweep(services)

    assert all(is_compliant(emulator, m.subscription_id, services.settings) for m in fleet)
    # One GET per subscription, and the day's catalogue read (no Resource Graph row to take it from).
    assert emulator.calls["pricings.get"] == len(fleet) + 1
    assert emulator.calls["resourcegraph.resources"] >= 1
    assert result.summary.complete
    assert any(
        "listed 20 subscription(s) from the subscriptions API instead, with direct ARM GETs" in n
        for n in result.summary.notes
    ), result.summary.notes
    services.close()


def test_more_than_1000_subscriptions_are_queried_in_batches(emulator):
    emulator.seed_fleet(1001, drift_fraction=0.0, seed=2)
    services = sweep_services(emulator, ENFORCER_SWEEP_CONCURRENCY="4")

    result = sweep(services)

    # 1,000 rows a page: the inventory of 1,001 subscriptions takes two pages.
    assert emulator.calls["resourcegraph.resources"] == 2
    assert emulator.calls["pricings.get"] == 0
    assert result.summary.counts == {"compliant": 1001}
    services.close()


def test_resource_graph_pages_with_skip_tokens(emulator):
    fleet = emulator.seed_fleet(20, drift_fraction=0.5, seed=3)
    ids = [m.subscription_id for m in fleet]
    services = sweep_services(emulator)
    with ResourceGraphGateway(services.arm, page_size=7) as graph:  # type: ignore[arg-type]
        rows = graph.inventory()
    assert rows.requests == 3
    assert set(rows.pricings) == set(ids)
    assert {i.subscription_id: i.display_name for i in rows.subscriptions} == {
        m.subscription_id: m.display_name for m in fleet
    }
    assert emulator.calls["resourcegraph.resources"] == 3
    free = next(m.subscription_id for m in fleet if m.drift_kind == "free")
    free_row = rows.pricings[free]
    assert free_row is not None and free_row.tier == "Free"
    services.close()


def test_one_subscription_failing_does_not_stop_the_sweep(emulator):
    denied, readonly, fine = new_sub(), new_sub(), new_sub()
    for sub in (denied, readonly, fine):
        emulator.add_subscription(sub)
    emulator.faults = FaultConfig(forbidden={denied: "all", readonly: "write"})
    services = sweep_services(emulator)

    result = sweep(services)

    by_sub = {o.subscription_id: o for o in result.outcomes}
    assert by_sub[denied].outcome is OutcomeKind.FAILED
    assert by_sub[readonly].outcome is OutcomeKind.FAILED
    assert by_sub[fine].outcome is OutcomeKind.REMEDIATED
    assert result.summary.counts == {"failed": 2, "remediated": 1}
    services.close()


def test_one_digest_card_when_something_changed_and_none_otherwise(emulator):
    emulator.add_subscription(free := new_sub())
    emulator.add_subscription(new_sub(), pricing=STANDARD_ALL_ON)  # Purview unmanaged: compliant
    notifier = RecordingNotifier()
    services = sweep_services(emulator, notifier=notifier)

    first = sweep(services)

    assert notifier.outcome_cards == []
    assert len(notifier.digests) == 1
    summary, outcomes = notifier.digests[0]
    assert summary.counts == {"remediated": 1, "compliant": 1}
    assert {o.subscription_id for o in outcomes if o.outcome is OutcomeKind.REMEDIATED} == {free}
    assert next(o for o in first.outcomes if o.subscription_id == free).notification == "digest: sent"

    sweep(services)
    assert len(notifier.digests) == 1
    services.close()


def test_progress_is_reported_up_to_the_total(emulator):
    emulator.seed_fleet(30, drift_fraction=0.3, seed=9)
    seen: list[tuple[int, int]] = []
    services = sweep_services(emulator)

    sweep(services, progress=lambda done, total: seen.append((done, total)))

    assert seen[-1] == (30, 30)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    services.close()


def test_explicit_scope_sweeps_only_the_listed_subscriptions(emulator):
    listed, other = new_sub(), new_sub()
    missing = new_sub()  # in scope but not visible to the identity
    emulator.add_subscription(listed)
    emulator.add_subscription(other)
    services = sweep_services(emulator, ENFORCER_SUBSCRIPTIONS=f"{listed},{missing}")

    result = sweep(services)

    by_sub = {o.subscription_id: o for o in result.outcomes}
    assert set(by_sub) == {listed, missing}
    assert by_sub[listed].outcome is OutcomeKind.REMEDIATED
    assert by_sub[missing].outcome is OutcomeKind.FAILED
    assert emulator.call_count("pricings.get", other) == 0
    assert any("outside ENFORCER_SUBSCRIPTIONS" in n for n in result.summary.notes)
    services.close()


def test_dry_run_writes_nothing(emulator):
    fleet = emulator.seed_fleet(10, drift_fraction=0.5, seed=4)
    services = sweep_services(emulator)
    drifted = [m for m in fleet if not is_compliant(emulator, m.subscription_id, services.settings)]

    result = sweep(services, dry_run=True)

    assert emulator.calls["pricings.put"] == 0
    assert drifted and result.summary.counts["would_remediate"] == len(drifted)
    assert result.summary.mode.value == "audit"
    assert result.summary.kind == "sweep-dry-run"
    services.close()


def test_a_failed_subscription_list_stops_the_sweep_with_a_recorded_reason(emulator):
    emulator.seed_fleet(3, drift_fraction=1.0, seed=1)
    emulator.faults = FaultConfig(error_fraction=1.0)
    services = sweep_services(emulator, retry=RetrySettings(total=1, backoff_factor=0.01, backoff_max=0.01))

    with pytest.raises(SweepError) as raised:
        sweep(services)

    summary = raised.value.summary
    assert not summary.complete
    assert summary.counts == {}
    assert any(n.startswith("could not list subscriptions") for n in summary.notes)
    assert emulator.calls["pricings.get"] == 0
    services.close()
