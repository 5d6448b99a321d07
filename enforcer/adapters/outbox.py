"""The notification outbox on Table storage (layout: enforcer/core/outbox.py). Never raises: a store that
fails here is logged, and the caller reports the card as not delivered."""

from __future__ import annotations

import logging
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from enforcer.adapters.azure_errors import describe
from enforcer.adapters.tables import TableConnection
from enforcer.core.health import OutboxDepth
from enforcer.core.outbox import OUTBOX_PARTITION, PendingCard, outbox_entity, pending_from_entity

logger = logging.getLogger(__name__)


class TableOutbox:
    """Undelivered cards in one table (the runs table), partition `outbox`. Thread-safe."""

    def __init__(self, tables: TableConnection, table: str) -> None:
        self._tables = tables
        self._table = table

    def __repr__(self) -> str:
        return f"TableOutbox(table={self._table!r})"

    def add(self, card: dict[str, Any], *, kind: str, what: str, original_time: str, error: str) -> bool:
        """Keep a card for later; False (logged at ERROR) when the store cannot take it either."""
        entity = outbox_entity(card, kind=kind, what=what, original_time=original_time, attempts=1, error=error)
        try:
            self._tables.ensure_table(self._table).create_entity(entity)
            return True
        except AzureError as exc:
            logger.error("Teams card for %s lost: not delivered (%s) and not kept (%s)", what, error, describe(exc))
            return False

    def pending(self, limit: int) -> list[PendingCard]:
        """The oldest `limit` cards (RowKeys sort by the time each was first due)."""
        try:
            client = self._tables.ensure_table(self._table)
            pages = client.query_entities(
                "PartitionKey eq @pk", parameters={"pk": OUTBOX_PARTITION}, results_per_page=limit
            ).by_page()
            for page in pages:
                return [pending_from_entity(dict(e)) for e in page][:limit]
        except AzureError as exc:
            logger.warning("cannot read the Teams outbox: %s", describe(exc))
        except (ValueError, KeyError) as exc:
            logger.warning("unreadable row in the Teams outbox: %s", type(exc).__name__)
        return []

    def count(self) -> int | None:
        """How many cards wait (None when the store does not answer)."""
        try:
            client = self._tables.ensure_table(self._table)
            rows = client.query_entities("PartitionKey eq @pk", parameters={"pk": OUTBOX_PARTITION}, select=["RowKey"])
            return sum(1 for _ in rows)
        except AzureError as exc:
            logger.warning("cannot count the Teams outbox: %s", describe(exc))
            return None
        except (ValueError, TypeError, KeyError) as exc:  # a row the SDK cannot decode
            logger.warning("unreadable row in the Teams outbox: %s", type(exc).__name__)
            return None

    def depth(self) -> OutboxDepth:
        """The OutboxGauge port (metrics, `health`): how many cards wait and since when the oldest is due.
        Raises when the store does not answer, so `health` can say it could not read it."""
        count = self.count()
        if count is None:
            raise RuntimeError(f"cannot read the Teams outbox in table {self._table!r}")
        oldest = self.pending(1)
        return OutboxDepth(pending=count, oldest_enqueued_at=oldest[0].original_time if oldest else None)

    def delivered(self, card: PendingCard) -> None:
        try:
            self._tables.ensure_table(self._table).delete_entity(OUTBOX_PARTITION, card.row_key)
        except ResourceNotFoundError:
            pass
        except AzureError as exc:  # it will be sent once more: a card twice beats a card lost
            logger.warning("delivered Teams card not removed from the outbox: %s", describe(exc))

    def attempted(self, card: PendingCard, error: str) -> None:
        try:
            self._tables.ensure_table(self._table).upsert_entity(
                {
                    "PartitionKey": OUTBOX_PARTITION,
                    "RowKey": card.row_key,
                    "attempts": card.attempts + 1,
                    "last_error": error[:300],
                },
                mode=UpdateMode.MERGE,
            )
        except AzureError as exc:
            logger.warning("Teams outbox row not updated: %s", describe(exc))
