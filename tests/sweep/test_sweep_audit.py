"""The sweep with the real audit store (Azurite): audit records, run summaries, resume, new subscriptions."""

from __future__ import annotations

import uuid

import pytest

from enforcer.core.models import OutcomeKind
from enforcer.usecases.sweep import sweep
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from tests.sweep.helpers import RecordingNotifier, is_compliant, sweep_services

pytestmark = pytest.mark.integration


def test_every_decision_is_audited_and_the_run_summarised(emulator, azurite, audit_store):
    fleet = emulator.seed_fleet(120, drift_fraction=0.1, seed=13)
    emulator.add_subscription(excluded := str(uuid.uuid4()))
    services = sweep_services(
        emulator, audit=audit_store, storage=azurite.connection_string, ENFORCER_EXCLUDE_SUBSCRIPTIONS=excluded
    )
    drifted = [m for m in fleet if not is_compliant(emulator, m.subscription_id, services.settings)]

    result = sweep(services)

    latest = {r.subscription_id: r for r in audit_store.latest_outcomes()}
    assert set(latest) == {m.subscription_id for m in fleet} | {excluded}
    assert latest[excluded].outcome == "excluded"
    for outcome in result.outcomes:
        assert latest[outcome.subscription_id].outcome == outcome.outcome.value
        assert latest[outcome.subscription_id].trigger_id == result.summary.run_id
    run = audit_store.latest_run("sweep")
    assert run is not None
    assert run.run_id == result.summary.run_id
    assert run.counts == result.summary.counts
    assert drifted and run.counts["remediated"] == len(drifted)
    assert run.arm_calls == result.summary.arm_calls
    assert run.complete and run.resume_after is None
    services.close()


def test_an_exhausted_time_budget_resumes_on_the_next_run(emulator, azurite, audit_store):
    fleet = emulator.seed_fleet(30, drift_fraction=1.0, seed=17)
    everyone = sorted(m.subscription_id for m in fleet)

    # Time as the sweep sees it moves 100 ms per ARM call the emulator answers, whatever the machine's speed:
    # each subscription costs a GET and a PUT, so 30 of them are 6 s of work for a 1 s budget.
    def arm_time() -> float:
        return float(sum(emulator.calls.values())) * 0.1

    services = sweep_services(
        emulator,
        audit=audit_store,
        storage=azurite.connection_string,
        budget_seconds=1,
        ENFORCER_SWEEP_CONCURRENCY="2",
        ENFORCER_RESOURCE_GRAPH="off",
    )

    first = sweep(services, clock=arm_time)

    handled = [o.subscription_id for o in first.outcomes]
    assert not first.summary.complete
    assert 0 < len(handled) < len(everyone)
    assert handled == everyone[: len(handled)]  # a prefix of the stable order
    assert first.summary.resume_after == handled[-1]
    assert audit_store.latest_run("sweep").resume_after == handled[-1]

    second = sweep(services, clock=arm_time)

    assert second.outcomes[0].subscription_id == everyone[len(handled)]
    assert any(f"resumed after {handled[-1]}" in n for n in second.summary.notes)

    seen = set(handled) | {o.subscription_id for o in second.outcomes}
    for _ in range(10):
        if seen == set(everyone):
            break
        seen |= {o.subscription_id for o in sweep(services, clock=arm_time).outcomes}
    assert seen == set(everyone)
    assert all(is_compliant(emulator, s, services.settings) for s in everyone)
    services.close()


def test_new_subscriptions_are_enforced_and_reported_after_a_baseline(emulator, azurite, audit_store):
    emulator.seed_fleet(25, drift_fraction=0.2, seed=19)
    notifier = RecordingNotifier()
    services = sweep_services(emulator, audit=audit_store, storage=azurite.connection_string, notifier=notifier)

    baseline = sweep(services)

    assert baseline.summary.new_subscriptions == 0
    assert any("baseline" in n for n in baseline.summary.notes)
    assert len(audit_store.current_states()) == 25

    free, compliant = str(uuid.uuid4()), str(uuid.uuid4())
    emulator.add_subscription(free)
    emulator.add_subscription(compliant, pricing=COMPLIANT_AI)
    emulator.reset_calls()
    notifier.digests.clear()

    second = sweep(services)

    by_sub = {o.subscription_id: o for o in second.outcomes}
    assert {s for s, o in by_sub.items() if o.new_subscription} == {free, compliant}
    assert [o.subscription_id for o in second.outcomes[:2]] == sorted([free, compliant])  # new ones go first
    assert by_sub[free].outcome is OutcomeKind.REMEDIATED
    assert by_sub[compliant].outcome is OutcomeKind.COMPLIANT
    # A new subscription is read from ARM even when Resource Graph has a compliant row for it.
    assert emulator.call_count("pricings.get", compliant) == 1
    assert second.summary.new_subscriptions == 2
    assert audit_store.latest_run("sweep").new_subscriptions == 2
    assert audit_store.history(free)[0].new_subscription is True
    assert len(notifier.digests) == 1
    assert notifier.digests[0][0].new_subscriptions == 2

    third = sweep(services)

    assert third.summary.new_subscriptions == 0
    assert not any(o.new_subscription for o in third.outcomes)
    services.close()


def test_without_an_audit_store_new_subscription_detection_is_off(emulator):
    emulator.seed_fleet(3, drift_fraction=0.0, seed=1)
    services = sweep_services(emulator)

    result = sweep(services)

    assert "no audit store (ENFORCER_STORAGE not set): new-subscription detection is off" in result.summary.notes
    services.close()
