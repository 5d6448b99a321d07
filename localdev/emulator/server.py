"""A loopback HTTP server that speaks the slice of Azure Resource Manager the enforcer uses.

Endpoints (shapes from the official REST specs and examples):
- `GET /subscriptions`, `GET /subscriptions/{id}` (Subscriptions API, any api-version; the SDK sends 2022-12-01)
- `GET|PUT /subscriptions/{id}/providers/Microsoft.Security/pricings/{name}` and
  `GET .../pricings[?$filter=name in (A,B)]` (api-version 2024-01-01 only)
- `POST /subscriptions/{id}/providers/Microsoft.Security/register` and
  `GET /subscriptions/{id}/providers/Microsoft.Security`
  (what azure-mgmt-core's ARMAutoResourceProviderRegistrationPolicy calls on 409 MissingSubscriptionRegistration)
- `POST /providers/Microsoft.ResourceGraph/resources` for one query shape (see `ARG_QUERY_SHAPE`), and the
  `resources` query for AI accounts (localdev/emulator/cognitive.py)
- Microsoft.CognitiveServices accounts (list, get) and their defenderForAISettings (get, list, PUT, PATCH):
  localdev/emulator/cognitive.py
- `POST /providers/Microsoft.Management/getEntities` (the management-group tree) and the inventory query's
  `managementGroupAncestorsChain`: localdev/emulator/management_groups.py

Per request: resolve the route and count it, check auth (401), add latency, draw throttle (429)
and server errors (500/503), then serve. Work per request is O(1) except the list and
Resource Graph endpoints.
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import json
import logging
import math
import re
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, cast
from urllib.parse import parse_qs, quote, urlsplit

from enforcer.adapters.closing import RunsWhileEntered
from enforcer.core.text import is_guid
from localdev.emulator import activity_log, authorization, cognitive, management_groups
from localdev.emulator.eventgrid import EVENTGRID_KINDS, EVENTGRID_ROUTES, EVENTGRID_WRITE_KINDS, EventGridState
from localdev.emulator.faults import FaultConfig, FaultDraws
from localdev.emulator.fleet import FleetMember, build_fleet
from localdev.emulator.graph_faults import resource_graph_failure
from localdev.emulator.state import (
    DEFAULT_TENANT_ID,
    HISTORY_SECONDS,
    READ_ONLY_STATES,
    SUBSCRIPTION_STATES,
    PlanSpec,
    PricingValidationError,
    SubscriptionRecord,
    SubscriptionStore,
    apply_put,
    arm_timestamp,
    default_plans,
    find_plan,
    pricing_resource,
    seed_properties,
)
from localdev.emulator.write_events import Caller, WriteEvents, write_event

logger = logging.getLogger(__name__)

PRICINGS_API_VERSION: Final = "2024-01-01"
SUBSCRIPTIONS_API_VERSION: Final = "2022-12-01"
# The identity the emulator pretends every caller is, for AuthorizationFailed messages.
CLIENT_OBJECT_ID: Final = "5f0c3b1e-0000-4000-8000-0000000e0001"
MAX_ARG_SUBSCRIPTIONS: Final = 1000
MAX_ARG_PAGE: Final = 1000
# Resource Graph's default per-user quota (Resource Graph throttling guidance): 15 queries per 5-second window.
ARG_DEFAULT_QUOTA: Final = 15
ARG_INVENTORY_SHAPE: Final = (
    "resourcecontainers | where type =~ 'microsoft.resources/subscriptions' "
    "| project subscriptionId, name, state = tostring(properties.state), tags"
    "[, managementGroups = properties.managementGroupAncestorsChain] "
    "| join kind=leftouter (securityresources | where type =~ 'microsoft.security/pricings' and name =~ '<plan>' "
    "| project subscriptionId, pricingTier = tostring(properties.pricingTier), extensions = properties.extensions) "
    "on subscriptionId | project subscriptionId, name, state, tags[, managementGroups], pricingTier, extensions "
    "[| order by subscriptionId [asc|desc]]"
)
ARG_QUERY_SHAPE: Final = (
    "securityresources | where type =~ 'microsoft.security/pricings' and name =~ '<plan>' "
    "| project subscriptionId, pricingTier = tostring(properties.pricingTier), extensions = properties.extensions "
    "[| order by subscriptionId [asc|desc]]"
)

_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha)?$")
_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_SECURITY = _SUB + r"/providers/Microsoft\.Security"
_ROUTES: Final[tuple[tuple[str, re.Pattern[str], str], ...]] = (
    ("GET", re.compile(r"^/subscriptions/?$", re.IGNORECASE), "subscriptions.list"),
    ("GET", re.compile(_SUB + r"/?$", re.IGNORECASE), "subscriptions.get"),
    ("GET", re.compile(_SECURITY + r"/pricings/?$", re.IGNORECASE), "pricings.list"),
    ("GET", re.compile(_SECURITY + r"/pricings/(?P<plan>[^/]+)/?$", re.IGNORECASE), "pricings.get"),
    ("PUT", re.compile(_SECURITY + r"/pricings/(?P<plan>[^/]+)/?$", re.IGNORECASE), "pricings.put"),
    ("POST", re.compile(_SECURITY + r"/register/?$", re.IGNORECASE), "providers.register"),
    ("GET", re.compile(_SECURITY + r"/?$", re.IGNORECASE), "providers.get"),
    (
        "POST",
        re.compile(r"^/providers/Microsoft\.ResourceGraph/resources/?$", re.IGNORECASE),
        "resourcegraph.resources",
    ),
    *EVENTGRID_ROUTES,  # event wiring: localdev/emulator/eventgrid.py
    *cognitive.ROUTES,  # AI accounts: localdev/emulator/cognitive.py
    *authorization.ROUTES,  # Microsoft.Authorization/permissions: localdev/emulator/authorization.py
    *activity_log.ROUTES,  # the Activity Log: localdev/emulator/activity_log.py
    *management_groups.ROUTES,  # the Entities API: localdev/emulator/management_groups.py
)
PRICING_WRITE: Final = "Microsoft.Security/pricings/write"
SETTING_WRITE: Final = "Microsoft.CognitiveServices/accounts/defenderForAISettings/write"
# The emulator's callers over HTTP are one identity (CLIENT_OBJECT_ID): our reading, see write_events.py.
ENFORCER_CALLER: Final = Caller(object_id=CLIENT_OBJECT_ID, app_id="5f0c3b1e-0000-4000-8000-0000000a0001")
_WRITE_KINDS: Final = frozenset({"pricings.put", "providers.register", *cognitive.WRITE_KINDS}) | EVENTGRID_WRITE_KINDS
_ARG_QUERY = re.compile(
    r"^securityresources\s*\|\s*where\s+type\s*=~\s*'microsoft\.security/pricings'\s+and\s+name\s*=~\s*'(?P<plan>[A-Za-z0-9]+)'"
    r"\s*\|\s*project\s+subscriptionId\s*,\s*pricingTier\s*=\s*tostring\(\s*properties\.pricingTier\s*\)"
    r"\s*,\s*extensions\s*=\s*properties\.extensions"
    r"(?P<order>\s*\|\s*order\s+by\s+subscriptionId(?:\s+(?P<direction>asc|desc))?)?\s*;?\s*$",
    re.IGNORECASE,
)
_ARG_INVENTORY = re.compile(
    r"^resourcecontainers\s*\|\s*where\s+type\s*=~\s*'microsoft\.resources/subscriptions'"
    r"\s*\|\s*project\s+subscriptionId\s*,\s*name\s*,\s*state\s*=\s*tostring\(\s*properties\.state\s*\)\s*,\s*tags"
    r"(?P<mg>\s*,\s*managementGroups\s*=\s*properties\.managementGroupAncestorsChain)?"
    r"\s*\|\s*join\s+kind\s*=\s*leftouter\s*\(\s*securityresources\s*\|\s*where\s+type\s*=~\s*"
    r"'microsoft\.security/pricings'\s+and\s+name\s*=~\s*'(?P<plan>[A-Za-z0-9]+)'"
    r"\s*\|\s*project\s+subscriptionId\s*,\s*pricingTier\s*=\s*tostring\(\s*properties\.pricingTier\s*\)"
    r"\s*,\s*extensions\s*=\s*properties\.extensions\s*\)\s*on\s+subscriptionId"
    r"\s*\|\s*project\s+subscriptionId\s*,\s*name\s*,\s*state\s*,\s*tags\s*(?(mg),\s*managementGroups\s*)"
    r",\s*pricingTier\s*,\s*extensions"
    r"(?P<order>\s*\|\s*order\s+by\s+subscriptionId(?:\s+(?P<direction>asc|desc))?)?\s*;?\s*$",
    re.IGNORECASE,
)
_FILTER = re.compile(r"^\s*name\s+in\s*\((?P<names>[^)]*)\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str  # without the query string
    query: str
    kind: str  # e.g. "pricings.get"; "unknown" for paths the emulator does not serve
    subscription_id: str | None
    status: int
    started: float  # time.monotonic()
    ended: float
    had_bearer: bool


class ArmError(Exception):
    """An ARM error answer: status plus CloudError body `{"error": {code, message, target?, details?}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


@dataclass
class _Reply:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    query: Mapping[str, list[str]]
    body: bytes


@dataclass(frozen=True)
class _Route:
    kind: str
    subscription_id: str | None
    plan: str | None


def _resolve(method: str, path: str) -> _Route:
    known_path = False
    for route_method, pattern, kind in _ROUTES:
        match = pattern.match(path)
        if match is None:
            continue
        known_path = True
        if route_method != method:
            continue
        groups = match.groupdict()
        sub = groups.get("sub")
        return _Route(kind, sub.lower() if sub else None, groups.get("plan"))
    return _Route("method_not_allowed" if known_path else "unknown", None, None)


def _query_value(query: Mapping[str, list[str]], name: str) -> str | None:
    """Query parameter names are case-insensitive in ARM (the examples spell `$Filter`)."""
    lowered = name.lower()
    for key, values in query.items():
        if key.lower() == lowered and values:
            return values[0]
    return None


def _encode_token(payload: Mapping[str, int]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> dict[str, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("malformed token") from exc
    if not isinstance(data, dict) or not all(isinstance(v, int) and v >= 0 for v in data.values()):
        raise ValueError("malformed token")
    return data


def _forbidden(action: str, scope: str) -> ArmError:
    return ArmError(
        403,
        "AuthorizationFailed",
        f"The client '{CLIENT_OBJECT_ID}' with object id '{CLIENT_OBJECT_ID}' does not have authorization to "
        f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, "
        "please refresh your credentials.",
    )


def _not_registered() -> ArmError:
    message = (
        "The subscription is not registered to use namespace 'Microsoft.Security'. "
        "See https://aka.ms/rps-not-found for how to register subscriptions."
    )
    return ArmError(
        409,
        "MissingSubscriptionRegistration",
        message,
        target="Microsoft.Security",
        details=[{"code": "MissingSubscriptionRegistration", "target": "Microsoft.Security", "message": message}],
    )


class Emulator(RunsWhileEntered):
    """The ARM emulator: start it, seed subscriptions, set faults, then point the real SDK clients at `url`."""

    def __init__(
        self,
        faults: FaultConfig | None = None,
        *,
        port: int = 0,
        page_size: int = 100,
        plans: Mapping[str, PlanSpec] | None = None,
        host: str = "127.0.0.1",
        max_records: int = 100_000,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self._host = host
        self._port = port
        self.page_size = page_size
        # The plan catalogue; tests may replace an entry (e.g. a plan with fewer extensions).
        self.plans: dict[str, PlanSpec] = dict(plans) if plans is not None else default_plans()
        self._faults = faults or FaultConfig()
        self._draws = FaultDraws(self._faults.seed)
        self._store = SubscriptionStore()
        # Resource groups, system topics and event subscriptions (event wiring); tests seed and inspect it.
        self.eventgrid = EventGridState(client_object_id=CLIENT_OBJECT_ID)
        # AI accounts and their defenderForAISettings; tests seed it directly (emulator.cognitive.add(...)).
        self.cognitive = cognitive.AccountStore()
        # What the caller may do per scope (doctor's permissions check), and Resource Graph columns left out.
        self.permissions = authorization.Permissions()
        self.graph_missing_columns: set[str] = set()
        # The management-group tree (localdev/emulator/management_groups.py); tests seed it with add() and place().
        self.management_groups = management_groups.ManagementGroupTree()
        # The subscription topics' ResourceWriteSuccess events for writes (localdev/emulator/write_events.py).
        self.write_events = WriteEvents()
        self._stats_lock = threading.Lock()
        self._calls: collections.Counter[str] = collections.Counter()
        self._calls_by_sub: collections.Counter[tuple[str, str | None]] = collections.Counter()
        self._records: collections.deque[RequestRecord] = collections.deque(maxlen=max_records)
        self._retry_deadlines: dict[tuple[str, str | None], float] = {}
        self._early_retries = 0
        self._graph_window_ends = 0.0
        self._graph_queries = 0
        self._graph_quota_exceeded = 0
        self._fault_lock = threading.Lock()
        self._puts_in_flight: set[str] = set()
        self._throttle_counter = 0
        self._burst_left: dict[str | None, int] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> Emulator:
        if self._server is not None:
            return self
        server = _Server((self._host, self._port), _Handler, self)
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="arm-emulator", daemon=True
        )
        self._thread.start()
        logger.info("ARM emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        logger.info("ARM emulator stopped")

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    # ---------------------------------------------------------------- faults and observations
    @property
    def faults(self) -> FaultConfig:
        return self._faults

    @faults.setter
    def faults(self, value: FaultConfig) -> None:
        self._faults = value
        self._draws = FaultDraws(value.seed)

    @property
    def calls(self) -> collections.Counter[str]:
        """Requests that reached a handler, by kind (faulted ones included). A copy."""
        with self._stats_lock:
            return collections.Counter(self._calls)

    @property
    def calls_by_subscription(self) -> collections.Counter[tuple[str, str | None]]:
        """The same counts keyed by (kind, subscription id or None). A copy."""
        with self._stats_lock:
            return collections.Counter(self._calls_by_sub)

    def call_count(self, kind: str, subscription_id: str | None = None) -> int:
        with self._stats_lock:
            if subscription_id is None:
                return self._calls[kind]
            return self._calls_by_sub[(kind, subscription_id.lower())]

    def reset_calls(self) -> None:
        """Forget counts, request records and early-retry accounting."""
        with self._stats_lock:
            self._calls.clear()
            self._calls_by_sub.clear()
            self._records.clear()
            self._retry_deadlines.clear()
            self._early_retries = 0

    @property
    def requests(self) -> list[RequestRecord]:
        with self._stats_lock:
            return list(self._records)

    @property
    def early_retries(self) -> int:
        """Requests that came back for the same (kind, subscription) before the Retry-After they were sent."""
        with self._stats_lock:
            return self._early_retries

    # ---------------------------------------------------------------- state
    def add_subscription(
        self,
        subscription_id: str,
        display_name: str | None = None,
        *,
        state: str = "Enabled",
        tags: Mapping[str, str] | None = None,
        pricing: Mapping[str, Any] | None = None,
        registered: bool = True,
        pricings: Mapping[str, Mapping[str, Any]] | None = None,
        tenant_id: str = DEFAULT_TENANT_ID,
    ) -> None:
        """Add a subscription. `pricing` is the stored `properties` of the AI plan, kept as given
        (None: Free, no extensions listed); `pricings` does the same for any plan by name."""
        record = self._make_record(
            subscription_id, display_name, state=state, tags=tags, registered=registered, tenant_id=tenant_id
        )
        plans: dict[str, Mapping[str, Any]] = dict(pricings or {})
        if pricing is not None:
            plans["AI"] = pricing
        for name, props in plans.items():
            plan = self._plan_or_raise(name)
            record.pricings[plan.name] = seed_properties(props)
        record.created_at = time.monotonic()
        self._store.add(record)

    def seed_fleet(self, n: int, drift_fraction: float = 0.2, seed: int = 1) -> list[FleetMember]:
        """Add n subscriptions (deterministic ids from `seed`); round(n * drift_fraction) drifted."""
        fleet = build_fleet(n, drift_fraction, seed)
        records = []
        for seeded in fleet:
            record = self._make_record(
                seeded.member.subscription_id,
                seeded.member.display_name,
                state="Enabled",
                tags=seeded.tags,
                registered=True,
                tenant_id=DEFAULT_TENANT_ID,
            )
            record.pricings["AI"] = seeded.ai_pricing
            records.append(record)
        self._store.add_many(records)
        return [s.member for s in fleet]

    def pricing(self, subscription_id: str, plan_name: str = "AI") -> dict[str, Any]:
        """The pricing resource exactly as a GET would return it (a copy)."""
        record = self._record_or_raise(subscription_id)
        plan = self._plan_or_raise(plan_name)
        with record.lock:
            props = record.properties(plan)
        return cast(dict[str, Any], json.loads(json.dumps(pricing_resource(record.subscription_id, plan.name, props))))

    def set_pricing(self, subscription_id: str, plan_name: str, properties: Mapping[str, Any]) -> None:
        """Change a pricing behind the enforcer's back (drift); Resource Graph sees it after its lag."""
        record = self._record_or_raise(subscription_id)
        plan = self._plan_or_raise(plan_name)
        props = seed_properties(properties)
        with record.lock:
            record.write(plan, props, time.monotonic(), self._history_seconds())

    def set_subscription_state(self, subscription_id: str, state: str) -> None:
        if state not in SUBSCRIPTION_STATES:
            raise ValueError(f"state must be one of {SUBSCRIPTION_STATES}, got {state!r}")
        record = self._record_or_raise(subscription_id)
        with record.lock:
            record.state = state

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        """The subscription as `Subscriptions - Get` returns it."""
        record = self._record_or_raise(subscription_id)
        with record.lock:
            return record.to_arm()

    def is_registered(self, subscription_id: str) -> bool:
        record = self._record_or_raise(subscription_id)
        return self._registered(record, self._faults)

    def _make_record(
        self,
        subscription_id: str,
        display_name: str | None,
        *,
        state: str,
        tags: Mapping[str, str] | None,
        registered: bool,
        tenant_id: str,
    ) -> SubscriptionRecord:
        if not is_guid(subscription_id):
            raise ValueError(f"subscription id must be a GUID, got {subscription_id!r}")
        if state not in SUBSCRIPTION_STATES:
            raise ValueError(f"state must be one of {SUBSCRIPTION_STATES}, got {state!r}")
        sub_id = subscription_id.lower()
        return SubscriptionRecord(
            subscription_id=sub_id,
            display_name=display_name or f"sub-{sub_id[:8]}",
            state=state,
            tags=dict(tags or {}),
            tenant_id=tenant_id,
            registered=registered,
        )

    def _record_or_raise(self, subscription_id: str) -> SubscriptionRecord:
        record = self._store.get(subscription_id)
        if record is None:
            raise KeyError(f"no subscription {subscription_id}")
        return record

    def _plan_or_raise(self, name: str) -> PlanSpec:
        plan = find_plan(self.plans, name)
        if plan is None:
            raise KeyError(f"unknown plan {name!r}; known: {', '.join(self.plans)}")
        return plan

    def _history_seconds(self) -> float:
        return max(HISTORY_SECONDS, self._faults.resource_graph_lag_seconds * 2)

    @staticmethod
    def _registered(record: SubscriptionRecord, faults: FaultConfig) -> bool:
        return record.registered and record.subscription_id not in faults.unregistered

    # ---------------------------------------------------------------- request handling
    def _count(self, kind: str, subscription_id: str | None, arrived: float) -> None:
        key = (kind, subscription_id)
        with self._stats_lock:
            self._calls[kind] += 1
            self._calls_by_sub[key] += 1
            deadline = self._retry_deadlines.get(key)
            if deadline is not None and arrived < deadline:
                self._early_retries += 1

    def _finish(self, record: RequestRecord, retry_after: float | None) -> None:
        key = (record.kind, record.subscription_id)
        with self._stats_lock:
            self._records.append(record)
            if retry_after is not None:
                self._retry_deadlines[key] = record.ended + retry_after
            elif record.status != 429:
                self._retry_deadlines.pop(key, None)

    def _handle(self, method: str, route: _Route, target: str, headers: Mapping[str, str], body: bytes) -> _Reply:
        """`headers` are keyed in lowercase."""
        split = urlsplit(target)
        query = parse_qs(split.query, keep_blank_values=True)
        faults = self._faults  # one snapshot per request: tests may swap the config mid-run
        holds_put = False
        try:
            auth = headers.get("authorization") or ""
            if faults.require_auth and not (auth[:7].lower() == "bearer " and auth[7:].strip()):
                raise self._unauthenticated(bool(auth))
            if route.kind == "pricings.put" and route.subscription_id:
                holds_put = self._begin_put(route.subscription_id)
            if faults.latency_ms > 0:
                time.sleep(faults.latency_ms / 1000.0)
            if (
                self._take_forced_throttle(faults)
                or self._sustained_throttle(route, faults)
                or self._draws.hit(faults.throttle_fraction)
            ):
                raise self._throttled(route, faults)
            if self._draws.hit(faults.error_fraction):
                raise self._server_error(route)
            if holds_put and faults.put_hold_seconds > 0:
                # A slow plan update: the slot stays taken (overlapping PUTs get 409) until it settles, and the
                # new state shows once it has (OUR READING: Azure does not say when a GET sees an update).
                time.sleep(faults.put_hold_seconds)
            reply = self._serve(route, _Call(method, split.path, query, body), faults, holds_put)
        except ArmError as err:
            reply = _Reply(err.status, err.body(), err.headers)
        finally:
            if holds_put and route.subscription_id:
                with self._fault_lock:
                    self._puts_in_flight.discard(route.subscription_id)
        if route.subscription_id is not None:
            quota = "x-ms-ratelimit-remaining-subscription-" + ("writes" if route.kind in _WRITE_KINDS else "reads")
            reply.headers.setdefault(quota, "0" if reply.status == 429 else ("199" if "writes" in quota else "249"))
        return reply

    def _take_forced_throttle(self, faults: FaultConfig) -> bool:
        if faults.throttle_next_calls <= 0:
            return False
        with self._fault_lock:
            if faults.throttle_next_calls <= 0:
                return False
            faults.throttle_next_calls -= 1
            return True

    def _sustained_throttle(self, route: _Route, faults: FaultConfig) -> bool:
        """Every k-th call answers 429, and then the same subscription's next N-1 calls too (our reading)."""
        if faults.throttle_every <= 0:
            return False
        with self._fault_lock:
            left = self._burst_left.get(route.subscription_id, 0)
            if left > 0:
                self._burst_left[route.subscription_id] = left - 1
                return True
            self._throttle_counter += 1
            if self._throttle_counter % faults.throttle_every != 0:
                return False
            if faults.throttle_burst > 1:
                self._burst_left[route.subscription_id] = faults.throttle_burst - 1
            return True

    def _begin_put(self, subscription_id: str) -> bool:
        """True when this PUT is the only one in flight on the subscription (and now holds it)."""
        with self._fault_lock:
            if subscription_id in self._puts_in_flight:
                return False
            self._puts_in_flight.add(subscription_id)
            return True

    @staticmethod
    def _unauthenticated(header_present: bool) -> ArmError:
        problem = "is provided in an invalid format" if header_present else "is missing"
        return ArmError(
            401,
            "AuthenticationFailed",
            f"Authentication failed. The 'Authorization' header {problem}.",
            headers={
                "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                'error="invalid_token", error_description="The authentication failed because of missing '
                "'Authorization' header.\""
            },
        )

    @staticmethod
    def _throttled(route: _Route, faults: FaultConfig) -> ArmError:
        operation = "Write" if route.kind in _WRITE_KINDS else "Read"
        headers = {"Retry-After": str(int(faults.retry_after_seconds))}
        if route.kind in ("resourcegraph.resources", cognitive.ARG_KIND):
            headers["x-ms-user-quota-remaining"] = "0"
            headers["x-ms-user-quota-resets-after"] = f"00:00:{int(faults.retry_after_seconds):02d}"
        return ArmError(
            429,
            "TooManyRequests",
            f"The request is being throttled as the limit has been reached for operation type - "
            f"{operation}_ObservationWindow_00:05:00. For more information, refer to - https://aka.ms/armthrottling",
            headers=headers,
        )

    def _server_error(self, route: _Route) -> ArmError:
        if self._draws.choice((500, 503)) == 500:
            return ArmError(
                500,
                "InternalServerError",
                f"Encountered internal server error. Diagnostic information: timestamp '{arm_timestamp()}', "
                f"subscription id '{route.subscription_id or ''}', tracking id '{uuid.uuid4()}'.",
            )
        return ArmError(503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry later.")

    def _serve(self, route: _Route, call: _Call, faults: FaultConfig, holds_put: bool) -> _Reply:
        method, path, query, body = call.method, call.path, call.query, call.body
        kind = route.kind
        if kind == "unknown":
            raise ArmError(404, "NotFound", f"The ARM emulator does not serve {method} {path}.")
        if kind == "method_not_allowed":
            raise ArmError(405, "MethodNotAllowed", f"The ARM emulator does not support {method} on {path}.")
        if kind in ("resourcegraph.resources", cognitive.ARG_KIND):
            return self._resource_graph(query, body, faults)
        if kind == authorization.KIND:
            return _Reply(*self.permissions.serve(path))
        if kind == management_groups.KIND:
            self._require_api_version(query, None)
            if self.management_groups.forbidden:
                raise _forbidden("Microsoft.Management/getEntities/action", "/providers/Microsoft.Management")
            records = self._store.page(0, len(self._store))[0]
            listed = [(r.subscription_id, r.display_name) for r in records]
            return _Reply(*self.management_groups.serve(query, listed, self.url))
        if kind == "subscriptions.list":
            self._require_api_version(query, None)
            return self._list_subscriptions(query)
        sub_id = route.subscription_id or ""
        if not is_guid(sub_id):
            raise ArmError(
                400,
                "InvalidSubscriptionId",
                f"The provided subscription identifier '{sub_id}' is malformed or invalid.",
            )
        if kind.startswith("cognitive."):
            return self._serve_cognitive(route, call, faults)
        if kind == activity_log.KIND:
            return self._serve_activity_log(sub_id, query, faults)
        pricings_call = kind.startswith("pricings.")
        self._require_api_version(query, PRICINGS_API_VERSION if pricings_call else None)
        record = self._store.get(sub_id)
        if record is None:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub_id}' could not be found.")
        if kind == "subscriptions.get":
            with record.lock:
                return _Reply(200, record.to_arm())
        if kind in EVENTGRID_KINDS:
            try:
                payload = json.loads(body) if body else None
            except ValueError:
                raise ArmError(400, "InvalidRequestContent", "The request content was invalid.") from None
            status, answer = self.eventgrid.serve(kind, method, path, payload)
            return _Reply(status, answer)
        if kind == "providers.register":
            return self._register(record, faults)
        if kind == "providers.get":
            return _Reply(
                200, self._provider_body(record, "Registered" if self._registered(record, faults) else "NotRegistered")
            )
        # pricings.*
        forbidden = faults.forbidden.get(sub_id)
        scope = f"/subscriptions/{sub_id}/providers/Microsoft.Security/pricings"
        if route.plan:
            scope += f"/{route.plan}"
        if forbidden == "all" and kind in ("pricings.get", "pricings.list"):
            raise _forbidden("Microsoft.Security/pricings/read", scope)
        if forbidden in ("all", "write") and kind == "pricings.put":
            raise _forbidden("Microsoft.Security/pricings/write", scope)
        if not self._registered(record, faults):
            raise _not_registered()
        if kind == "pricings.list":
            return self._list_pricings(record, query)
        plan = find_plan(self.plans, route.plan or "")
        if plan is None:
            raise ArmError(
                400,
                "InvalidResourceName",
                f"The name '{route.plan}' is not a valid name. Possible pricing bundle names: {', '.join(self.plans)}.",
            )
        if kind == "pricings.get":
            with record.lock:
                props = record.properties(plan)
            return _Reply(200, pricing_resource(sub_id, plan.name, props))
        return self._put_pricing(record, plan, body, faults, holds_put)

    def _serve_cognitive(self, route: _Route, call: _Call, faults: FaultConfig) -> _Reply:
        sub_id = route.subscription_id or ""
        record = self._store.get(sub_id)
        if record is None:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub_id}' could not be found.")
        try:
            status, body = self.cognitive.serve(
                route.kind,
                call.method,
                call.path,
                call.query,
                call.body,
                forbidden=faults.forbidden.get(sub_id),
                base_url=self.url,
            )
        except cognitive.CognitiveError as error:
            raise ArmError(error.status, error.code, error.message) from None
        if route.kind in cognitive.WRITE_KINDS and status < 300:
            self._raise_write_event(sub_id, call.path.rstrip("/"))
        return _Reply(status, body)

    def _serve_activity_log(self, sub_id: str, query: Mapping[str, list[str]], faults: FaultConfig) -> _Reply:
        self._require_api_version(query, None)
        if _query_value(query, "api-version") != activity_log.API_VERSION:
            raise ArmError(400, "InvalidApiVersionParameter", f"Use api-version {activity_log.API_VERSION} here.")
        if self._store.get(sub_id) is None:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub_id}' could not be found.")
        try:
            if faults.activity_log_error:
                raise activity_log.failure(faults.activity_log_error, sub_id, CLIENT_OBJECT_ID)
            return _Reply(*self.write_events.activity_log.serve(sub_id, _query_value(query, "$filter")))
        except activity_log.ActivityLogError as error:
            raise ArmError(error.status, error.code, error.message) from None

    # ---------------------------------------------------------------- write events (issue 19)
    def _raise_write_event(self, subscription_id: str, resource_uri: str, caller: Caller | None = None) -> None:
        operation = (
            PRICING_WRITE if "/providers/microsoft.security/pricings/" in resource_uri.lower() else SETTING_WRITE
        )
        record = self._store.get(subscription_id)
        tenant = record.tenant_id if record is not None else ""
        self.write_events.add(write_event(subscription_id, resource_uri, operation, caller or ENFORCER_CALLER, tenant))

    def user_write_pricing(
        self, subscription_id: str, properties: Mapping[str, Any], caller: Caller, plan_name: str = "AI"
    ) -> dict[str, Any]:
        """Someone else writes a plan (a PUT that replaces it): the state changes and the topic's event is raised
        (and returned)."""
        self.set_pricing(subscription_id, plan_name, properties)
        plan = self._plan_or_raise(plan_name)
        uri = f"/subscriptions/{subscription_id}/providers/Microsoft.Security/pricings/{plan.name}"
        self._raise_write_event(subscription_id, uri, caller)
        return self.write_events.take()[-1]

    def user_write_account_setting(self, resource_id: str, state: str, caller: Caller) -> dict[str, Any]:
        """Someone else sets an AI account's defenderForAISettings/Default; its event is raised (and returned)."""
        self.cognitive.set_state(resource_id, state)
        subscription_id = resource_id.split("/")[2].lower()
        self._raise_write_event(subscription_id, f"{resource_id}/defenderForAISettings/Default", caller)
        return self.write_events.take()[-1]

    @staticmethod
    def _require_api_version(query: Mapping[str, list[str]], exact: str | None) -> None:
        version = _query_value(query, "api-version")
        if not version:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if exact is None:
            if not _API_VERSION.match(version):
                raise ArmError(400, "InvalidApiVersionParameter", f"The api-version '{version}' is invalid.")
            return
        if version != exact:
            raise ArmError(
                400,
                "NoRegisteredProviderFound",
                f"No registered resource provider found for location 'global' and API version '{version}' for type "
                f"'pricings'. The supported api-versions are '{exact}' (the ARM emulator implements only this one).",
            )

    def _list_subscriptions(self, query: Mapping[str, list[str]]) -> _Reply:
        token = _query_value(query, "$skiptoken")
        offset = 0
        if token:
            try:
                offset = _decode_token(token).get("o", 0)
            except ValueError:
                raise ArmError(400, "InvalidSkipToken", "The $skiptoken is malformed.") from None
        records, total = self._store.page(offset, self.page_size)
        value = []
        for record in records:
            with record.lock:
                value.append(record.to_arm())
        body: dict[str, Any] = {"value": value}
        if offset + len(records) < total:
            next_token = quote(_encode_token({"o": offset + len(records)}), safe="")
            body["nextLink"] = (
                f"{self.url}/subscriptions?api-version={SUBSCRIPTIONS_API_VERSION}&%24skiptoken={next_token}"
            )
        return _Reply(200, body)

    def _list_pricings(self, record: SubscriptionRecord, query: Mapping[str, list[str]]) -> _Reply:
        plans = list(self.plans.values())
        raw_filter = _query_value(query, "$filter")
        if raw_filter:
            match = _FILTER.match(raw_filter)
            if match is None:
                raise ArmError(
                    400,
                    "InvalidFilter",
                    f"The $filter '{raw_filter}' is invalid. Valid: name in (planName1,planName2).",
                )
            wanted = {n.strip().strip("'\"").lower() for n in match.group("names").split(",") if n.strip()}
            plans = [p for p in plans if p.name.lower() in wanted]
        with record.lock:
            chosen = [(p.name, record.properties(p)) for p in plans]
        return _Reply(200, {"value": [pricing_resource(record.subscription_id, n, props) for n, props in chosen]})

    def _put_pricing(
        self, record: SubscriptionRecord, plan: PlanSpec, body: bytes, faults: FaultConfig, holds_put: bool
    ) -> _Reply:
        sub_id = record.subscription_id
        if record.state in READ_ONLY_STATES:
            raise ArmError(
                409,
                "ReadOnlyDisabledSubscription",
                f"The subscription '{sub_id}' is disabled and therefore marked as read only. You cannot perform any "
                "write actions on this subscription until it is re-enabled.",
            )
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid and could not be deserialized."
            ) from None
        try:
            with record.lock:
                previous = record.properties(plan)
            drop_unknown = faults.unknown_extensions == "drop"
            apply_put(plan, previous, payload, arm_timestamp(), drop_unknown=drop_unknown)  # validate first
        except PricingValidationError as err:
            raise ArmError(400, err.code, err.message, target=err.target) from None
        conflict = ArmError(
            409, "Conflict", "Another update operation is in progress. Please try again after the operation completes."
        )
        if not holds_put:
            raise conflict
        with self._fault_lock:
            pending = faults.conflict_next_puts.get(sub_id, 0)
            if pending > 0:
                faults.conflict_next_puts[sub_id] = pending - 1
        if pending > 0:
            raise conflict
        failures = faults.fail_extensions.get(sub_id)
        with record.lock:
            result = apply_put(
                plan, record.properties(plan), payload, arm_timestamp(), failures, drop_unknown=drop_unknown
            )
            record.write(plan, result.stored, time.monotonic(), self._history_seconds())
        self._raise_write_event(sub_id, f"/subscriptions/{sub_id}/providers/Microsoft.Security/pricings/{plan.name}")
        return _Reply(200, pricing_resource(sub_id, plan.name, result.response))

    def _register(self, record: SubscriptionRecord, faults: FaultConfig) -> _Reply:
        sub_id = record.subscription_id
        if sub_id in faults.registration_forbidden or faults.forbidden.get(sub_id) == "all":
            raise _forbidden("Microsoft.Security/register/action", f"/subscriptions/{sub_id}")
        with record.lock:
            record.registered = True
        with self._fault_lock:
            faults.unregistered.discard(sub_id)
        return _Reply(200, self._provider_body(record, "Registering"))

    @staticmethod
    def _provider_body(record: SubscriptionRecord, registration_state: str) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{record.subscription_id}/providers/Microsoft.Security",
            "namespace": "Microsoft.Security",
            "registrationPolicy": "RegistrationRequired",
            "registrationState": registration_state,
            "resourceTypes": [
                {
                    "resourceType": "pricings",
                    "locations": [],
                    "apiVersions": [PRICINGS_API_VERSION],
                    "capabilities": "None",
                }
            ],
        }

    def _resource_graph(self, query: Mapping[str, list[str]], body: bytes, faults: FaultConfig) -> _Reply:
        self._require_api_version(query, None)
        quota_headers = self._spend_graph_quota(faults)
        if faults.resource_graph_unavailable:
            raise ArmError(
                503, "ServiceUnavailable", "Azure Resource Graph is temporarily unavailable. Please retry later."
            )
        if faults.resource_graph_error:
            raise ArmError(*resource_graph_failure(faults.resource_graph_error))
        try:
            request = json.loads(body or b"null")
        except ValueError:
            raise ArmError(400, "BadRequest", "The request body is not valid JSON.") from None
        if not isinstance(request, dict) or not isinstance(request.get("query"), str):
            raise ArmError(400, "BadRequest", "The request must be a JSON object with a 'query' string.")
        if request.get("managementGroups"):
            raise ArmError(400, "BadRequest", "The ARM emulator supports subscription-scoped queries only.")
        text = " ".join(request["query"].split())
        inventory = _ARG_INVENTORY.match(text)
        match = inventory or _ARG_QUERY.match(text)
        accounts_match = cognitive.ARG_ACCOUNTS_QUERY.match(text)
        plan = find_plan(self.plans, match.group("plan")) if match else None
        topics_query = match is None and self.eventgrid.topic_rows(request["query"], []) is not None
        if not topics_query and accounts_match is None and (match is None or plan is None):
            raise ArmError(
                400,
                "BadRequest",
                "The ARM emulator supports only these Resource Graph query shapes: "
                f"{ARG_QUERY_SHAPE} ; {ARG_INVENTORY_SHAPE} ; the accounts and system topics queries",
            )
        subscriptions = request.get("subscriptions")
        if subscriptions is None:
            sub_ids = [r.subscription_id for r in self._store.page(0, len(self._store))[0]]
        elif isinstance(subscriptions, list) and all(isinstance(s, str) for s in subscriptions):
            sub_ids = list(dict.fromkeys(s.lower() for s in subscriptions))
        else:
            raise ArmError(400, "BadRequest", "'subscriptions' must be an array of subscription ids.")
        if subscriptions is not None and len(sub_ids) > MAX_ARG_SUBSCRIPTIONS:
            raise ArmError(
                400,
                "BadRequest",
                f"The query names {len(sub_ids)} subscriptions; at most {MAX_ARG_SUBSCRIPTIONS} are allowed "
                "per request.",
            )
        options = request.get("options") or {}
        if not isinstance(options, dict):
            raise ArmError(400, "BadRequest", "'options' must be an object.")
        if options.get("resultFormat", "objectArray") != "objectArray":
            raise ArmError(400, "BadRequest", "The ARM emulator supports resultFormat 'objectArray' only.")
        offset, page = self._arg_window(options)

        if accounts_match is not None:
            readable = [s for s in sub_ids if self._store.get(s) is not None and faults.forbidden.get(s) != "all"]
            accounts = self.cognitive.resource_graph_rows(readable)
            if accounts_match.group("order"):
                descending = (accounts_match.group("direction") or "desc").lower() == "desc"
                accounts.sort(key=lambda r: str(r["id"]).lower(), reverse=descending)
            return self._arg_page(accounts, offset, page, quota_headers)
        moment = time.monotonic() - faults.resource_graph_lag_seconds
        if topics_query:
            readable = [s for s in sub_ids if faults.forbidden.get(s) != "all"]
            return self._arg_page(
                self.eventgrid.topic_rows(request["query"], readable) or [], offset, page, quota_headers
            )
        assert match is not None and plan is not None
        rows: list[dict[str, Any]] = []
        for sub_id in sub_ids:
            record = self._store.get(sub_id)
            # Our reading: a new subscription appears in `resourcecontainers` only after the index catches up.
            if record is None or (inventory is not None and record.created_at > moment):
                continue
            # ARG shows only what the caller can read, and pricings exist only where Microsoft.Security is registered.
            has_pricing = faults.forbidden.get(sub_id) != "all" and self._registered(record, faults)
            if not has_pricing and inventory is None:
                continue
            with record.lock:
                # Our reading: `resourcecontainers` lists a subscription in any state; a deleted one has no pricing.
                if record.state == "Deleted" and inventory is None:
                    continue
                has_pricing = has_pricing and record.state != "Deleted"
                props = record.properties_as_of(plan, moment) if has_pricing else None
                row: dict[str, Any] = {"subscriptionId": record.subscription_id}
                if inventory is not None:
                    row.update(name=record.display_name, state=record.state, tags=dict(record.tags))
                    if inventory.group("mg"):
                        row["managementGroups"] = self.management_groups.ancestors_chain(sub_id)
            # A leftouter join leaves the pricing columns empty where there is no pricing row.
            row["pricingTier"] = str(props.get("pricingTier", "")) if props is not None else ""
            row["extensions"] = props.get("extensions") if props is not None else None
            rows.append(row)
        if match.group("order"):
            # KQL's `order by` sorts descending unless told `asc`.
            descending = (match.group("direction") or "desc").lower() == "desc"
            rows.sort(key=lambda r: str(r["subscriptionId"]), reverse=descending)
        return self._arg_page(rows, offset, page, quota_headers)

    def _arg_page(self, rows: list[dict[str, Any]], offset: int, page: int, headers: dict[str, str]) -> _Reply:
        rows = authorization.without_columns(rows, self.graph_missing_columns)
        window = rows[offset : offset + page]
        response: dict[str, Any] = {
            "totalRecords": len(rows),
            "count": len(window),
            "resultTruncated": "false",
            "facets": [],
            "data": window,
        }
        if offset + len(window) < len(rows):
            response["$skipToken"] = _encode_token({"skip": offset + len(window), "top": page})
        return _Reply(200, response, headers=headers)

    def _spend_graph_quota(self, faults: FaultConfig) -> dict[str, str]:
        """Count one query against the per-user window; 429 past the quota. The headers' names and the
        hh:mm:ss form of resets-after are Resource Graph's published throttling headers."""
        quota = faults.resource_graph_quota or ARG_DEFAULT_QUOTA
        window = faults.resource_graph_quota_window_seconds
        now = time.monotonic()
        with self._stats_lock:
            if now >= self._graph_window_ends:
                self._graph_window_ends, self._graph_queries = now + window, 0
            self._graph_queries += 1
            used, resets = self._graph_queries, self._graph_window_ends - now
        over = faults.resource_graph_quota > 0 and used > quota
        if over:
            self._graph_quota_exceeded += 1
        remaining = quota - used if faults.resource_graph_quota > 0 else quota
        seconds = max(0, math.ceil(resets))
        headers = {
            "x-ms-user-quota-remaining": str(max(remaining, 0)),
            "x-ms-user-quota-resets-after": f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}",
        }
        if over:
            raise ArmError(
                429,
                "RateLimiting",
                "Please provide below info when asking for support: timestamp = "
                f"{arm_timestamp()}, correlationId = {uuid.uuid4()}.",
                headers={**headers, "Retry-After": str(seconds)},
            )
        return headers

    @property
    def graph_quota_exceeded(self) -> int:
        """Resource Graph queries answered 429 because the caller ignored the quota headers."""
        with self._stats_lock:
            return self._graph_quota_exceeded

    @staticmethod
    def _arg_window(options: Mapping[str, Any]) -> tuple[int, int]:
        """(offset, page size) from $skipToken, overridden by $skip / $top as the ARG spec says."""
        offset, page = 0, MAX_ARG_PAGE
        token = options.get("$skipToken")
        if token:
            try:
                decoded = _decode_token(str(token))
            except ValueError:
                raise ArmError(400, "BadRequest", "The $skipToken is malformed.") from None
            offset, page = decoded.get("skip", 0), decoded.get("top", MAX_ARG_PAGE)
        top, skip = options.get("$top"), options.get("$skip")
        if top is not None:
            if not isinstance(top, int) or not 1 <= top <= MAX_ARG_PAGE:
                raise ArmError(400, "BadRequest", f"$top must be between 1 and {MAX_ARG_PAGE}.")
            page = top
        if skip is not None:
            if not isinstance(skip, int) or skip < 0:
                raise ArmError(400, "BadRequest", "$skip must be >= 0.")
            if not token:
                offset = skip
        return offset, page


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], emulator: Emulator) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self) -> None:
        """Kept-alive connections would otherwise go on being served after stop()."""
        with self._connections_lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ARMEmulator/1.0"
    sys_version = ""
    # Headers and body go out in two writes; without this, Nagle + delayed ACK adds ~40 ms per call.
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections end after this long

    def setup(self) -> None:
        super().setup()
        cast(_Server, self.server).track(self.connection, True)

    def finish(self) -> None:
        cast(_Server, self.server).track(self.connection, False)
        super().finish()

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s - %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self, method: str) -> None:
        emulator = cast(_Server, self.server).emulator
        started = time.monotonic()
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        split = urlsplit(self.path)
        route = _resolve(method, split.path)
        if route.kind == "resourcegraph.resources" and b"microsoft.cognitiveservices/accounts" in body.lower():
            # Counted apart from the pricings query, so that tests can tell the sweep's two passes apart.
            route = _Route(cognitive.ARG_KIND, None, None)
        emulator._count(route.kind, route.subscription_id, started)
        try:
            reply = emulator._handle(method, route, self.path, headers, body)
        except Exception:
            logger.exception("ARM emulator failed on %s %s", method, split.path)
            reply = _Reply(500, ArmError(500, "InternalServerError", "The ARM emulator failed.").body())
        payload = json.dumps(reply.body, separators=(",", ":")).encode() if reply.body is not None else b""
        request_id = str(uuid.uuid4())
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("x-ms-request-id", request_id)
        self.send_header("x-ms-correlation-request-id", headers.get("x-ms-client-request-id") or request_id)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        retry_after = (
            float(reply.headers["Retry-After"]) if reply.status == 429 and "Retry-After" in reply.headers else None
        )
        # Recorded before the answer leaves, so a client that has its answer also sees the record; and a
        # client cannot have seen a 429 earlier than `ended`, which starts its Retry-After clock.
        ended = time.monotonic()
        emulator._finish(
            RequestRecord(
                method=method,
                path=split.path,
                query=split.query,
                kind=route.kind,
                subscription_id=route.subscription_id,
                status=reply.status,
                started=started,
                ended=ended,
                had_bearer=(headers.get("authorization") or "").lower().startswith("bearer "),
            ),
            retry_after,
        )
        self.end_headers()
        self.wfile.write(payload)
