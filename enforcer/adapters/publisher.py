"""Publish `Enforcer.SubscriptionCreated` (CloudEvents 1.0) for a subscription-vending pipeline.

The pipeline calls this (or `python -m enforcer publish-subscription-created`) right after it
creates a subscription, so the enforcer does not wait for Azure Policy's evaluation cycle.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from azure.core.credentials import AzureKeyCredential
from azure.core.messaging import CloudEvent

from enforcer.core.events import VENDING_EVENT_TYPE, normalize_subscription_id
from enforcer.core.settings import is_loopback_host, validate_endpoint

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

logger = logging.getLogger(__name__)

DEFAULT_SOURCE = "/enforcer/subscription-vending"
# An Event Grid topic's publishing endpoint is https://<topic>.<region>-1.eventgrid.azure.net/api/events.
_TOPIC_EVENTS_PATH = "/api/events"


def _checked_subscription_id(subscription_id: str) -> str:
    normalized = normalize_subscription_id(subscription_id)
    if normalized is None:
        raise ValueError(f"subscription id must be a GUID, got {subscription_id[:80]!r}")
    return normalized


def build_subscription_created_event(
    subscription_id: str,
    display_name: str | None,
    requested_by: str | None,
    source: str = DEFAULT_SOURCE,
) -> CloudEvent[dict[str, str]]:
    """The CloudEvent `subscription_created` enforces on; raises ValueError for a non-GUID subscription id."""
    sid = _checked_subscription_id(subscription_id)
    data = {"subscriptionId": sid}
    if display_name:
        data["displayName"] = display_name
    if requested_by:
        data["requestedBy"] = requested_by
    # subject names the subscription too; the parser checks that both agree.
    return CloudEvent(
        source=source,
        type=VENDING_EVENT_TYPE,
        data=data,
        subject=f"/subscriptions/{sid}",
        datacontenttype="application/json",
    )


def _topic_endpoint(endpoint: str) -> str:
    """Validate the endpoint (https, or http to loopback only) and add /api/events when only a host is given."""
    url = validate_endpoint("endpoint", endpoint)
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        url = urlunsplit(parts._replace(path=_TOPIC_EVENTS_PATH))
    return url


def publish_subscription_created(
    endpoint: str,
    subscription_id: str,
    *,
    display_name: str | None = None,
    requested_by: str | None = None,
    key: str | None = None,
    credential: TokenCredential | None = None,
) -> None:
    """Send one `Enforcer.SubscriptionCreated` event to an Event Grid topic.

    Authenticates with the topic access key when `key` is given (the `aeg-sas-key` header), else with
    `credential` or DefaultAzureCredential (needs "EventGrid Data Sender" on the topic). Everything is
    validated before any request is made. Raises ValueError (ConfigError) for bad input and
    azure.core.exceptions.HttpResponseError when Event Grid refuses the event.
    """
    if key is not None and credential is not None:
        raise ValueError("give either a topic key or a credential, not both")
    if key is not None and not key.strip():
        raise ValueError("the topic key is empty")
    sid = _checked_subscription_id(subscription_id)
    event = build_subscription_created_event(sid, display_name, requested_by)
    url = _topic_endpoint(endpoint)
    host = urlsplit(url).hostname
    send_options: dict[str, Any] = {}
    if key is None and urlsplit(url).scheme == "http" and is_loopback_host(host):
        # azure-core refuses bearer tokens over http; allow it for a local test endpoint only
        # (the per-call option lands in request.context["enforce_https"]).
        send_options["enforce_https"] = False

    from azure.eventgrid import EventGridPublisherClient  # imported when publishing only

    with ExitStack() as stack:
        auth: AzureKeyCredential | TokenCredential
        if key is not None:
            auth = AzureKeyCredential(key)
        elif credential is not None:
            auth = credential
        else:
            from azure.identity import DefaultAzureCredential

            auth = stack.enter_context(DefaultAzureCredential())
        client = stack.enter_context(EventGridPublisherClient(url, auth))
        client.send(event, **send_options)
    logger.info(
        "Published %s for subscription %s to %s (event id %s, auth %s)",
        VENDING_EVENT_TYPE,
        sid,
        host,
        event.id,
        "key" if key is not None else "entra",
    )
