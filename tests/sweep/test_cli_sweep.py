"""`python -m enforcer sweep` as a user runs it: a subprocess against the emulator."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from enforcer.cli.commands import _ProgressBar
from localdev.emulator import FaultConfig
from tests.integration.test_cli import run_cli

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_sweep_json_prints_every_outcome_and_exits_0(emulator):
    fleet = emulator.seed_fleet(12, drift_fraction=0.25, seed=31)
    env = {"ENFORCER_ARM_ENDPOINT": emulator.url}

    result = run_cli("sweep", "--json", env=env)

    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)
    assert sorted(o["subscription_id"] for o in outcomes) == sorted(m.subscription_id for m in fleet)
    assert {o["outcome"] for o in outcomes} == {"remediated", "compliant"}
    assert emulator.calls["pricings.put"] == sum(o["outcome"] == "remediated" for o in outcomes)
    assert "\rsweep [" not in result.stderr  # no progress bar without a terminal


def test_sweep_dry_run_writes_nothing_and_says_so(emulator):
    emulator.seed_fleet(8, drift_fraction=0.5, seed=37)

    result = run_cli("sweep", "--dry-run", env={"ENFORCER_ARM_ENDPOINT": emulator.url})

    assert result.returncode == 0, result.stderr
    assert emulator.calls["pricings.put"] == 0
    assert "would_remediate" in result.stdout
    assert "8 subscription(s):" in result.stdout
    assert "note: dry run" in result.stdout


def test_sweep_exits_1_when_a_subscription_fails(emulator):
    emulator.add_subscription(denied := str(uuid.uuid4()))
    emulator.add_subscription(str(uuid.uuid4()))
    emulator.faults = FaultConfig(forbidden={denied: "write"})

    result = run_cli("sweep", env={"ENFORCER_ARM_ENDPOINT": emulator.url})

    assert result.returncode == 1
    assert "failed" in result.stdout and denied in result.stdout


def test_progress_bar_draws_on_one_line_and_ends_with_a_newline(capsys):
    bar = _ProgressBar(width=10)
    for done in range(11):
        bar(done, 10)
    err = capsys.readouterr().err
    assert err.startswith("\rsweep [----------] 0/10 (0%)")
    assert err.endswith("\rsweep [##########] 10/10 (100%)\n")
    assert err.count("\n") == 1
