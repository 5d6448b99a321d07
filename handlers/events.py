"""Event Grid triggers: decode the function's event, hand it to the use case (enforcer/usecases/handle_event.py)."""

from __future__ import annotations

from typing import Any

from enforcer.core.events import Route, envelope_from_function_event
from enforcer.usecases.handle_event import handle_event
from handlers import runtime

AI_ACCOUNT = Route.AI_ACCOUNT
SUBSCRIPTION = Route.SUBSCRIPTION


def on_function_event(event: Any, route: Route) -> None:
    """Entry point for the Event Grid triggers (func.EventGridEvent or func.CloudEvent)."""
    handle_event(envelope_from_function_event(event), route, runtime.services())
