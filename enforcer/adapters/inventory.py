"""The sweep's inventory: every subscription the identity can see, and which of them were seen before.

Known subscription ids live in the runs table under PartitionKey `inventory` (RowKey = subscription id),
so a subscription that appears between two sweeps is recognised as new. Writes are upserts in
transactions of at most 100 entities (one partition), which are idempotent and therefore safe to retry.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError

from enforcer.adapters.closing import ClosesOnExit
from enforcer.core.errors import EnforcementError
from enforcer.core.settings import Settings, validate_endpoint

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.data.tables import TableClient

logger = logging.getLogger(__name__)

INVENTORY_PARTITION: Final = "inventory"
MAX_BATCH: Final = 100
# Upserts are idempotent, so a $batch POST may be retried like a PUT (azure-core does not retry POST by default).
_RETRY_METHODS: Final = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST", "PATCH", "MERGE"})


class InventoryError(RuntimeError):
    """The inventory could not be read or written; the message names the table and the status only."""


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _describe(error: AzureError) -> str:
    if isinstance(error, HttpResponseError):
        return f"HTTP {error.status_code}"
    return type(error).__name__


class InventoryStore(ClosesOnExit):
    """Known subscription ids in the runs table. Create with `from_settings`; use as a context manager."""

    def __init__(self, storage: str, table: str, *, credential: TokenCredential | None = None) -> None:
        storage = storage.strip()
        self._is_url = "://" in storage and "=" not in storage.split("?", 1)[0]
        self._storage = validate_endpoint("ENFORCER_STORAGE", storage) if self._is_url else storage
        self.table = table
        self._credential = credential
        self._lock = threading.Lock()
        self._client: TableClient | None = None
        self._table_ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> InventoryStore | None:
        if not settings.storage:
            return None
        return cls(settings.storage, settings.runs_table)

    def __repr__(self) -> str:  # never show the connection string
        return f"InventoryStore(table={self.table!r})"

    def _table(self) -> TableClient:
        from azure.data.tables import TableClient

        with self._lock:
            if self._client is None:
                options: dict[str, Any] = {"retry_total": 4, "retry_backoff_factor": 0.5, "retry_backoff_max": 8}
                if self._is_url:
                    if self._credential is None:
                        from azure.identity import DefaultAzureCredential

                        self._credential = DefaultAzureCredential()
                    self._client = TableClient(
                        endpoint=self._storage, table_name=self.table, credential=self._credential, **options
                    )
                else:
                    self._client = TableClient.from_connection_string(self._storage, table_name=self.table, **options)
            if not self._table_ready:
                try:
                    self._client.create_table()
                except ResourceExistsError:
                    pass
                except AzureError as error:
                    raise InventoryError(f"cannot open table {self.table!r}: {_describe(error)}") from error
                self._table_ready = True
            return self._client

    def known(self) -> set[str]:
        """Every subscription id recorded so far (empty before the first sweep)."""
        client = self._table()
        try:
            entities = client.query_entities(
                "PartitionKey eq @pk", parameters={"pk": INVENTORY_PARTITION}, select=["RowKey"]
            )
            return {str(e["RowKey"]) for e in entities}
        except AzureError as error:
            raise InventoryError(f"cannot read the inventory in table {self.table!r}: {_describe(error)}") from error

    def remember(self, subscription_ids: Iterable[str]) -> int:
        """Record these ids as known (upserts); returns how many were written."""
        seen_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        ids = sorted({s.lower() for s in subscription_ids})
        if not ids:
            return 0
        client = self._table()
        from azure.data.tables import UpdateMode

        for chunk in chunks(ids, MAX_BATCH):
            operations = [
                (
                    "upsert",
                    {"PartitionKey": INVENTORY_PARTITION, "RowKey": sub, "seen_at": seen_at},
                    {"mode": UpdateMode.MERGE},
                )
                for sub in chunk
            ]
            try:
                client.submit_transaction(operations, retry_on_methods=_RETRY_METHODS)
            except AzureError as error:
                raise InventoryError(
                    f"cannot write {len(chunk)} inventory row(s) to table {self.table!r}: {_describe(error)}"
                ) from error
        return len(ids)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            self._table_ready = False


__all__ = ["EnforcementError", "InventoryError", "InventoryStore", "chunks"]
