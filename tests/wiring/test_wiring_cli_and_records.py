"""Wiring records seen from outside: `sweep` and `status --wiring` as a user runs them, and the digest."""

from __future__ import annotations

import json

import pytest

from enforcer.core.models import OutcomeKind
from enforcer.usecases.sweep.run import sweep
from tests.fixtures.azurite import unique_table_names
from tests.integration.test_cli import run_cli
from tests.sweep.helpers import RecordingNotifier
from tests.wiring.helpers import WIRING_ENV, audited_services, seed, wiring_services

pytestmark = pytest.mark.integration


def test_sweep_then_status_wiring_lists_which_subscriptions_are_wired(emulator, azurite):
    wired, denied = seed(emulator, 2)
    emulator.eventgrid.forbidden_writes.add(denied)
    audit_table, runs_table = unique_table_names()
    env = {
        **WIRING_ENV,
        "ENFORCER_ARM_ENDPOINT": emulator.url,
        "ENFORCER_STORAGE": azurite.connection_string,
        "ENFORCER_AUDIT_TABLE": audit_table,
        "ENFORCER_RUNS_TABLE": runs_table,
    }

    swept = run_cli("sweep", "--json", env=env)
    # A wiring failure is a failure of the run (exit 1), never of the plan: both plans are compliant.
    assert swept.returncode == 1, swept.stderr
    plan = {o["subscription_id"]: o["outcome"] for o in json.loads(swept.stdout) if "wir" not in o["outcome"]}
    assert plan == {wired: "compliant", denied: "compliant"}

    status = run_cli("status", "--wiring", "--json", env=env)
    assert status.returncode == 0, status.stderr
    rows = {r["subscription_id"]: r for r in json.loads(status.stdout)}
    assert {s: r["outcome"] for s, r in rows.items()} == {wired: "wired", denied: "wiring_failed"}
    assert "Defender for AI Enforcer event wiring" in rows[denied]["error"]
    assert WIRING_ENV["ENFORCER_EVENT_DELIVERY_KEY"] not in status.stdout + swept.stdout + swept.stderr

    plain = run_cli("status", "--json", env=env)
    assert {r["outcome"] for r in json.loads(plain.stdout)} == {"compliant"}


def test_the_digest_counts_wiring(emulator):
    seed(emulator, 3)
    notifier = RecordingNotifier()
    services = wiring_services(emulator)
    services.notifier = notifier

    sweep(services)

    ((summary, carded),) = notifier.digests
    assert summary.counts["wired"] == 3
    assert sum(o.outcome is OutcomeKind.WIRED for o in carded) == 3


def test_a_wired_subscription_is_not_read_again_within_a_day(emulator, azurite, audit_store):
    subs = seed(emulator, 4)
    services = audited_services(emulator, audit_store, azurite.connection_string)
    sweep(services)  # wires all four, and records it
    emulator.reset_calls()

    second = sweep(services)

    # Recorded as wired minutes ago: no Resource Graph topics query, no GET of our event subscription, no write.
    assert emulator.call_count("eventgrid.eventsubscriptions.get") == 0
    assert emulator.call_count("eventgrid.eventsubscriptions.put") == 0
    assert not [o for o in second.outcomes if o.outcome.is_wiring]
    assert any(f"{len(subs)} subscription(s) wired and verified within 24 h" in n for n in second.summary.notes)
    assert {r.subscription_id: r.outcome for r in audit_store.latest_wiring()} == dict.fromkeys(subs, "wired")
