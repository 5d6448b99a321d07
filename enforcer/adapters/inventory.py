"""The sweep's inventory: every subscription the identity can see, and which of them were seen before.

Known subscription ids live in the runs table under PartitionKey `inventory` (RowKey = subscription id),
so a subscription that appears between two sweeps is recognised as new. Writes are upserts in
transactions of at most 100 entities (one partition), which are idempotent and therefore safe to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import AzureError

from enforcer.adapters.azure_errors import describe
from enforcer.adapters.closing import ClosesOnExit
from enforcer.adapters.tables import MAX_BATCH_OPERATIONS, RETRY_ON_ALL_METHODS, TableConnection
from enforcer.core.errors import InventoryError
from enforcer.core.settings import Settings
from enforcer.core.sweep_plan import chunked

if TYPE_CHECKING:
    from azure.data.tables import TableClient

logger = logging.getLogger(__name__)

INVENTORY_PARTITION: Final = "inventory"


class InventoryStore(ClosesOnExit):
    """Known subscription ids in the runs table. Create with `from_settings`; use as a context manager."""

    def __init__(self, storage: str | TableConnection, table: str, **connection_options: Any) -> None:
        """`storage` is ENFORCER_STORAGE or a connection shared with the audit store (enforcer/adapters/tables.py)."""
        self._owns_tables = not isinstance(storage, TableConnection)
        self._tables = (
            storage if isinstance(storage, TableConnection) else TableConnection(storage, **connection_options)
        )
        self.table = table

    @classmethod
    def from_settings(cls, settings: Settings) -> InventoryStore | None:
        if not settings.storage:
            return None
        return cls(settings.storage, settings.runs_table)

    def __repr__(self) -> str:  # never show the connection string
        return f"InventoryStore(table={self.table!r})"

    def _table(self) -> TableClient:
        try:
            return self._tables.ensure_table(self.table)
        except AzureError as error:
            raise InventoryError(f"cannot open table {self.table!r}: {describe(error)}") from error

    def known(self) -> set[str]:
        """Every subscription id recorded so far (empty before the first sweep)."""
        client = self._table()
        try:
            entities = client.query_entities(
                "PartitionKey eq @pk", parameters={"pk": INVENTORY_PARTITION}, select=["RowKey"]
            )
            return {str(e["RowKey"]) for e in entities}
        except AzureError as error:
            raise InventoryError(f"cannot read the inventory in table {self.table!r}: {describe(error)}") from error

    def remember(self, subscription_ids: Iterable[str]) -> int:
        """Record these ids as known (upserts); returns how many were written."""
        seen_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        ids = sorted({s.lower() for s in subscription_ids})
        if not ids:
            return 0
        client = self._table()
        from azure.data.tables import UpdateMode

        for chunk in chunked(ids, MAX_BATCH_OPERATIONS):
            operations = [
                (
                    "upsert",
                    {"PartitionKey": INVENTORY_PARTITION, "RowKey": sub, "seen_at": seen_at},
                    {"mode": UpdateMode.MERGE},
                )
                for sub in chunk
            ]
            try:
                client.submit_transaction(operations, retry_on_methods=RETRY_ON_ALL_METHODS)
            except AzureError as error:
                raise InventoryError(
                    f"cannot write {len(chunk)} inventory row(s) to table {self.table!r}: {describe(error)}"
                ) from error
        return len(ids)

    def close(self) -> None:
        if self._owns_tables:
            self._tables.close()


__all__ = ["InventoryError", "InventoryStore"]
