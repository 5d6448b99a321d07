"""The events a subscription's `Microsoft.Resources.Subscriptions` system topic sends for writes (issue 19).

Every successful write through the emulator's HTTP API (the enforcer's PUTs) and every "user" write a test makes
with `Emulator.user_write_pricing` / `user_write_account_setting` raises one `ResourceWriteSuccess` event in the
Event Grid schema, kept in `Emulator.write_events` for tests and the bench to replay into the handler. The shape
is Microsoft's sample (tests/data/events/resource-write-security-pricing.eventgrid.json: `data.claims`,
`data.operationName`, `data.resourceUri`, ...). OUR READING, not published: the emulator's own callers are one
identity (server.CLIENT_OBJECT_ID), and the claims it puts in their events are the v1 token claim names of the
sample (objectidentifier, upn, name, appid, idtyp).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any, Final

from localdev.emulator.activity_log import ActivityLog
from localdev.emulator.state import arm_timestamp

OBJECT_ID_CLAIM: Final = "http://schemas.microsoft.com/identity/claims/objectidentifier"
UPN_CLAIM: Final = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"


@dataclass(frozen=True)
class Caller:
    """Who writes: a user (upn) or an app (app id only)."""

    object_id: str
    upn: str = ""
    name: str = ""
    app_id: str = ""

    def claims(self) -> dict[str, str]:
        claims = {OBJECT_ID_CLAIM: self.object_id, "appid": self.app_id or str(uuid.UUID(int=0))}
        if self.upn:
            claims[UPN_CLAIM] = self.upn
        if self.name:
            claims["name"] = self.name
        if not self.upn and not self.name:
            claims["idtyp"] = "app"
        return claims


def write_event(
    subscription_id: str, resource_uri: str, operation: str, caller: Caller, tenant_id: str
) -> dict[str, Any]:
    """One `ResourceWriteSuccess` event in the Event Grid schema, as the subscription's system topic sends it."""
    return {
        "id": str(uuid.uuid4()),
        "topic": f"/subscriptions/{subscription_id}",
        "subject": resource_uri,
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "eventTime": arm_timestamp(),
        "dataVersion": "2",
        "metadataVersion": "1",
        "data": {
            "authorization": {"scope": resource_uri, "action": operation, "evidence": {"role": "emulated"}},
            "claims": caller.claims(),
            "correlationId": str(uuid.uuid4()),
            "resourceProvider": operation.split("/", 1)[0],
            "resourceUri": resource_uri,
            "operationName": operation,
            "status": "Succeeded",
            "subscriptionId": subscription_id,
            "tenantId": tenant_id,
        },
    }


class WriteEvents:
    """The events raised so far, oldest first, and the Activity Log entries of the same writes; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self.activity_log = ActivityLog()  # kept across `take` (localdev/emulator/activity_log.py)

    def add(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._events.append(event)
        self.activity_log.record(event)
        return event

    def take(self) -> list[dict[str, Any]]:
        """Every event raised since the last take."""
        with self._lock:
            events, self._events = self._events, []
        return events
