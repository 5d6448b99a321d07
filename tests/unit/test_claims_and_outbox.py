"""The pure parts of event claims and the notification outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from enforcer.core.claims import claim_entity, claim_row_key, done_entity, is_expired
from enforcer.core.outbox import late_card, outbox_entity, pending_from_entity
from enforcer.core.records import HASHED_KEY_PREFIX, table_key

SUB = "5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_a_claim_is_keyed_by_subscription_and_event_id_with_table_safe_characters():
    assert claim_row_key("evt/1#?", SUB.upper()) == table_key(f"{SUB}|evt/1#?") != claim_row_key("evt_1__", SUB)
    assert claim_row_key("evt-1", SUB.upper()) == f"{SUB}|evt-1"
    assert claim_row_key("e", SUB) != claim_row_key("e", "00000000-0000-4000-8000-000000000000")
    long_key = claim_row_key("x" * 5000, SUB)
    assert len(long_key) < 200 and long_key.startswith(HASHED_KEY_PREFIX)


def test_a_claim_expires_after_its_lease_unless_done():
    entity = claim_entity("e", SUB, "host:1", now=NOW, lease_seconds=600)
    assert not is_expired(entity, NOW + timedelta(seconds=599))
    assert is_expired(entity, NOW + timedelta(seconds=601))
    done = {**entity, **done_entity("e", SUB, "remediated", now=NOW)}
    assert not is_expired(done, NOW + timedelta(days=2))
    assert is_expired({**entity, "lease_until": "garbage"}, NOW)


def test_a_late_card_says_when_it_was_first_due_and_keeps_the_original():
    card = {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "Remediated"}]}
    entity = outbox_entity(
        card,
        kind="outcome",
        what="subscription x",
        original_time="2026-11-30T10:00:00.000Z",
        attempts=1,
        error="HTTP 500",
    )
    pending = pending_from_entity(entity)
    assert entity["RowKey"].startswith("2026-11-30T10:00:00.000Z-")  # oldest first
    late = late_card(pending)
    assert late["body"][0]["text"].startswith("Delivered late: first due at 2026-11-30T10:00:00.000Z UTC")
    assert late["body"][1:] == card["body"]
    assert pending.card == card  # not changed in place
