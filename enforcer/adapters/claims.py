"""Event claims on Table storage (layout: enforcer/core/claims.py): an atomic insert, or the takeover of an
expired claim with an ETag-conditional update. Every failure to reach the store raises AuditStoreError, so the
event is not acted on (and its trigger retries it)."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from enforcer.adapters.audit_store import UNREADABLE_ROW, AuditStoreError
from enforcer.adapters.azure_errors import describe
from enforcer.adapters.tables import MAX_BATCH_OPERATIONS, RETRY_ON_ALL_METHODS, TableConnection
from enforcer.core.claims import (
    CLAIM_LEASE_SECONDS,
    CLAIM_PARTITION,
    DONE,
    Claim,
    claim_entity,
    claim_row_key,
    done_entity,
    is_expired,
)
from enforcer.core.errors import ClaimRefusedError
from enforcer.core.sweep_plan import chunked

logger = logging.getLogger(__name__)


def _holder() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class TableEventClaims:
    """Claims in one table (the runs table), partition `claim`. Thread-safe (the TableConnection is)."""

    def __init__(self, tables: TableConnection, table: str, *, lease_seconds: float = CLAIM_LEASE_SECONDS) -> None:
        self._tables = tables
        self._table = table
        self._lease = lease_seconds

    def __repr__(self) -> str:
        return f"TableEventClaims(table={self._table!r})"

    def claim(self, event_id: str, subscription_id: str) -> Claim:
        """Acquire the claim, or say who has it (and the outcome once done). AuditStoreError when unreachable;
        ClaimRefusedError when the store answers that this claim is invalid input (400)."""
        holder = _holder()
        now = datetime.now(UTC)
        entity = claim_entity(event_id, subscription_id, holder, now=now, lease_seconds=self._lease)
        try:
            client = self._tables.ensure_table(self._table)
            try:
                meta = client.create_entity(entity)
                return Claim(event_id, subscription_id, True, etag=str(meta.get("etag") or ""), holder=holder)
            except ResourceExistsError:
                pass
            try:
                existing = client.get_entity(CLAIM_PARTITION, claim_row_key(event_id, subscription_id))
            except ResourceNotFoundError:  # released in between: try once more from the start
                meta = client.create_entity(entity)
                return Claim(event_id, subscription_id, True, etag=str(meta.get("etag") or ""), holder=holder)
            if existing.get("state") == DONE:
                return Claim(event_id, subscription_id, False, outcome=str(existing.get("outcome") or "handled"))
            if not is_expired(dict(existing), now):
                return Claim(event_id, subscription_id, False, holder=str(existing.get("holder") or ""))
            etag = existing.metadata.get("etag")
            try:
                meta = client.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
            except (HttpResponseError, ResourceExistsError) as exc:
                if getattr(exc, "status_code", None) in (409, 412):  # another delivery took it over first
                    return Claim(event_id, subscription_id, False, holder="another delivery")
                raise
            logger.warning(
                "event claim taken over: id=%s subscription=%s (the lease of %s had run out)",
                event_id,
                subscription_id,
                existing.get("holder"),
            )
            return Claim(event_id, subscription_id, True, etag=str(meta.get("etag") or ""), holder=holder)
        except HttpResponseError as exc:
            if exc.status_code == 400:  # the store answered: it is this event's claim it refuses, not the store
                raise ClaimRefusedError(
                    f"the audit store refused the event's claim in table {self._table!r}: {describe(exc)}"
                ) from exc
            raise AuditStoreError(f"cannot claim the event in table {self._table!r}: {describe(exc)}") from exc
        except AzureError as exc:
            raise AuditStoreError(f"cannot claim the event in table {self._table!r}: {describe(exc)}") from exc
        except UnicodeError as exc:  # a value no store can take as text
            raise ClaimRefusedError(f"the event's claim cannot be written as text ({type(exc).__name__})") from exc
        except UNREADABLE_ROW as exc:  # a claim row the enforcer did not write: the store is not trusted
            raise AuditStoreError(
                f"cannot claim the event in table {self._table!r}: its claim row is unreadable ({type(exc).__name__})"
            ) from exc

    def complete(self, claim: Claim, outcome: str) -> None:
        """Write the outcome into the claim, so later duplicates are answered from it (logged, never raises)."""
        try:
            client = self._tables.ensure_table(self._table)
            client.upsert_entity(
                done_entity(claim.event_id, claim.subscription_id, outcome, now=datetime.now(UTC)),
                mode=UpdateMode.MERGE,
            )
        except AzureError as exc:  # the audit record exists; a duplicate is still found through it
            logger.warning("event claim not completed (%s); its lease expires on its own", describe(exc))

    def release(self, claim: Claim) -> None:
        """Give the claim back (the work failed): the next delivery acts. Logged, never raises."""
        try:
            client = self._tables.ensure_table(self._table)
            client.delete_entity(
                CLAIM_PARTITION,
                claim_row_key(claim.event_id, claim.subscription_id),
                etag=claim.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except AzureError as exc:
            logger.warning("event claim not released (%s); its lease expires on its own", describe(exc))

    def purge(self, older_than_iso: str, *, deadline: float | None = None) -> int:
        """Delete claims made before this time, in transactions of 100; stops between batches after `deadline`
        (time.monotonic). Returns how many were deleted; AuditStoreError when the store does not answer."""
        try:
            client = self._tables.ensure_table(self._table)
            rows = [
                {"PartitionKey": CLAIM_PARTITION, "RowKey": str(e["RowKey"])}
                for e in client.query_entities(
                    "PartitionKey eq @pk and claimed_at lt @cutoff",
                    parameters={"pk": CLAIM_PARTITION, "cutoff": older_than_iso},
                    select=["RowKey"],
                )
            ]
            deleted = 0
            for chunk in chunked(rows, MAX_BATCH_OPERATIONS):
                if deadline is not None and time.monotonic() > deadline:
                    break
                client.submit_transaction([("delete", row) for row in chunk], retry_on_methods=RETRY_ON_ALL_METHODS)
                deleted += len(chunk)
        except AzureError as exc:
            raise AuditStoreError(f"cannot purge old event claims in table {self._table!r}: {describe(exc)}") from exc
        return deleted

    def close(self) -> None:
        """The connection belongs to the audit store, which closes it."""
