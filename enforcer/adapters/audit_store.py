"""Audit store on Azure Table storage: one record per decision, one per run (layout: enforcer/core/records.py).

Writes are upserts in transactions of at most 100 operations per partition (the Table service limit;
Azurite answers 101 with a malformed response). Transient failures are retried by the Tables client's
azure-core retry policy; what still fails raises AuditStoreError, so the invocation fails and its
trigger (Event Grid, the timer) retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
)
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from enforcer.adapters.azure_errors import describe
from enforcer.adapters.closing import ClosesOnExit
from enforcer.adapters.tables import RETRY_ON_ALL_METHODS, TableConnection, is_table_missing
from enforcer.core.models import Outcome, OutcomeKind, RunSummary
from enforcer.core.records import (
    DUPLICATE_WINDOW_HOURS,
    INVERT_BASE,
    LATEST_PARTITION,
    NOT_A_DECISION,
    AuditRecord,
    batches,
    latest_entity,
    record_from_latest,
    run_entity,
    run_from_entity,
    table_key,
)
from enforcer.core.render import failures_first
from enforcer.core.settings import Settings

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


class AuditStoreError(RuntimeError):
    """The audit store could not be read or written after retries. The message names the table and the
    reason; it never holds the connection string or a key."""


class AuditStore(ClosesOnExit):
    """The audit and runs tables. Clients and tables are created on first use; use as a context manager."""

    def __init__(
        self,
        storage: str | TableConnection,
        *,
        audit_table: str = "EnforcerAudit",
        runs_table: str = "EnforcerRuns",
        **connection_options: Any,
    ) -> None:
        """`storage` is ENFORCER_STORAGE (see enforcer/adapters/tables.py) or a connection already made;
        `connection_options` (credential, retry settings, client options) go to the TableConnection."""
        self._tables = (
            storage if isinstance(storage, TableConnection) else TableConnection(storage, **connection_options)
        )
        self.audit_table = audit_table
        self.runs_table = runs_table

    @property
    def tables(self) -> TableConnection:
        """The connection, for the inventory to share (one set of clients, one retry setting)."""
        return self._tables

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AuditStore | None:
        """None when ENFORCER_STORAGE is not set (the caller decides whether that is allowed)."""
        if not settings.storage:
            return None
        return cls(settings.storage, audit_table=settings.audit_table, runs_table=settings.runs_table, **options)

    def __repr__(self) -> str:  # never show the connection string
        return f"AuditStore(audit_table={self.audit_table!r}, runs_table={self.runs_table!r})"

    def _ensure_table(self, table: str, *, force: bool = False) -> TableClient:
        try:
            return self._tables.ensure_table(table, force=force)
        except AzureError as exc:
            raise AuditStoreError(f"cannot create or open table {table!r}: {describe(exc)}") from exc

    def _submit(self, table: str, entities: Sequence[dict[str, Any]]) -> None:
        operations = [("upsert", e, {"mode": UpdateMode.REPLACE}) for e in entities]

        def write(client: TableClient) -> None:
            if len(entities) == 1:
                # A lone record needs no transaction; a plain upsert costs less than half the client CPU.
                client.upsert_entity(entities[0], mode=UpdateMode.REPLACE)
            else:
                client.submit_transaction(operations, retry_on_methods=RETRY_ON_ALL_METHODS)

        try:
            try:
                write(self._ensure_table(table))
            except HttpResponseError as exc:
                if not is_table_missing(exc):
                    raise
                # Deleted since we created it (or a fresh in-memory Azurite): create it again, once.
                write(self._ensure_table(table, force=True))
        except TableTransactionError as exc:
            raise AuditStoreError(
                f"table {table!r} refused a batch of {len(entities)} record(s) in partition "
                f"{entities[0]['PartitionKey']!r}: {describe(exc)}"
            ) from exc
        except AzureError as exc:
            raise AuditStoreError(
                f"cannot write {len(entities)} record(s) to table {table!r} after retries: {describe(exc)}"
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
            if is_table_missing(exc):
                self._tables.forget(table)
                return []
            raise AuditStoreError(f"cannot read table {table!r}: {describe(exc)}") from exc
        except AzureError as exc:
            raise AuditStoreError(f"cannot read table {table!r} after retries: {describe(exc)}") from exc

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
            # The `latest` index is one row per subscription: an account's decision must not replace it.
            if OutcomeKind(record.outcome) in NOT_A_DECISION or record.is_account:
                continue
            current = latest.get(record.PartitionKey)
            if current is None or record.RowKey < current.RowKey:  # smaller RowKey = newer
                latest[record.PartitionKey] = record
        for chunk in batches([latest_entity(r) for r in latest.values()]):
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
                {"pk": LATEST_PARTITION, "rk": table_key(subscription_id.lower())},
            )
        else:
            entities = self._query(self.audit_table, "PartitionKey eq @pk", {"pk": LATEST_PARTITION})
        return failures_first([record_from_latest(e) for e in entities])

    def history(self, subscription_id: str, limit: int = 50) -> list[AuditRecord]:
        """A subscription's records, newest first."""
        entities = self._query(
            self.audit_table, "PartitionKey eq @pk", {"pk": table_key(subscription_id.lower())}, limit
        )
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
        parameters: dict[str, Any] = {"pk": table_key(subscription_id.lower()), "trigger": trigger_id}
        if within_hours is not None:
            oldest_micros = time.time_ns() // 1000 - int(within_hours * 3600 * 1_000_000)
            query += " and RowKey lt @oldest"  # newer rows have smaller RowKeys
            parameters["oldest"] = f"{INVERT_BASE - oldest_micros:016d}"
        entities = self._query(self.audit_table, query, parameters, limit=1)
        return AuditRecord.from_entity(entities[0]) if entities else None

    def latest_run(self, kind: str) -> RunSummary | None:
        entities = self._query(self.runs_table, "PartitionKey eq @pk", {"pk": table_key(kind)}, limit=1)
        return run_from_entity(entities[0]) if entities else None

    # -- lifetime ------------------------------------------------------------------------------------

    def close(self) -> None:
        self._tables.close()
