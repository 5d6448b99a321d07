"""Builders for the event-wiring tests: the settings a deployment sets, services on the emulator."""

from __future__ import annotations

from typing import Any

from enforcer.usecases.services import Services
from localdev.emulator import Emulator
from tests.fixtures.services import services_for
from tests.sweep.helpers import PATIENT_RETRY, STANDARD_ALL_ON

DELIVERY_URL = "https://func-enforcer.azurewebsites.net/runtime/webhooks/EventGrid?functionName=ai_account_created"
DELIVERY_BASE = "https://func-enforcer.azurewebsites.net/runtime/webhooks/EventGrid"
DELIVERY_KEY = "eventgrid-extension-key-value"
DEAD_LETTER_ID = (
    "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/rg-enforcer/providers/"
    "Microsoft.Storage/storageAccounts/stenforcer"
)
EVENT_SUBSCRIPTION = "func-enforcer-ai-account-created"

WIRING_ENV = {
    "ENFORCER_EVENT_WIRING": "on",
    "ENFORCER_EVENT_DELIVERY_URL": DELIVERY_URL,
    "ENFORCER_EVENT_DELIVERY_KEY": DELIVERY_KEY,
    "ENFORCER_EVENTS_LOCATION": "westeurope",
    "ENFORCER_EVENT_SUBSCRIPTION_NAME": EVENT_SUBSCRIPTION,
    "ENFORCER_EVENT_DEAD_LETTER_ACCOUNT_ID": DEAD_LETTER_ID,
}


def wiring_services(emulator: Emulator, **env: str) -> Services:
    return services_for(emulator.url, {**WIRING_ENV, **env}, retry=PATIENT_RETRY)


def audited_services(emulator: Emulator, audit: Any, storage: str, **env: str) -> Services:
    values = {
        **WIRING_ENV,
        "ENFORCER_STORAGE": storage,
        "ENFORCER_AUDIT_TABLE": audit.audit_table,
        "ENFORCER_RUNS_TABLE": audit.runs_table,
        **env,
    }
    return services_for(emulator.url, values, retry=PATIENT_RETRY, audit=audit)


def seed(emulator: Emulator, n: int, start: int = 1, **kwargs: Any) -> list[str]:
    subs = [f"00000000-0000-4000-8000-{i:012d}" for i in range(start, start + n)]
    for sub in subs:
        emulator.add_subscription(sub, pricing=STANDARD_ALL_ON, **kwargs)
    return subs


def our_subscription(emulator: Emulator, sub: str) -> dict[str, Any] | None:
    for topic in emulator.eventgrid.topics(sub):
        found = emulator.eventgrid.event_subscriptions(topic["id"]).get(EVENT_SUBSCRIPTION)
        if found is not None:
            return found
    return None
