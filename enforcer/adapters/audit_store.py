"""Audit store on Azure Table storage: one record per decision, one per run (layout: enforcer/core/records.py).

Writes are upserts in transactions of at most 100 operations per partition (the Table service limit;
Azurite answers 101 with a malformed response). Transient failures are retried by the Tables client's
azure-core retry policy; what still fails raises AuditStoreError, so the invocation fails and its
trigger (Event Grid, the timer) retries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
)
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from enforcer.adapters.azure_errors import describe
from enforcer.adapters.closing import ClosesOnExit
from enforcer.adapters.tables import CHECK_OPTIONS, RETRY_ON_ALL_METHODS, TableConnection, is_table_missing
from enforcer.core.account_checks import (
    AccountCheck,
    account_check_entity,
    account_check_from_entity,
    account_check_partitions,
    check_from_outcome,
)
from enforcer.core.current_state import (
    VERIFIED_ROW_KEY,
    VerifiedMarker,
    apply_markers,
    current_entity,
    current_partition,
    current_partitions,
    marker_from_entity,
    record_from_current,
    same_state,
    verified_entity,
    wiring_entity,
)
from enforcer.core.models import Outcome, OutcomeKind, RunSummary, utc_now_iso
from enforcer.core.records import (
    DUPLICATE_WINDOW_HOURS,
    HISTORY_PARTITIONS_BELOW,
    INVERT_BASE,
    MARKER_PARTITION,
    NOT_A_DECISION,
    SCHEMA_VERSION,
    WIRING_PARTITION,
    AuditRecord,
    batches,
    history_cutoff_key,
    marker_entity,
    run_entity,
    run_from_entity,
    table_key,
)
from enforcer.core.render import failures_first
from enforcer.core.settings import Settings

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

# Transactions in flight at once, each to its own partition.
PARALLEL_WRITES: Final = 8


class AuditStoreError(RuntimeError):
    """The audit store could not be read or written after retries. The message names the table and the
    reason; it never holds the connection string or a key."""


# What decoding a row the enforcer did not write can raise (a missing key, a value of another type).
UNREADABLE_ROW: Final = (KeyError, TypeError, ValueError, AttributeError)


def _unreadable(table: str, exc: BaseException) -> AuditStoreError:
    # The type only: the message could quote the row.
    return AuditStoreError(f"table {table!r} answered rows the enforcer cannot read ({type(exc).__name__})")


@contextmanager
def _decoding(table: str) -> Iterator[None]:
    """Rows made into records inside this block: one the enforcer cannot read makes the store unavailable."""
    try:
        yield
    except UNREADABLE_ROW as exc:
        raise _unreadable(table, exc) from exc


def _current_rows(entities: Sequence[Mapping[str, Any]]) -> tuple[dict[str, AuditRecord], dict[str, VerifiedMarker]]:
    """Shard rows as records (last_verified from the `~verified` rows applied) and the shards' markers."""
    markers = {str(e["PartitionKey"]): marker_from_entity(e) for e in entities if e["RowKey"] == VERIFIED_ROW_KEY}
    records = {
        record.subscription_id: record
        for record in (record_from_current(e) for e in entities if e["RowKey"] != VERIFIED_ROW_KEY)
    }
    apply_markers(records, markers)
    return records, markers


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
        # The layout version of the rows this store writes (core/records.py); `health` reports it.
        self.schema_version = SCHEMA_VERSION
        # Table operations sent (transactions, single writes, query pages): `make bench` reports them.
        self.operations = 0
        # The shards' `~verified` rows as last read or written (see record_current).
        self._markers: dict[str, VerifiedMarker] | None = None
        # The AI accounts' check index as last read or written (see _index_account_checks).
        self._account_checks: dict[str, AccountCheck] | None = None
        self.rows_written = 0

    @property
    def tables(self) -> TableConnection:
        """The connection, for the inventory to share (one set of clients, one retry setting)."""
        return self._tables

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AuditStore | None:
        """None when ENFORCER_STORAGE is not set (the caller decides whether that is allowed)."""
        if not settings.storage:
            return None
        options.setdefault("deadline_seconds", settings.store_deadline_seconds)
        return cls(settings.storage, audit_table=settings.audit_table, runs_table=settings.runs_table, **options)

    def __repr__(self) -> str:  # never show the connection string
        return f"AuditStore(audit_table={self.audit_table!r}, runs_table={self.runs_table!r})"

    def _ensure_table(self, table: str, *, force: bool = False, **request_options: Any) -> TableClient:
        try:
            return self._tables.ensure_table(table, force=force, **request_options)
        except AzureError as exc:
            raise AuditStoreError(f"cannot create or open table {table!r}: {describe(exc)}") from exc

    def check(self) -> None:
        """Raise AuditStoreError unless both tables answer (created if missing): called before the first write.

        Quick: one retry and short timeouts (CHECK_OPTIONS), so a hung store is reported in seconds."""
        for table in (self.audit_table, self.runs_table):
            self._ensure_table(table, **CHECK_OPTIONS)

    def _submit(
        self, table: str, entities: Sequence[dict[str, Any]], mode: UpdateMode = UpdateMode.REPLACE, op: str = "upsert"
    ) -> None:
        operations = [(op, e, {"mode": mode}) if op == "upsert" else (op, e) for e in entities]

        def write(client: TableClient) -> None:
            self.operations += 1
            self.rows_written += len(entities)
            if len(entities) == 1 and op == "upsert":
                # A lone record needs no transaction; a plain upsert costs less than half the client CPU.
                client.upsert_entity(entities[0], mode=mode)
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
        self,
        table: str,
        query_filter: str,
        parameters: dict[str, Any],
        limit: int | None = None,
        select: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        client = self._ensure_table(table)
        try:
            pages = client.query_entities(
                query_filter, parameters=parameters, results_per_page=limit, select=select
            ).by_page()
            results: list[dict[str, Any]] = []
            for page in pages:
                self.operations += 1
                for entity in page:
                    results.append(dict(entity))
                    if limit is not None and len(results) >= limit:
                        return results
            return results
        except HttpResponseError as exc:
            if is_table_missing(exc):
                self._tables.forget(table)
                return []
            raise AuditStoreError(f"cannot read table {table!r}: {describe(exc)}") from exc
        except AzureError as exc:
            raise AuditStoreError(f"cannot read table {table!r} after retries: {describe(exc)}") from exc
        except UNREADABLE_ROW as exc:  # the SDK decoding a typed value that is not what its type says
            raise _unreadable(table, exc) from exc

    # -- writes --------------------------------------------------------------------------------------

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> list[AuditRecord]:
        """A history row per outcome, then each subscription's current state; AuditStoreError if a write fails.

        For what happened (see `is_notable`); a sweep's quiet checks go through `record_checks`. Returns the
        records written. Safe to call again with the same outcomes: rows are upserted, not duplicated.
        """
        if not outcomes:
            return []
        records = self.record_history(outcomes)
        self._write_current([r for r in records if OutcomeKind(r.outcome) not in NOT_A_DECISION])
        self._index_wiring(records)
        self._index_account_checks(outcomes)
        logger.info("Recorded %d audit record(s) in %s", len(records), self.audit_table)
        return records

    def record_history(self, outcomes: Sequence[Outcome]) -> list[AuditRecord]:
        """History rows only; the caller writes current state later (`record_current`)."""
        records = [AuditRecord.from_outcome(o) for o in outcomes]
        self._write_parallel(self.audit_table, [r.to_entity() for r in records], UpdateMode.REPLACE)
        return records

    def record_current(
        self, outcomes: Sequence[Outcome], *, previous: Mapping[str, AuditRecord] | None = None, run_id: str = ""
    ) -> None:
        """Current state only (wiring outcomes go to the wiring index).

        With `previous` (the current states read at the start of a sweep), only the rows whose state changed are
        rewritten, and each shard gets one `~verified` row naming every subscription this run checked: the
        sweep's cost follows what changed, not the fleet. A subscription the last sweep checked and this one did
        not keeps that time in its own row.
        """
        records = [AuditRecord.from_outcome(o) for o in outcomes if o.subscription_id]
        self._index_wiring(records)
        self._index_account_checks(outcomes)
        plan = [r for r in records if OutcomeKind(r.outcome) not in NOT_A_DECISION and not r.is_account]
        if previous is None:
            self._write_current(plan)
            return
        # The plan's own outcome per subscription (an AI account's outcome carries its subscription's id too).
        by_sub = {
            o.subscription_id: o
            for o in outcomes
            if o.subscription_id and o.outcome not in NOT_A_DECISION and not o.resource_id
        }
        self._write_current(
            [r for r in plan if not same_state(by_sub[r.subscription_id], previous.get(r.subscription_id))]
        )
        verified_at = utc_now_iso()
        checked: dict[str, set[str]] = {partition: set() for partition in current_partitions()}
        for record in plan:
            checked[current_partition(record.subscription_id)].add(record.subscription_id)
        old = self._markers if self._markers is not None else self._read_markers()
        carried = [
            {"PartitionKey": partition, "RowKey": table_key(sub), "last_verified": marker.verified_at}
            for partition, marker in old.items()
            for sub in marker.subscription_ids - checked.get(partition, set())
            if sub in previous
        ]
        self._write_parallel(self.audit_table, carried, UpdateMode.MERGE)
        markers = {p: VerifiedMarker(verified_at, run_id, frozenset(ids)) for p, ids in checked.items()}
        self._write_parallel(self.audit_table, [verified_entity(p, m) for p, m in markers.items()], UpdateMode.REPLACE)
        self._markers = markers

    def _index_wiring(self, records: Sequence[AuditRecord]) -> None:
        """The newest wiring record per subscription, in its own index partition (what `status --wiring` lists)."""
        newest: dict[str, AuditRecord] = {}
        for record in records:
            if not OutcomeKind(record.outcome).is_wiring:
                continue
            current = newest.get(record.subscription_id)
            if current is None or record.RowKey < current.RowKey:
                newest[record.subscription_id] = record
        self._write_parallel(self.audit_table, [wiring_entity(r) for r in newest.values()], UpdateMode.REPLACE)

    def _index_account_checks(self, outcomes: Sequence[Outcome]) -> None:
        """Each AI account whose setting was read: when, and what it said (core/account_checks.py). A verified
        `Enabled` is always written (its time moves the next read); another state only when it is news."""
        known = self._account_checks
        checks: dict[str, AccountCheck] = {}
        for outcome in outcomes:
            check = check_from_outcome(outcome, utc_now_iso())
            if check is None:
                continue
            previous = known.get(check.key) if known is not None else None
            if check.verified_enabled or known is None or previous is None or previous.state != check.state:
                checks[check.key] = check
        self._write_parallel(self.audit_table, [account_check_entity(c) for c in checks.values()], UpdateMode.REPLACE)
        if known is not None:
            known.update(checks)

    def account_checks(self) -> dict[str, AccountCheck]:
        """Every AI account's last check, by lower-case resource id (the 16 shards read at once)."""
        with ThreadPoolExecutor(max_workers=PARALLEL_WRITES, thread_name_prefix="audit-read") as pool:
            shards = pool.map(
                lambda pk: self._query(self.audit_table, "PartitionKey eq @pk", {"pk": pk}),
                account_check_partitions(),
            )
            checks = [account_check_from_entity(e) for shard in shards for e in shard]
        self._account_checks = {c.key: c for c in checks}
        return dict(self._account_checks)

    def delete_account_checks_before(self, older_than_iso: str, *, deadline: float | None = None) -> int:
        """Delete account check rows last written before this time (accounts deleted since, mostly); how many.

        A row of an account that still exists only costs that account one read at the next sweep, which writes
        it again. Stops between batches once `deadline` (time.monotonic) has passed."""
        deleted = 0
        for partition in account_check_partitions():
            rows = self._query(
                self.audit_table,
                "PartitionKey eq @pk and verified_at lt @cutoff",
                {"pk": partition, "cutoff": older_than_iso},
                select=["PartitionKey", "RowKey"],
            )
            for chunk in batches(rows):
                if deadline is not None and time.monotonic() > deadline:
                    return deleted
                self._submit(self.audit_table, chunk, op="delete")
                deleted += len(chunk)
                self._account_checks = None  # the cache no longer matches the table
        return deleted

    def _write_current(self, records: Sequence[AuditRecord]) -> None:
        newest: dict[str, AuditRecord] = {}
        for record in records:
            if record.is_account:  # one row per subscription: an AI account's decision must not replace it
                continue
            current = newest.get(record.subscription_id)
            if current is None or record.RowKey < current.RowKey:  # smaller RowKey = newer
                newest[record.subscription_id] = record
        verified_at = utc_now_iso()
        entities = [current_entity(r, verified_at=verified_at) for r in newest.values()]
        self._write_parallel(self.audit_table, entities, UpdateMode.MERGE)

    def _write_parallel(self, table: str, entities: Sequence[dict[str, Any]], mode: UpdateMode) -> None:
        """Transactions of one partition each, several partitions at once (the Table service scales by partition)."""
        chunks = list(batches(entities))
        if len(chunks) <= 1:
            for chunk in chunks:
                self._submit(table, chunk, mode)
            return
        with ThreadPoolExecutor(max_workers=min(PARALLEL_WRITES, len(chunks)), thread_name_prefix="audit") as pool:
            for future in [pool.submit(self._submit, table, chunk, mode) for chunk in chunks]:
                future.result()

    def record_run(self, summary: RunSummary) -> None:
        self._submit(self.runs_table, [run_entity(summary)])
        logger.info("Recorded %s run %s in %s", summary.kind, summary.run_id, self.runs_table)

    def set_marker(self, name: str, value: str) -> None:
        self._submit(self.runs_table, [marker_entity(name, value)])

    def marker(self, name: str) -> str | None:
        entities = self._query(
            self.runs_table, "PartitionKey eq @pk and RowKey eq @rk", {"pk": MARKER_PARTITION, "rk": table_key(name)}
        )
        with _decoding(self.runs_table):
            return str(entities[0]["value"]) if entities else None

    def delete_history_before(self, older_than_iso: str, *, deadline: float | None = None) -> int:
        """Delete history rows of decisions that started before this time, in batches; returns how many.

        Stops between batches once `deadline` (time.monotonic) has passed; the next cleanup goes on from there.
        """
        rows = self._query(
            self.audit_table,
            "PartitionKey lt @below and RowKey gt @cutoff",
            {"below": HISTORY_PARTITIONS_BELOW, "cutoff": history_cutoff_key(older_than_iso)},
            select=["PartitionKey", "RowKey"],
        )
        deleted = 0
        for chunk in batches(rows):
            if deadline is not None and time.monotonic() > deadline:
                break
            self._submit(self.audit_table, chunk, op="delete")
            deleted += len(chunk)
        if deleted:
            logger.info("Deleted %d audit record(s) older than %s from %s", deleted, older_than_iso, self.audit_table)
        return deleted

    # -- reads ---------------------------------------------------------------------------------------

    def current_states(self) -> dict[str, AuditRecord]:
        """Every subscription's current state, by subscription id (the 16 shards read at once)."""
        self._ensure_table(self.audit_table)  # once, before the fan-out: a sick store fails one call, not 16
        failed = threading.Event()

        def read(partition: str) -> list[dict[str, Any]]:
            if failed.is_set():  # one failed read is the answer: a sick store is not asked 16 times in a row
                return []
            try:
                return self._query(self.audit_table, "PartitionKey eq @pk", {"pk": partition})
            except AuditStoreError:
                failed.set()
                raise

        with ThreadPoolExecutor(max_workers=PARALLEL_WRITES, thread_name_prefix="audit-read") as pool:
            shards = list(pool.map(read, current_partitions()))
        with _decoding(self.audit_table):
            records, markers = _current_rows([e for shard in shards for e in shard])
        self._markers = markers
        return records

    def _read_markers(self) -> dict[str, VerifiedMarker]:
        entities = self._query(
            self.audit_table,
            "PartitionKey ge @first and PartitionKey le @last and RowKey eq @rk",
            {"first": current_partitions()[0], "last": current_partitions()[-1], "rk": VERIFIED_ROW_KEY},
        )
        with _decoding(self.audit_table):
            return {str(e["PartitionKey"]): marker_from_entity(e) for e in entities}

    def latest_outcomes(self, subscription_id: str | None = None) -> list[AuditRecord]:
        """Each subscription's current state (or one subscription's), failures first."""
        if subscription_id:
            sub = subscription_id.lower()
            entities = self._query(
                self.audit_table,
                "PartitionKey eq @pk and ( RowKey eq @rk or RowKey eq @verified )",  # spaces: the SDK splits on them
                {"pk": current_partition(sub), "rk": table_key(sub), "verified": VERIFIED_ROW_KEY},
            )
            with _decoding(self.audit_table):
                return list(_current_rows(entities)[0].values())
        return failures_first(list(self.current_states().values()))

    def latest_wiring(self) -> list[AuditRecord]:
        """The newest wiring record per subscription (wired, would_wire, already_wired, wiring_failed)."""
        entities = self._query(self.audit_table, "PartitionKey eq @pk", {"pk": WIRING_PARTITION})
        with _decoding(self.audit_table):
            return failures_first([record_from_current(e) for e in entities])

    def history(self, subscription_id: str, limit: int = 50) -> list[AuditRecord]:
        """A subscription's records, newest first."""
        entities = self._query(
            self.audit_table, "PartitionKey eq @pk", {"pk": table_key(subscription_id.lower())}, limit
        )
        with _decoding(self.audit_table):
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
        with _decoding(self.audit_table):
            return AuditRecord.from_entity(entities[0]) if entities else None

    def event_decisions_since(self, subscription_id: str, since_iso: str) -> list[AuditRecord]:
        """This subscription's records made by events since `since_iso`, newest first (the tug-of-war count,
        usecases/drift_events.py: it lives here so that every instance sees the same count)."""
        entities = self._query(
            self.audit_table,
            "PartitionKey eq @pk and RowKey lt @oldest and trigger_kind eq @kind",
            {
                "pk": table_key(subscription_id.lower()),
                "oldest": history_cutoff_key(since_iso),
                "kind": "event",
            },
        )
        return [AuditRecord.from_entity(e) for e in entities]

    def latest_run(self, kind: str) -> RunSummary | None:
        entities = self._query(self.runs_table, "PartitionKey eq @pk", {"pk": table_key(kind)}, limit=1)
        with _decoding(self.runs_table):
            return run_from_entity(entities[0]) if entities else None

    # -- lifetime ------------------------------------------------------------------------------------

    def close(self) -> None:
        self._tables.close()
