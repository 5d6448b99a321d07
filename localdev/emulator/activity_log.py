"""The subscriptions' Activity Log (`ActivityLogs - List`, api-version 2015-04-01), kept from the same writes that
raise the topics' `ResourceWriteSuccess` events (write_events.py): every write the emulator saw, with its claims.

`GET /subscriptions/{id}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01
&$filter=eventTimestamp ge '<t>' and eventTimestamp le '<t>' [and resourceUri eq '<id>']` answers
`{"value": [EventData, ...]}`, newest first, in the shape of the API's example (GetActivityLogsFiltered.json:
caller, claims, operationName and status as {value, localizedValue}, eventTimestamp, resourceId, ...).

OUR READING, not published: one `Succeeded` entry per write (Azure also logs a `Started` one: the emulator adds it
too, so a reader must pick the status); newest first; every entry fits on one page; a filter the reference does not
allow answers 400 `InvalidFilter`; `FaultConfig.activity_log_error` (403, 500, ...) answers that status with ARM's
CloudError shape, the 403 as `AuthorizationFailed` naming Microsoft.Insights/eventtypes/values/read.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

API_VERSION: Final = "2015-04-01"
KIND: Final = "activitylog.list"
ROUTES: Final = (
    (
        "GET",
        re.compile(
            r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Insights/eventtypes/management/values/?$",
            re.IGNORECASE,
        ),
        KIND,
    ),
)
_FILTER: Final = re.compile(
    r"^\s*eventTimestamp\s+ge\s+'(?P<since>[^']+)'\s+and\s+eventTimestamp\s+le\s+'(?P<until>[^']+)'"
    r"(?:\s+and\s+resourceUri\s+eq\s+'(?P<uri>(?:[^']|'')+)')?\s*$",
    re.IGNORECASE,
)


class ActivityLogError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ActivityLogError(400, "InvalidFilter", f"The time '{text}' in $filter is not a valid time.") from None


def _localized(value: str) -> dict[str, str]:
    return {"value": value, "localizedValue": value}


def entries_for(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Activity Log entries (Started, then Succeeded) of the write a `ResourceWriteSuccess` event reports."""
    data = event["data"]
    claims = dict(data["claims"])
    caller = claims.get("http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn") or claims.get("appid", "")
    correlation = data["correlationId"]
    entries = []
    for status in ("Started", "Succeeded"):
        event_id = str(uuid.uuid4())
        entries.append(
            {
                "authorization": {"action": data["operationName"], "scope": data["resourceUri"]},
                "caller": caller,
                "claims": claims,
                "correlationId": correlation,
                "eventDataId": event_id,
                "eventName": _localized("BeginRequest" if status == "Started" else "EndRequest"),
                "id": f"{data['resourceUri']}/events/{event_id}",
                "level": "Informational",
                "operationName": _localized(data["operationName"]),
                "resourceId": data["resourceUri"],
                "resourceProviderName": _localized(data["resourceProvider"]),
                "status": _localized(status),
                "eventTimestamp": event["eventTime"],
                "submissionTimestamp": event["eventTime"],
                "subscriptionId": data["subscriptionId"],
                "tenantId": data["tenantId"],
            }
        )
    return entries


class ActivityLog:
    """Every subscription's entries, oldest first; thread-safe. Unlike the events, never drained by a test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def record(self, event: Mapping[str, Any]) -> None:
        entries = entries_for(event)
        with self._lock:
            self._entries.extend(entries)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def serve(self, subscription_id: str, filter_text: str | None) -> tuple[int, dict[str, Any]]:
        """The answer to one list call: the subscription's entries the filter selects, newest first."""
        match = _FILTER.match(filter_text or "")
        if match is None:
            raise ActivityLogError(
                400,
                "InvalidFilter",
                "The $filter is required and must be one of the patterns of ActivityLogs - List "
                "(eventTimestamp ge '...' and eventTimestamp le '...' [and resourceUri eq '...']).",
            )
        since, until = _time(match["since"]), _time(match["until"])
        uri = (match["uri"] or "").replace("''", "'").lower()
        selected = [
            e
            for e in self.entries()
            if e["subscriptionId"].lower() == subscription_id.lower()
            and since <= _time(e["eventTimestamp"]) <= until
            and (not uri or e["resourceId"].lower() == uri)
        ]
        selected.reverse()
        return 200, {"value": selected}


def failure(status: int, subscription_id: str, object_id: str) -> ActivityLogError:
    """What `FaultConfig.activity_log_error` makes the list answer."""
    if status == 403:
        return ActivityLogError(
            403,
            "AuthorizationFailed",
            f"The client '{object_id}' with object id '{object_id}' does not have authorization to perform action "
            f"'Microsoft.Insights/eventtypes/values/read' over scope '/subscriptions/{subscription_id}' or the scope "
            "is invalid.",
        )
    return ActivityLogError(status, "InternalServerError", f"The Activity Log answered {status}.")
