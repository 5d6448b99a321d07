"""Handle one Event Grid event: parse, scope, claim, enforce, record, notify. A malformed event never raises.

Both the functions (handlers/events.py) and `python -m enforcer handle-event` run this. After the plan: the
event wiring of a new subscription (usecases/wire_events.py) and the AI account the event names
(usecases/protect_accounts.py), each with a record of its own.
"""

from __future__ import annotations

import logging
import time

from enforcer.core.events import EnforceRequest, Route, parse_event
from enforcer.core.models import Outcome, OutcomeKind, Trigger, utc_now_iso
from enforcer.core.text import escape_control
from enforcer.usecases import claims
from enforcer.usecases.notify import resend_pending_cheaply
from enforcer.usecases.protect_accounts import protect_event_account
from enforcer.usecases.record import record_and_notify
from enforcer.usecases.services import Services
from enforcer.usecases.wire_events import wire_new_subscription

logger = logging.getLogger(__name__)


def handle_event(raw: object, route: Route, services: Services) -> Outcome:
    """Handle one event in either schema. Raises only when the audit store cannot be written (so it is retried)."""
    started = time.perf_counter()
    outcome = _handle_event(raw, route, services)
    services.metrics.record_event([outcome], time.perf_counter() - started)
    return outcome


def _handle_event(raw: object, route: Route, services: Services) -> Outcome:
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
        return outcome

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
        return Outcome(
            subscription_id=parsed.subscription_id,
            outcome=OutcomeKind.REJECTED,
            trigger=Trigger("event", parsed.event_id[:200], parsed.event_type[:200]),
            mode=services.settings.mode,
            reason=admission.refused,
            started_at=utc_now_iso(),
        )
    previous = admission.previous
    if previous is not None:
        logger.info(
            "event duplicate: id=%s subscription=%s already handled (%s)",
            escape_control(parsed.event_id),
            parsed.subscription_id,
            previous,
        )
        return Outcome(
            subscription_id=parsed.subscription_id,
            outcome=OutcomeKind.IGNORED,
            trigger=Trigger("event", parsed.event_id, parsed.event_type),
            mode=services.settings.mode,
            reason=f"duplicate delivery of event {parsed.event_id}: "
            + (
                "another delivery is handling it" if previous == claims.IN_PROGRESS else f"already handled ({previous})"
            ),
            started_at=utc_now_iso(),
            notification="skipped_duplicate",
        )

    try:
        outcome = services.enforcer.enforce(
            parsed.subscription_id,
            Trigger("event", parsed.event_id, parsed.event_type),
            new_subscription=parsed.announces_new_subscription,
        )
        if parsed.display_name and not outcome.subscription_name:
            outcome.subscription_name = parsed.display_name
        outcomes = [outcome]
        if parsed.announces_new_subscription:
            # A new subscription has no event wiring yet: wire it now rather than at the next sweep.
            wired = wire_new_subscription(services, outcome, outcome.trigger)
            if wired is not None:
                outcomes.append(wired)
        record_and_notify(services, outcomes)
    except BaseException:
        claims.release(services, admission)  # not recorded: the trigger's retry must act again
        raise
    claims.settle(services, admission, parsed, outcome.outcome.value)
    # Then the account the event names (its own defenderForAISettings); one record of its own.
    account_outcome = protect_event_account(
        services, parsed.resource_id, outcome.trigger, subscription_id=parsed.subscription_id
    )
    if account_outcome is not None:
        if account_outcome.subscription_name is None:
            account_outcome.subscription_name = outcome.subscription_name
        record_and_notify(services, [account_outcome])
    resend_pending_cheaply(services)
    return outcome
