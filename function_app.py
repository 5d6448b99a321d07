"""Azure Functions entry point (Python v2 model). Each trigger decodes its input, calls a handler, returns.

No business logic lives here, and nothing slow is imported at module load: Azure clients are built
lazily on first use (see handlers/runtime.py), which keeps cold starts short.
"""

from __future__ import annotations

import azure.functions as func

from handlers import events as event_handlers
from handlers import timer as timer_handlers

app = func.FunctionApp()


@app.function_name("ai_account_created")
@app.event_grid_trigger(arg_name="event")
def ai_account_created(event: func.EventGridEvent) -> None:
    """A Cognitive Services (Azure AI / OpenAI / Foundry) account was written: enforce on its subscription."""
    event_handlers.on_function_event(event, event_handlers.AI_ACCOUNT)


@app.function_name("subscription_created")
@app.event_grid_trigger(arg_name="event")
def subscription_created(event: func.EventGridEvent) -> None:
    """A subscription appeared (vending pipeline, policy evaluation, alias or management-group move)."""
    event_handlers.on_function_event(event, event_handlers.SUBSCRIPTION)


@app.function_name("drift_sweep")
@app.timer_trigger(arg_name="timer", schedule="%ENFORCER_SWEEP_SCHEDULE%", run_on_startup=False, use_monitor=True)
def drift_sweep(timer: func.TimerRequest) -> None:
    """Re-check every subscription in scope and repair drift."""
    timer_handlers.on_timer(timer)
