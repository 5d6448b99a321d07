"""`python -m enforcer enforce` as a user runs it: a subprocess against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from localdev.emulator import FaultConfig
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ENFORCER_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "enforcer", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_enforce_json_and_exit_codes(emulator):
    free, compliant, denied = (str(uuid.uuid4()) for _ in range(3))
    emulator.add_subscription(free)
    emulator.add_subscription(compliant, pricing=COMPLIANT_AI)
    emulator.add_subscription(denied)
    emulator.faults = FaultConfig(forbidden={denied: "write"})
    env = {"ENFORCER_ARM_ENDPOINT": emulator.url}

    ok = run_cli("enforce", "-s", free, "-s", compliant, "--json", env=env)
    assert ok.returncode == 0, ok.stderr
    outcomes = json.loads(ok.stdout)
    assert [(o["subscription_id"], o["outcome"]) for o in outcomes] == [(free, "remediated"), (compliant, "compliant")]
    assert outcomes[0]["changes"][0] == {"field": "pricingTier", "before": "Free", "after": "Standard"}
    assert outcomes[1]["error"] is None
    assert "ENFORCER_STORAGE is not set" in ok.stderr  # the CLI warns when nothing is audited

    failed = run_cli("enforce", "-s", denied, env=env)
    assert failed.returncode == 1
    assert "failed" in failed.stdout and "Security Admin" in failed.stdout


def test_dry_run_writes_nothing(emulator):
    sub = str(uuid.uuid4())
    emulator.add_subscription(sub)
    result = run_cli("enforce", "-s", sub, "--dry-run", "--json", env={"ENFORCER_ARM_ENDPOINT": emulator.url})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["outcome"] == "would_remediate"
    assert emulator.calls["pricings.put"] == 0


def test_bad_configuration_exits_2_naming_the_setting(emulator):
    result = run_cli(
        "enforce", "-s", str(uuid.uuid4()), env={"ENFORCER_ARM_ENDPOINT": emulator.url, "ENFORCER_MODE": "sometimes"}
    )
    assert result.returncode == 2
    assert "ENFORCER_MODE='sometimes' is not valid; allowed values: enforce, audit" in result.stderr


def test_plain_http_to_a_remote_host_is_refused():
    result = run_cli("enforce", "-s", str(uuid.uuid4()), env={"ENFORCER_ARM_ENDPOINT": "http://management.example.com"})
    assert result.returncode == 2
    assert "non-loopback" in result.stderr


def test_an_unknown_arm_host_is_refused_at_start():
    result = run_cli("enforce", "-s", str(uuid.uuid4()), env={"ENFORCER_ARM_ENDPOINT": "https://management.azure.co"})
    assert result.returncode == 2
    assert "ENFORCER_ARM_ENDPOINT names 'management.azure.co'" in result.stderr
    assert "Fix: set ENFORCER_ARM_ENDPOINT to https://management.azure.com" in result.stderr
    assert "Traceback" not in result.stderr


def test_nonsense_storage_is_refused_before_any_put(emulator):
    sub = str(uuid.uuid4())
    emulator.add_subscription(sub)
    result = run_cli(
        "enforce", "-s", sub, "--json", env={"ENFORCER_ARM_ENDPOINT": emulator.url, "ENFORCER_STORAGE": "nonsense"}
    )
    assert result.returncode == 2, result.stderr
    assert "ENFORCER_STORAGE is neither a table account URL nor a storage connection string" in result.stderr
    assert "Traceback" not in result.stderr
    assert emulator.calls["pricings.put"] == 0


def test_bad_usage_exits_2():
    assert run_cli("enforce", "-s", "not-a-guid", env={}).returncode == 2


def test_publish_refuses_plain_http_to_a_remote_topic_without_a_traceback():
    result = run_cli(
        "publish-subscription-created",
        "--endpoint",
        "http://topic.example.com/api/events",
        "--subscription",
        str(uuid.uuid4()),
        "--key",
        "k3y-secret",
        env={},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "k3y-secret" not in result.stderr + result.stdout


def test_publish_rejects_a_guid_with_trailing_newline():
    result = run_cli(
        "publish-subscription-created",
        "--endpoint",
        "https://t.westeurope-1.eventgrid.azure.net/api/events",
        "--subscription",
        f"{uuid.uuid4()}\n",
        env={},
    )
    assert result.returncode == 2
