"""The emulator's CLI hook: argument parsing, fault wiring, and a real run stopped by an event."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from localdev.emulator.cli import add_arguments, fault_config_from_args, resolve_subscription, run
from localdev.emulator.fleet import build_fleet
from localdev.emulator.state import DEFAULT_TENANT_ID

MEMBERS = [s.member for s in build_fleet(5, 0.4, seed=1)]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_defaults():
    args = parse()
    assert (args.port, args.subscriptions, args.drift, args.seed) == (8181, 25, 0.2, 1)
    faults = fault_config_from_args(args, MEMBERS)
    assert faults.require_auth is True
    assert (faults.latency_ms, faults.throttle_fraction, faults.error_fraction) == (0.0, 0.0, 0.0)


def test_fault_flags_resolve_ids_and_display_names():
    first, second = MEMBERS[0], MEMBERS[1]
    args = parse(
        "--latency-ms", "50",
        "--throttle-fraction", "0.1",
        "--retry-after", "3",
        "--error-fraction", "0.05",
        "--forbid", f"{first.display_name},{second.subscription_id}",
        "--fail-extension", f"{first.display_name}:AIModelScanner",
        "--resource-graph-lag", "30",
        "--resource-graph-unavailable",
        "--no-auth-check",
    )  # fmt: skip
    faults = fault_config_from_args(args, MEMBERS)
    assert faults.forbidden == {first.subscription_id: "write", second.subscription_id: "write"}
    assert list(faults.fail_extensions[first.subscription_id]) == ["AIModelScanner"]
    assert (faults.latency_ms, faults.throttle_fraction, faults.retry_after_seconds) == (50, 0.1, 3)
    assert faults.resource_graph_unavailable and faults.resource_graph_lag_seconds == 30
    assert faults.require_auth is False


def test_unknown_subscription_reference_is_an_error():
    with pytest.raises(ValueError, match="sub-0099"):
        resolve_subscription("sub-0099", MEMBERS)
    with pytest.raises(ValueError, match="SUB:EXT"):
        fault_config_from_args(parse("--fail-extension", "AIModelScanner"), MEMBERS)


@contextlib.contextmanager
def running(*argv: str) -> Iterator[tuple[str, io.StringIO]]:
    """`run` with these flags in a thread: (its URL, its output); stopped on exit, which must answer 0."""
    stop, out = threading.Event(), io.StringIO()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(run(parse(*argv), stop=stop, out=out)))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while "Set ENFORCER_ARM_ENDPOINT=" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", out.getvalue())
        assert found is not None, out.getvalue()
        yield found.group(1), out
    finally:
        stop.set()
        thread.join(timeout=10)
    assert result == [0]


def test_run_serves_the_seeded_fleet_until_stopped():
    with running("--port", "0", "--subscriptions", "4", "--drift", "0.5", "--disable", "sub-0002") as (url, out):
        listed = requests.get(
            f"{url}/subscriptions?api-version=2022-12-01", headers={"Authorization": "Bearer t"}
        ).json()
        states = {s["displayName"]: s["state"] for s in listed["value"]}
        assert states == {"sub-0001": "Enabled", "sub-0002": "Disabled", "sub-0003": "Enabled", "sub-0004": "Enabled"}
        assert "4 subscriptions: " in out.getvalue()
    assert "ARM emulator stopped." in out.getvalue()


def test_run_rejects_a_bad_reference_with_exit_code_2():
    assert run(parse("--port", "0", "--subscriptions", "2", "--forbid", "nope"), stop=threading.Event()) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--subscriptions", "-3"), "argument --subscriptions: -3 is negative"),
        (("--drift", "5"), "argument --drift: 5 is not a share between 0 and 1"),
        (("--throttle-fraction", "x"), "argument --throttle-fraction: 'x' is not a number"),
    ],
)
def test_bad_fleet_flags_are_a_usage_error_not_a_traceback(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_management_groups_flag_seeds_the_demo_tree():
    with running("--port", "0", "--subscriptions", "4", "--management-groups") as (url, _):
        entities = requests.post(
            f"{url}/providers/Microsoft.Management/getEntities?api-version=2021-04-01",
            headers={"Authorization": "Bearer t"},
        ).json()["value"]
    parents = [e["properties"]["parentNameChain"][-1] for e in entities if e["type"] == "/subscriptions"]
    assert sorted(parents) == sorted([DEFAULT_TENANT_ID, "mg-dev", "mg-prod", "mg-sandbox"])
