"""A store that dies mid-sweep: every PUT made is in the audit table, or in the ERROR log and the `--json`
output; a store down from the start: no PUT at all."""

from __future__ import annotations

import json
import uuid

import pytest

from localdev.azurite import AzuriteProcess
from localdev.emulator import FaultConfig
from tests.integration.helpers import cli_env, start_cli, wait_for_puts
from tests.integration.test_cli_audit import store_for

pytestmark = pytest.mark.integration


@pytest.mark.timeout(180)
def test_a_store_killed_mid_sweep_leaves_no_put_unrecorded_and_unreported(emulator, tmp_path):
    subs = [str(uuid.uuid4()) for _ in range(24)]
    for sub in subs:
        emulator.add_subscription(sub)
    emulator.faults = FaultConfig(latency_ms=100)
    # On disk, so what was written before the kill is still there after the restart.
    with AzuriteProcess(location=tmp_path / "azurite") as azurite:
        env = cli_env(emulator.url, azurite.connection_string, ENFORCER_SWEEP_CONCURRENCY="4")
        process = start_cli(env, "sweep", "--json")
        wait_for_puts(emulator, 3)
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
