"""TeamsNotifier against a local webhook sink over loopback HTTP."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from enforcer.adapters.teams import TeamsNotifier
from enforcer.core.cards import digest_card, outcome_card, teams_message
from enforcer.core.models import Mode, Outcome, OutcomeKind, RunSummary
from enforcer.core.settings import Settings
from localdev.webhook_sink import WebhookSink
from tests.audit.builders import make_outcome

pytestmark = pytest.mark.integration

RETRIES = 2


def notifier_for(sink: WebhookSink, **options: Any) -> TeamsNotifier:
    defaults: dict[str, Any] = {"retry_total": RETRIES, "retry_backoff_factor": 0.01, "cooldown_seconds": 0}
    return TeamsNotifier(sink.url, **(defaults | options))


def test_remediation_card_is_sent(webhook_sink: WebhookSink) -> None:
    outcome = make_outcome(OutcomeKind.REMEDIATED)
    with notifier_for(webhook_sink) as notifier:
        assert notifier.notify_outcome(outcome) == "sent"
    assert webhook_sink.accepted == [teams_message(outcome_card(outcome))]


@pytest.mark.parametrize("kind", [OutcomeKind.FAILED, OutcomeKind.PARTIALLY_FAILED, OutcomeKind.WOULD_REMEDIATE])
def test_failures_and_audit_mode_changes_are_sent(webhook_sink: WebhookSink, kind: OutcomeKind) -> None:
    with notifier_for(webhook_sink) as notifier:
        assert notifier.notify_outcome(make_outcome(kind)) == "sent"
    assert len(webhook_sink.accepted) == 1


@pytest.mark.parametrize(
    "kind", [OutcomeKind.COMPLIANT, OutcomeKind.EXCLUDED, OutcomeKind.IGNORED, OutcomeKind.REJECTED]
)
def test_quiet_outcomes_send_nothing(webhook_sink: WebhookSink, kind: OutcomeKind) -> None:
    with notifier_for(webhook_sink) as notifier:
        assert notifier.notify_outcome(make_outcome(kind)) == "not_needed"
    assert webhook_sink.requests == []


def test_webhook_answering_500_is_retried_then_reported(webhook_sink: WebhookSink) -> None:
    webhook_sink.set_mode("fail_500")
    with notifier_for(webhook_sink) as notifier:
        status = notifier.notify_outcome(make_outcome(OutcomeKind.FAILED))
    assert status.startswith("failed: HTTP 500")
    assert len(webhook_sink.requests) == RETRIES + 1


def test_webhook_answering_429_to_everything_honours_retry_after_then_reports(webhook_sink: WebhookSink) -> None:
    webhook_sink.set_mode("throttle_429")  # Retry-After: 1
    with notifier_for(webhook_sink) as notifier:
        status = notifier.notify_outcome(make_outcome(OutcomeKind.REMEDIATED))
    assert status.startswith("failed: HTTP 429")
    arrivals = [r.received_at for r in webhook_sink.requests]
    assert len(arrivals) == RETRIES + 1
    # The backoff alone would be ~0.01 s; each retry waited for the server's Retry-After instead.
    assert all(later - earlier >= 0.9 for earlier, later in itertools.pairwise(arrivals))


def test_legacy_connector_200_with_a_429_inside_is_a_failure(webhook_sink: WebhookSink) -> None:
    webhook_sink.set_mode("legacy_429")
    with notifier_for(webhook_sink) as notifier:
        status = notifier.notify_outcome(make_outcome(OutcomeKind.REMEDIATED))
    assert status == "failed: Teams refused the message (legacy connector: HTTP 429)"
    assert len(webhook_sink.requests) == RETRIES + 1


def test_webhook_down_is_reported_not_raised(webhook_sink: WebhookSink) -> None:
    webhook_sink.set_mode("down")
    with notifier_for(webhook_sink) as notifier:
        status = notifier.notify_outcome(make_outcome(OutcomeKind.FAILED))
        assert status == "failed: webhook unreachable (connection refused or failed)"
        webhook_sink.set_mode("ok")
        assert notifier.notify_outcome(make_outcome(OutcomeKind.FAILED)) == "sent"


def test_after_a_failure_the_next_cards_fail_fast_for_a_while(webhook_sink: WebhookSink) -> None:
    webhook_sink.set_mode("fail_500")
    with notifier_for(webhook_sink, cooldown_seconds=600) as notifier:
        assert notifier.notify_outcome(make_outcome(OutcomeKind.REMEDIATED, 1)).startswith("failed: HTTP 500")
        attempts = len(webhook_sink.requests)
        webhook_sink.set_mode("ok")
        second = notifier.notify_outcome(make_outcome(OutcomeKind.REMEDIATED, 2))
    assert second.startswith("failed: skipped")
    assert len(webhook_sink.requests) == attempts


def test_the_breaker_never_silences_failure_cards_or_the_digest(webhook_sink: WebhookSink) -> None:
    """Without an outbox to keep them, failure cards and the digest are tried even while the breaker is open."""
    webhook_sink.set_mode("fail_500")
    failed = make_outcome(OutcomeKind.FAILED, 2)
    summary = RunSummary.from_outcomes("run-1", "sweep", Mode.ENFORCE, "2025-06-01T10:00:00Z", [failed], 10.0)
    with notifier_for(webhook_sink, cooldown_seconds=600) as notifier:
        assert notifier.notify_outcome(make_outcome(OutcomeKind.REMEDIATED, 1)).startswith("failed: HTTP 500")
        webhook_sink.set_mode("ok")
        assert notifier.notify_outcome(failed) == "sent"
        assert notifier.notify_digest(summary, [failed]) == "sent"


def test_digest_only_when_something_changed_or_failed(webhook_sink: WebhookSink) -> None:
    quiet = [make_outcome(OutcomeKind.COMPLIANT, n) for n in range(5)]
    busy = [*quiet, make_outcome(OutcomeKind.REMEDIATED, 9)]

    def summary(outcomes: list[Outcome]) -> RunSummary:
        return RunSummary.from_outcomes("run-1", "sweep", Mode.ENFORCE, "2025-06-01T10:00:00Z", outcomes, 10.0)

    with notifier_for(webhook_sink) as notifier:
        assert notifier.notify_digest(summary(quiet), quiet) == "not_needed"
        assert notifier.notify_digest(summary(busy), busy) == "sent"
    assert webhook_sink.accepted == [teams_message(digest_card(summary(busy), busy))]


def test_a_500_subscription_digest_is_accepted_by_the_size_checking_sink(webhook_sink: WebhookSink) -> None:
    outcomes = [make_outcome(OutcomeKind.FAILED if n % 2 else OutcomeKind.REMEDIATED, n) for n in range(500)]
    summary = RunSummary.from_outcomes("run-500", "sweep", Mode.ENFORCE, "2025-06-01T10:00:00Z", outcomes, 10.0)
    with notifier_for(webhook_sink) as notifier:
        assert notifier.notify_digest(summary, outcomes) == "sent"
    (request,) = webhook_sink.requests
    assert request.status == 202 and len(request.body) < 28 * 1024


def test_from_settings() -> None:
    assert TeamsNotifier.from_settings(Settings.from_env({})) is None
    with WebhookSink() as sink:
        notifier = TeamsNotifier.from_settings(Settings.from_env({"ENFORCER_TEAMS_WEBHOOK_URL": sink.url}))
        assert notifier is not None
        assert sink.url not in repr(notifier)
        notifier.close()


@pytest.mark.timeout(30)
def test_a_long_retry_after_is_capped_so_a_handler_cannot_stall() -> None:
    with WebhookSink("throttle_429", retry_after="120") as sink:
        with notifier_for(sink, max_retry_after=0.2) as notifier:
            assert notifier.notify_outcome(make_outcome(OutcomeKind.FAILED)).startswith("failed: HTTP 429")
        arrivals = [r.received_at for r in sink.requests]
    assert len(arrivals) == RETRIES + 1
    assert all(later - earlier < 60 for earlier, later in itertools.pairwise(arrivals))  # not the 120 s asked
