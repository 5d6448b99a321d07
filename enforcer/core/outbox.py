"""The notification outbox (pure): a card that could not be delivered is kept as a row and re-sent later.

Rows live in the runs table, partition `outbox`, RowKey = the time the card was first due plus a random suffix,
so the Table service returns them oldest first. A re-sent card says when it was first due.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any, Final

from enforcer.core.records import SCHEMA_VERSION, table_key
from enforcer.core.text import clip

OUTBOX_PARTITION: Final = "outbox"
# Cards re-sent per flush: a long outage's backlog drains over a few runs instead of holding one.
FLUSH_BATCH: Final = 20
_MAX_ERROR: Final = 300


@dataclass(frozen=True)
class PendingCard:
    row_key: str
    card: dict[str, Any]
    kind: str  # "outcome" or "digest"
    what: str  # for logs: "subscription <id>", "sweep run <id>"
    original_time: str
    attempts: int


def outbox_entity(
    card: dict[str, Any], *, kind: str, what: str, original_time: str, attempts: int, error: str
) -> dict[str, Any]:
    return {
        "PartitionKey": OUTBOX_PARTITION,
        "RowKey": table_key(f"{original_time}-{uuid.uuid4().hex[:12]}"),  # an ISO time: kept, so rows sort by it
        "card": json.dumps(card, ensure_ascii=False, separators=(",", ":")),
        "kind": kind,
        "what": clip(what, 200),
        "original_time": original_time,
        "attempts": attempts,
        "last_error": clip(error, _MAX_ERROR),
        "schema_version": SCHEMA_VERSION,
    }


def pending_from_entity(entity: dict[str, Any]) -> PendingCard:
    return PendingCard(
        row_key=str(entity["RowKey"]),
        card=json.loads(str(entity["card"])),
        kind=str(entity.get("kind") or "outcome"),
        what=str(entity.get("what") or ""),
        original_time=str(entity.get("original_time") or ""),
        attempts=int(entity.get("attempts") or 0),
    )


def late_card(pending: PendingCard) -> dict[str, Any]:
    """The card as first built, headed by a line saying when it was first due (it is delivered late)."""
    card = copy.deepcopy(pending.card)
    note = {
        "type": "TextBlock",
        "text": (
            f"Delivered late: first due at {pending.original_time} UTC; Teams could not be reached then "
            f"(delivery attempt {pending.attempts + 1})."
        ),
        "wrap": True,
        "isSubtle": True,
        "color": "Warning",
    }
    card["body"] = [note, *card.get("body", [])]
    return card


def pending_note(count: int) -> str:
    """The digest's line about cards still waiting in the outbox."""
    return f"{count} Teams card(s) from earlier runs still pending delivery (kept; re-sent by the next run)"
