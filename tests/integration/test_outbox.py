"""Durable notifications: a card Teams did not take is kept in Table storage and delivered by the next run."""

from __future__ import annotations

import json
import uuid

import pytest

from enforcer.adapters.teams import TeamsNotifier
from enforcer.usecases.record import run_enforcement
from enforcer.usecases.sweep import sweep
from tests.integration.helpers import services_for

pytestmark = pytest.mark.integration


def notifier(url: str, cooldown: float = 60.0) -> TeamsNotifier:
    return TeamsNotifier(url, retry_total=1, retry_backoff_factor=0.01, total_timeout=3, cooldown_seconds=cooldown)


def test_a_card_whose_delivery_failed_is_delivered_by_the_next_run(emulator, audit_store, webhook_sink):
    free = str(uuid.uuid4())
    emulator.add_subscription(free, display_name="late-card-sub")
    webhook_sink.set_mode("fail_500")
    first = services_for(emulator.url, audit=audit_store, notifier=notifier(webhook_sink.url))

    outcomes, summary = run_enforcement(first, [free])

    assert outcomes[0].outcome.value == "remediated"
    assert "queued for the next run" in (outcomes[0].notification or "")
    assert webhook_sink.accepted == []
    # The card and the digest are both kept (the digest after the breaker opened: queued, not dropped).
    assert first.notifier is not None and first.notifier.flush_outbox() == 2

    webhook_sink.set_mode("ok")
    second = services_for(emulator.url, audit=audit_store, notifier=notifier(webhook_sink.url))
    _, second_summary = run_enforcement(second, [free])  # compliant now: nothing new to say

    delivered = [json.dumps(m) for m in webhook_sink.accepted]
    assert len(delivered) == 2
    assert "late-card-sub" in delivered[0] and "Delivered late: first due at" in delivered[0]  # oldest first
    assert summary.run_id in delivered[1]  # the first run's digest
    assert second.notifier is not None and second.notifier.flush_outbox() == 0
    assert not any("pending" in note for note in second_summary.notes)


def test_the_digest_says_how_many_cards_are_still_pending(emulator, audit_store, webhook_sink):
    subs = [str(uuid.uuid4()) for _ in range(3)]
    for sub in subs:
        emulator.add_subscription(sub)
    webhook_sink.set_mode("down")
    run_enforcement(services_for(emulator.url, audit=audit_store, notifier=notifier(webhook_sink.url)), subs[:2])
    # Still down: the new run's card is kept too, and its digest counts what waits.
    _, summary = run_enforcement(
        services_for(emulator.url, audit=audit_store, notifier=notifier(webhook_sink.url)), subs[2:]
    )
    assert [n for n in summary.notes if "pending" in n] == [
        "4 Teams card(s) from earlier runs still pending delivery (kept; re-sent by the next run)"
    ]

    webhook_sink.set_mode("ok")
    result = sweep(services_for(emulator.url, audit=audit_store, notifier=notifier(webhook_sink.url)))

    late = [json.dumps(m) for m in webhook_sink.accepted if "Delivered late" in json.dumps(m)]
    assert len(late) == 5  # three cards, two digests, oldest first
    assert "4 Teams card(s)" in late[-1] and summary.run_id in late[-1]
    assert [n for n in result.summary.notes if "pending" in n] == []


def test_an_event_delivers_waiting_cards_at_most_once_every_few_minutes(emulator, audit_store, webhook_sink):
    from enforcer.core.events import Route
    from enforcer.usecases.handle_event import handle_event
    from tests.events.samples import SUBSCRIPTION, sample

    free = str(uuid.uuid4())
    emulator.add_subscription(free, display_name="queued-by-a-run")
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team")
    webhook_sink.set_mode("down")
    run_enforcement(services_for(emulator.url, audit=audit_store, notifier=notifier(webhook_sink.url)), [free])

    webhook_sink.set_mode("ok")
    services = services_for(emulator.url, audit=audit_store, notifier=notifier(webhook_sink.url))
    handle_event(sample("resource-write-cognitive-account.eventgrid.json"), Route.ANY, services)

    delivered = [json.dumps(m) for m in webhook_sink.accepted]
    late = [d for d in delivered if "Delivered late" in d]
    assert len(late) == 2 and all("queued-by-a-run" in d for d in late)  # the run's card and its digest
    assert sum("ai-team" in d and "Delivered late" not in d for d in delivered) == 1  # the event's own card
    requests = len(webhook_sink.requests)
    handle_event(
        {**sample("resource-write-cognitive-account.eventgrid.json"), "id": str(uuid.uuid4())}, Route.ANY, services
    )
    assert len(webhook_sink.requests) == requests  # compliant now: no card, and no second look at the outbox yet
