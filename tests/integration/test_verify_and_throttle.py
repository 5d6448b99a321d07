"""Issue 10 against the ARM emulator through the real SDK: every write verified, convergence with at most one
follow-up PUT, unknown extension names, throttling bounded by a deadline, and overlapping plan updates."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from enforcer.adapters.arm import ArmGateway, RetrySettings
from enforcer.core.models import ErrorKind, Outcome, OutcomeKind, Trigger
from enforcer.usecases.sweep import sweep
from localdev.emulator import Emulator, FaultConfig
from localdev.emulator.state import FUTURE_AI_EXTENSION, plans_with_future_component
from tests.integration.helpers import extensions_of, services_for
from tests.sweep.helpers import is_compliant, sweep_services

pytestmark = pytest.mark.integration

TRIGGER = Trigger("cli", "test-run")
FUTURE = FUTURE_AI_EXTENSION


def new_sub() -> str:
    return str(uuid.uuid4())


def changes_of(outcome) -> dict[str, tuple[str, str]]:
    return {c.field: (c.before, c.after) for c in outcome.changes}


@pytest.fixture
def future_emulator():
    """The AI plan has a component the enforcer has no setting for; a Standard PUT leaving it out turns it on."""
    with Emulator(port=0, plans=plans_with_future_component()) as emu:
        yield emu


def test_keep_records_the_component_azure_turned_on(future_emulator):
    sub = new_sub()
    future_emulator.add_subscription(sub)  # Free, no extensions listed

    outcome = services_for(future_emulator.url).enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.REMEDIATED, outcome.error
    assert future_emulator.calls["pricings.put"] == 1
    assert extensions_of(future_emulator.pricing(sub))[FUTURE] == "True"
    changes = changes_of(outcome)
    assert changes["pricingTier"] == ("Free", "Standard")
    assert changes["extensions.AIPromptEvidence"] == ("absent", "True")
    assert changes[f"extensions.{FUTURE}"] == ("absent", "True (turned on by Azure)")
    assert outcome.after is not None and outcome.after.extension(FUTURE).enabled  # type: ignore[union-attr]


def test_off_turns_it_off_with_exactly_one_follow_up_put(future_emulator):
    sub = new_sub()
    future_emulator.add_subscription(sub)

    services = services_for(future_emulator.url, {"ENFORCER_UNLISTED_COMPONENTS": "off"})
    outcome = services.enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.REMEDIATED, outcome.error
    assert future_emulator.calls["pricings.put"] == 2
    assert outcome.arm_calls["pricings.put"] == 2
    stored = extensions_of(future_emulator.pricing(sub))
    assert stored[FUTURE] == "False"
    assert stored["AIPromptEvidence"] == "True" and stored["AIModelScanner"] == "True"
    before, after = changes_of(outcome)[f"extensions.{FUTURE}"]
    assert before == "absent"
    assert after.startswith("False") and "Azure turned it on" in after and "follow-up PUT" in after
    # A second run finds it compliant: one GET, no PUT.
    future_emulator.reset_calls()
    again = services.enforcer.enforce(sub, TRIGGER)
    assert again.outcome is OutcomeKind.COMPLIANT
    assert future_emulator.calls["pricings.put"] == 0


@pytest.mark.parametrize("mode", ["reject", "drop"])
def test_an_unknown_configured_name_gives_the_clear_failure(emulator, mode):
    sub = new_sub()
    emulator.add_subscription(sub)
    emulator.faults = FaultConfig(unknown_extensions=mode)

    env = {"ENFORCER_MODEL_SECURITY_EXTENSION": "AIModelScannerV2"}
    outcome = services_for(emulator.url, env).enforcer.enforce(sub, TRIGGER)

    assert outcome.error_kind is ErrorKind.UNKNOWN_EXTENSION, outcome.error
    message = outcome.error or ""
    assert "Azure does not list extension 'AIModelScannerV2' on plan AI (it lists: " in message
    assert (
        "Fix: set ENFORCER_MODEL_SECURITY_EXTENSION to the right name or set ENFORCER_MODEL_SECURITY=unmanaged."
        in message
    )
    if mode == "reject":
        # Azure refused the PUT: nothing changed, nothing half-done.
        assert outcome.outcome is OutcomeKind.FAILED
        assert emulator.pricing(sub)["properties"]["pricingTier"] == "Free"
    else:
        # Accepted without the name: the rest applied; the names Azure does list are in the message.
        assert outcome.outcome is OutcomeKind.PARTIALLY_FAILED
        assert "AIModelScanner," in message or "AIModelScanner)" in message
        changes = changes_of(outcome)
        assert changes["extensions.AIModelScannerV2"] == ("absent", "absent (asked for True; not applied)")
        assert changes["extensions.AIModelScanner"] == ("absent", "True (turned on by Azure)")
        assert emulator.pricing(sub)["properties"]["pricingTier"] == "Standard"


def test_four_429s_in_a_row_are_waited_out_not_counted(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    emulator.faults = FaultConfig(throttle_next_calls=4, retry_after_seconds=1)

    outcome = services_for(emulator.url).enforcer.enforce(sub, TRIGGER)  # retry_total=4: a count would give up

    assert outcome.outcome is OutcomeKind.REMEDIATED, outcome.error
    assert emulator.early_retries == 0
    assert outcome.duration_ms >= 4000


def test_a_retry_after_past_the_deadline_ends_the_call_at_once(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    emulator.faults = FaultConfig(throttle_next_calls=1, retry_after_seconds=3600)

    started = time.monotonic()
    outcome = services_for(emulator.url).enforcer.enforce(sub, TRIGGER)

    assert time.monotonic() - started < 5
    assert outcome.outcome is OutcomeKind.FAILED
    assert outcome.error_kind is ErrorKind.THROTTLED
    assert emulator.early_retries == 0


def test_throttling_ends_throttled_only_when_the_deadline_passes(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    emulator.faults = FaultConfig(throttle_fraction=1.0, retry_after_seconds=1)
    retry = RetrySettings(total=2, backoff_factor=0.05, backoff_max=0.5, deadline_seconds=3.0)

    outcome = services_for(emulator.url, retry=retry).enforcer.enforce(sub, TRIGGER)

    assert outcome.error_kind is ErrorKind.THROTTLED
    assert 2000 <= outcome.duration_ms < 5000
    assert emulator.calls["pricings.get"] >= 3  # more than the count of 2 would allow
    assert emulator.early_retries == 0


def test_a_fleet_of_400_with_every_third_call_throttled_ends_fully_fixed(emulator):
    fleet = emulator.seed_fleet(400, drift_fraction=0.3, seed=10)
    emulator.faults = FaultConfig(throttle_every=3, retry_after_seconds=1)
    # A small count budget on purpose: only the deadline governs throttling.
    retry = RetrySettings(total=2, backoff_factor=0.05, backoff_max=0.5, deadline_seconds=60.0)
    services = sweep_services(emulator, retry=retry, ENFORCER_SWEEP_CONCURRENCY="32")

    result = sweep(services)

    throttled = [r for r in emulator.requests if r.status == 429]
    assert len(throttled) >= len(emulator.requests) // 3 - 1
    assert [o for o in result.outcomes if o.outcome.is_failure] == []
    assert sum(1 for o in result.outcomes if o.error_kind is ErrorKind.THROTTLED) == 0
    assert emulator.early_retries == 0
    emulator.faults = FaultConfig()
    assert all(is_compliant(emulator, m.subscription_id, services.settings) for m in fleet)


def test_two_processes_enforcing_one_subscription_both_end_correct(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    # The first PUT is held long enough that the other process's GET, metadata read and PUT surely land inside it;
    # the held update shows only when it settles, so the other process reads Free and its PUT meets the 409 (when
    # the update showed at once, a busy full-suite run let the later GET see it done and skip its PUT).
    emulator.faults = FaultConfig(put_hold_seconds=3.0)
    # Two gateways, two sessions, two enforcers: as two function instances would be.
    services = [
        services_for(emulator.url, retry=RetrySettings(total=2, backoff_factor=0.1, conflict_deadline_seconds=10))
        for _ in range(2)
    ]
    assert isinstance(services[0].arm, ArmGateway) and services[0].arm is not services[1].arm
    barrier = threading.Barrier(2)
    outcomes: dict[int, Outcome] = {}

    def run(index: int) -> None:
        barrier.wait()
        outcomes[index] = services[index].enforcer.enforce(sub, TRIGGER)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    conflicts = [r for r in emulator.requests if r.kind == "pricings.put" and r.status == 409]
    assert conflicts, "the overlapping PUT should have met the 409"
    finished = list(outcomes.values())
    assert len(finished) == 2
    assert {o.outcome for o in finished} <= {OutcomeKind.REMEDIATED, OutcomeKind.COMPLIANT}, [o.error for o in finished]
    assert extensions_of(emulator.pricing(sub)) == {
        "AIPromptEvidence": "True",
        "AIPromptSharingWithPurview": "False",
        "AIModelScanner": "True",
    }


def test_an_event_shares_one_retry_deadline_for_all_its_calls(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    emulator.faults = FaultConfig(throttle_fraction=1.0, retry_after_seconds=1)
    retry = RetrySettings(total=2, backoff_factor=0.05, backoff_max=0.5, deadline_seconds=60.0)
    services = services_for(emulator.url, {"ENFORCER_EVENT_RETRY_DEADLINE_SECONDS": "5"}, retry=retry)

    outcome = services.enforcer.enforce(sub, Trigger("event", "evt-1", "Microsoft.Resources.ResourceWriteSuccess"))

    assert outcome.error_kind is ErrorKind.THROTTLED
    assert 4000 <= outcome.duration_ms < 7000  # the event's 5 s, not the gateway's 60 s
    assert emulator.early_retries == 0


def test_off_with_a_wrong_name_still_turns_the_real_component_off(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    emulator.faults = FaultConfig(unknown_extensions="drop")
    env = {"ENFORCER_MODEL_SECURITY_EXTENSION": "AIModelScannerV2", "ENFORCER_UNLISTED_COMPONENTS": "off"}

    outcome = services_for(emulator.url, env).enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.PARTIALLY_FAILED
    assert outcome.error_kind is ErrorKind.UNKNOWN_EXTENSION
    assert emulator.calls["pricings.put"] == 2
    assert extensions_of(emulator.pricing(sub))["AIModelScanner"] == "False"  # nothing left half-done
