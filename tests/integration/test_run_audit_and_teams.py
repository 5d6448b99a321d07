"""A whole enforcement run (enforce, audit, notify) against the emulator, a real Azurite and a local Teams sink."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from enforcer.adapters.audit_store import AuditStore, AuditStoreError
from enforcer.adapters.teams import TeamsNotifier
from enforcer.usecases.record import run_enforcement
from localdev.azurite import AzuriteProcess
from localdev.emulator import FaultConfig
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from tests.fixtures.azurite import FAST_RETRIES, unique_table_names
from tests.integration.helpers import services_for

pytestmark = pytest.mark.integration


def fleet(emulator: Any, n: int) -> list[str]:
    subs = [str(uuid.uuid4()) for _ in range(n)]
    for i, sub in enumerate(subs):
        emulator.add_subscription(sub, display_name=f"sub-{i}", pricing=COMPLIANT_AI if i % 2 else None)
    return subs


def test_every_outcome_kind_is_recorded_and_changes_and_failures_get_cards(emulator, audit_store, webhook_sink):
    ok, free, denied, partial, disabled = (str(uuid.uuid4()) for _ in range(5))
    emulator.add_subscription(ok, pricing=COMPLIANT_AI)
    emulator.add_subscription(free)
    emulator.add_subscription(denied)
    emulator.add_subscription(partial)
    emulator.add_subscription(disabled, state="Disabled")
    emulator.faults = FaultConfig(forbidden={denied: "write"}, fail_extensions={partial: {"AIModelScanner": "boom"}})
    services = services_for(emulator.url, audit=audit_store, notifier=TeamsNotifier(webhook_sink.url))

    outcomes, summary = run_enforcement(services, [ok, free, denied, partial, disabled])

    kinds = {o.subscription_id: o.outcome.value for o in outcomes}
    assert kinds == {
        ok: "compliant",
        free: "remediated",
        denied: "failed",
        partial: "partially_failed",
        disabled: "excluded",
    }
    records = {r.PartitionKey: r for r in audit_store.latest_outcomes()}
    assert {k: r.outcome for k, r in records.items()} == kinds
    assert records[free].before_dict() == {"tier": "Free", "extensions": {}}
    assert records[free].after_dict()["tier"] == "Standard"
    assert records[free].notification == "sent"
    assert records[ok].notification is None  # compliant: no card
    # 3 cards (remediated, failed, partially failed) + 1 digest.
    assert len(webhook_sink.messages) == 4
    assert summary.counts == {"compliant": 1, "remediated": 1, "failed": 1, "partially_failed": 1, "excluded": 1}


@pytest.mark.parametrize("mode", ["down", "throttle_429"])
def test_enforcement_completes_when_teams_is_down_or_throttling(emulator, audit_store, webhook_sink, mode):
    subs = fleet(emulator, 4)
    webhook_sink.set_mode(mode)
    notifier = TeamsNotifier(webhook_sink.url, retry_total=2, max_retry_after=0.2, total_timeout=3)
    services = services_for(emulator.url, audit=audit_store, notifier=notifier)

    outcomes, _ = run_enforcement(services, subs)

    assert sorted(o.outcome.value for o in outcomes) == ["compliant", "compliant", "remediated", "remediated"]
    for sub in subs:
        assert emulator.pricing(sub, "AI")["properties"]["pricingTier"] == "Standard"
    records = audit_store.latest_outcomes()
    notified = [r for r in records if r.outcome == "remediated"]
    assert len(notified) == 2
    assert all((r.notification or "").startswith("failed") for r in notified)
    assert webhook_sink.url not in " ".join(r.notification or "" for r in records)


@pytest.mark.timeout(120)
def test_azurite_stopped_mid_run_fails_loudly_and_a_rerun_records_every_subscription(emulator, tmp_path):
    subs = fleet(emulator, 6)
    audit_table, runs_table = unique_table_names()
    with AzuriteProcess(location=tmp_path) as azurite:
        store = AuditStore(azurite.connection_string, audit_table=audit_table, runs_table=runs_table, **FAST_RETRIES)
        services = services_for(emulator.url, {"ENFORCER_SWEEP_CONCURRENCY": "1"}, audit=store)
        enforce = services.enforcer.enforce
        calls = 0

        def enforce_then_stop_azurite(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == 3:  # in the middle of the run
                azurite.stop()
            return enforce(*args, **kwargs)

        services.enforcer.enforce = enforce_then_stop_azurite  # type: ignore[method-assign]
        with pytest.raises(AuditStoreError):
            run_enforcement(services, subs)

        azurite.start()
        services.enforcer.enforce = enforce  # type: ignore[method-assign]
        outcomes, _ = run_enforcement(services, subs)

        recorded = {r.PartitionKey for r in store.latest_outcomes()}
        assert recorded == set(subs)
        assert {o.outcome.value for o in outcomes} == {"compliant"}  # the first run's PUTs had landed
        store.close()
