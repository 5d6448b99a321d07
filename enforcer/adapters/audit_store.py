"""Audit store on Azure Table storage: one record per decision, one per run.

Layout
- Audit table: PartitionKey = subscription id, RowKey = inverted start time + short hash, so a partition
  lists newest first. The RowKey is derived from the outcome (subscription, trigger, start time), so a
  retried write of the same decision upserts the same row instead of adding a second one.
- The same table holds an index partition `latest` (RowKey = subscription id) with a copy of each
  subscription's newest enforcement record, so `status` reads one partition instead of the whole history.
- Runs table: PartitionKey = run kind (cli, event, sweep, demo), RowKey newest first.

Writes are upserts in transactions of at most 100 operations per partition (the Table service limit;
Azurite answers 101 with a malformed response). Transient failures are retried by the Tables client's
azure-core retry policy; what still fails raises AuditStoreError, so the invocation fails and its
trigger (Event Grid, the timer) retries.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from enforcer.adapters.closing import ClosesOnExit
from enforcer.adapters.redact import connection_string_secrets, install_redaction
from enforcer.core.models import ErrorKind, FieldChange, Mode, Outcome, OutcomeKind, PricingState, RunSummary, Trigger
from enforcer.core.settings import ConfigError, Settings, validate_endpoint
from enforcer.core.status_view import failures_first

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

logger = logging.getLogger(__name__)

MAX_BATCH_OPERATIONS: Final = 100
LATEST_PARTITION: Final = "latest"
# Event Grid retries a delivery for up to 24 h; duplicates are looked for in twice that.
DUPLICATE_WINDOW_HOURS: Final = 48.0
# A transaction may carry at most 4 MiB; stay well below it whatever the records hold.
_MAX_BATCH_BYTES: Final = 3 * 1024 * 1024
# A string property holds at most 64 KiB (32 K UTF-16 characters); errors are cut well below that.
_MAX_TEXT: Final = 8000
# Outcomes that are about events rather than subscriptions do not replace a subscription's latest state.
_NOT_A_DECISION: Final = frozenset({OutcomeKind.IGNORED, OutcomeKind.REJECTED})
# Characters the Table service refuses in PartitionKey and RowKey.
_KEY_FORBIDDEN: Final = str.maketrans({c: "_" for c in "/\\#?\t\n\r"})
_INVERT_BASE: Final = 10**16  # microseconds since 1970 stay below this until the year 2286


class AuditStoreError(RuntimeError):
    """The audit store could not be read or written after retries. The message names the table and the
    reason; it never holds the connection string or a key."""


def _key(value: str) -> str:
    return (value or "-").translate(_KEY_FORBIDDEN)


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
    return f"{_INVERT_BASE - micros:016d}-{digest}"


def _clip(text: str | None, limit: int = _MAX_TEXT) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> AuditRecord:
        subscription = outcome.subscription_id.lower()
        return cls(
            PartitionKey=_key(subscription),
            RowKey=newest_first_key(
                outcome.started_at, subscription, outcome.trigger.kind, outcome.trigger.id, outcome.trigger.type
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
            recorded_at=_now_iso(),
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
        )

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
        }


def _error_kind(value: str) -> ErrorKind:
    try:
        return ErrorKind(value)
    except ValueError:
        return ErrorKind.UNEXPECTED


def run_entity(summary: RunSummary) -> dict[str, Any]:
    """The runs-table entity for one run summary (PartitionKey = kind, RowKey newest first)."""
    entity: dict[str, Any] = {
        "PartitionKey": _key(summary.kind),
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
        "recorded_at": _now_iso(),
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


def _latest_entity(record: AuditRecord) -> dict[str, Any]:
    entity = record.to_entity()
    entity["PartitionKey"] = LATEST_PARTITION
    entity["RowKey"] = _key(record.subscription_id)
    entity["record_row_key"] = record.RowKey
    return entity


def _record_from_latest(entity: Mapping[str, Any]) -> AuditRecord:
    """The record an index row copies, with its own keys back."""
    record = AuditRecord.from_entity(entity)
    record.PartitionKey = _key(record.subscription_id)
    record.RowKey = str(entity.get("record_row_key", record.RowKey))
    return record


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


def _describe(exc: BaseException) -> str:
    """Why an operation failed, from the exception's type and status only (messages can hold URLs and SAS)."""
    if isinstance(exc, HttpResponseError):
        code = getattr(exc, "error_code", None)
        status = exc.status_code
        return f"HTTP {status}{f' {code}' if code else ''}" if status else f"{type(exc).__name__}"
    if isinstance(exc, ServiceRequestError):
        return "cannot connect to the storage endpoint"
    return type(exc).__name__


def _is_table_missing(exc: HttpResponseError) -> bool:
    code = str(getattr(exc, "error_code", "") or "")
    return code == "TableNotFound" or (isinstance(exc, ResourceNotFoundError) and "TableNotFound" in str(exc))


class AuditStore(ClosesOnExit):
    """The audit and runs tables. Clients and tables are created on first use; use as a context manager."""

    def __init__(
        self,
        storage: str,
        *,
        audit_table: str = "EnforcerAudit",
        runs_table: str = "EnforcerRuns",
        credential: TokenCredential | None = None,
        retry_total: int = 4,
        retry_backoff_factor: float = 0.5,
        retry_backoff_max: int = 8,
        connection_timeout: float = 5.0,
        read_timeout: float = 20.0,
        **client_options: Any,
    ) -> None:
        """`storage` is a connection string (`UseDevelopmentStorage=true`, or `AccountName=...;AccountKey=...`)
        or a table account URL used with `credential` (default: DefaultAzureCredential, imported when needed).

        The retry settings go to the Tables client's azure-core retry policy. `client_options` are passed to
        the TableClient as they are (e.g. `raw_response_hook`).
        """
        storage = storage.strip()
        if not storage:
            raise ConfigError("ENFORCER_STORAGE is empty; give a connection string or a table account URL")
        self._is_url = "://" in storage and "=" not in storage.split("?", 1)[0]
        if self._is_url:
            storage = validate_endpoint("ENFORCER_STORAGE", storage)
        else:
            install_redaction(*connection_string_secrets(storage))  # an account key or SAS never reaches a log
        self._storage = storage
        self._credential = credential
        self._owns_credential = False
        self.audit_table = audit_table
        self.runs_table = runs_table
        self._client_options: dict[str, Any] = {
            "retry_total": retry_total,
            "retry_backoff_factor": retry_backoff_factor,
            "retry_backoff_max": retry_backoff_max,
            "connection_timeout": connection_timeout,
            "read_timeout": read_timeout,
            **client_options,
        }
        self._lock = threading.Lock()
        self._clients: dict[str, TableClient] = {}
        self._ready: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AuditStore | None:
        """None when ENFORCER_STORAGE is not set (the caller decides whether that is allowed)."""
        if not settings.storage:
            return None
        return cls(settings.storage, audit_table=settings.audit_table, runs_table=settings.runs_table, **options)

    def __repr__(self) -> str:  # never show the connection string
        return f"AuditStore(audit_table={self.audit_table!r}, runs_table={self.runs_table!r})"

    # -- clients -----------------------------------------------------------------------------------

    def _client(self, table: str) -> TableClient:
        with self._lock:
            client = self._clients.get(table)
            if client is None:
                if self._is_url:
                    if self._credential is None:
                        # Imported here: only the URL form (managed identity) needs it.
                        from azure.identity import DefaultAzureCredential

                        self._credential = DefaultAzureCredential()
                        self._owns_credential = True
                    client = TableClient(
                        endpoint=self._storage, table_name=table, credential=self._credential, **self._client_options
                    )
                else:
                    client = TableClient.from_connection_string(self._storage, table_name=table, **self._client_options)
                self._clients[table] = client
            return client

    def _ensure_table(self, table: str, *, force: bool = False) -> TableClient:
        client = self._client(table)
        if force or table not in self._ready:
            try:
                client.create_table(retry_on_methods=self._RETRY_METHODS)
                logger.info("Created audit table %s", table)
            except ResourceExistsError:
                pass
            except AzureError as exc:
                raise AuditStoreError(f"cannot create or open table {table!r}: {_describe(exc)}") from exc
            self._ready.add(table)
        return client

    # Upserts are idempotent, so a $batch POST may be retried like a PUT (azure-core does not retry POST).
    _RETRY_METHODS: Final = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST", "PATCH", "MERGE"})

    def _submit(self, table: str, entities: Sequence[dict[str, Any]]) -> None:
        operations = [("upsert", e, {"mode": UpdateMode.REPLACE}) for e in entities]

        def write(client: TableClient) -> None:
            if len(entities) == 1:
                # A lone record needs no transaction; a plain upsert costs less than half the client CPU.
                client.upsert_entity(entities[0], mode=UpdateMode.REPLACE)
            else:
                client.submit_transaction(operations, retry_on_methods=self._RETRY_METHODS)

        try:
            try:
                write(self._ensure_table(table))
            except HttpResponseError as exc:
                if not _is_table_missing(exc):
                    raise
                # Deleted since we created it (or a fresh in-memory Azurite): create it again, once.
                write(self._ensure_table(table, force=True))
        except TableTransactionError as exc:
            raise AuditStoreError(
                f"table {table!r} refused a batch of {len(entities)} record(s) in partition "
                f"{entities[0]['PartitionKey']!r}: {_describe(exc)}"
            ) from exc
        except AzureError as exc:
            raise AuditStoreError(
                f"cannot write {len(entities)} record(s) to table {table!r} after retries: {_describe(exc)}"
            ) from exc

    def _query(
        self, table: str, query_filter: str, parameters: dict[str, Any], limit: int | None = None
    ) -> list[dict[str, Any]]:
        client = self._ensure_table(table)
        try:
            pages = client.query_entities(query_filter, parameters=parameters, results_per_page=limit)
            results: list[dict[str, Any]] = []
            for entity in pages:
                results.append(dict(entity))
                if limit is not None and len(results) >= limit:
                    break
            return results
        except HttpResponseError as exc:
            if _is_table_missing(exc):
                self._ready.discard(table)
                return []
            raise AuditStoreError(f"cannot read table {table!r}: {_describe(exc)}") from exc
        except AzureError as exc:
            raise AuditStoreError(f"cannot read table {table!r} after retries: {_describe(exc)}") from exc

    # -- writes --------------------------------------------------------------------------------------

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> list[AuditRecord]:
        """Write one record per outcome (then the `latest` index); raise AuditStoreError if any write fails.

        Returns the records written (the caller may keep their RowKeys). Safe to call again with the same
        outcomes: the rows are upserted, not duplicated.
        """
        if not outcomes:
            return []
        records = [AuditRecord.from_outcome(o) for o in outcomes]
        entities = [r.to_entity() for r in records]
        for chunk in batches(entities):
            self._submit(self.audit_table, chunk)
        latest: dict[str, AuditRecord] = {}
        for record in records:
            if OutcomeKind(record.outcome) in _NOT_A_DECISION:
                continue
            current = latest.get(record.PartitionKey)
            if current is None or record.RowKey < current.RowKey:  # smaller RowKey = newer
                latest[record.PartitionKey] = record
        for chunk in batches([_latest_entity(r) for r in latest.values()]):
            self._submit(self.audit_table, chunk)
        logger.info("Recorded %d audit record(s) in %s", len(records), self.audit_table)
        return records

    def record_run(self, summary: RunSummary) -> None:
        self._submit(self.runs_table, [run_entity(summary)])
        logger.info("Recorded %s run %s in %s", summary.kind, summary.run_id, self.runs_table)

    # -- reads ---------------------------------------------------------------------------------------

    def latest_outcomes(self, subscription_id: str | None = None) -> list[AuditRecord]:
        """The newest enforcement record per subscription (or of one subscription), failures first."""
        if subscription_id:
            entities = self._query(
                self.audit_table,
                "PartitionKey eq @pk and RowKey eq @rk",
                {"pk": LATEST_PARTITION, "rk": _key(subscription_id.lower())},
            )
        else:
            entities = self._query(self.audit_table, "PartitionKey eq @pk", {"pk": LATEST_PARTITION})
        return failures_first([_record_from_latest(e) for e in entities])

    def history(self, subscription_id: str, limit: int = 50) -> list[AuditRecord]:
        """A subscription's records, newest first."""
        entities = self._query(self.audit_table, "PartitionKey eq @pk", {"pk": _key(subscription_id.lower())}, limit)
        return [AuditRecord.from_entity(e) for e in entities]

    def find_by_trigger(
        self, subscription_id: str, trigger_id: str, *, within_hours: float | None = DUPLICATE_WINDOW_HOURS
    ) -> AuditRecord | None:
        """The newest record of this subscription caused by this trigger (event id / run id), if any.

        Only records that started in the last `within_hours` are searched (None: the whole history), so the
        query reads the newest rows of the partition instead of all of it. Event Grid redelivers an event
        for at most 24 hours, which the default window covers.
        """
        query = "PartitionKey eq @pk and trigger_id eq @trigger"
        parameters: dict[str, Any] = {"pk": _key(subscription_id.lower()), "trigger": trigger_id}
        if within_hours is not None:
            oldest_micros = time.time_ns() // 1000 - int(within_hours * 3600 * 1_000_000)
            query += " and RowKey lt @oldest"  # newer rows have smaller RowKeys
            parameters["oldest"] = f"{_INVERT_BASE - oldest_micros:016d}"
        entities = self._query(self.audit_table, query, parameters, limit=1)
        return AuditRecord.from_entity(entities[0]) if entities else None

    def latest_run(self, kind: str) -> RunSummary | None:
        entities = self._query(self.runs_table, "PartitionKey eq @pk", {"pk": _key(kind)}, limit=1)
        return run_from_entity(entities[0]) if entities else None

    # -- lifetime ------------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
            self._ready.clear()
            if self._owns_credential and self._credential is not None:
                close = getattr(self._credential, "close", None)
                if callable(close):
                    close()
                self._credential = None
                self._owns_credential = False
