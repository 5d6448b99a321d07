"""The Teams heartbeat after quiet sweeps: when it is sent, when not, and where its time is kept (Azurite)."""

from __future__ import annotations

import pytest

from enforcer.core.models import RunSummary
from enforcer.usecases.sweep import sweep
from tests.sweep.helpers import RecordingNotifier, sweep_services

pytestmark = pytest.mark.integration


class HeartbeatNotifier(RecordingNotifier):
    """Records heartbeats too, and answers like the Teams notifier."""

    def __init__(self, answer: str = "sent") -> None:
        super().__init__()
        self.heartbeats: list[str] = []
        self.answer = answer

    def notify_heartbeat(self, summary: RunSummary, text: str) -> str:
        self.heartbeats.append(text)
        return self.answer


def quiet_fleet(emulator) -> None:
    emulator.seed_fleet(4, drift_fraction=0.0, seed=41)


def test_one_heartbeat_a_day(emulator, azurite, audit_store):
    quiet_fleet(emulator)
    notifier = HeartbeatNotifier()
    services = sweep_services(emulator, audit=audit_store, storage=azurite.connection_string, notifier=notifier)

    sweep(services)
    sweep(services)

    assert len(notifier.heartbeats) == 1
    assert notifier.heartbeats[0].startswith("All 4 subscription(s) compliant, checked at ")
    assert not notifier.digests
    assert audit_store.latest_run("heartbeat") is not None


def test_a_heartbeat_that_failed_is_tried_again_next_sweep(emulator, azurite, audit_store):
    quiet_fleet(emulator)
    notifier = HeartbeatNotifier(answer="failed: HTTP 500 from the webhook")
    services = sweep_services(emulator, audit=audit_store, storage=azurite.connection_string, notifier=notifier)

    sweep(services)
    sweep(services)

    assert len(notifier.heartbeats) == 2
    assert audit_store.latest_run("heartbeat") is None


@pytest.mark.parametrize(("env", "dry_run"), [({"ENFORCER_HEARTBEAT_HOURS": "0"}, False), ({}, True)])
def test_no_heartbeat_when_off_or_in_a_dry_run(emulator, azurite, audit_store, env, dry_run):
    quiet_fleet(emulator)
    notifier = HeartbeatNotifier()
    services = sweep_services(emulator, audit=audit_store, storage=azurite.connection_string, notifier=notifier, **env)
    sweep(services, dry_run=dry_run)
    assert notifier.heartbeats == []


def test_a_sweep_that_changed_something_sends_its_digest_and_no_heartbeat(emulator, azurite, audit_store):
    emulator.seed_fleet(4, drift_fraction=0.5, seed=43)
    notifier = HeartbeatNotifier()
    services = sweep_services(emulator, audit=audit_store, storage=azurite.connection_string, notifier=notifier)

    sweep(services)

    assert len(notifier.digests) == 1
    assert notifier.heartbeats == []
