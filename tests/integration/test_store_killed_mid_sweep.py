"""A store that dies mid-sweep: every PUT made is in the audit table, or in the ERROR log and the `--json`
output; a store down from the start: no PUT at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from localdev.azurite import AzuriteProcess
from localdev.emulator import FaultConfig
from tests.fixtures.azurite import unique_table_names
from tests.integration.test_cli import ROOT
from tests.integration.test_cli_audit import store_for

pytestmark = pytest.mark.integration


@pytest.mark.timeout(180)
def test_a_store_killed_mid_sweep_leaves_no_put_unrecorded_and_unreported(emulator, tmp_path):
    subs = [str(uuid.uuid4()) for _ in range(24)]
    for sub in subs:
        emulator.add_subscription(sub)
    emulator.faults = FaultConfig(latency_ms=100)
    audit_table, runs_table = unique_table_names()
    # On disk, so what was written before the kill is still there after the restart.
    with AzuriteProcess(location=tmp_path / "azurite") as azurite:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENFORCER_")}
        env.update(
            {
                "ENFORCER_ARM_ENDPOINT": emulator.url,
                "ENFORCER_STORAGE": azurite.connection_string,
                "ENFORCER_AUDIT_TABLE": audit_table,
                "ENFORCER_RUNS_TABLE": runs_table,
                "ENFORCER_SWEEP_CONCURRENCY": "4",
            }
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "enforcer", "sweep", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while emulator.calls["pricings.put"] < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        azurite.stop()  # mid-run, with PUTs in flight
        out, err = process.communicate(timeout=150)
        azurite.start()
        with store_for(env) as store:
            recorded = {r.subscription_id for r in store.latest_outcomes() if r.outcome == "remediated"}
            recorded |= {r.PartitionKey for sub in subs for r in store.history(sub) if r.outcome == "remediated"}

    assert process.returncode == 1, err
    assert "Traceback" not in err
    printed = {o["subscription_id"] for o in json.loads(out) if o["outcome"] == "remediated"}
    logged = {
        sub
        for line in err.splitlines()
        if " ERROR " in line and "outcome kept in the log" in line
        for sub in subs
        if sub in line
    }
    written = {r.subscription_id for r in emulator.requests if r.kind == "pricings.put" and r.status == 200}
    assert written, "the sweep should have made PUTs before the store died"
    assert len(written) < len(subs), "the sweep should have stopped starting new work"
    unaccounted = {sub for sub in written if sub not in recorded and not (sub in logged and sub in printed)}
    assert unaccounted == set(), err
    assert logged, "a store killed mid-run should have left some decisions unrecorded (logged at ERROR)"
