"""Current state: one row per subscription in 16 shard partitions, and one `~verified` row per shard.

Layout (see also enforcer/core/records.py): a shard row is the subscription's newest decision that changed its
state, plus `last_verified`, `last_changed` and `last_change_trigger`; a sweep rewrites only the rows whose state
changed and records every subscription it checked in its shard's `~verified` row (the cost follows the changes).
Pure data: the audit store adapter sends these entities.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from enforcer.core.models import Outcome, OutcomeKind
from enforcer.core.records import SCHEMA_VERSION, WIRING_PARTITION, AuditRecord, table_key

CURRENT_SHARDS: Final = 16
CURRENT_PARTITION_PREFIX: Final = "latest-"
# Outcomes after which the plan was written: they set last_changed.
_WROTE_THE_PLAN: Final = frozenset({OutcomeKind.REMEDIATED, OutcomeKind.PARTIALLY_FAILED})


def current_partition(subscription_id: str) -> str:
    """The shard partition of a subscription's current-state row (stable: a hash of the id)."""
    shard = int(hashlib.sha256(subscription_id.lower().encode()).hexdigest()[:8], 16) % CURRENT_SHARDS
    return f"{CURRENT_PARTITION_PREFIX}{shard:02d}"


def current_partitions() -> list[str]:
    return [f"{CURRENT_PARTITION_PREFIX}{shard:02d}" for shard in range(CURRENT_SHARDS)]


# Optional fields a current-state row must clear when the newest decision has no value for them: the row is
# merged (so that last_changed survives checks that change nothing), and a missing property would keep the old one.
_CLEARED_WHEN_EMPTY: Final = ("subscription_name", "before", "after", "error", "error_kind", "reason", "notification")


def current_entity(record: AuditRecord, *, verified_at: str) -> dict[str, Any]:
    """The merge-upsert that makes `record` a subscription's current state.

    `last_changed` and `last_change_trigger` are sent only when this decision wrote the plan, so that a merge
    keeps the previous ones otherwise. `history_row_key` points at the history row, when there is one.
    """
    entity = record.to_entity()
    for name in _CLEARED_WHEN_EMPTY:
        entity.setdefault(name, "")
    entity["PartitionKey"] = current_partition(record.subscription_id)
    entity["RowKey"] = table_key(record.subscription_id)
    entity["history_row_key"] = record.RowKey
    entity["last_verified"] = verified_at
    if OutcomeKind(record.outcome) in _WROTE_THE_PLAN:
        entity["last_changed"] = record.started_at or verified_at
        entity["last_change_trigger"] = f"{record.trigger_kind}:{record.trigger_id}"
        entity["actor"] = record.actor or ""  # who caused the change it repaired (issue 19), kept like last_changed
    else:
        entity.pop("last_changed", None)
        entity.pop("last_change_trigger", None)
        entity.pop("actor", None)
    return entity


def wiring_entity(record: AuditRecord) -> dict[str, Any]:
    """The wiring index row (one per subscription): a copy of its newest wiring record."""
    entity = record.to_entity()
    entity["PartitionKey"] = WIRING_PARTITION
    entity["RowKey"] = table_key(record.subscription_id)
    entity["history_row_key"] = record.RowKey
    return entity


def record_from_current(entity: Mapping[str, Any]) -> AuditRecord:
    """A current-state row as a record, with the history row's keys back and cleared fields as None."""
    values = {k: (None if v == "" and k in _CLEARED_WHEN_EMPTY else v) for k, v in entity.items()}
    record = AuditRecord.from_entity(values)
    record.PartitionKey = table_key(record.subscription_id)
    record.RowKey = str(entity.get("history_row_key", record.RowKey))
    return record


# Per shard, which subscriptions the last sweep checked and when: a sweep rewrites only the current-state rows
# that changed, and records "verified" for all the others in these 16 rows instead of 10,000 (write cost).
VERIFIED_ROW_KEY: Final = "~verified"  # after every subscription id (`~` sorts after hex digits)
# Ids are stored as 32 hex digits, concatenated, in properties of at most this many characters (a string
# property holds at most 64 KiB, 32 K UTF-16 characters).
_IDS_PER_PROPERTY: Final = 30_000 // 32


@dataclass(frozen=True)
class VerifiedMarker:
    """One shard's note of the subscriptions the last sweep checked."""

    verified_at: str
    run_id: str
    subscription_ids: frozenset[str]


def verified_entity(shard_partition: str, marker: VerifiedMarker) -> dict[str, Any]:
    compact = sorted(s.replace("-", "") for s in marker.subscription_ids)
    entity: dict[str, Any] = {
        "PartitionKey": shard_partition,
        "RowKey": VERIFIED_ROW_KEY,
        "verified_at": marker.verified_at,
        "run_id": marker.run_id,
        "count": len(compact),
        "schema_version": SCHEMA_VERSION,
    }
    for index in range(0, len(compact), _IDS_PER_PROPERTY):
        entity[f"ids_{index // _IDS_PER_PROPERTY}"] = "".join(compact[index : index + _IDS_PER_PROPERTY])
    return entity


def marker_from_entity(entity: Mapping[str, Any]) -> VerifiedMarker:
    text = "".join(
        str(entity[k]) for k in sorted((k for k in entity if k.startswith("ids_")), key=lambda k: int(k[4:]))
    )
    ids = frozenset(
        f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
        for h in (text[i : i + 32] for i in range(0, len(text), 32))
    )
    return VerifiedMarker(str(entity.get("verified_at", "")), str(entity.get("run_id", "")), ids)


def apply_markers(records: Mapping[str, AuditRecord], markers: Mapping[str, VerifiedMarker]) -> None:
    """Each record's last_verified: its own, or its shard's last sweep when that is newer."""
    for record in records.values():
        marker = markers.get(current_partition(record.subscription_id))
        newer = marker is not None and (record.last_verified is None or marker.verified_at > record.last_verified)
        if marker is not None and newer and record.subscription_id in marker.subscription_ids:
            record.last_verified = marker.verified_at


def same_state(outcome: Outcome, previous: AuditRecord | None) -> bool:
    """Whether a decision leaves a subscription's current-state row as it is (only `last_verified` would move)."""
    if previous is None or outcome.new_subscription:
        return False
    fresh = AuditRecord.from_outcome(outcome)
    return all(
        getattr(fresh, name) == getattr(previous, name)
        for name in ("outcome", "mode", "subscription_name", "before", "after", "error", "error_kind", "reason")
    )
