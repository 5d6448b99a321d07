"""`health` on a real runs table (Azurite): the verdict with an injected clock, and the CLI's exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from enforcer.adapters.audit_store import AuditStore
from enforcer.core.models import Mode, RunSummary
from enforcer.usecases.health import check_health, max_sweep_age
from enforcer.usecases.sweep import sweep
from tests.integration.test_cli import run_cli
from tests.sweep.helpers import sweep_services

pytestmark = pytest.mark.integration

SCHEDULE = "0 */15 * * * *"


def test_a_fresh_sweep_is_healthy_and_the_same_store_later_is_not(emulator, azurite, audit_store):
    emulator.seed_fleet(5, drift_fraction=0.0, seed=31)
    services = sweep_services(emulator, audit=audit_store, storage=azurite.connection_string)
    result = sweep(services)
    max_age = max_sweep_age(SCHEDULE)
    assert max_age == timedelta(minutes=45)
    finished = datetime.fromisoformat(result.summary.started_at.replace("Z", "+00:00")) + timedelta(
        milliseconds=result.summary.duration_ms
    )

    healthy = check_health(audit_store, now=finished + timedelta(minutes=44), max_age=max_age)
    assert healthy.healthy, healthy.problems
    assert healthy.last_sweep is not None and healthy.last_sweep["run_id"] == result.summary.run_id

    # The clock moves past three schedule intervals without another sweep: enforcement has stopped.
    stale = check_health(audit_store, now=finished + timedelta(minutes=46), max_age=max_age)
    assert not stale.healthy
    assert "enforcement has stopped" in stale.problems[0].what


def record_sweep(store: AuditStore, started: datetime, **counts: int) -> None:
    store.record_run(
        RunSummary(
            run_id=f"sweep-{started:%H%M%S}",
            kind="sweep",
            mode=Mode.ENFORCE,
            started_at=started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            duration_ms=2000,
            counts=counts,
        )
    )


def cli_env(azurite, store: AuditStore) -> dict[str, str]:
    return {
        "ENFORCER_STORAGE": azurite.connection_string,
        "ENFORCER_AUDIT_TABLE": store.audit_table,
        "ENFORCER_RUNS_TABLE": store.runs_table,
        "ENFORCER_SWEEP_SCHEDULE": SCHEDULE,
    }


def test_cli_health_exit_codes(azurite, audit_store):
    env = cli_env(azurite, audit_store)

    empty = run_cli("health", env=env)
    assert empty.returncode == 1
    assert "no sweep has ever been recorded" in empty.stdout and "what to do:" in empty.stdout

    record_sweep(audit_store, datetime.now(UTC) - timedelta(hours=2), compliant=4)
    stale = run_cli("health", "--json", env=env)
    assert stale.returncode == 1, stale.stderr
    report = json.loads(stale.stdout)
    assert report["healthy"] is False and report["max_sweep_age_seconds"] == 45 * 60
    assert report["last_sweep_age_seconds"] > 7000
    # A wider window (say the schedule is hourly somewhere else) accepts the same sweep.
    assert run_cli("health", "--max-age", "180", env=env).returncode == 0

    record_sweep(audit_store, datetime.now(UTC) - timedelta(minutes=1), compliant=3, failed=1)
    fresh = run_cli("health", env=env)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert fresh.stdout.startswith("healthy")
    assert "last failure: 1 in sweep run" in fresh.stdout
    assert azurite.connection_string not in fresh.stdout + fresh.stderr


def test_cli_health_usage_and_configuration_errors(azurite, audit_store):
    env = cli_env(azurite, audit_store)
    assert run_cli("health", env={**env, "ENFORCER_STORAGE": ""}).returncode == 2
    unreadable = run_cli("health", env={**env, "ENFORCER_SWEEP_SCHEDULE": "0 0 9 * * 1-5"})
    assert unreadable.returncode == 2 and "--max-age" in unreadable.stderr
    assert run_cli("health", "--max-age", "0", env=env).returncode == 2
