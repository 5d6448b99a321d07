"""Deadlines everywhere: the sweep's budget holds while an ARM call waits; Ctrl-C / SIGTERM stop a CLI run cleanly;
a hung store is reported in seconds, before any ARM call."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import pytest

from enforcer.adapters.arm import RetrySettings
from enforcer.usecases.sweep import sweep
from localdev.emulator import FaultConfig
from tests.events.samples import SUBSCRIPTION, sample
from tests.integration.helpers import cli_env, services_for, start_cli, wait_for_puts
from tests.integration.test_cli import ROOT
from tests.integration.test_cli_audit import store_for

pytestmark = pytest.mark.integration

# A call may wait up to 30 s on its own; the sweep's budget is 2 s.
PATIENT = RetrySettings(
    total=4, backoff_factor=0.05, backoff_max=0.5, deadline_seconds=30, conflict_deadline_seconds=30
)


@pytest.mark.timeout(60)
def test_the_sweep_budget_holds_while_an_arm_call_waits(emulator):
    subs = [str(uuid.uuid4()) for _ in range(3)]
    for sub in subs:
        emulator.add_subscription(sub)
    # Every PUT answers 409 "another update in progress": each call would retry for its own 30 s.
    emulator.faults = FaultConfig(conflict_next_puts={sub: 10_000 for sub in subs})
    services = services_for(emulator.url, retry=PATIENT, budget_seconds=2.0)

    started = time.monotonic()
    result = sweep(services)
    elapsed = time.monotonic() - started

    assert elapsed < 8, f"the 2 s budget was not honoured while the PUTs waited: {elapsed:.1f} s"
    assert {o.outcome.value for o in result.outcomes} == {"failed"}  # reported, not left hanging


def _env(emulator, azurite) -> dict[str, str]:
    return cli_env(emulator.url, azurite.connection_string, ENFORCER_SWEEP_CONCURRENCY="1")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_a_sweep_cleanly_recording_and_printing_what_was_done(emulator, azurite, signum):
    subs = [str(uuid.uuid4()) for _ in range(30)]
    for sub in subs:
        emulator.add_subscription(sub)
    emulator.faults = FaultConfig(latency_ms=150)
    env = _env(emulator, azurite)
    process = start_cli(env, "sweep", "--json")
    wait_for_puts(emulator, 2)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    assert "Traceback" not in err
    outcomes = json.loads(out)
    remediated = {o["subscription_id"] for o in outcomes if o["outcome"] == "remediated"}
    assert 0 < len(outcomes) < len(subs)  # stopped early
    assert len(remediated) == emulator.calls["pricings.put"]  # every PUT made is printed
    with store_for(env) as store:
        recorded = {r.subscription_id for r in store.latest_outcomes() if r.outcome == "remediated"}
        run = store.latest_run("sweep")
    assert recorded == remediated  # and recorded
    assert run is not None and not run.complete
    assert any("stopped on request" in note for note in run.notes)


@pytest.mark.timeout(120)
def test_a_signal_stops_enforce_with_exit_130_and_valid_json(emulator, azurite):
    subs = [str(uuid.uuid4()) for _ in range(20)]
    for sub in subs:
        emulator.add_subscription(sub)
    emulator.faults = FaultConfig(latency_ms=150)
    env = _env(emulator, azurite)
    args = [arg for sub in subs for arg in ("-s", sub)]
    process = subprocess.Popen(
        [sys.executable, "-m", "enforcer", "enforce", *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while emulator.calls["pricings.put"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    outcomes = json.loads(out)
    assert 0 < len(outcomes) < len(subs)
    assert sum(o["outcome"] == "remediated" for o in outcomes) == emulator.calls["pricings.put"]
    with store_for(env) as store:
        assert len(store.latest_outcomes()) == len(outcomes)


@pytest.mark.timeout(60)
def test_handle_event_on_a_hung_store_fails_in_seconds_before_any_arm_call(emulator, tmp_path):
    emulator.add_subscription(SUBSCRIPTION)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(sample("resource-write-cognitive-account.eventgrid.json")))
    with socket.socket() as hung:  # accepts connections (the kernel's backlog), never answers
        hung.bind(("127.0.0.1", 0))
        hung.listen(64)
        port = hung.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENFORCER_")}
        env.update(
            {
                "ENFORCER_ARM_ENDPOINT": emulator.url,
                "ENFORCER_STORAGE": (
                    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
                    f"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
                ),
            }
        )
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "enforcer", "handle-event", str(path), "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=50,
            check=False,
        )
        elapsed = time.monotonic() - started

    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout) == []
    assert elapsed < 20, f"{elapsed:.1f} s on a hung store"
    assert sum(emulator.calls.values()) == 0
