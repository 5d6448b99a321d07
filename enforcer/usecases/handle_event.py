"""Handle one Event Grid event: parse, scope, claim, enforce, record, notify. A malformed event never raises.

Both the functions (handlers/events.py) and `python -m enforcer handle-event` run this. After the plan: the
event wiring of a new subscription (usecases/wire_events.py); beside it, at once: the AI account the event names
(usecases/protect_accounts.py), each with a record of its own. Writes by anyone to the plan or to an account's
own switch go to usecases/drift_events.py (issue 19). `handle_event_outcomes` returns every outcome;
`handle_event` the first (the subscription's), for callers that want one.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime

from enforcer.core.events import EnforceRequest, Route, parse_event
from enforcer.core.models import ErrorKind, Outcome, OutcomeKind, Trigger, utc_now_iso
from enforcer.core.text import escape_control
from enforcer.usecases import claims
from enforcer.usecases.doctor import event_enforcer
from enforcer.usecases.drift_events import handle_drift_report, own_write
from enforcer.usecases.notify import resend_pending_cheaply
from enforcer.usecases.protect_accounts import protect_event_account
from enforcer.usecases.record import record_and_notify, record_outcomes
from enforcer.usecases.services import Services
from enforcer.usecases.wire_events import wire_new_subscription

logger = logging.getLogger(__name__)


def handle_event(raw: object, route: Route, services: Services) -> Outcome:
    """The subscription's outcome of one event (the first of `handle_event_outcomes`)."""
    return handle_event_outcomes(raw, route, services)[0]


def handle_event_outcomes(raw: object, route: Route, services: Services) -> list[Outcome]:
    """Handle one event in either schema; every outcome it produced, the subscription's first (then the wiring's
    and the AI account's). Raises only when the audit store cannot be written (so it is retried)."""
    started = time.perf_counter()
    outcomes = _handle_event(raw, route, services)
    # One latency point per event, labelled with the subscription's outcome (as before issue 19).
    services.metrics.record_event(outcomes[:1], time.perf_counter() - started)
    return outcomes


def _handle_event(raw: object, route: Route, services: Services) -> list[Outcome]:
    parsed = parse_event(raw, route, services.settings.extra_policy_definition_ids)
    if not isinstance(parsed, EnforceRequest):
        logger.info(
            "event %s: type=%s id=%s reason=%s",
            parsed.outcome.value,
            escape_control(parsed.event_type[:100]),
            escape_control(parsed.event_id[:100]),
            escape_control(parsed.reason),
        )
        outcome = Outcome(
            subscription_id=parsed.subscription_id or "",
            outcome=parsed.outcome,
            trigger=Trigger("event", parsed.event_id[:200], parsed.event_type[:200]),
            mode=services.settings.mode,
            reason=parsed.reason,
            started_at=utc_now_iso(),
        )
        if parsed.subscription_id:  # the audit log is partitioned by subscription; others are only logged
            record_and_notify(services, [outcome])
        return [outcome]

    if parsed.is_drift_report:
        own = own_write(services, parsed)  # the enforcer's own write: no claim, no ARM call
        if own is not None:
            record_and_notify(services, [own])
            return [own]

    admission = claims.admit(services, parsed)  # a claim across instances; raises when the store does not answer
    if admission.refused is not None:
        # The store answered and refused this event (not the store's fault): answer `rejected`, act on nothing,
        # record nothing (the store refused it already), and let the rest of the batch go on. The function returns
        # normally, so Event Grid does not redeliver it for 24 hours.
        logger.warning(
            "event rejected: id=%s subscription=%s reason=%s",
            escape_control(parsed.event_id[:100]),
            parsed.subscription_id,
            escape_control(admission.refused),
        )
        return [
            Outcome(
                subscription_id=parsed.subscription_id,
                outcome=OutcomeKind.REJECTED,
                trigger=Trigger("event", parsed.event_id[:200], parsed.event_type[:200]),
                mode=services.settings.mode,
                reason=admission.refused,
                started_at=utc_now_iso(),
            )
        ]
    previous = admission.previous
    if previous is not None:
        logger.info(
            "event duplicate: id=%s subscription=%s already handled (%s)",
            escape_control(parsed.event_id),
            parsed.subscription_id,
            previous,
        )
        return [
            Outcome(
                subscription_id=parsed.subscription_id,
                outcome=OutcomeKind.IGNORED,
                trigger=Trigger("event", parsed.event_id, parsed.event_type),
                mode=services.settings.mode,
                reason=f"duplicate delivery of event {parsed.event_id}: "
                + (
                    "another delivery is handling it"
                    if previous == claims.IN_PROGRESS
                    else f"already handled ({previous})"
                ),
                started_at=utc_now_iso(),
                notification="skipped_duplicate",
            )
        ]

    trigger = Trigger("event", parsed.event_id, parsed.event_type)
    try:
        if parsed.is_drift_report:
            outcome, may_card = handle_drift_report(services, parsed, trigger)
            outcomes = [outcome]
            if may_card:
                record_and_notify(services, outcomes)
            else:  # the tug of war of this resource was carded already in this window: recorded, not carded again
                record_outcomes(services, outcomes)
        else:
            outcomes = _plan_wiring_and_account(services, parsed, trigger)
            record_and_notify(services, outcomes)
    except BaseException:
        claims.release(services, admission)  # not recorded: the trigger's retry must act again
        raise
    claims.settle(services, admission, parsed, outcomes[0].outcome.value)
    resend_pending_cheaply(services)
    return outcomes


def _plan_wiring_and_account(services: Services, parsed: EnforceRequest, trigger: Trigger) -> list[Outcome]:
    """The plan (then, for a new subscription, its event wiring) and the AI account the event names, at once: the
    two are independent, so an event that needs both writes costs the longer of the two, not their sum. A cold
    instance still reads the subscription's metadata once: both ask the directory, which shares one read
    (SubscriptionDirectory.get). The account's branch is waited for at most the event's retry deadline."""
    # OUR READING, not a published fact: the account's `defenderForAISettings` PUT does not depend on the plan being
    # Standard first (the API documents no order; FACTS.md: how the two interact is unconfirmed), so the account's
    # write may land before the plan's.
    account_branch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-account")
    branch_started = time.monotonic()
    try:
        account_future = account_branch.submit(
            protect_event_account, services, parsed.resource_id, trigger, subscription_id=parsed.subscription_id
        )
        outcome = event_enforcer(services, datetime.now(UTC)).enforce(
            parsed.subscription_id, trigger, new_subscription=parsed.announces_new_subscription
        )
        if parsed.display_name and not outcome.subscription_name:
            outcome.subscription_name = parsed.display_name
        outcomes = [outcome]
        if parsed.announces_new_subscription:
            # A new subscription has no event wiring yet: wire it now (after its plan) rather than at the next sweep.
            wired = wire_new_subscription(services, outcome, outcome.trigger)
            if wired is not None:
                outcomes.append(wired)
        account_outcome = _account_result(services, parsed, trigger, account_future, branch_started)
    finally:
        account_branch.shutdown(wait=False)
    if account_outcome is not None:
        if account_outcome.subscription_name is None:
            account_outcome.subscription_name = outcome.subscription_name
        outcomes.append(account_outcome)
    return outcomes


def _account_result(
    services: Services,
    parsed: EnforceRequest,
    trigger: Trigger,
    account_future: Future[Outcome | None],
    branch_started: float,
) -> Outcome | None:
    """The account branch's outcome, or a `failed` one when it did not finish within the event's deadline (counted
    from the branch's start, so the event is answered within Event Grid's 30 s)."""
    seconds = services.settings.event_retry_deadline_seconds
    try:
        return account_future.result(timeout=max(0.1, branch_started + seconds - time.monotonic()))
    except FutureTimeout:
        logger.warning(
            "event %s: the AI account was not protected within %.0f s", escape_control(parsed.event_id[:100]), seconds
        )
        return Outcome(
            subscription_id=parsed.subscription_id,
            outcome=OutcomeKind.FAILED,
            trigger=trigger,
            mode=services.settings.mode,
            resource_id=parsed.resource_id,
            started_at=utc_now_iso(),
            error_kind=ErrorKind.THROTTLED,
            error=(
                f"Protecting the AI account took longer than the event's {seconds:.0f} s deadline "
                "(ENFORCER_EVENT_RETRY_DEADLINE_SECONDS); its calls may still finish. Fix: none needed if ARM was "
                "slow for a moment (the next sweep checks the account); if it persists, check ARM throttling in the "
                "function's logs."
            ),
        )
