"""AuditRecord, row keys and batching: pure functions, literal inputs."""

from __future__ import annotations

import pytest

from enforcer.core.models import Mode, OutcomeKind, RunSummary, Trigger
from enforcer.core.records import (
    HASHED_KEY_PREFIX,
    MAX_BATCH_OPERATIONS,
    AuditRecord,
    batches,
    newest_first_key,
    run_entity,
    run_from_entity,
    table_key,
)
from tests.audit.builders import make_outcome, sub_id


@pytest.mark.parametrize("kind", list(OutcomeKind))
def test_record_round_trips_through_entity(kind: OutcomeKind) -> None:
    outcome = make_outcome(kind, notification="sent")
    record = AuditRecord.from_outcome(outcome)
    entity = record.to_entity()
    assert all(v is not None for v in entity.values())
    assert AuditRecord.from_entity(entity) == record
    assert record.to_outcome() == outcome


def test_row_key_sorts_newest_first() -> None:
    older = newest_first_key("2025-06-01T10:00:00.000001Z", "a")
    newer = newest_first_key("2025-06-01T10:00:00.000002Z", "a")
    much_newer = newest_first_key("2031-01-01T00:00:00Z", "a")
    assert much_newer < newer < older


def test_row_key_is_deterministic_and_unique_per_identity() -> None:
    same_time = "2025-06-01T10:00:00.000001Z"
    assert newest_first_key(same_time, "sub", "event", "e1") == newest_first_key(same_time, "sub", "event", "e1")
    assert newest_first_key(same_time, "sub", "event", "e1") != newest_first_key(same_time, "sub", "event", "e2")


def test_same_outcome_gives_same_row_and_other_trigger_another() -> None:
    first = make_outcome(OutcomeKind.REMEDIATED)
    again = make_outcome(OutcomeKind.REMEDIATED, notification="failed: HTTP 500")
    other_event = make_outcome(OutcomeKind.REMEDIATED, trigger=Trigger("event", "e-2", "x"))
    assert AuditRecord.from_outcome(first).RowKey == AuditRecord.from_outcome(again).RowKey
    assert AuditRecord.from_outcome(first).RowKey != AuditRecord.from_outcome(other_event).RowKey


def test_keys_the_table_service_refuses_are_hashed_not_rewritten() -> None:
    record = AuditRecord.from_outcome(make_outcome(OutcomeKind.REJECTED, subscription_id="a/b#c?d\\e"))
    assert record.PartitionKey == table_key("a/b#c?d\\e") != table_key("a_b_c_d_e")
    assert record.PartitionKey.startswith(HASHED_KEY_PREFIX)
    empty = AuditRecord.from_outcome(make_outcome(OutcomeKind.REJECTED, subscription_id=""))
    assert empty.PartitionKey == table_key("") != table_key("-")


def test_subscription_ids_are_stored_lowercase() -> None:
    record = AuditRecord.from_outcome(make_outcome(OutcomeKind.COMPLIANT, subscription_id=sub_id(10).upper()))
    assert record.PartitionKey == record.subscription_id == sub_id(10)


def test_long_error_is_cut_below_the_property_limit() -> None:
    record = AuditRecord.from_outcome(make_outcome(OutcomeKind.FAILED, error="x" * 100_000))
    assert record.error is not None
    assert len(record.error) <= 8000
    assert record.error.endswith("…")


def test_batches_split_per_partition_at_100() -> None:
    entities = [{"PartitionKey": "p1", "RowKey": f"{i:04d}"} for i in range(250)]
    entities += [{"PartitionKey": "p2", "RowKey": f"{i:04d}"} for i in range(3)]
    chunks = list(batches(entities))
    assert [len(c) for c in chunks] == [100, 100, 50, 3]
    assert all(len({e["PartitionKey"] for e in c}) == 1 for c in chunks)
    assert max(len(c) for c in chunks) <= MAX_BATCH_OPERATIONS


def test_batches_keep_the_last_of_a_repeated_row() -> None:
    entities = [
        {"PartitionKey": "p", "RowKey": "r", "v": 1},
        {"PartitionKey": "p", "RowKey": "s", "v": 2},
        {"PartitionKey": "p", "RowKey": "r", "v": 3},
    ]
    (chunk,) = list(batches(entities))
    assert sorted((e["RowKey"], e["v"]) for e in chunk) == [("r", 3), ("s", 2)]


def test_run_summary_round_trips() -> None:
    summary = RunSummary(
        run_id="sweep-1",
        kind="sweep",
        mode=Mode.AUDIT,
        started_at="2025-06-01T10:00:00Z",
        duration_ms=1234.5,
        counts={"compliant": 3, "failed": 1},
        arm_calls={"get": 4},
        new_subscriptions=1,
        notes=["Resource Graph unavailable; used direct GETs"],
        resume_after=sub_id(7),
        complete=False,
    )
    entity = run_entity(summary)
    assert entity["PartitionKey"] == "sweep"
    assert run_from_entity(entity) == summary


def test_verified_markers_round_trip_and_move_last_verified_forward_only():
    from enforcer.core.current_state import (
        VerifiedMarker,
        apply_markers,
        current_partition,
        marker_from_entity,
        verified_entity,
    )

    subs = [sub_id(n) for n in range(1, 2001)]
    marker = VerifiedMarker("2026-11-30T10:00:00.000Z", "sweep-1", frozenset(subs))
    entity = verified_entity("latest-03", marker)
    assert sum(1 for k in entity if k.startswith("ids_")) >= 2  # 2,000 ids do not fit one string property
    assert all(len(v) <= 30_000 for k, v in entity.items() if k.startswith("ids_"))
    assert marker_from_entity(entity) == marker

    newer = AuditRecord.from_outcome(make_outcome(OutcomeKind.COMPLIANT, 1))
    newer.last_verified = "2026-11-30T11:00:00.000Z"
    older = AuditRecord.from_outcome(make_outcome(OutcomeKind.COMPLIANT, 2))
    older.last_verified = "2026-11-29T10:00:00.000Z"
    unlisted = AuditRecord.from_outcome(make_outcome(OutcomeKind.COMPLIANT, 5000))
    records = {r.subscription_id: r for r in (newer, older, unlisted)}
    markers = {current_partition(s): marker for s in records}
    apply_markers(records, markers)
    assert newer.last_verified == "2026-11-30T11:00:00.000Z"  # its own time is newer than the sweep's
    assert older.last_verified == "2026-11-30T10:00:00.000Z"
    assert unlisted.last_verified is None  # not checked by that sweep


def test_same_state_ignores_the_trigger_and_times_but_not_the_pricing():
    from enforcer.core.current_state import same_state

    before = make_outcome(OutcomeKind.COMPLIANT, 1)
    stored = AuditRecord.from_outcome(before)
    again = make_outcome(OutcomeKind.COMPLIANT, 1, started_at="2026-12-01T00:00:00Z")
    assert same_state(again, stored)
    assert not same_state(make_outcome(OutcomeKind.REMEDIATED, 1), stored)
    assert not same_state(again, None)
