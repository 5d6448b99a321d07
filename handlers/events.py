"""Event Grid handlers: parse, drop duplicates, enforce, record, notify. A malformed event never raises.

`handle_raw_event` is what both the functions and `python -m enforcer handle-event` run.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from enforcer.composition import Services, publish
from enforcer.core.events import EnforceRequest, Route, envelope_from_function_event, parse_event
from enforcer.core.models import Outcome, OutcomeKind, Trigger
from enforcer.usecases.enforce import utc_now_iso
from handlers import runtime

logger = logging.getLogger(__name__)

AI_ACCOUNT = Route.AI_ACCOUNT
SUBSCRIPTION = Route.SUBSCRIPTION


class _RecentEvents:
    """Event ids this process has handled: catches duplicates even without an audit store (bounded)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._ids.clear()

    def seen(self, event_id: str) -> str | None:
        with self._lock:
            return self._ids.get(event_id)

    def add(self, event_id: str, outcome: str) -> None:
        with self._lock:
            self._ids[event_id] = outcome
            while len(self._ids) > self._capacity:
                self._ids.popitem(last=False)


_recent = _RecentEvents()


def on_function_event(event: Any, route: Route) -> None:
    """Entry point for the Event Grid triggers (func.EventGridEvent or func.CloudEvent)."""
    raw = envelope_from_function_event(event)
    handle_raw_event(raw, route, runtime.services())


def _duplicate_of(services: Services, request: EnforceRequest) -> str | None:
    previous = _recent.seen(request.event_id)
    if previous is not None:
        return previous
    if services.audit is None:
        return None
    record = services.audit.find_by_trigger(request.subscription_id, request.event_id)
    return None if record is None else record.outcome


def handle_raw_event(raw: object, route: Route, services: Services) -> Outcome:
    """Handle one event in either schema. Raises only when the audit store cannot be written (so it is retried)."""
    parsed = parse_event(raw, route, services.settings.extra_policy_definition_ids)
    if not isinstance(parsed, EnforceRequest):
        logger.info(
            "event %s: type=%s id=%s reason=%s",
            parsed.outcome.value,
            parsed.event_type[:100],
            parsed.event_id[:100],
            parsed.reason,
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
            publish(services, [outcome])
        return outcome

    previous = _duplicate_of(services, parsed)
    if previous is not None:
        logger.info(
            "event duplicate: id=%s subscription=%s already handled (%s)",
            parsed.event_id,
            parsed.subscription_id,
            previous,
        )
        return Outcome(
            subscription_id=parsed.subscription_id,
            outcome=OutcomeKind.IGNORED,
            trigger=Trigger("event", parsed.event_id, parsed.event_type),
            mode=services.settings.mode,
            reason=f"duplicate delivery of event {parsed.event_id}: already handled ({previous})",
            started_at=utc_now_iso(),
            notification="skipped_duplicate",
        )

    outcome = services.enforcer.enforce(
        parsed.subscription_id,
        Trigger("event", parsed.event_id, parsed.event_type),
        new_subscription=parsed.announces_new_subscription,
    )
    if parsed.display_name and not outcome.subscription_name:
        outcome.subscription_name = parsed.display_name
    publish(services, [outcome])
    _recent.add(parsed.event_id, outcome.outcome.value)
    return outcome
