"""A sick store (tests/fixtures/sick_store.py): wrong bytes, odd JSON, a 500, a trickle or no answer at all.

Every command gives the one-line "store unavailable" answer (exit 1, valid JSON with --json, no traceback, no ARM
call) within the store deadline; `health --json` prints an object saying why.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from enforcer.adapters.audit_store import AuditStore, AuditStoreError
from tests.events.samples import SUBSCRIPTION, sample
from tests.fixtures.sick_store import Sickness, SickStore
from tests.integration.test_cli import run_cli

pytestmark = pytest.mark.integration

DEADLINE = 3  # ENFORCER_STORE_DEADLINE_SECONDS in these tests
# Python's start, the imports, and one call of DEADLINE s (the commands stop at the first failed call).
BOUND = DEADLINE + 6


def _run(
    store: SickStore, *args: str, arm: str = "http://127.0.0.1:9"
) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {
        "ENFORCER_STORAGE": store.connection_string,
        "ENFORCER_STORE_DEADLINE_SECONDS": str(DEADLINE),
        "ENFORCER_ARM_ENDPOINT": arm,
    }
    started = time.monotonic()
    result = run_cli(*args, env=env)
    return result, time.monotonic() - started


def _one_line_unavailable(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "the audit store is unavailable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize("tables_exist", [False, True], ids=["at-the-check", "after-the-check"])
@pytest.mark.parametrize("sickness", list(Sickness), ids=lambda s: s.value)
def test_every_sickness_is_one_line_and_valid_json_for_status(sickness, tables_exist):
    """status reads: the sickness at the table create, or (tables_exist) at the reads after it."""
    with SickStore(sickness, tables_exist=tables_exist) as store:
        result, elapsed = _run(store, "status", "--json")

    _one_line_unavailable(result)
    assert json.loads(result.stdout) == []
    assert elapsed < BOUND, f"{elapsed:.1f} s"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sickness", [Sickness.NOT_UTF8, Sickness.TRICKLE, Sickness.HANG], ids=lambda s: s.value)
def test_handle_event_on_a_sick_store_ends_well_inside_event_grids_30_seconds(emulator, tmp_path, sickness):
    emulator.add_subscription(SUBSCRIPTION)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(sample("resource-write-cognitive-account.eventgrid.json")))
    with SickStore(sickness) as store:
        result, elapsed = _run(store, "handle-event", str(path), "--json", arm=emulator.url)

    _one_line_unavailable(result)
    assert json.loads(result.stdout) == []
    assert elapsed < BOUND, f"{elapsed:.1f} s"
    assert sum(emulator.calls.values()) == 0  # nothing acted on that could not be recorded


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sickness", list(Sickness), ids=lambda s: s.value)
def test_health_json_is_an_object_saying_why_when_the_store_is_sick(sickness):
    with SickStore(sickness, tables_exist=True) as store:
        result, elapsed = _run(store, "health", "--json")

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    health = json.loads(result.stdout)
    assert health["healthy"] is False
    assert health["reason"].startswith("cannot read the runs table")
    assert health["problems"][0]["todo"]
    assert elapsed < BOUND, f"{elapsed:.1f} s"


@pytest.mark.timeout(60)
def test_a_trickle_ends_at_the_deadline_for_the_whole_answer_not_per_read():
    """One byte every 0.5 s never trips a read timeout; the call still ends at its deadline."""
    with SickStore(Sickness.TRICKLE, tables_exist=True) as store:
        audit = AuditStore(store.connection_string, deadline_seconds=2, read_timeout=20.0)
        started = time.monotonic()
        with pytest.raises(AuditStoreError, match="no complete answer from the store within 2 s"), audit:
            audit.latest_run("sweep")
        elapsed = time.monotonic() - started

    assert elapsed < 3.5, f"{elapsed:.1f} s"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("sickness", "reason"),
    [
        (Sickness.NOT_UTF8, "is not UTF-8 text"),
        (Sickness.ERROR_500, "(HTTP 500) is not UTF-8 text"),
        (Sickness.ODD_JSON, "'value' that is not a list of rows"),
        (Sickness.ODD_ROWS, "answered rows the enforcer cannot read"),
    ],
    ids=lambda v: v.value if isinstance(v, Sickness) else "",
)
def test_answers_the_sdk_cannot_decode_are_an_audit_store_error_naming_why(sickness, reason):
    with SickStore(sickness, tables_exist=True) as store, AuditStore(store.connection_string) as audit:
        with pytest.raises(AuditStoreError) as raised:
            audit.latest_outcomes()
        assert reason in str(raised.value)
        with pytest.raises(AuditStoreError):
            audit.latest_run("sweep")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sickness", [Sickness.NOT_UTF8, Sickness.TRICKLE], ids=lambda s: s.value)
@pytest.mark.parametrize("command", ["enforce", "sweep"])
def test_enforce_and_sweep_on_a_sick_store_change_nothing_and_print_valid_json(emulator, sickness, command):
    emulator.add_subscription(SUBSCRIPTION)
    args = ("enforce", "-s", SUBSCRIPTION, "--json") if command == "enforce" else ("sweep", "--json")
    with SickStore(sickness) as store:
        result, elapsed = _run(store, *args, arm=emulator.url)

    _one_line_unavailable(result)
    assert json.loads(result.stdout) == []
    assert elapsed < BOUND, f"{elapsed:.1f} s"
    assert sum(emulator.calls.values()) == 0
