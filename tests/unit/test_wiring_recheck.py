"""Which wired subscriptions the sweep may skip reading again (pure, literals)."""

from __future__ import annotations

from datetime import UTC, datetime

from enforcer.core.wiring import recently_verified

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_only_wired_records_younger_than_the_window_are_skipped():
    states = [
        ("a", "wired", "2026-12-01T11:00:00.000Z"),
        ("b", "already_wired", "2026-11-30T13:00:00.000Z"),
        ("c", "already_wired", "2026-11-30T11:59:00.000Z"),  # just over 24 h: read again
        ("d", "wiring_failed", "2026-12-01T11:59:00.000Z"),  # failed: always tried again
        ("e", "would_wire", "2026-12-01T11:59:00.000Z"),
        ("f", "wired", "not a time"),
    ]
    assert recently_verified(states, NOW) == {"a", "b"}
    assert recently_verified(states, NOW, hours=2) == {"a"}
