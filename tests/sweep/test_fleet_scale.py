"""Fleet scale (issue 11): a history that grows with what happened, current state for every subscription,
retention, and an inventory from Resource Graph that survives its lag, its outages and its quota."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableClient

from enforcer.adapters.resource_graph import ResourceGraphGateway
from enforcer.core.models import Mode, Outcome, OutcomeKind, Trigger
from enforcer.usecases.sweep import sweep
from enforcer.usecases.sweep.model import RETENTION_MARKER
from localdev.emulator import FaultConfig
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from tests.sweep.helpers import is_compliant, sweep_services

pytestmark = pytest.mark.integration


def history_rows(azurite: Any, audit_store: Any) -> list[dict[str, Any]]:
    """Every history row, read with a plain Tables client (history partitions are the subscription ids)."""
    with TableClient.from_connection_string(azurite.connection_string, table_name=audit_store.audit_table) as table:
        return [dict(e) for e in table.query_entities("PartitionKey lt 'g'")]


def store_services(emulator: Any, azurite: Any, audit_store: Any, **env: str) -> Any:
    return sweep_services(emulator, audit=audit_store, storage=azurite.connection_string, **env)  # type: ignore[arg-type]


def test_a_second_sweep_of_a_compliant_fleet_writes_no_history_row(emulator, azurite, audit_store):
    emulator.seed_fleet(60, drift_fraction=0.0, seed=21)
    services = store_services(emulator, azurite, audit_store)

    sweep(services)  # the baseline: every subscription gets its current state, none is new
    after_first = history_rows(azurite, audit_store)
    second = sweep(services)

    assert second.summary.counts == {"compliant": 60}
    assert history_rows(azurite, audit_store) == after_first == []
    assert len(audit_store.current_states()) == 60


def test_every_change_failure_and_new_subscription_has_its_history_row(emulator, azurite, audit_store):
    fleet = emulator.seed_fleet(30, drift_fraction=0.2, seed=22)
    denied = str(uuid.uuid4())
    emulator.add_subscription(denied)
    emulator.faults = FaultConfig(forbidden={denied: "write"})
    services = store_services(emulator, azurite, audit_store)
    drifted = {m.subscription_id for m in fleet if not is_compliant(emulator, m.subscription_id, services.settings)}

    first = sweep(services)
    newcomer = str(uuid.uuid4())
    emulator.add_subscription(newcomer, pricing=COMPLIANT_AI)
    second = sweep(services)

    rows = history_rows(azurite, audit_store)
    by_trigger: dict[str, set[str]] = {}
    for row in rows:
        by_trigger.setdefault(row["trigger_id"], set()).add(row["subscription_id"])
    changed = {o.subscription_id for o in first.outcomes if o.outcome is OutcomeKind.REMEDIATED}
    assert drifted and changed == drifted
    assert by_trigger[first.summary.run_id] == drifted | {denied}
    # The second sweep: the new subscription (compliant, but new) and the denied one failing again.
    assert by_trigger[second.summary.run_id] == {newcomer, denied}
    assert all(r["schema_version"] == 2 for r in rows)


def test_status_shows_when_each_subscription_was_last_verified_and_changed(emulator, azurite, audit_store):
    fleet = emulator.seed_fleet(40, drift_fraction=0.25, seed=23)
    services = store_services(emulator, azurite, audit_store)
    drifted = {m.subscription_id for m in fleet if not is_compliant(emulator, m.subscription_id, services.settings)}

    first = sweep(services)
    verified_first = {r.subscription_id: r.last_verified for r in audit_store.latest_outcomes()}
    rows_before = audit_store.rows_written
    second = sweep(services)
    current = {r.subscription_id: r for r in audit_store.latest_outcomes()}

    # The second sweep rewrote only the rows whose state changed (the drifted ones, now compliant), plus one
    # `~verified` row per shard and its run summary: not one row per subscription.
    assert audit_store.rows_written - rows_before == len(drifted) + 16 + 1

    assert set(current) == {m.subscription_id for m in fleet}
    for sub, record in current.items():
        assert record.last_verified is not None and record.last_verified > str(verified_first[sub])
        assert record.last_verified >= second.summary.started_at
        # The row is the newest decision that changed the state; `last_verified` moves with every sweep.
        assert record.trigger_id == (second if sub in drifted else first).summary.run_id
        if sub in drifted:  # changed by the first sweep, verified by the second
            assert record.last_change_trigger == f"sweep:{first.summary.run_id}"
            assert record.last_changed is not None and record.last_changed >= first.summary.started_at
        else:
            assert record.last_changed is None


def _old_outcome(sub: str, days_ago: float) -> Outcome:
    started = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return Outcome(sub, OutcomeKind.REMEDIATED, Trigger("cli", f"old-{days_ago}"), Mode.ENFORCE, started_at=started)


def test_retention_deletes_only_history_older_than_the_setting(emulator, azurite, audit_store):
    sub = str(uuid.uuid4())
    emulator.add_subscription(sub, pricing=COMPLIANT_AI)
    audit_store.record_history([_old_outcome(sub, d) for d in (500, 401, 399, 10)])
    services = store_services(emulator, azurite, audit_store, ENFORCER_AUDIT_RETENTION_DAYS="400")

    first = sweep(services)

    kept = sorted(r["trigger_id"] for r in history_rows(azurite, audit_store))
    assert kept == ["old-10", "old-399"]
    assert any("retention: deleted 2 history row(s)" in n for n in first.summary.notes)
    assert audit_store.marker(RETENTION_MARKER) is not None
    # Once a day: the next sweep does not scan the history again.
    audit_store.record_history([_old_outcome(sub, 450)])
    sweep(services)
    assert sorted(r["trigger_id"] for r in history_rows(azurite, audit_store)) == ["old-10", "old-399", "old-450"]


def test_a_subscription_resource_graph_has_not_indexed_is_still_checked(emulator, azurite, audit_store):
    fleet = emulator.seed_fleet(10, drift_fraction=0.0, seed=24)
    emulator.faults = FaultConfig(resource_graph_lag_seconds=300)
    services = store_services(emulator, azurite, audit_store)
    sweep(services)  # baseline, and the full listing it was due
    unindexed = str(uuid.uuid4())
    emulator.add_subscription(unindexed)  # Free, and not in Resource Graph for 5 minutes

    hourly = sweep(services)  # the full listing is not due again yet: Resource Graph alone
    assert unindexed not in {o.subscription_id for o in hourly.outcomes}

    every_sweep = store_services(emulator, azurite, audit_store, ENFORCER_FULL_LISTING_MINUTES="0")
    result = sweep(every_sweep)

    by_sub = {o.subscription_id: o for o in result.outcomes}
    assert set(by_sub) == {m.subscription_id for m in fleet} | {unindexed}
    assert by_sub[unindexed].outcome is OutcomeKind.REMEDIATED and by_sub[unindexed].new_subscription
    assert is_compliant(emulator, unindexed, every_sweep.settings)
    assert any("1 subscription(s) not in Resource Graph yet" in n for n in result.summary.notes)


def test_resource_graph_quota_headers_are_honoured(emulator, azurite, audit_store):
    fleet = emulator.seed_fleet(30, drift_fraction=0.2, seed=25)
    emulator.faults = FaultConfig(resource_graph_quota=2, resource_graph_quota_window_seconds=1.0)
    services = store_services(emulator, azurite, audit_store)
    graph = ResourceGraphGateway(services.arm, page_size=5)

    result = sweep(services, resource_graph=graph)

    assert emulator.calls["resourcegraph.resources"] == 6
    assert emulator.graph_quota_exceeded == 0  # never ran into Resource Graph's 429
    assert result.summary.complete
    assert all(is_compliant(emulator, m.subscription_id, services.settings) for m in fleet)
    assert any("waited" in n and "per-user quota" in n for n in result.summary.notes)
    graph.close()
