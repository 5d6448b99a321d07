"""The audit store against a real Azurite (no Table fake)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from enforcer.adapters.audit_store import PARALLEL_WRITES, AuditStore, AuditStoreError
from enforcer.core.models import Mode, OutcomeKind, RunSummary, Trigger
from enforcer.core.render import render_status
from localdev.azurite import ACCOUNT_KEY, AzuriteProcess
from tests.audit.builders import make_outcome, sub_id
from tests.fixtures.azurite import FAST_RETRIES, unique_table_names

pytestmark = pytest.mark.integration


def test_every_outcome_kind_round_trips_with_before_after_and_changes(audit_store: AuditStore) -> None:
    outcomes = [make_outcome(kind, n) for n, kind in enumerate(OutcomeKind, start=1)]
    audit_store.record_outcomes(outcomes)
    for outcome in outcomes:
        (record,) = audit_store.history(outcome.subscription_id)
        assert record.to_outcome() == outcome
        assert record.outcome == outcome.outcome.value
        if outcome.before is not None:
            assert record.before_dict() == outcome.before.to_dict()
        if outcome.after is not None:
            assert record.after_dict() == outcome.after.to_dict()
        assert record.change_list() == outcome.changes
        assert record.recorded_at


def test_more_than_100_records_in_one_partition(audit_store: AuditStore) -> None:
    outcomes = [
        make_outcome(OutcomeKind.COMPLIANT, 1, started_at=f"2025-06-01T10:{i // 60:02d}:{i % 60:02d}Z")
        for i in range(250)
    ]
    audit_store.record_outcomes(outcomes)
    history = audit_store.history(sub_id(1), limit=1000)
    assert len(history) == 250
    started = [r.started_at for r in history]
    assert started == sorted(started, reverse=True)  # newest first


def test_writing_the_same_outcomes_again_updates_instead_of_duplicating(audit_store: AuditStore) -> None:
    outcome = make_outcome(OutcomeKind.REMEDIATED)
    audit_store.record_outcomes([outcome])
    audit_store.record_outcomes([outcome.replace(notification="failed: HTTP 500 from the webhook after retries")])
    (record,) = audit_store.history(outcome.subscription_id)
    assert record.notification == "failed: HTTP 500 from the webhook after retries"


def test_latest_outcome_per_subscription_failures_first(audit_store: AuditStore) -> None:
    early, late = "2025-06-01T09:00:00Z", "2025-06-01T11:00:00Z"
    audit_store.record_outcomes(
        [
            # Subscription 1 failed earlier, is compliant now.
            make_outcome(OutcomeKind.FAILED, 1, started_at=early),
            make_outcome(OutcomeKind.COMPLIANT, 1, started_at=late),
            # Subscription 2 was compliant, then failed.
            make_outcome(OutcomeKind.COMPLIANT, 2, started_at=early),
            make_outcome(OutcomeKind.FAILED, 2, started_at=late),
            make_outcome(OutcomeKind.REMEDIATED, 3, started_at=late),
            make_outcome(OutcomeKind.PARTIALLY_FAILED, 4, started_at=late),
            make_outcome(OutcomeKind.EXCLUDED, 5, started_at=late),
        ]
    )
    # A later ignored event does not replace subscription 3's enforcement state.
    audit_store.record_outcomes([make_outcome(OutcomeKind.IGNORED, 3, started_at="2025-06-01T12:00:00Z")])

    latest = audit_store.latest_outcomes()
    assert [(r.subscription_id, r.outcome) for r in latest] == [
        (sub_id(2), "failed"),
        (sub_id(4), "partially_failed"),
        (sub_id(3), "remediated"),
        (sub_id(5), "excluded"),
        (sub_id(1), "compliant"),
    ]
    # The index row carries the original record's keys.
    assert latest[0].RowKey == audit_store.history(sub_id(2))[0].RowKey

    (only,) = audit_store.latest_outcomes(sub_id(1).upper())
    assert (only.outcome, only.started_at) == ("compliant", late)
    assert audit_store.latest_outcomes(sub_id(99)) == []


def test_status_lists_the_latest_outcomes(audit_store: AuditStore) -> None:
    audit_store.record_outcomes([make_outcome(OutcomeKind.COMPLIANT, 1), make_outcome(OutcomeKind.FAILED, 2)])
    text = render_status(audit_store.latest_outcomes(), as_json=False)
    lines = text.splitlines()
    assert lines[1].startswith("failed") and "Subscription 2" in lines[1]
    assert lines[2].startswith("compliant") and "Subscription 1" in lines[2]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def test_find_by_trigger_finds_a_delivered_event(audit_store: AuditStore) -> None:
    now = datetime.now(UTC)
    event_id = "ev-'quoted' and PartitionKey eq 'x'"  # parameters are escaped, not pasted into the filter
    trigger = Trigger("event", event_id, "Microsoft.Resources.X")
    outcome = make_outcome(OutcomeKind.REMEDIATED, 1, trigger=trigger, started_at=_iso(now - timedelta(minutes=5)))
    audit_store.record_outcomes([outcome, make_outcome(OutcomeKind.COMPLIANT, 1, started_at=_iso(now))])

    found = audit_store.find_by_trigger(sub_id(1), event_id)
    assert found is not None
    assert (found.outcome, found.trigger_id, found.trigger_type) == ("remediated", event_id, "Microsoft.Resources.X")
    assert audit_store.find_by_trigger(sub_id(1), "another-event") is None
    assert audit_store.find_by_trigger(sub_id(2), event_id) is None


def test_find_by_trigger_looks_back_only_as_far_as_asked(audit_store: AuditStore) -> None:
    three_days_ago = _iso(datetime.now(UTC) - timedelta(days=3))
    old = make_outcome(OutcomeKind.REMEDIATED, 1, trigger=Trigger("event", "ev-old", "x"), started_at=three_days_ago)
    audit_store.record_outcomes([old])
    assert audit_store.find_by_trigger(sub_id(1), "ev-old") is None  # default window: 48 h
    assert audit_store.find_by_trigger(sub_id(1), "ev-old", within_hours=100) is not None
    assert audit_store.find_by_trigger(sub_id(1), "ev-old", within_hours=None) is not None


def test_run_summaries_and_latest_run(audit_store: AuditStore) -> None:
    def run(run_id: str, kind: str, started_at: str, **more: Any) -> RunSummary:
        return RunSummary(run_id=run_id, kind=kind, mode=Mode.ENFORCE, started_at=started_at, **more)

    assert audit_store.latest_run("sweep") is None
    newest = run("s-3", "sweep", "2025-06-01T10:30:00Z", resume_after=sub_id(42), complete=False, counts={"failed": 1})
    audit_store.record_run(newest)
    audit_store.record_run(run("s-1", "sweep", "2025-06-01T10:00:00Z"))  # recorded later, started earlier
    audit_store.record_run(run("c-1", "cli", "2025-06-01T11:00:00Z"))

    assert audit_store.latest_run("sweep") == newest
    latest_cli = audit_store.latest_run("cli")
    assert latest_cli is not None and latest_cli.run_id == "c-1"
    assert audit_store.latest_run("event") is None


def test_reads_on_a_new_store_create_the_tables(audit_store: AuditStore) -> None:
    assert audit_store.latest_outcomes() == []
    assert audit_store.find_by_trigger(sub_id(1), "x") is None


@pytest.mark.timeout(90)
def test_azurite_stopped_mid_run_fails_loudly_and_a_rerun_records_everything(tmp_path: Path) -> None:
    outcomes = [
        make_outcome(OutcomeKind.COMPLIANT, n, started_at=f"2025-06-01T10:00:{i:02d}.{n:06d}Z")
        for n in (1, 2, 3)
        for i in range(40)
    ]
    outcomes += [
        make_outcome(OutcomeKind.REMEDIATED, 4, started_at=f"2025-06-01T10:{i // 60:02d}:{i % 60:02d}Z")
        for i in range(130)
    ]
    batch_responses = 0

    def stop_after_first_batch(response: Any) -> None:
        nonlocal batch_responses
        if response.http_request.url.endswith("$batch"):
            batch_responses += 1
            if batch_responses == 1:
                azurite.stop()

    audit_table, runs_table = unique_table_names()
    # On disk, so the records written before the stop survive it (an in-memory Azurite would forget them).
    with (
        AzuriteProcess(location=tmp_path) as azurite,
        AuditStore(
            azurite.connection_string,
            audit_table=audit_table,
            runs_table=runs_table,
            raw_response_hook=stop_after_first_batch,
            **FAST_RETRIES,
        ) as store,
    ):
        with pytest.raises(AuditStoreError) as failure:
            store.record_outcomes(outcomes)
        # Transactions to different partitions are sent in parallel: those already in flight when Azurite stopped
        # may still have been answered; every later one fails, and the error is raised.
        assert 1 <= batch_responses <= PARALLEL_WRITES
        message = str(failure.value)
        assert audit_table in message
        assert ACCOUNT_KEY not in message and "AccountKey" not in message

        azurite.start()
        store.record_outcomes(outcomes)  # the rerun

        for n in (1, 2, 3, 4):
            history = store.history(sub_id(n), limit=1000)
            expected = sorted(o.started_at for o in outcomes if o.subscription_id == sub_id(n))
            assert sorted(r.started_at for r in history) == expected  # every record once, none twice
        assert len(store.latest_outcomes()) == 4


@pytest.mark.timeout(60)
def test_store_fails_with_audit_store_error_when_azurite_is_down() -> None:
    azurite = AzuriteProcess()  # never started: nothing listens on its port
    with AuditStore(azurite.connection_string, **FAST_RETRIES) as store:
        with pytest.raises(AuditStoreError) as failure:
            store.record_outcomes([make_outcome(OutcomeKind.COMPLIANT)])
        assert "EnforcerAudit" in str(failure.value)
        with pytest.raises(AuditStoreError):
            store.latest_run("sweep")
