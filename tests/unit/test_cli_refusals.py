"""Malformed URL settings and non-finite numeric flags are exit 2 naming the setting or flag, never a traceback;
`health --json` prints a JSON object whatever stops it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.test_cli import ROOT, run_cli
from tests.integration.test_cli_audit import _closed_port


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ENFORCER_ARM_ENDPOINT", "http://[::1"),
        ("ENFORCER_STORAGE", "http://[::1"),
        ("ENFORCER_STORAGE", "http://127.0.0.1:10002/devstoreaccount1"),  # a table URL means a token: https only
        ("ENFORCER_EVENT_DELIVERY_URL", "https://[app.azurewebsites.net"),
    ],
)
def test_a_malformed_url_setting_is_exit_2_naming_the_setting(setting: str, value: str):
    env = {"ENFORCER_STORAGE": "UseDevelopmentStorage=true", setting: value}
    for args in (("status",), ("enforce", "-s", "00000000-0000-0000-0000-000000000001", "--json")):
        result = run_cli(*args, env=env)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert setting in result.stderr


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400", "0", "-5", "soon"])
def test_health_max_age_refuses_what_is_not_a_finite_positive_number(value: str):
    result = run_cli("health", "--max-age", value, env={"ENFORCER_STORAGE": "UseDevelopmentStorage=true"})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "--max-age" in result.stderr


@pytest.mark.parametrize("flag", ["--latency-ms", "--resource-graph-lag"])
def test_emulator_number_flags_refuse_inf_and_nan(flag: str):
    for value in ("inf", "nan"):
        result = subprocess.run(
            [sys.executable, "-m", "localdev", "emulator", "--port", "0", flag, value],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and flag in result.stderr


@pytest.mark.parametrize(
    ("storage", "exit_code", "reason"),
    [
        (None, 2, "ENFORCER_STORAGE is not set"),
        ("http://[::1", 2, "ENFORCER_STORAGE is not a valid URL"),
        (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            f"TableEndpoint=http://127.0.0.1:{_closed_port()}/devstoreaccount1;",
            1,
            "cannot read the runs table",
        ),
    ],
    ids=["not-set", "malformed", "down"],
)
def test_health_json_is_always_an_object_with_the_reason(storage: str | None, exit_code: int, reason: str):
    env = {"ENFORCER_STORE_DEADLINE_SECONDS": "3"} | ({"ENFORCER_STORAGE": storage} if storage else {})
    result = run_cli("health", "--json", env=env)
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    health = json.loads(result.stdout)
    assert health["healthy"] is False
    assert reason in health["reason"]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["enforce", "-s", "not-a-guid", "--json"], "not a subscription id"),
        (["status", "--json", "--no-such-flag"], "--no-such-flag"),
        (["handle-event", "--json"], "required"),
    ],
)
def test_a_usage_error_under_json_prints_a_json_object_and_exits_2(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from enforcer.cli.main import main

    assert main(argv) == 2
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["status"] == "usage" and named in report["error"]
    # People still get argparse's usage line and message on stderr.
    assert "usage: python -m enforcer" in captured.err and named in captured.err


def test_a_usage_error_without_json_prints_nothing_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    from enforcer.cli.main import main

    assert main(["enforce", "-s", "not-a-guid"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "not a subscription id" in captured.err


def test_a_configuration_error_under_json_prints_a_json_object_naming_the_setting() -> None:
    env = {"ENFORCER_STORAGE": "UseDevelopmentStorage=true", "ENFORCER_ARM_ENDPOINT": "http://[::1"}
    result = run_cli("enforce", "-s", "00000000-0000-0000-0000-000000000001", "--json", env=env)
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "usage" and "ENFORCER_ARM_ENDPOINT" in report["error"]
    assert "ENFORCER_ARM_ENDPOINT" in result.stderr
