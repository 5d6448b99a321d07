"""Event wiring as desired state (pure): which Event Grid event subscription each subscription in scope must have.

The enforcer's instant reaction to a new AI account needs, in every subscription, an event subscription on that
subscription's `Microsoft.Resources.Subscriptions` system topic: `Microsoft.Resources.ResourceWriteSuccess` with
`data.operationName` in `Microsoft.CognitiveServices/accounts/write` (and the drift writes of OPERATIONS),
delivered to the `ai_account_created`
function, retried for 24 hours and dead-lettered, exactly as infra/modules/event-subscription.bicep declares it.
Azure allows one system topic per source, so an existing topic is reused and only our event subscription is
added to it. This module decides; usecases/wire_events.py acts; adapters/eventgrid.py talks to Azure.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlsplit, urlunsplit


class WiringMode(enum.StrEnum):
    ON = "on"  # create what is missing
    REPORT = "report"  # record what would be created, write nothing
    OFF = "off"  # do not look


RESOURCES_TOPIC_TYPE: Final = "Microsoft.Resources.Subscriptions"
EVENT_TYPES: Final = ("Microsoft.Resources.ResourceWriteSuccess",)
OPERATION_FILTER_KEY: Final = "data.operationName"
# New AI accounts, and (issue 19) anyone's write to a plan or to an account's own Defender for AI switch: the
# enforcer restores drift within seconds. An event subscription with the older one-operation filter differs, so the
# repair path (decide -> PUT_SUBSCRIPTION) updates it in place.
OPERATIONS: Final = (
    "Microsoft.CognitiveServices/accounts/write",
    "Microsoft.Security/pricings/write",
    "Microsoft.CognitiveServices/accounts/defenderForAISettings/write",
)
FUNCTION_NAME: Final = "ai_account_created"
EVENT_DELIVERY_SCHEMA: Final = "EventGridSchema"
# The Bicep's retry policy (infra/modules/event-subscription.bicep): 24 hours, 30 attempts.
MAX_DELIVERY_ATTEMPTS: Final = 30
EVENT_TTL_MINUTES: Final = 1440
# One event per request, as the Bicep: each event is one enforcement.
MAX_EVENTS_PER_BATCH: Final = 1
PREFERRED_BATCH_KB: Final = 64


@dataclass(frozen=True)
class WiringConfig:
    """Where and how to wire; everything but the delivery key (a secret, held by the adapter only)."""

    mode: WiringMode = WiringMode.ON
    event_subscription_name: str = "defender-ai-enforcer-ai-account-created"
    resource_group: str = "rg-defender-ai-enforcer-events"
    location: str = ""
    topic_name: str = "evgst-enforcer-resources"
    # https://<app host>/runtime/webhooks/EventGrid?functionName=ai_account_created, without the key.
    delivery_url: str = ""
    dead_letter_account_id: str = ""
    dead_letter_container: str = "eventgrid-deadletter"

    def missing_for_writes(self, has_key: bool) -> list[str]:
        """Settings a write needs that are not set (empty: the enforcer can wire)."""
        missing = []
        if not self.delivery_url:
            missing.append("ENFORCER_EVENT_DELIVERY_URL")
        if not has_key:
            missing.append("ENFORCER_EVENT_DELIVERY_KEY")
        if not self.location:
            missing.append("ENFORCER_EVENTS_LOCATION")
        return missing

    @property
    def endpoint_base_url(self) -> str:
        return endpoint_base_url(self.delivery_url)


def endpoint_base_url(url: str) -> str:
    """The URL without its query string: what ARM returns as `endpointBaseUrl` (the full URL is write-only)."""
    if not url:
        return ""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")).rstrip("/")


def subscription_source(subscription_id: str) -> str:
    return f"/subscriptions/{subscription_id.lower()}"


@dataclass(frozen=True)
class SystemTopic:
    """A system topic as Resource Graph or ARM lists it."""

    id: str
    name: str
    resource_group: str
    subscription_id: str
    source: str
    topic_type: str


def resources_topic(subscription_id: str, topics: Iterable[SystemTopic]) -> SystemTopic | None:
    """The subscription's own `Microsoft.Resources.Subscriptions` topic (at most one exists per source)."""
    source = subscription_source(subscription_id)
    for topic in topics:
        if topic.topic_type.lower() == RESOURCES_TOPIC_TYPE.lower() and topic.source.rstrip("/").lower() == source:
            return topic
    return None


@dataclass(frozen=True)
class EventSubscriptionView:
    """The parts of an event subscription (as ARM GET returns it) that the desired state fixes."""

    name: str
    endpoint_type: str
    endpoint_base_url: str
    included_event_types: tuple[str, ...]
    # (operatorType, key, values) of each advanced filter.
    advanced_filters: tuple[tuple[str, str, tuple[str, ...]], ...]
    max_delivery_attempts: int | None
    event_ttl_minutes: int | None
    dead_letter_account_id: str
    dead_letter_container: str
    provisioning_state: str


def differences(view: EventSubscriptionView, config: WiringConfig) -> list[str]:
    """What differs from the desired event subscription; empty means wired. Comparisons are case-insensitive
    (ARM ids and Event Grid filter values are)."""
    diffs = []
    if view.provisioning_state.lower() != "succeeded":
        diffs.append(f"provisioningState is {view.provisioning_state or 'unknown'}")
    if view.endpoint_type.lower() != "webhook":
        diffs.append(f"endpointType is {view.endpoint_type}, not WebHook")
    elif config.delivery_url and view.endpoint_base_url.rstrip("/").lower() != config.endpoint_base_url.lower():
        diffs.append("delivers to another endpoint")
    if {t.lower() for t in view.included_event_types} != {t.lower() for t in EVENT_TYPES}:
        diffs.append("includedEventTypes differ")
    wanted = ("stringin", OPERATION_FILTER_KEY.lower(), frozenset(o.lower() for o in OPERATIONS))
    have = {
        (op.lower(), key.lower(), frozenset(v.lower() for v in values)) for op, key, values in view.advanced_filters
    }
    if have != {wanted}:
        diffs.append("advanced filters differ")
    if view.max_delivery_attempts != MAX_DELIVERY_ATTEMPTS or view.event_ttl_minutes != EVENT_TTL_MINUTES:
        diffs.append("retry policy differs")
    if config.dead_letter_account_id and (
        view.dead_letter_account_id.lower() != config.dead_letter_account_id.lower()
        or view.dead_letter_container.lower() != config.dead_letter_container.lower()
    ):
        diffs.append("dead-letter destination differs")
    return diffs


class WiringAction(enum.StrEnum):
    NONE = "none"  # wired as desired
    PUT_SUBSCRIPTION = "put_subscription"  # the topic exists: add (or repair) our event subscription only
    CREATE_TOPIC = "create_topic"  # no topic for the source: our group and topic, then our event subscription


@dataclass(frozen=True)
class WiringDecision:
    action: WiringAction
    reason: str


def decide(topic: SystemTopic | None, existing: EventSubscriptionView | None, config: WiringConfig) -> WiringDecision:
    """The one decision: from what ARM says (topic of the source, our event subscription on it) to an action."""
    if topic is None:
        return WiringDecision(
            WiringAction.CREATE_TOPIC,
            f"no {RESOURCES_TOPIC_TYPE} system topic: create {config.topic_name} in {config.resource_group}",
        )
    if existing is None:
        return WiringDecision(
            WiringAction.PUT_SUBSCRIPTION,
            f"system topic {topic.name} ({topic.resource_group}) has no event subscription "
            f"{config.event_subscription_name}",
        )
    diffs = differences(existing, config)
    if diffs:
        return WiringDecision(
            WiringAction.PUT_SUBSCRIPTION,
            f"event subscription {existing.name} on {topic.name}: " + "; ".join(diffs),
        )
    return WiringDecision(WiringAction.NONE, f"event subscription {existing.name} on system topic {topic.name}")


# A subscription recorded as wired is read again at most this often: wiring is changed rarely, and re-reading it
# every sweep would cost one GET per subscription every 5 minutes. A new-subscription event wires at once anyway.
RECHECK_WIRED_HOURS: Final = 24.0


def recently_verified(
    states: Iterable[tuple[str, str, str]], now: datetime, hours: float = RECHECK_WIRED_HOURS
) -> set[str]:
    """Subscriptions whose newest wiring record says wired (or already wired) and is younger than `hours`.

    `states` are (subscription id, outcome, started_at ISO 8601) from the wiring index.
    """
    fresh: set[str] = set()
    for sub, outcome, started_at in states:
        if outcome not in ("wired", "already_wired"):
            continue
        try:
            when = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
        except ValueError:
            continue
        if now - when < timedelta(hours=hours):
            fresh.add(sub)
    return fresh
