"""The emulator's Event Grid management API and resource groups: what event wiring calls (never deployed).

Served (any api-version; the SDK sends 2025-02-15, resource groups 2021-04-01):
- `GET|PUT /subscriptions/{s}/resourcegroups/{g}`
- `GET /subscriptions/{s}/providers/Microsoft.EventGrid/systemTopics` (list by subscription)
- `GET|PUT /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.EventGrid/systemTopics/{t}`
- `GET .../systemTopics/{t}/eventSubscriptions`, `GET|PUT .../systemTopics/{t}/eventSubscriptions/{n}`
- the Resource Graph query for `microsoft.eventgrid/systemtopics` (see `TOPICS_QUERY_SHAPE`)

Shapes follow the azure-rest-api-specs Microsoft.EventGrid 2022-06-15 examples (SystemTopics_Get.json,
SystemTopicEventSubscriptions_CreateOrUpdate.json: a 201 whose destination carries `endpointBaseUrl` and never
the write-only `endpointUrl`, retryPolicy defaulting to 30 attempts / 1440 minutes, provisioningState Succeeded).
The one-topic-per-source rule answers 400 with the error Azure published (quoted in MicrosoftDocs/azure-docs
PR #97986): code `InvalidRequest`, "There is an existing tracked system topic for the given source <source>.
Only one system topic is allowed per source." Our readings, not published: the status 400 (deployments wrap it
as BadRequest), ResourceGroupNotFound for a topic PUT into a missing group, and refusing a source in another
subscription than the topic's.
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

_SUB = r"^/subscriptions/(?P<sub>[^/]+)"
_GROUP = _SUB + r"/resourceGroups/(?P<group>[^/]+)"
_TOPIC = _GROUP + r"/providers/Microsoft\.EventGrid/systemTopics/(?P<topic>[^/]+)"
EVENTGRID_ROUTES: Final[tuple[tuple[str, re.Pattern[str], str], ...]] = (
    ("GET", re.compile(_GROUP + r"/?$", re.IGNORECASE), "resourcegroups.get"),
    ("PUT", re.compile(_GROUP + r"/?$", re.IGNORECASE), "resourcegroups.put"),
    (
        "GET",
        re.compile(_SUB + r"/providers/Microsoft\.EventGrid/systemTopics/?$", re.IGNORECASE),
        "eventgrid.systemtopics.list",
    ),
    ("GET", re.compile(_TOPIC + r"/?$", re.IGNORECASE), "eventgrid.systemtopics.get"),
    ("PUT", re.compile(_TOPIC + r"/?$", re.IGNORECASE), "eventgrid.systemtopics.put"),
    ("GET", re.compile(_TOPIC + r"/eventSubscriptions/?$", re.IGNORECASE), "eventgrid.eventsubscriptions.list"),
    (
        "GET",
        re.compile(_TOPIC + r"/eventSubscriptions/(?P<name>[^/]+)/?$", re.IGNORECASE),
        "eventgrid.eventsubscriptions.get",
    ),
    (
        "PUT",
        re.compile(_TOPIC + r"/eventSubscriptions/(?P<name>[^/]+)/?$", re.IGNORECASE),
        "eventgrid.eventsubscriptions.put",
    ),
)
EVENTGRID_KINDS: Final = frozenset(kind for _, _, kind in EVENTGRID_ROUTES)
EVENTGRID_WRITE_KINDS: Final = frozenset(kind for method, _, kind in EVENTGRID_ROUTES if method == "PUT")
_WRITE_ACTIONS: Final = {
    "resourcegroups.put": "Microsoft.Resources/subscriptions/resourcegroups/write",
    "eventgrid.systemtopics.put": "Microsoft.EventGrid/systemTopics/write",
    "eventgrid.eventsubscriptions.put": "Microsoft.EventGrid/systemTopics/eventSubscriptions/write",
}
TOPICS_QUERY_SHAPE: Final = (
    "resources | where type =~ 'microsoft.eventgrid/systemtopics' and tostring(properties.topicType) =~ '<type>' "
    "| project id, name, resourceGroup, subscriptionId, source = tostring(properties.source), "
    "topicType = tostring(properties.topicType) | order by id asc"
)
_TOPICS_QUERY = re.compile(
    r"^resources\s*\|\s*where\s+type\s*=~\s*'microsoft\.eventgrid/systemtopics'\s+and\s+"
    r"tostring\(\s*properties\.topicType\s*\)\s*=~\s*'(?P<type>[A-Za-z.]+)'\s*"
    r"\|\s*project\s+id\s*,\s*name\s*,\s*resourceGroup\s*,\s*subscriptionId\s*,\s*"
    r"source\s*=\s*tostring\(\s*properties\.source\s*\)\s*,\s*topicType\s*=\s*tostring\(\s*properties\.topicType\s*\)"
    r"\s*\|\s*order\s+by\s+id\s+asc\s*;?\s*$",
    re.IGNORECASE,
)

Reply = tuple[int, dict[str, Any]]


def _error(status: int, code: str, message: str) -> Reply:
    return status, {"error": {"code": code, "message": message}}


def _forbidden(client_object_id: str, action: str, scope: str) -> Reply:
    return _error(
        403,
        "AuthorizationFailed",
        f"The client '{client_object_id}' with object id '{client_object_id}' does not have authorization to "
        f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, "
        "please refresh your credentials.",
    )


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@dataclass
class EventGridState:
    """Resource groups, system topics and their event subscriptions, per subscription; thread-safe.

    `forbidden_writes`: subscription ids where every PUT here answers 403 (the identity lacks the wiring role;
    reads still work, as with Reader at the management group). `handshake_fails`: subscription ids where the
    WebHook validation handshake fails; the answer quotes the endpoint URL as given (our reading of Azure's
    "Webhook validation handshake failed for <url>" errors), which is how a key could leak into an error.
    """

    client_object_id: str = "5f0c3b1e-0000-4000-8000-0000000e0001"
    forbidden_writes: set[str] = field(default_factory=set)
    handshake_fails: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # (subscription, group lower) -> resource group resource
    _groups: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, repr=False)
    # topic id lower -> topic resource
    _topics: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    # topic id lower -> {name lower -> event subscription resource (as stored: endpointUrl kept, never returned)}
    _subscriptions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ seeding and inspection (tests)
    def add_topic(
        self,
        subscription_id: str,
        group: str,
        name: str,
        *,
        source: str | None = None,
        topic_type: str = "",
        location: str = "global",
    ) -> str:
        """Seed a system topic (and its group); returns its id. Default: the subscription's resources topic."""
        sub = subscription_id.lower()
        with self._lock:
            self._groups.setdefault((sub, group.lower()), self._group_resource(sub, group, "westeurope", {}))
            topic = self._topic_resource(
                sub, group, name, source or f"/subscriptions/{sub}", topic_type or "Microsoft.Resources.Subscriptions"
            )
            topic["location"] = location
            self._topics[topic["id"].lower()] = topic
            return str(topic["id"])

    def add_event_subscription(self, topic_id: str, name: str, properties: Mapping[str, Any]) -> None:
        with self._lock:
            topic = self._topics[topic_id.lower()]
            self._subscriptions.setdefault(topic_id.lower(), {})[name.lower()] = self._stored_subscription(
                topic, name, properties
            )

    def topics(self, subscription_id: str) -> list[dict[str, Any]]:
        sub = subscription_id.lower()
        with self._lock:
            return [copy.deepcopy(t) for t in self._topics.values() if t["id"].split("/")[2].lower() == sub]

    def event_subscriptions(self, topic_id: str) -> dict[str, dict[str, Any]]:
        """Stored event subscriptions of a topic by name, endpointUrl included (tests check the key went there)."""
        with self._lock:
            return {s["name"]: copy.deepcopy(s) for s in self._subscriptions.get(topic_id.lower(), {}).values()}

    def groups(self, subscription_id: str) -> list[str]:
        sub = subscription_id.lower()
        with self._lock:
            return [g["name"] for (s, _), g in self._groups.items() if s == sub]

    # ------------------------------------------------------------------ resources
    @staticmethod
    def _group_resource(sub: str, name: str, location: str, tags: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{sub}/resourceGroups/{name}",
            "name": name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": location,
            "tags": dict(tags),
            "properties": {"provisioningState": "Succeeded"},
        }

    @staticmethod
    def _topic_resource(sub: str, group: str, name: str, source: str, topic_type: str) -> dict[str, Any]:
        return {
            "properties": {
                "provisioningState": "Succeeded",
                "source": source,
                "topicType": topic_type,
                "metricResourceId": str(uuid.uuid4()),
            },
            "location": "global",
            "tags": None,
            "id": f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.EventGrid/systemTopics/{name}",
            "name": name,
            "type": "Microsoft.EventGrid/systemTopics",
        }

    @staticmethod
    def _stored_subscription(topic: Mapping[str, Any], name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        props = copy.deepcopy(dict(properties))
        props.setdefault("eventDeliverySchema", "EventGridSchema")
        props.setdefault("retryPolicy", {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440})
        props.setdefault("labels", None)
        props["provisioningState"] = "Succeeded"
        props["topic"] = topic["id"]
        return {
            "properties": props,
            "id": f"{topic['id']}/eventSubscriptions/{name}",
            "name": name,
            "type": "Microsoft.EventGrid/systemTopics/eventSubscriptions",
        }

    @staticmethod
    def _as_returned(stored: Mapping[str, Any]) -> dict[str, Any]:
        """`endpointUrl` is write-only: ARM answers `endpointBaseUrl` (the URL without its query, key included)."""
        answer = copy.deepcopy(dict(stored))
        destination = answer["properties"].get("destination") or {}
        dest_props = destination.get("properties") or {}
        if "endpointUrl" in dest_props:
            dest_props["endpointBaseUrl"] = _base_url(str(dest_props.pop("endpointUrl")))
        return answer

    # ------------------------------------------------------------------ HTTP
    def serve(self, kind: str, method: str, path: str, body: Any) -> Reply:
        """Answer one request the router resolved to an Event Grid or resource-group kind; `body` is parsed JSON."""
        match = next(p.match(path) for m, p, k in EVENTGRID_ROUTES if k == kind and m == method)
        assert match is not None
        groups = match.groupdict()
        sub = groups["sub"].lower()
        if kind in _WRITE_ACTIONS and sub in self.forbidden_writes:
            scope = path.split("?", maxsplit=1)[0].rstrip("/")
            return _forbidden(self.client_object_id, _WRITE_ACTIONS[kind], scope)
        with self._lock:
            if kind.startswith("resourcegroups."):
                return self._resource_group(kind, sub, groups["group"], body)
            if kind == "eventgrid.systemtopics.list":
                value = [t for t in self._topics.values() if t["id"].split("/")[2].lower() == sub]
                return 200, {"value": copy.deepcopy(value)}
            topic_id = (
                f"/subscriptions/{sub}/resourceGroups/{groups['group']}"
                f"/providers/Microsoft.EventGrid/systemTopics/{groups['topic']}"
            )
            if kind == "eventgrid.systemtopics.put":
                return self._put_topic(sub, groups["group"], groups["topic"], topic_id, body)
            topic = self._topics.get(topic_id.lower())
            if topic is None:
                return _error(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.EventGrid/systemTopics/{groups['topic']}' under resource group "
                    f"'{groups['group']}' was not found. "
                    "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                )
            if kind == "eventgrid.systemtopics.get":
                return 200, copy.deepcopy(topic)
            subs = self._subscriptions.setdefault(topic["id"].lower(), {})
            if kind == "eventgrid.eventsubscriptions.list":
                return 200, {"value": [self._as_returned(s) for s in subs.values()]}
            name = groups["name"]
            if kind == "eventgrid.eventsubscriptions.get":
                stored = subs.get(name.lower())
                if stored is None:
                    return _error(404, "ResourceNotFound", f"The event subscription '{name}' was not found.")
                return 200, self._as_returned(stored)
            return self._put_subscription(topic, subs, name, body)

    def _resource_group(self, kind: str, sub: str, name: str, body: Any) -> Reply:
        key = (sub, name.lower())
        existing = self._groups.get(key)
        if kind == "resourcegroups.get":
            if existing is None:
                return _error(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")
            return 200, copy.deepcopy(existing)
        if not isinstance(body, dict) or not isinstance(body.get("location"), str):
            return _error(400, "InvalidRequestContent", "The request content must name a 'location'.")
        if existing is not None and existing["location"].lower() != body["location"].lower():
            return _error(
                409,
                "InvalidResourceGroupLocation",
                f"Invalid resource group location '{body['location']}'. The Resource group already exists in "
                f"location '{existing['location']}'.",
            )
        group = self._group_resource(
            sub, existing["name"] if existing else name, body["location"], body.get("tags") or {}
        )
        self._groups[key] = group
        return (200 if existing else 201), copy.deepcopy(group)

    def _put_topic(self, sub: str, group: str, name: str, topic_id: str, body: Any) -> Reply:
        if (sub, group.lower()) not in self._groups:
            return _error(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")
        props = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict) or not props.get("source") or not props.get("topicType"):
            return _error(400, "InvalidRequest", "A system topic needs properties.source and properties.topicType.")
        source, topic_type = str(props["source"]), str(props["topicType"])
        existing = self._topics.get(topic_id.lower())
        if existing is not None:
            if existing["properties"]["source"].lower() != source.lower():
                return _error(400, "InvalidRequest", "System topic source cannot be modified.")
            return 200, copy.deepcopy(existing)
        if not source.lower().startswith(f"/subscriptions/{sub}"):
            return _error(400, "InvalidRequest", f"The source {source} is not in subscription {sub}.")
        for other in self._topics.values():
            if other["properties"]["source"].rstrip("/").lower() == source.rstrip("/").lower():
                return _error(
                    400,
                    "InvalidRequest",
                    f"There is an existing tracked system topic for the given source {source}. "
                    "Only one system topic is allowed per source.",
                )
        topic = self._topic_resource(sub, group, name, source, topic_type)
        topic["tags"] = body.get("tags")
        self._topics[topic_id.lower()] = topic
        return 201, copy.deepcopy(topic)

    def _put_subscription(
        self, topic: Mapping[str, Any], subs: dict[str, dict[str, Any]], name: str, body: Any
    ) -> Reply:
        props = body.get("properties") if isinstance(body, dict) else None
        destination = props.get("destination") if isinstance(props, dict) else None
        if not isinstance(destination, dict):
            return _error(400, "InvalidRequest", "The event subscription needs properties.destination.")
        if str(destination.get("endpointType", "")).lower() == "webhook":
            url = str((destination.get("properties") or {}).get("endpointUrl") or "")
            if not url.lower().startswith("https://"):
                return _error(
                    400, "InvalidRequest", "The attempt to validate the provided endpoint failed: https only."
                )
            if topic["id"].split("/")[2].lower() in self.handshake_fails:
                return _error(
                    400,
                    "InvalidRequest",
                    f"Webhook validation handshake failed for {url}. Http POST request failed with response code "
                    "Unknown.",
                )
        existed = name.lower() in subs
        stored = self._stored_subscription(topic, name, props or {})
        subs[name.lower()] = stored
        return (200 if existed else 201), self._as_returned(stored)

    def topic_rows(self, query: str, subscription_ids: list[str]) -> list[dict[str, Any]] | None:
        """Resource Graph rows for the systemtopics query, or None when `query` is not that shape."""
        match = _TOPICS_QUERY.match(" ".join(query.split()))
        if match is None:
            return None
        wanted = set(subscription_ids)
        rows = []
        with self._lock:
            for topic in self._topics.values():
                sub = topic["id"].split("/")[2].lower()
                if sub not in wanted or topic["properties"]["topicType"].lower() != match.group("type").lower():
                    continue
                rows.append(
                    {
                        "id": topic["id"],
                        "name": topic["name"],
                        "resourceGroup": topic["id"].split("/")[4].lower(),
                        "subscriptionId": sub,
                        "source": topic["properties"]["source"],
                        "topicType": topic["properties"]["topicType"],
                    }
                )
        rows.sort(key=lambda r: str(r["id"]))
        return rows
