"""The CLI with a real audit store (Azurite): enforce records, status reads, handle-event summarises."""

from __future__ import annotations

import json
import uuid

import pytest

from enforcer.adapters.audit_store import AuditStore
from localdev.emulator import FaultConfig
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from tests.events.samples import SUBSCRIPTION, sample
from tests.fixtures.azurite import unique_table_names
from tests.integration.test_cli import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(emulator, azurite) -> dict[str, str]:
    audit_table, runs_table = unique_table_names()
    return {
        "ENFORCER_ARM_ENDPOINT": emulator.url,
        "ENFORCER_STORAGE": azurite.connection_string,
        "ENFORCER_AUDIT_TABLE": audit_table,
        "ENFORCER_RUNS_TABLE": runs_table,
    }


def store_for(env: dict[str, str]) -> AuditStore:
    return AuditStore(
        env["ENFORCER_STORAGE"], audit_table=env["ENFORCER_AUDIT_TABLE"], runs_table=env["ENFORCER_RUNS_TABLE"]
    )


def test_enforce_records_every_decision_and_status_lists_failures_first(emulator, cli_env):
    free, compliant, denied = (str(uuid.uuid4()) for _ in range(3))
    emulator.add_subscription(free, display_name="free")
    emulator.add_subscription(compliant, display_name="ok", pricing=COMPLIANT_AI)
    emulator.add_subscription(denied, display_name="denied")
    emulator.faults = FaultConfig(forbidden={denied: "write"})

    enforce = run_cli("enforce", "-s", free, "-s", compliant, "-s", denied, env=cli_env)
    assert enforce.returncode == 1
    assert "ENFORCER_STORAGE is not set" not in enforce.stderr
    assert cli_env["ENFORCER_STORAGE"] not in enforce.stdout + enforce.stderr

    status = run_cli("status", "--json", env=cli_env)
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)
    assert [r["outcome"] for r in rows] == ["failed", "remediated", "compliant"]
    assert rows[0]["subscription_id"] == denied and "Security Admin" in rows[0]["error"]

    one = run_cli("status", "--subscription", free, env=cli_env)
    assert one.returncode == 0 and free in one.stdout and denied not in one.stdout

    with store_for(cli_env) as store:
        run = store.latest_run("cli")
    assert run is not None and run.counts == {"remediated": 1, "compliant": 1, "failed": 1}


def test_handle_event_writes_records_and_a_run_summary(emulator, cli_env, tmp_path):
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")
    path = tmp_path / "events.json"
    path.write_text(json.dumps([sample("resource-write-cognitive-account.eventgrid.json")] * 2))

    result = run_cli("handle-event", str(path), "--json", env=cli_env)

    assert result.returncode == 0, result.stderr
    printed = [o for o in json.loads(result.stdout) if not o.get("resource_id")]  # plus the named AI account's
    assert [o["outcome"] for o in printed] == ["remediated", "ignored"]  # the 2nd is a duplicate
    assert emulator.calls["pricings.put"] == 1
    with store_for(cli_env) as store:
        run = store.latest_run("event")
        (record,) = store.latest_outcomes(SUBSCRIPTION)
    assert run is not None and run.counts["remediated"] == 1
    assert record.outcome == "remediated" and record.trigger_type == "Microsoft.Resources.ResourceWriteSuccess"


def test_status_without_storage_is_a_configuration_error(cli_env):
    env = {k: v for k, v in cli_env.items() if k != "ENFORCER_STORAGE"}
    result = run_cli("status", env=env)
    assert result.returncode == 2
    assert "ENFORCER_STORAGE" in result.stderr


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_store_that_is_down_gives_one_line_valid_json_and_no_put(emulator, tmp_path):
    """enforce, sweep, handle-event and status with the store's port closed: no traceback, no PUT."""
    from concurrent.futures import ThreadPoolExecutor

    sub = str(uuid.uuid4())
    emulator.add_subscription(sub)
    emulator.add_subscription(SUBSCRIPTION)
    events = tmp_path / "events.json"
    events.write_text(json.dumps([sample("resource-write-cognitive-account.eventgrid.json")]))
    env = {
        "ENFORCER_ARM_ENDPOINT": emulator.url,
        "ENFORCER_STORAGE": (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            f"TableEndpoint=http://127.0.0.1:{_closed_port()}/devstoreaccount1;"
        ),
    }
    commands = [
        ("enforce", "-s", sub, "--json"),
        ("sweep", "--json"),
        ("handle-event", str(events), "--json"),
        ("status", "--json"),
        ("enforce", "-s", sub),
    ]
    with ThreadPoolExecutor(len(commands)) as pool:
        results = list(pool.map(lambda args: run_cli(*args, env=env), commands))
    for args, result in zip(commands, results, strict=True):
        assert result.returncode == 1, (args, result.stderr)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        message = [line for line in result.stderr.splitlines() if "audit store is unavailable" in line]
        assert len(message) == 1, (args, result.stderr)
        assert "cannot connect" in message[0] and "Fix: check that ENFORCER_STORAGE" in message[0]
        if "--json" in args:
            assert json.loads(result.stdout) == []
    assert emulator.calls["pricings.put"] == 0
