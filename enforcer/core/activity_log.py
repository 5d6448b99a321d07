"""Who caused drift that no event reported: the last writer in the subscription's Activity Log (issue 19, pure).

The sweep asks once per drifted resource (a plan it restored, an account setting it re-enabled):
`GET /subscriptions/{id}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01` with
`$filter=eventTimestamp ge '<since>' and eventTimestamp le '<until>' and resourceUri eq '<resource id>'`, one of
the patterns the Activity Logs - List reference allows. Each entry is an `EventData` (the API's example
GetActivityLogsFiltered.json): `caller`, `claims` (the caller's token claims, the same names as an event's
`data.claims`), `operationName.value`, `status.value`, `eventTimestamp`.

Our readings, not published: the resource id an account setting's write is logged under is the setting's own id
(`.../defenderForAISettings/Default`, as in its event's `resourceUri`); the first page holds the newest entries
(only the first page is read: one call per drifted resource); `operationName.value` may be any case (the example
spells it in lower case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from enforcer.core.actors import (
    ACTIVITY_LOG,
    CLAIM_MAX_CHARS,
    UNKNOWN,
    Actor,
    actor_from_claims,
    is_own_write,
    normalise_time,
    unknown_actor,
)
from enforcer.core.events import ACCOUNT_SETTING_WRITE, PRICING_WRITE
from enforcer.core.models import PLAN_NAME, Outcome, OutcomeKind, utc_iso
from enforcer.core.text import clip

ACTIVITY_LOG_API_VERSION: Final = "2015-04-01"
# How far back the lookup reaches. Drift the sweep finds is at most a day old when the enforcer runs (an account
# setting is re-read daily); a week also covers a paused enforcer. The Activity Log keeps 90 days.
LOOKBACK: Final = timedelta(days=7)
SUCCEEDED: Final = "succeeded"
# Outcomes that are drift: the sweep found the resource out of the desired state (and restored it, or would have).
DRIFT_OUTCOMES: Final = frozenset({OutcomeKind.REMEDIATED, OutcomeKind.PARTIALLY_FAILED, OutcomeKind.WOULD_REMEDIATE})
ACTIVITY_LOG_ROLE: Final = "Reader or Monitoring Reader (Microsoft.Insights/eventtypes/values/read)"


@dataclass(frozen=True)
class ActivityEntry:
    """One Activity Log entry, as far as attribution needs it; every field is untrusted text."""

    operation: str
    status: str
    at: str
    caller: str = ""
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lookup:
    """One resource to look up: its id (the `resourceUri` of the filter) and the write operation that drifted it."""

    subscription_id: str
    resource_uri: str
    operation: str


def _localized(value: object) -> str:
    """`{"value": ..., "localizedValue": ...}` (LocalizableString) or a plain string, as text."""
    if isinstance(value, Mapping):
        value = value.get("value")
    return value.strip() if isinstance(value, str) else ""


def entry_from_json(item: object) -> ActivityEntry | None:
    """An `EventData` object as an ActivityEntry; None for anything that is not an object."""
    if not isinstance(item, Mapping):
        return None
    claims = item.get("claims")
    caller = item.get("caller")
    return ActivityEntry(
        operation=_localized(item.get("operationName")),
        status=_localized(item.get("status")),
        at=normalise_time(item.get("eventTimestamp")),
        caller=caller.strip() if isinstance(caller, str) else "",
        claims=claims if isinstance(claims, Mapping) else {},
    )


def lookup_for(outcome: Outcome) -> Lookup | None:
    """What to look up for one sweep outcome: only drift (a restored, partly restored or would-be restored plan or
    account setting), never a new subscription (its plan was never set by anyone), and only when nothing named the
    actor already."""
    if outcome.outcome not in DRIFT_OUTCOMES or outcome.actor is not None or outcome.new_subscription:
        return None
    sub = outcome.subscription_id
    if outcome.resource_id:
        uri = f"{outcome.resource_id.rstrip('/')}/defenderForAISettings/Default"
        return Lookup(sub, uri, ACCOUNT_SETTING_WRITE)
    return Lookup(sub, f"/subscriptions/{sub}/providers/Microsoft.Security/pricings/{PLAN_NAME}", PRICING_WRITE)


def _quoted(text: str) -> str:
    """A string literal in an OData filter: single quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def activity_filter(resource_uri: str, until: datetime, lookback: timedelta = LOOKBACK) -> str:
    """The `$filter` for one resource's entries from `until - lookback` to `until`."""
    since = utc_iso(until - lookback)
    return (
        f"eventTimestamp ge {_quoted(since)} and eventTimestamp le {_quoted(utc_iso(until))} "
        f"and resourceUri eq {_quoted(resource_uri)}"
    )


def last_writer(entries: Iterable[ActivityEntry], operation: str, own_object_id: str) -> Actor:
    """The newest successful `operation` by anyone but the enforcer, as an Actor from its claims (the caller's
    UPN or SPN stands in when the claims name no one); an unknown Actor saying why when there is none."""
    wanted = operation.lower()
    writes = [e for e in entries if e.operation.lower() == wanted and e.status.lower() == SUCCEEDED]
    writes.sort(key=lambda e: e.at, reverse=True)  # ISO 8601 UTC in one form: text order is time order
    for entry in writes:
        actor = actor_from_claims(entry.claims, entry.at)
        if is_own_write(actor, own_object_id):
            continue
        if not actor.known and entry.caller:
            actor = Actor(name=clip(entry.caller, CLAIM_MAX_CHARS), kind=UNKNOWN, at=entry.at)
        if not actor.known:
            return unknown_actor("the Activity Log entry names no caller", ACTIVITY_LOG)
        return Actor(actor.object_id, actor.name, actor.kind, actor.at, "", ACTIVITY_LOG)
    return unknown_actor(
        f"no successful {operation.rsplit('/', 2)[-2]} write by anyone but the enforcer in the Activity Log "
        f"within {LOOKBACK.days} days (an entry can take minutes to appear)",
        ACTIVITY_LOG,
    )


def forbidden_actor() -> Actor:
    return unknown_actor(f"Activity Log not readable: 403. Fix: grant {ACTIVITY_LOG_ROLE}", ACTIVITY_LOG)


def failed_actor(cause: str) -> Actor:
    return unknown_actor(f"Activity Log lookup failed: {cause}", ACTIVITY_LOG)


def out_of_time_actor() -> Actor:
    return unknown_actor("Activity Log not asked: the sweep's time budget was spent", ACTIVITY_LOG)
