"""Event Grid triggers: decode the function's event, hand it to the use case (enforcer/usecases/handle_event.py)."""

from __future__ import annotations

import logging
from typing import Any

from enforcer.core.events import Route, envelope_from_function_event
from enforcer.usecases.handle_event import handle_event_outcomes
from handlers import runtime

AI_ACCOUNT = Route.AI_ACCOUNT
SUBSCRIPTION = Route.SUBSCRIPTION

logger = logging.getLogger(__name__)


def on_function_event(event: Any, route: Route) -> None:
    """Entry point for the Event Grid triggers (func.EventGridEvent or func.CloudEvent): one log line per outcome
    (the subscription's, the wiring's, the AI account's)."""
    for outcome in handle_event_outcomes(envelope_from_function_event(event), route, runtime.services()):
        logger.info(
            "event outcome: subscription=%s resource=%s outcome=%s trigger=%s",
            outcome.subscription_id,
            outcome.resource_id or "-",
            outcome.outcome.value,
            outcome.trigger.id[:100],
        )
