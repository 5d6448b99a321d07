"""Claims on events: one action per (event id, subscription), across every instance (pure: keys and entities).

A claim is a row in the runs table, partition `claim`, inserted before the event is acted on. The insert is
atomic (it fails when the row exists), so of any number of concurrent deliveries exactly one acts. The winner
writes the outcome into its claim when done, and a later duplicate is answered from it. A claim whose lease has
run out (its holder died) can be taken over with an ETag-conditional update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from enforcer.core.records import SCHEMA_VERSION, table_key

CLAIM_PARTITION: Final = "claim"
# Far longer than one event's work (its ARM calls share a 20 s deadline), so only a dead holder's claim expires.
CLAIM_LEASE_SECONDS: Final = 600.0
# Done claims answer duplicates; Event Grid redelivers for at most 24 h, so after twice that they only take room.
CLAIM_KEEP_HOURS: Final = 48.0
_MAX_KEY: Final = 200
ACTIVE: Final = "active"
DONE: Final = "done"


@dataclass(frozen=True)
class Claim:
    """The answer to "may I act on this event for this subscription?".

    `acquired`: this caller holds the claim and must act, then complete or release it (`etag` is its version).
    Otherwise `outcome` is the earlier delivery's outcome, or None while another delivery is still acting.
    """

    event_id: str
    subscription_id: str
    acquired: bool
    outcome: str | None = None
    etag: str | None = None
    holder: str | None = None


def claim_row_key(event_id: str, subscription_id: str) -> str:
    """The claim's RowKey: subscription and event id, made a valid key by `table_key` (hashed when the id holds
    what the Table service refuses, or is long)."""
    return table_key(f"{subscription_id.lower()}|{event_id}")


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def claim_entity(
    event_id: str, subscription_id: str, holder: str, *, now: datetime, lease_seconds: float = CLAIM_LEASE_SECONDS
) -> dict[str, Any]:
    return {
        "PartitionKey": CLAIM_PARTITION,
        "RowKey": claim_row_key(event_id, subscription_id),
        "event_id": event_id[:_MAX_KEY],
        "subscription_id": subscription_id.lower(),
        "state": ACTIVE,
        "holder": holder,
        "claimed_at": _iso(now),
        "lease_until": _iso(now + timedelta(seconds=lease_seconds)),
        "outcome": "",
        "schema_version": SCHEMA_VERSION,
    }


def done_entity(event_id: str, subscription_id: str, outcome: str, *, now: datetime) -> dict[str, Any]:
    return {
        "PartitionKey": CLAIM_PARTITION,
        "RowKey": claim_row_key(event_id, subscription_id),
        "state": DONE,
        "outcome": outcome,
        "done_at": _iso(now),
    }


def is_expired(entity: dict[str, Any], now: datetime) -> bool:
    """An active claim whose lease has run out (a done claim never expires: it answers duplicates)."""
    if entity.get("state") == DONE:
        return False
    try:
        until = datetime.fromisoformat(str(entity.get("lease_until", "")).replace("Z", "+00:00"))
    except ValueError:
        return True
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    return until <= now
