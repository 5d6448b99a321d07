"""How decisions and runs are stored: Table entities built from outcomes and run summaries, and back.

Pure data: the audit store adapter (enforcer/adapters/audit_store.py) sends these entities; `status` renders them.
Just over 300 lines: the history record with every field's conversion both ways, run entities and transaction
batching, so the Table layout of a decision reads in one place (current-state rows: core/current_state.py).

Layout
- Audit table: PartitionKey = subscription id, RowKey = inverted start time + short hash, so a partition
  lists newest first. The RowKey is derived from the outcome (subscription, trigger, start time), so a
  retried write of the same decision upserts the same row instead of adding a second one.
  History rows are written for what happened, not for every check: changes, would-be changes, failures,
  new subscriptions, exclusions that start or end, and every decision an event or a person triggered
  (`is_notable`). A subscription that stays compliant sweep after sweep adds no history row.
- The same table holds one current-state row per subscription (RowKey = subscription id) in 16 shard
  partitions `latest-00` … `latest-15`, so that a sweep writes them as 100-entity transactions in parallel and
  `status` reads them without touching the history. The row is the subscription's newest decision plus
  `last_verified` (every check), `last_changed` and `last_change_trigger` (only when the plan was written).
  Shard partitions start with `l`, after every subscription id (hex), so history partitions are those below `g`.
- Runs table: PartitionKey = run kind (cli, event, sweep, demo), RowKey newest first; PartitionKey `marker`
  holds small named timestamps (the last full subscription listing, the last retention cleanup).
- Every row carries `schema_version` (SCHEMA_VERSION).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any, Final

from enforcer.core.actors import Actor
from enforcer.core.models import (
    WIRING_OUTCOMES,
    ErrorKind,
    FieldChange,
    Mode,
    Outcome,
    OutcomeKind,
    PricingState,
    RunSummary,
    Trigger,
    utc_now_iso,
)
from enforcer.core.text import clip

# The Table service's transaction limit: at most 100 operations, one partition.
MAX_BATCH_OPERATIONS: Final = 100
SCHEMA_VERSION: Final = 2
# Subscription ids are lowercase hex GUIDs: every history partition sorts below this, every shard above it.
HISTORY_PARTITIONS_BELOW: Final = "g"
MARKER_PARTITION: Final = "marker"
# Event Grid retries a delivery for up to 24 h; duplicates are looked for in twice that.
DUPLICATE_WINDOW_HOURS: Final = 48.0
# A transaction may carry at most 4 MiB; stay well below it whatever the records hold.
_MAX_BATCH_BYTES: Final = 3 * 1024 * 1024
# A string property holds at most 64 KiB (32 K UTF-16 characters); errors are cut well below that.
_MAX_TEXT: Final = 8000
# Outcomes that are about events rather than subscriptions do not replace a subscription's latest state.
# Wiring outcomes are not about the plan either: they have their own index partition (WIRING_PARTITION).
NOT_A_DECISION: Final = frozenset({OutcomeKind.IGNORED, OutcomeKind.REJECTED}) | WIRING_OUTCOMES
WIRING_PARTITION: Final = "latest-wiring"
# The Table service's key rules (Learn, "Understanding the Table service data model"): PartitionKey and RowKey may
# not hold '/', '\\', '#', '?' or the control characters U+0000-U+001F and U+007F-U+009F, and hold at most 1 KiB.
_KEY_REFUSED: Final = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
# Well under 1 KiB whatever the service counts (UTF-8 or UTF-16 bytes).
_MAX_KEY_BYTES: Final = 512
# A key that stands for a value the rules refuse. A value that itself starts like this is hashed too, so no value
# can pose as another value's key.
HASHED_KEY_PREFIX: Final = "~sha256-"
INVERT_BASE: Final = 10**16  # microseconds since 1970 stay below this until the year 2286


def table_key(value: str) -> str:
    """The one way any value from outside becomes a PartitionKey or RowKey: the value itself when the Table
    service's rules accept it, else `~sha256-<hex of its UTF-8>`. One-way and collision-free: two different values
    never share a key (short of a SHA-256 collision), and the same value always gets the same key."""
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate (JSON allows "\ud800"): no store can take it as text
        size = -1
    if 0 < size <= _MAX_KEY_BYTES and not _KEY_REFUSED.search(value) and not value.startswith(HASHED_KEY_PREFIX):
        return value
    return HASHED_KEY_PREFIX + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _parse_time(iso: str) -> datetime | None:
    if not iso:
        return None
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def newest_first_key(iso_time: str, *identity: str) -> str:
    """A RowKey that sorts newest first: inverted microseconds since the epoch + an 8-hex hash of `identity`.

    Deterministic for a given time and identity; falls back to the current time when `iso_time` is empty
    or not ISO 8601.
    """
    moment = _parse_time(iso_time)
    micros = int(moment.timestamp() * 1_000_000) if moment else time.time_ns() // 1000
    digest = hashlib.sha256("\x1f".join((iso_time, *identity)).encode()).hexdigest()[:8]
    return f"{INVERT_BASE - micros:016d}-{digest}"


def _clip(text: str | None, limit: int = _MAX_TEXT) -> str | None:
    return None if text is None else clip(text, limit)


@dataclass
class AuditRecord:
    """One decision on one subscription, as stored. Nested values are JSON strings (Table columns are flat)."""

    PartitionKey: str
    RowKey: str
    subscription_id: str
    outcome: str
    mode: str
    trigger_kind: str
    trigger_id: str
    trigger_type: str = ""
    subscription_name: str | None = None
    before: str | None = None  # JSON of PricingState.to_dict()
    after: str | None = None
    changes: str = "[]"  # JSON list of FieldChange.to_dict()
    error: str | None = None
    error_kind: str | None = None
    reason: str | None = None
    new_subscription: bool = False
    started_at: str = ""
    duration_ms: float = 0.0
    arm_calls: str = "{}"  # JSON {call kind: count}
    notification: str | None = None
    recorded_at: str = ""
    schema_version: int = SCHEMA_VERSION
    # Current-state rows only (None on history rows).
    last_verified: str | None = None
    last_changed: str | None = None
    last_change_trigger: str | None = None
    # An AI account's decision (Outcome.resource_id): same partition (its subscription), own columns.
    resource_id: str | None = None
    account_before: str | None = None
    account_after: str | None = None
    # Who made the change (core/actors.py Actor.to_json): {object_id, name, kind, at, unknown_reason}.
    actor: str | None = None
    # Issue 20: the desired-state rule(s) that decided and the document's hash (None without a document).
    rule: str | None = None
    desired_state_hash: str | None = None

    @property
    def is_account(self) -> bool:
        return bool(self.resource_id)

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> AuditRecord:
        subscription = outcome.subscription_id.lower()
        return cls(
            PartitionKey=table_key(subscription),
            RowKey=newest_first_key(
                outcome.started_at,
                subscription,
                outcome.trigger.kind,
                outcome.trigger.id,
                outcome.trigger.type,
                # Several accounts of one subscription are decided by one trigger in the same millisecond.
                *((outcome.resource_id.lower(),) if outcome.resource_id else ()),
            ),
            subscription_id=subscription,
            outcome=outcome.outcome.value,
            mode=outcome.mode.value,
            trigger_kind=outcome.trigger.kind,
            trigger_id=outcome.trigger.id,
            trigger_type=outcome.trigger.type,
            subscription_name=outcome.subscription_name,
            before=json.dumps(outcome.before.to_dict()) if outcome.before else None,
            after=json.dumps(outcome.after.to_dict()) if outcome.after else None,
            changes=json.dumps([c.to_dict() for c in outcome.changes]),
            error=_clip(outcome.error),
            error_kind=outcome.error_kind.value if outcome.error_kind else None,
            reason=_clip(outcome.reason),
            new_subscription=outcome.new_subscription,
            started_at=outcome.started_at,
            duration_ms=float(round(outcome.duration_ms, 1)),
            arm_calls=json.dumps(outcome.arm_calls),
            notification=_clip(outcome.notification, 500),
            recorded_at=utc_now_iso(),
            resource_id=outcome.resource_id,
            account_before=outcome.account_before,
            account_after=outcome.account_after,
            actor=outcome.actor.to_json() if outcome.actor is not None else None,
            rule=_clip(outcome.rule, 500),
            desired_state_hash=outcome.desired_state_hash,
        )

    def to_entity(self) -> dict[str, Any]:
        """The Table entity; None values are left out (the Table service has no null)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_entity(cls, entity: Mapping[str, Any]) -> AuditRecord:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in entity.items() if k in known}
        if "duration_ms" in values:
            values["duration_ms"] = float(values["duration_ms"])
        return cls(**values)

    def trigger(self) -> Trigger:
        return Trigger(kind=self.trigger_kind, id=self.trigger_id, type=self.trigger_type)

    def before_dict(self) -> dict[str, Any] | None:
        return dict(json.loads(self.before)) if self.before else None

    def after_dict(self) -> dict[str, Any] | None:
        return dict(json.loads(self.after)) if self.after else None

    def change_list(self) -> list[FieldChange]:
        return [FieldChange(str(c["field"]), str(c["before"]), str(c["after"])) for c in json.loads(self.changes)]

    def to_outcome(self) -> Outcome:
        before, after = self.before_dict(), self.after_dict()
        return Outcome(
            subscription_id=self.subscription_id,
            outcome=OutcomeKind(self.outcome),
            trigger=self.trigger(),
            mode=Mode(self.mode),
            subscription_name=self.subscription_name,
            changes=self.change_list(),
            before=PricingState.from_dict(before) if before is not None else None,
            after=PricingState.from_dict(after) if after is not None else None,
            error=self.error,
            error_kind=None if not self.error_kind else _error_kind(self.error_kind),
            reason=self.reason,
            new_subscription=self.new_subscription,
            started_at=self.started_at,
            duration_ms=self.duration_ms,
            arm_calls={str(k): int(v) for k, v in json.loads(self.arm_calls).items()},
            notification=self.notification,
            resource_id=self.resource_id,
            account_before=self.account_before,
            account_after=self.account_after,
            actor=Actor.from_json(self.actor),
            rule=self.rule,
            desired_state_hash=self.desired_state_hash,
        )

    def actor_value(self) -> Actor | None:
        return Actor.from_json(self.actor)

    def to_dict(self) -> dict[str, Any]:
        """JSON output for `status --json`: nested values decoded, table keys left out."""
        return {
            "subscription_id": self.subscription_id,
            "subscription_name": self.subscription_name,
            "outcome": self.outcome,
            "mode": self.mode,
            "trigger": self.trigger().to_dict(),
            "before": self.before_dict(),
            "after": self.after_dict(),
            "changes": [c.to_dict() for c in self.change_list()],
            "error": self.error,
            "error_kind": self.error_kind,
            "reason": self.reason,
            "new_subscription": self.new_subscription,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "arm_calls": json.loads(self.arm_calls),
            "notification": self.notification,
            "recorded_at": self.recorded_at,
            "last_verified": self.last_verified,
            "last_changed": self.last_changed,
            "last_change_trigger": self.last_change_trigger,
            **(
                {
                    "resource_id": self.resource_id,
                    "account_before": self.account_before,
                    "account_after": self.account_after,
                }
                if self.resource_id
                else {}
            ),
            **({"actor": actor.to_dict()} if (actor := self.actor_value()) is not None else {}),
            **({"rule": self.rule, "desired_state_hash": self.desired_state_hash} if self.rule is not None else {}),
        }


def _error_kind(value: str) -> ErrorKind:
    try:
        return ErrorKind(value)
    except ValueError:
        return ErrorKind.UNEXPECTED


def run_entity(summary: RunSummary) -> dict[str, Any]:
    """The runs-table entity for one run summary (PartitionKey = kind, RowKey newest first)."""
    entity: dict[str, Any] = {
        "PartitionKey": table_key(summary.kind),
        "RowKey": newest_first_key(summary.started_at, summary.kind, summary.run_id),
        "run_id": summary.run_id,
        "kind": summary.kind,
        "mode": summary.mode.value,
        "started_at": summary.started_at,
        "duration_ms": float(round(summary.duration_ms, 1)),
        "counts": json.dumps(summary.counts),
        "arm_calls": json.dumps(summary.arm_calls),
        "new_subscriptions": int(summary.new_subscriptions),
        "notes": json.dumps([_clip(n, 2000) for n in summary.notes[:50]]),
        "complete": summary.complete,
        "recorded_at": utc_now_iso(),
        "schema_version": SCHEMA_VERSION,
    }
    if summary.resume_after is not None:
        entity["resume_after"] = summary.resume_after
    return entity


def run_from_entity(entity: Mapping[str, Any]) -> RunSummary:
    return RunSummary(
        run_id=str(entity["run_id"]),
        kind=str(entity["kind"]),
        mode=Mode(str(entity["mode"])),
        started_at=str(entity.get("started_at", "")),
        duration_ms=float(entity.get("duration_ms", 0.0)),
        counts={str(k): int(v) for k, v in json.loads(entity.get("counts", "{}")).items()},
        arm_calls={str(k): int(v) for k, v in json.loads(entity.get("arm_calls", "{}")).items()},
        new_subscriptions=int(entity.get("new_subscriptions", 0)),
        notes=[str(n) for n in json.loads(entity.get("notes", "[]"))],
        resume_after=entity.get("resume_after"),
        complete=bool(entity.get("complete", True)),
    )


def is_notable(outcome: Outcome, previous_outcome: str | None) -> bool:
    """Whether a decision gets a history row: what happened, not every check a sweep makes.

    Changes, would-be changes, failures, new subscriptions, exclusions that start or end, and every decision
    an event or a person (CLI, demo) triggered. `previous_outcome` is the current state before this decision.
    """
    if outcome.trigger.kind != "sweep" or outcome.outcome.needs_attention or outcome.new_subscription:
        return True
    was_excluded = previous_outcome == OutcomeKind.EXCLUDED.value
    return previous_outcome is not None and was_excluded != (outcome.outcome is OutcomeKind.EXCLUDED)


def marker_entity(name: str, value: str) -> dict[str, Any]:
    return {
        "PartitionKey": MARKER_PARTITION,
        "RowKey": table_key(name),
        "value": value,
        "schema_version": SCHEMA_VERSION,
    }


def history_cutoff_key(older_than_iso: str) -> str:
    """History RowKeys greater than this belong to decisions that started before `older_than_iso`."""
    return newest_first_key(older_than_iso).split("-", 1)[0] + "-~"


def batches(entities: Sequence[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Split entities into transactions: one partition each, at most 100 entities and ~3 MiB.

    A transaction may not touch one row twice, so a repeated RowKey keeps only its last entity.
    """
    by_partition: dict[str, dict[str, dict[str, Any]]] = {}
    for entity in entities:
        by_partition.setdefault(str(entity["PartitionKey"]), {})[str(entity["RowKey"])] = entity
    for rows in by_partition.values():
        chunk: list[dict[str, Any]] = []
        size = 0
        for entity in rows.values():
            entity_size = len(json.dumps(entity, default=str))
            if chunk and (len(chunk) >= MAX_BATCH_OPERATIONS or size + entity_size > _MAX_BATCH_BYTES):
                yield chunk
                chunk, size = [], 0
            chunk.append(entity)
            size += entity_size
        if chunk:
            yield chunk
