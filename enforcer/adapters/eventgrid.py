"""Event Grid adapter: system topics, their event subscriptions and the enforcer's resource group, per subscription.

Real SDK clients (azure-mgmt-eventgrid, imported lazily for cold start) share the ArmGateway's HTTP session,
credential and retry policy. Resource groups go through the same client's `send_request` (two plain ARM calls do
not justify another SDK). Resource Graph lists the `Microsoft.Resources.Subscriptions` system topics of up to
1,000 subscriptions per query; like the pricings index it can lag, so nothing is written on its word alone.

The delivery key is part of the endpoint URL that is PUT; it is never logged, and errors are described from
ARM's answer (which does not echo the write-only `endpointUrl`).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

from enforcer.adapters.arm import ArmGateway, RetrySettings
from enforcer.adapters.azure_errors import classify, describe
from enforcer.adapters.closing import ClosesOnExit
from enforcer.adapters.redact import REDACTED, install_redaction
from enforcer.adapters.resource_graph import ResourceGraphGateway
from enforcer.core.errors import EnforcementError, ResourceGraphError
from enforcer.core.models import MAX_SUBSCRIPTIONS_PER_QUERY, ErrorKind
from enforcer.core.wiring import (
    EVENT_DELIVERY_SCHEMA,
    EVENT_TTL_MINUTES,
    EVENT_TYPES,
    MAX_DELIVERY_ATTEMPTS,
    MAX_EVENTS_PER_BATCH,
    OPERATION_FILTER_KEY,
    OPERATIONS,
    PREFERRED_BATCH_KB,
    RESOURCES_TOPIC_TYPE,
    EventSubscriptionView,
    SystemTopic,
    WiringConfig,
    subscription_source,
)

if TYPE_CHECKING:
    from azure.mgmt.eventgrid import EventGridManagementClient

logger = logging.getLogger(__name__)

RESOURCE_GROUPS_API_VERSION: Final = "2021-04-01"
WIRING_ROLE: Final = "Defender for AI Enforcer event wiring"
# Ordered by a unique column so skip-token paging neither repeats nor drops rows; the string columns go through
# tostring() (a query whose columns are all dynamic gets no $skipToken).
TOPICS_QUERY: Final = (
    "resources "
    "| where type =~ 'microsoft.eventgrid/systemtopics' "
    f"and tostring(properties.topicType) =~ '{RESOURCES_TOPIC_TYPE}' "
    "| project id, name, resourceGroup, subscriptionId, "
    "source = tostring(properties.source), topicType = tostring(properties.topicType) "
    "| order by id asc"
)
_GRAPH_RETRY: Final = RetrySettings(total=2, backoff_factor=0.5, backoff_max=4.0)
_MAX_CLIENTS: Final = 256
TAGS: Final = {"application": "defender-ai-enforcer"}


def _forbidden_or_classified(error: AzureError, action: str, subscription_id: str) -> EnforcementError:
    if isinstance(error, HttpResponseError) and error.status_code == 403:
        return EnforcementError(
            ErrorKind.FORBIDDEN,
            f"Permission denied to {action} on subscription {subscription_id}: {describe(error)} "
            f"Fix: assign the enforcer's identity the custom role '{WIRING_ROLE}' at the management group "
            "(infra/mg/main.bicep does), or set ENFORCER_EVENT_WIRING=report. The plan is not affected.",
        )
    return classify(error, action=action, subscription_id=subscription_id)


def topic_from_id(topic_id: str, source: str, topic_type: str) -> SystemTopic:
    parts = topic_id.strip("/").split("/")
    # subscriptions/<sub>/resourceGroups/<group>/providers/Microsoft.EventGrid/systemTopics/<name>
    return SystemTopic(
        id=topic_id,
        name=parts[7] if len(parts) > 7 else "",
        resource_group=parts[3] if len(parts) > 3 else "",
        subscription_id=(parts[1] if len(parts) > 1 else "").lower(),
        source=source,
        topic_type=topic_type,
    )


def topic_from_row(row: Mapping[str, Any]) -> SystemTopic | None:
    topic_id, source = row.get("id"), row.get("source")
    if not isinstance(topic_id, str) or not isinstance(source, str):
        return None
    return topic_from_id(topic_id, source, str(row.get("topicType") or ""))


def view_from_sdk(sub: Any) -> EventSubscriptionView:
    destination = sub.destination
    filt = sub.filter
    filters = tuple(
        (str(f.operator_type), str(f.key), tuple(str(v) for v in (getattr(f, "values", None) or ())))
        for f in ((filt.advanced_filters if filt else None) or ())
    )
    retry = sub.retry_policy
    dead = sub.dead_letter_destination
    return EventSubscriptionView(
        name=str(sub.name),
        endpoint_type=str(getattr(destination, "endpoint_type", "") or ""),
        endpoint_base_url=str(getattr(destination, "endpoint_base_url", "") or ""),
        included_event_types=tuple((filt.included_event_types if filt else None) or ()),
        advanced_filters=filters,
        max_delivery_attempts=retry.max_delivery_attempts if retry else None,
        event_ttl_minutes=retry.event_time_to_live_in_minutes if retry else None,
        dead_letter_account_id=str(getattr(dead, "resource_id", "") or ""),
        dead_letter_container=str(getattr(dead, "blob_container_name", "") or ""),
        provisioning_state=str(sub.provisioning_state or ""),
    )


class EventGridGateway(ClosesOnExit):
    """The Event Grid and resource-group calls of event wiring. Thread-safe; close() when done."""

    def __init__(self, arm: ArmGateway, delivery_key: str | None = None) -> None:
        self._arm = arm
        self._key = delivery_key
        if delivery_key:
            install_redaction(delivery_key)  # whatever logs it (azure-core at DEBUG, an error) shows ***
        self._lock = threading.Lock()
        self._clients: OrderedDict[str, EventGridManagementClient] = OrderedDict()
        # Resource Graph through the shared gateway: one paging loop, and the identity's quota respected.
        self._graph = ResourceGraphGateway(arm, retry=_GRAPH_RETRY)

    def __repr__(self) -> str:  # never show the key
        return f"EventGridGateway({self._arm.endpoint!r})"

    @property
    def has_key(self) -> bool:
        return bool(self._key)

    def _client(self, subscription_id: str) -> EventGridManagementClient:
        # The SDK binds a client to one subscription; a bounded cache keeps a large sweep from building one per call.
        with self._lock:
            client = self._clients.get(subscription_id)
            if client is None:
                from azure.mgmt.eventgrid import EventGridManagementClient

                client = EventGridManagementClient(self._arm.credential(), subscription_id, **self._arm.client_kwargs())
                self._clients[subscription_id] = client
                if len(self._clients) > _MAX_CLIENTS:
                    self._clients.popitem(last=False)[1].close()
            else:
                self._clients.move_to_end(subscription_id)
            return client

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()
        self._graph.close()

    # -- reads ----------------------------------------------------------------------------------------
    def resources_topics(self, subscription_ids: Sequence[str]) -> tuple[dict[str, SystemTopic], int]:
        """Each subscription's `Microsoft.Resources.Subscriptions` topic per Resource Graph, and the queries it took."""
        topics: dict[str, SystemTopic] = {}
        requests = 0
        ids = [s.lower() for s in subscription_ids]
        for start in range(0, len(ids), MAX_SUBSCRIPTIONS_PER_QUERY):
            try:
                rows, sent, _waited = self._graph.query(TOPICS_QUERY, ids[start : start + MAX_SUBSCRIPTIONS_PER_QUERY])
            except ResourceGraphError as error:
                error.requests += requests
                raise
            requests += sent
            for row in rows:
                topic = topic_from_row(row) if isinstance(row, Mapping) else None
                if topic is not None and topic.source.rstrip("/").lower() == subscription_source(topic.subscription_id):
                    topics[topic.subscription_id] = topic
        return topics, requests

    def list_topics(self, subscription_id: str) -> list[SystemTopic]:
        try:
            found = list(self._client(subscription_id).system_topics.list_by_subscription())
        except AzureError as error:
            raise _forbidden_or_classified(error, "list Event Grid system topics", subscription_id) from error
        return [topic_from_id(str(t.id), str(t.source or ""), str(t.topic_type or "")) for t in found]

    def get_event_subscription(self, topic: SystemTopic, name: str) -> EventSubscriptionView | None:
        client = self._client(topic.subscription_id)
        try:
            sub = client.system_topic_event_subscriptions.get(topic.resource_group, topic.name, name)
        except ResourceNotFoundError:
            return None
        except AzureError as error:
            raise _forbidden_or_classified(
                error, "read Event Grid event subscriptions", topic.subscription_id
            ) from error
        return view_from_sdk(sub)

    # -- writes ---------------------------------------------------------------------------------------
    def ensure_resource_group(self, subscription_id: str, name: str, location: str) -> bool:
        """Create the group when missing; True when it was created. An existing group is left as it is."""
        from azure.core.rest import HttpRequest

        # The generated client's documented raw-request entry point is spelled `_send_request` in this SDK line.
        send = self._client(subscription_id)._send_request
        url = f"/subscriptions/{subscription_id}/resourcegroups/{name}?api-version={RESOURCE_GROUPS_API_VERSION}"
        try:
            response = send(HttpRequest("GET", url))
            if response.status_code == 200:
                return False
            if response.status_code != 404:
                response.raise_for_status()
            response = send(HttpRequest("PUT", url, json={"location": location, "tags": TAGS}))
            response.raise_for_status()
        except AzureError as error:
            raise _forbidden_or_classified(error, f"create resource group {name}", subscription_id) from error
        return True

    def create_topic(self, subscription_id: str, resource_group: str, name: str) -> SystemTopic:
        from azure.mgmt.eventgrid.models import SystemTopic as SdkSystemTopic

        # Subscription system topics are global, with no managed identity (modules/resource-events-topic.bicep).
        body = SdkSystemTopic(
            location="global", tags=TAGS, source=subscription_source(subscription_id), topic_type=RESOURCES_TOPIC_TYPE
        )
        try:
            poller = self._client(subscription_id).system_topics.begin_create_or_update(
                resource_group, name, body, polling_interval=1
            )
            created = poller.result()
        except AzureError as error:
            raise _forbidden_or_classified(error, "create an Event Grid system topic", subscription_id) from error
        return topic_from_id(str(created.id), str(created.source or ""), str(created.topic_type or ""))

    def put_event_subscription(self, topic: SystemTopic, config: WiringConfig) -> EventSubscriptionView:
        """Create or update our event subscription on the topic; other event subscriptions are not touched."""
        from azure.mgmt.eventgrid.models import (
            EventSubscription,
            EventSubscriptionFilter,
            RetryPolicy,
            StorageBlobDeadLetterDestination,
            StringInAdvancedFilter,
            WebHookEventSubscriptionDestination,
        )

        if not self._key or not config.delivery_url:
            raise EnforcementError(
                ErrorKind.UNEXPECTED,
                "The delivery URL or key is not configured (ENFORCER_EVENT_DELIVERY_URL, ENFORCER_EVENT_DELIVERY_KEY).",
            )
        separator = "&" if "?" in config.delivery_url else "?"
        endpoint = f"{config.delivery_url}{separator}code={self._key}"
        body = EventSubscription(
            destination=WebHookEventSubscriptionDestination(
                endpoint_url=endpoint,
                max_events_per_batch=MAX_EVENTS_PER_BATCH,
                preferred_batch_size_in_kilobytes=PREFERRED_BATCH_KB,
            ),
            filter=EventSubscriptionFilter(
                included_event_types=list(EVENT_TYPES),
                enable_advanced_filtering_on_arrays=False,
                advanced_filters=[StringInAdvancedFilter(key=OPERATION_FILTER_KEY, values=list(OPERATIONS))],
            ),
            event_delivery_schema=EVENT_DELIVERY_SCHEMA,
            retry_policy=RetryPolicy(
                max_delivery_attempts=MAX_DELIVERY_ATTEMPTS, event_time_to_live_in_minutes=EVENT_TTL_MINUTES
            ),
            dead_letter_destination=StorageBlobDeadLetterDestination(
                resource_id=config.dead_letter_account_id, blob_container_name=config.dead_letter_container
            )
            if config.dead_letter_account_id
            else None,
        )
        client = self._client(topic.subscription_id)
        try:
            poller = client.system_topic_event_subscriptions.begin_create_or_update(
                topic.resource_group, topic.name, config.event_subscription_name, body, polling_interval=1
            )
            result = poller.result()
        except AzureError as error:
            failure = _forbidden_or_classified(error, "write an Event Grid event subscription", topic.subscription_id)
            # An answer may quote the endpoint (a failed validation handshake does): the key must not reach a record.
            failure.message = failure.message.replace(self._key, REDACTED)
            raise failure from None
        return view_from_sdk(result)
