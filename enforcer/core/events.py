"""What an Event Grid event means for the enforcer: a subscription to enforce on, or why not.

Pure: no I/O, no Azure SDK, no `azure.functions` import. Both Event Grid schema and
CloudEvents 1.0 schema are accepted. A malformed event never raises: Event Grid would
retry it for 24 hours, so it is reported as rejected instead.

Where an event names a subscription (`data.subscriptionId`, `data.resourceUri`,
`subject`, `topic`/`source`), every name must be a GUID and all names must agree;
otherwise the event is rejected, whatever its type.

Longer than the other core modules on purpose: every rule for trusting an event (schemas, sources, the
subscription it names) is kept in this one file, so that a review of what an attacker's event can do reads one place.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from enforcer.core.accounts import parse_account_id
from enforcer.core.actors import Actor, actor_from_claims
from enforcer.core.models import PLAN_NAME, OutcomeKind
from enforcer.core.text import clip, is_guid

# Bounds on what the parser echoes back: events may carry huge or odd strings.
REASON_MAX_CHARS: Final = 200
_SHOWN_VALUE_CHARS: Final = 60
EVENT_ID_MAX_CHARS: Final = 256
NAME_MAX_CHARS: Final = 256


class Route(StrEnum):
    """Which function is asking: it decides which events are relevant."""

    AI_ACCOUNT = "ai_account"
    SUBSCRIPTION = "subscription"
    ANY = "any"  # the CLI `handle-event`: both functions' events


_FUNCTION_NAMES: Final = {
    Route.AI_ACCOUNT: "ai_account_created",
    Route.SUBSCRIPTION: "subscription_created",
    Route.ANY: "the enforcer",
}

RESOURCE_WRITE_SUCCESS: Final = "Microsoft.Resources.ResourceWriteSuccess"
RESOURCE_ACTION_SUCCESS: Final = "Microsoft.Resources.ResourceActionSuccess"
RESOURCE_EVENT_TYPES: Final = frozenset({RESOURCE_WRITE_SUCCESS, RESOURCE_ACTION_SUCCESS})
POLICY_EVENT_TYPES: Final = frozenset(
    {"Microsoft.PolicyInsights.PolicyStateCreated", "Microsoft.PolicyInsights.PolicyStateChanged"}
)
VENDING_EVENT_TYPE: Final = "Enforcer.SubscriptionCreated"

COGNITIVE_ACCOUNT_WRITE: Final = "Microsoft.CognitiveServices/accounts/write"
SUBSCRIPTION_ALIAS_WRITE: Final = "Microsoft.Subscription/aliases/write"
MANAGEMENT_GROUP_SUBSCRIPTION_WRITE: Final = "Microsoft.Management/managementGroups/subscriptions/write"
AI_ACCOUNT_OPERATIONS: Final = frozenset({COGNITIVE_ACCOUNT_WRITE})
# An alias write is handled only when the event itself names the subscription (see _subscription_event).
SUBSCRIPTION_OPERATIONS: Final = frozenset({SUBSCRIPTION_ALIAS_WRITE, MANAGEMENT_GROUP_SUBSCRIPTION_WRITE})
# Writes by anyone to the plan or to an account's own switch (issue 19): the enforcer's own writes raise them too,
# and are recognised by the caller's object id in the claims (usecases/handle_event.py), never by operation name.
PRICING_WRITE: Final = "Microsoft.Security/pricings/write"
ACCOUNT_SETTING_WRITE: Final = "Microsoft.CognitiveServices/accounts/defenderForAISettings/write"
DRIFT_OPERATIONS: Final = frozenset({PRICING_WRITE, ACCOUNT_SETTING_WRITE})
# Other operations on pricings (a delete, an action) are not a write of the plan: ignored.
PRICING_OPERATION_PREFIX: Final = "Microsoft.Security/pricings/"
# Kinds of EnforceRequest that answer a write to something that exists (not a new subscription).
PRICING_WRITE_KIND: Final = "pricing_write"
ACCOUNT_SETTING_WRITE_KIND: Final = "account_setting_write"
_EXISTING_SUBSCRIPTION_KINDS: Final = frozenset({"ai_account", PRICING_WRITE_KIND, ACCOUNT_SETTING_WRITE_KIND})
_PRICING_PATH: Final = re.compile(
    r"^/subscriptions/[^/]+/providers/Microsoft\.Security/pricings/(?P<plan>[^/]+)/?$", re.IGNORECASE | re.ASCII
)
_ACCOUNT_SETTING_PATH: Final = re.compile(
    r"^(?P<account>/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.CognitiveServices/accounts/[^/]+)"
    r"/defenderForAISettings/[^/]+/?$",
    re.IGNORECASE | re.ASCII,
)

# Built-in Defender for AI policy definitions (azure-policy: ASC_Azure_Defender_AI_AINE, _DINE, _Full_Features_DINE).
DEFENDER_FOR_AI_POLICY_DEFINITION_IDS: Final = frozenset(
    {
        "c2c0c6d8-007b-4a48-8d9b-3539bddd8e87",
        "7e92882a-2f8a-4991-9bc4-d3147d40abb0",
        "359a48a3-351a-4618-bb32-f1628645694b",
    }
)

# Event types and operation names compare case-insensitively, like Event Grid's advanced filters.
_RESOURCE_EVENT_TYPES_CF: Final = frozenset(t.casefold() for t in RESOURCE_EVENT_TYPES)
_POLICY_EVENT_TYPES_CF: Final = frozenset(t.casefold() for t in POLICY_EVENT_TYPES)
_AI_ACCOUNT_OPERATIONS_CF: Final = frozenset(o.casefold() for o in AI_ACCOUNT_OPERATIONS)
_SUBSCRIPTION_OPERATIONS_CF: Final = frozenset(o.casefold() for o in SUBSCRIPTION_OPERATIONS)
_DRIFT_OPERATIONS_CF: Final = frozenset(o.casefold() for o in DRIFT_OPERATIONS)

EVENTGRID_SCHEMA: Final = "eventgrid"
CLOUDEVENTS_SCHEMA: Final = "cloudevents"


@dataclass(frozen=True)
class EventEnvelope:
    """A schema-neutral view of one event."""

    id: str
    type: str
    subject: str
    source: str  # Event Grid `topic` or CloudEvents `source`
    data: Mapping[str, Any]
    schema: str  # "eventgrid" | "cloudevents"
    time: str = ""  # Event Grid `eventTime` or CloudEvents `time`: when the write happened


@dataclass(frozen=True)
class EnforceRequest:
    """An event that asks for enforcement on one subscription."""

    subscription_id: str  # lower-case GUID
    event_id: str
    event_type: str
    kind: str  # "ai_account" | "subscription_vending" | "policy_state" | "subscription_alias" | "management_group_move"
    display_name: str | None = None
    requested_by: str | None = None
    # ai_account only: the account the write created or changed (core/accounts.py), when the event names one.
    resource_id: str | None = None
    # Resource writes: who made the write, from `data.claims` (untrusted text; core/actors.py).
    actor: Actor | None = None

    @property
    def announces_new_subscription(self) -> bool:
        """Kinds about a subscription appearing (vending, policy state, alias, move) say that it is new; writes to
        an account, the plan or an account's setting are about a subscription that exists."""
        return self.kind not in _EXISTING_SUBSCRIPTION_KINDS

    @property
    def is_drift_report(self) -> bool:
        """A write by someone to the plan or to an account's own switch (issue 19): read back, fixed on drift."""
        return self.kind in (PRICING_WRITE_KIND, ACCOUNT_SETTING_WRITE_KIND)


@dataclass(frozen=True)
class EventSkipped:
    """An event that asks for nothing: irrelevant (ignored) or malformed (rejected)."""

    outcome: OutcomeKind  # OutcomeKind.IGNORED or OutcomeKind.REJECTED
    event_id: str
    event_type: str
    reason: str
    subscription_id: str | None = None

    def __post_init__(self) -> None:
        # Every field here may end up in a log line or an audit record: keep them bounded.
        object.__setattr__(self, "event_id", clip(self.event_id, REASON_MAX_CHARS))
        object.__setattr__(self, "event_type", clip(self.event_type, REASON_MAX_CHARS))
        object.__setattr__(self, "reason", clip(self.reason, REASON_MAX_CHARS))


# Resource ids are case-insensitive; re.ASCII keeps odd unicode from case-folding into a match.
_SUBSCRIPTION_PATH: Final = re.compile(r"/subscriptions/([^/]*)(?:/|\Z)", re.IGNORECASE | re.ASCII)
_MANAGEMENT_GROUP_SUBSCRIPTION_PATH: Final = re.compile(
    r"/providers/Microsoft\.Management/managementGroups/[^/]+/subscriptions/([^/]*)(?:/|\Z)",
    re.IGNORECASE | re.ASCII,
)
# Only subscription and resource-group system topics name the event's subscription; a custom
# topic's id (`/subscriptions/<host>/resourceGroups/<rg>/providers/Microsoft.EventGrid/topics/<t>`)
# names where the topic lives, not what the event is about.
_SCOPE_TOPIC: Final = re.compile(r"/subscriptions/([^/]*)(?:/resourceGroups/[^/]+)?/?", re.IGNORECASE | re.ASCII)


def normalize_subscription_id(value: object) -> str | None:
    """The lower-case GUID when `value` is exactly a GUID string, else None."""
    if isinstance(value, str) and is_guid(value):
        return value.lower()
    return None


def _show(value: object) -> str:
    """A short, quoted, printable rendering of a value for a reason text."""
    if not isinstance(value, str):
        return _type_name(value)
    shown = repr(value[:_SHOWN_VALUE_CHARS])
    if len(shown) > _SHOWN_VALUE_CHARS + 20:  # escapes can make repr much longer than the text
        return shown[: _SHOWN_VALUE_CHARS + 20] + "…"
    return shown + ("…" if len(value) > _SHOWN_VALUE_CHARS else "")


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


# Control characters (C0, DEL, C1) and unpaired UTF-16 surrogates: not text an event id may hold.
_NOT_TEXT: Final = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _best_effort_str(raw: Mapping[Any, Any], key: str) -> str:
    value = raw.get(key)
    return value if isinstance(value, str) else ""


def envelope_from_dict(raw: object) -> EventEnvelope | EventSkipped:
    """Read the envelope of one event in either schema (CloudEvents when `specversion` is present,
    as the Functions host decides). Never raises."""
    try:
        return _envelope(raw)
    except Exception as exc:  # e.g. a Mapping whose get() raises: report, never propagate
        return EventSkipped(OutcomeKind.REJECTED, "", "", f"event could not be read ({type(exc).__name__})")


def _envelope(raw: object) -> EventEnvelope | EventSkipped:
    if not isinstance(raw, Mapping):
        return EventSkipped(OutcomeKind.REJECTED, "", "", f"event is not a JSON object (got {_type_name(raw)})")
    if "specversion" in raw:
        schema, type_key, source_key = CLOUDEVENTS_SCHEMA, "type", "source"
    elif "eventType" in raw:
        schema, type_key, source_key = EVENTGRID_SCHEMA, "eventType", "topic"
    else:
        return EventSkipped(
            OutcomeKind.REJECTED,
            _best_effort_str(raw, "id"),
            _best_effort_str(raw, "type"),
            "event has neither eventType (Event Grid schema) nor specversion (CloudEvents 1.0)",
        )
    event_id = _best_effort_str(raw, "id")
    event_type = _best_effort_str(raw, type_key)

    def rejected(reason: str) -> EventSkipped:
        return EventSkipped(OutcomeKind.REJECTED, event_id, event_type, reason)

    if schema == CLOUDEVENTS_SCHEMA and raw.get("specversion") != "1.0":
        return rejected(f"specversion {_show(raw.get('specversion'))} is not supported (CloudEvents 1.0 only)")
    for key, required in (
        ("id", True),
        (type_key, True),
        ("subject", False),
        (source_key, schema == CLOUDEVENTS_SCHEMA),
    ):
        value = raw.get(key)
        if value is None:
            if required:
                return rejected(f"missing field {key}")
        elif not isinstance(value, str):
            return rejected(f"field {key} is not a string (got {_type_name(value)})")
        elif required and not value.strip():
            return rejected(f"field {key} is empty")
    if len(event_id) > EVENT_ID_MAX_CHARS:
        return rejected(f"field id is longer than {EVENT_ID_MAX_CHARS} characters ({len(event_id)})")
    if _NOT_TEXT.search(event_id):
        # No event source makes such an id; it could forge log lines and no store takes it as text.
        return rejected(
            f"field id {_show(event_id)} holds control characters or unpaired surrogates: not a valid event id"
        )
    data = raw.get("data")
    if data is None:
        data = {}
    elif not isinstance(data, Mapping):
        return rejected(f"field data is not a JSON object (got {_type_name(data)})")
    return EventEnvelope(
        id=event_id,
        type=event_type,
        subject=_best_effort_str(raw, "subject"),
        source=_best_effort_str(raw, source_key),
        data=data,
        schema=schema,
        time=_best_effort_str(raw, "eventTime" if schema == EVENTGRID_SCHEMA else "time"),
    )


@dataclass(frozen=True)
class _Naming:
    """The subscription the event names, and which fields name it."""

    subscription_id: str | None
    fields: frozenset[str]


def _name_in_path(field_name: str, path: str, patterns: tuple[re.Pattern[str], ...]) -> tuple[str | None, str]:
    """(subscription, "") when `path` names a GUID subscription, (None, reason) when it names a
    non-GUID one, (None, "") when it names none."""
    for pattern in patterns:
        match = pattern.fullmatch(path) if pattern is _SCOPE_TOPIC else pattern.match(path)
        if match:
            found = normalize_subscription_id(match.group(1))
            if found is None:
                return None, f"{field_name} names subscription {_show(match.group(1))}, not a GUID"
            return found, ""
    return None, ""


def _subscription_naming(env: EventEnvelope) -> _Naming | EventSkipped:
    """Collect every subscription the event names; reject non-GUIDs and disagreement."""
    paths = (_SUBSCRIPTION_PATH, _MANAGEMENT_GROUP_SUBSCRIPTION_PATH)
    names: dict[str, str] = {}

    sub_value = env.data.get("subscriptionId")
    if sub_value is not None and not (isinstance(sub_value, str) and not sub_value.strip()):
        if not isinstance(sub_value, str):
            return _rejected(env, f"data.subscriptionId is not a string (got {_type_name(sub_value)})")
        found = normalize_subscription_id(sub_value)
        if found is None:
            return _rejected(env, f"data.subscriptionId {_show(sub_value)} is not a GUID")
        names["data.subscriptionId"] = found

    uri = env.data.get("resourceUri")
    if uri is not None and not isinstance(uri, str):
        return _rejected(env, f"data.resourceUri is not a string (got {_type_name(uri)})")
    source_field = "topic" if env.schema == EVENTGRID_SCHEMA else "source"
    for field_name, text, patterns in (
        ("data.resourceUri", uri or "", paths),
        ("subject", env.subject, paths),
        (source_field, env.source, (_SCOPE_TOPIC,)),
    ):
        named, problem = _name_in_path(field_name, text, patterns)
        if problem:
            return _rejected(env, problem)
        if named is not None:
            names[field_name] = named

    items = list(names.items())
    for field_name, named in items[1:]:
        if named != items[0][1]:
            return _rejected(env, f"subscription ids disagree: {items[0][0]}={items[0][1]} vs {field_name}={named}")
    return _Naming(items[0][1] if items else None, frozenset(names))


def _policy_key(definition_id: str) -> str:
    """The last segment of a policy definition id (the GUID for built-ins), case-folded."""
    return definition_id.strip().rstrip("/").rsplit("/", 1)[-1].casefold()


def parse_event(
    raw: object, route: Route, extra_policy_definition_ids: Iterable[str] = ()
) -> EnforceRequest | EventSkipped:
    """Decide what one raw event (a dict in either schema) asks of the function `route`. Never raises
    for any `raw`; an unknown `route` is a programming error and raises ValueError."""
    route = Route(route)
    try:
        return _parse(raw, route, extra_policy_definition_ids)
    except Exception as exc:  # Last line of defence: a raise here would make Event Grid retry for 24 hours.
        return EventSkipped(OutcomeKind.REJECTED, "", "", f"event could not be parsed ({type(exc).__name__})")


def _parse(raw: object, route: Route, extra_policy_definition_ids: Iterable[str]) -> EnforceRequest | EventSkipped:
    env = envelope_from_dict(raw)
    if isinstance(env, EventSkipped):
        return env
    naming = _subscription_naming(env)
    if isinstance(naming, EventSkipped):
        return naming
    event_type = env.type.casefold()
    if event_type in _RESOURCE_EVENT_TYPES_CF:
        return _resource_event(env, route, naming)
    if event_type in _POLICY_EVENT_TYPES_CF:
        return _policy_event(env, route, naming, extra_policy_definition_ids)
    if event_type == VENDING_EVENT_TYPE.casefold():
        return _vending_event(env, route, naming)
    return _ignored(env, naming, f"event type {_show(env.type)} is not one {_FUNCTION_NAMES[route]} handles")


def _ignored(env: EventEnvelope, naming: _Naming | None, reason: str) -> EventSkipped:
    return EventSkipped(
        OutcomeKind.IGNORED, env.id, env.type, reason, naming.subscription_id if naming is not None else None
    )


# Longer than any resource id Azure makes (a resource group is at most 90 characters, an account 64).
_MAX_RESOURCE_ID: Final = 1000


def _rejected(env: EventEnvelope, reason: str) -> EventSkipped:
    return EventSkipped(OutcomeKind.REJECTED, env.id, env.type, reason)


def _resource_event(env: EventEnvelope, route: Route, naming: _Naming) -> EnforceRequest | EventSkipped:
    operation = env.data.get("operationName")
    if operation is None:
        return _rejected(env, "missing field data.operationName")
    if not isinstance(operation, str):
        return _rejected(env, f"data.operationName is not a string (got {_type_name(operation)})")
    op = operation.casefold()
    if op in _DRIFT_OPERATIONS_CF:
        return _drift_event(env, route, naming, operation)
    if op.startswith(PRICING_OPERATION_PREFIX.casefold()):
        return _ignored(env, naming, f"operation {_show(operation)} is not a write of a Defender plan")
    if op in _AI_ACCOUNT_OPERATIONS_CF:
        skipped = _not_a_write_here(env, route, naming, operation)
        if skipped is not None or naming.subscription_id is None:
            return skipped or _rejected(env, _NO_SUBSCRIPTION)
        return EnforceRequest(
            naming.subscription_id, env.id, env.type, "ai_account", resource_id=_account_id(env, naming.subscription_id)
        )
    if op in _SUBSCRIPTION_OPERATIONS_CF:
        if route is Route.AI_ACCOUNT:
            return _ignored(env, naming, f"operation {_show(operation)} is handled by subscription_created")
        return _subscription_event(env, naming, op)
    return _ignored(env, naming, f"operation {_show(operation)} is not one {_FUNCTION_NAMES[route]} handles")


_NO_SUBSCRIPTION: Final = "event names no subscription (data.subscriptionId, data.resourceUri, subject, topic)"


def _not_a_write_here(env: EventEnvelope, route: Route, naming: _Naming, operation: str) -> EventSkipped | None:
    """`ignored` when a resource-write operation reaches the subscription function or is not a ResourceWriteSuccess
    (the ai_account_created function handles those writes); None when this function should act on it."""
    if route is Route.SUBSCRIPTION:
        return _ignored(env, naming, f"operation {_show(operation)} is handled by ai_account_created")
    if env.type.casefold() != RESOURCE_WRITE_SUCCESS.casefold():
        return _ignored(env, naming, f"operation {_show(operation)} in a {_show(env.type)} event is not a write")
    return None


def _drift_event(env: EventEnvelope, route: Route, naming: _Naming, operation: str) -> EnforceRequest | EventSkipped:
    """Someone wrote the AI plan or an account's defenderForAISettings: check it now (issue 19)."""
    skipped = _not_a_write_here(env, route, naming, operation)
    if skipped is not None or naming.subscription_id is None:
        return skipped or _rejected(env, _NO_SUBSCRIPTION)
    uri = env.data.get("resourceUri")
    path = uri if isinstance(uri, str) and uri else env.subject
    actor = actor_from_claims(env.data.get("claims"), env.time)
    if operation.casefold() == PRICING_WRITE.casefold():
        match = _PRICING_PATH.match(path)
        if match is None:
            return _rejected(env, f"pricings write names no subscription plan ({_show(path)})")
        if match.group("plan").casefold() != PLAN_NAME.casefold():
            return _ignored(env, naming, f"write to plan {_show(match.group('plan'))}, not {PLAN_NAME}")
        return EnforceRequest(naming.subscription_id, env.id, env.type, PRICING_WRITE_KIND, actor=actor)
    match = _ACCOUNT_SETTING_PATH.match(path)
    account = parse_account_id(match.group("account")) if match is not None else None
    if account is None or account.subscription_id != naming.subscription_id:
        return _rejected(env, f"defenderForAISettings write names no account of the subscription ({_show(path)})")
    return EnforceRequest(
        naming.subscription_id,
        env.id,
        env.type,
        ACCOUNT_SETTING_WRITE_KIND,
        resource_id=account.resource_id,
        actor=actor,
    )


def _account_id(env: EventEnvelope, subscription_id: str) -> str | None:
    """The account resource id from data.resourceUri (else subject), when it is exactly an account of the event's
    subscription. A write to an account's child (e.g. its own defenderForAISettings) has another operationName and
    never gets here: that is what keeps the enforcer's own PUT from looping. When neither field reads as an account
    id by Azure's rules, the text itself (clipped) is passed on, so the account step records it "not readable"
    rather than dropping it."""
    texts = [text for text in (env.data.get("resourceUri"), env.subject) if isinstance(text, str) and text.strip()]
    readable = False
    for text in texts:
        account = parse_account_id(text)
        if account is not None:
            readable = True
            if account.subscription_id == subscription_id:
                return account.resource_id
    if texts and not readable:
        return texts[0][:_MAX_RESOURCE_ID]
    return None


def _subscription_event(env: EventEnvelope, naming: _Naming, op: str) -> EnforceRequest | EventSkipped:
    named_by_path = bool(naming.fields & {"data.resourceUri", "subject"})
    if op == SUBSCRIPTION_ALIAS_WRITE.casefold():
        if not named_by_path or naming.subscription_id is None:
            # The alias is a tenant-level resource (/providers/Microsoft.Subscription/aliases/<name>); the new
            # subscription's id is only in the alias resource's properties, which the event does not carry.
            return _ignored(
                env,
                None,
                "alias write names the alias, not the new subscription (its id is only in the alias "
                "properties); left to the vending or policy events and the sweep",
            )
        return EnforceRequest(naming.subscription_id, env.id, env.type, "subscription_alias")
    if not named_by_path or naming.subscription_id is None:
        return _rejected(
            env,
            "management-group move names no subscription in data.resourceUri "
            "(/providers/Microsoft.Management/managementGroups/<mg>/subscriptions/<id>)",
        )
    return EnforceRequest(naming.subscription_id, env.id, env.type, "management_group_move")


def _policy_event(
    env: EventEnvelope, route: Route, naming: _Naming, extra_policy_definition_ids: Iterable[str]
) -> EnforceRequest | EventSkipped:
    if route is Route.AI_ACCOUNT:
        return _ignored(env, naming, f"event type {_show(env.type)} is handled by subscription_created")
    definition = env.data.get("policyDefinitionId")
    if definition is None:
        return _rejected(env, "missing field data.policyDefinitionId")
    if not isinstance(definition, str):
        return _rejected(env, f"data.policyDefinitionId is not a string (got {_type_name(definition)})")
    wanted = set(DEFENDER_FOR_AI_POLICY_DEFINITION_IDS)
    wanted.update(_policy_key(i) for i in extra_policy_definition_ids if isinstance(i, str) and i.strip())
    key = _policy_key(definition)
    if key not in wanted:
        return _ignored(env, naming, f"policy definition {_show(key)} is not a Defender for AI policy")
    if "data.subscriptionId" not in naming.fields or naming.subscription_id is None:
        return _rejected(env, "missing field data.subscriptionId")
    return EnforceRequest(naming.subscription_id, env.id, env.type, "policy_state")


def _optional_name(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None  # cosmetic metadata: a wrong type is dropped, not fatal
    return clip(value.strip(), NAME_MAX_CHARS)


def _vending_event(env: EventEnvelope, route: Route, naming: _Naming) -> EnforceRequest | EventSkipped:
    if route is Route.AI_ACCOUNT:
        return _ignored(env, naming, f"event type {_show(env.type)} is handled by subscription_created")
    if "data.subscriptionId" not in naming.fields or naming.subscription_id is None:
        return _rejected(env, "missing field data.subscriptionId")
    return EnforceRequest(
        naming.subscription_id,
        env.id,
        env.type,
        "subscription_vending",
        display_name=_optional_name(env.data.get("displayName")),
        requested_by=_optional_name(env.data.get("requestedBy")),
    )


def load_events(text: str) -> list[object]:
    """Events from JSON text: one event object or an array of them (what Event Grid posts).
    Raises ValueError with the position of invalid JSON."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError("not valid JSON: nested too deeply") from None
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return list(value)
    raise ValueError(f"expected a JSON object (one event) or an array of events, got {_type_name(value)}")


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def _json_of(event: object) -> object:
    get_json = getattr(event, "get_json", None)
    if callable(get_json):
        return get_json()
    return getattr(event, "data", None)


def envelope_from_function_event(event: object) -> dict[str, Any]:
    """The raw dict `parse_event` accepts, from an `azure.functions.EventGridEvent` or
    `azure.functions.CloudEvent` (duck-typed on their attributes). Raises TypeError for anything else."""
    if hasattr(event, "event_type"):
        return {
            "id": getattr(event, "id", None),
            "topic": getattr(event, "topic", None),
            "subject": getattr(event, "subject", None),
            "eventType": getattr(event, "event_type", None),
            "eventTime": _iso(getattr(event, "event_time", None)),
            "dataVersion": getattr(event, "data_version", None),
            "data": _json_of(event),
        }
    if hasattr(event, "specversion") or (hasattr(event, "source") and hasattr(event, "type")):
        extensions = getattr(event, "extension_attrs", None)
        raw: dict[str, Any] = dict(extensions) if isinstance(extensions, Mapping) else {}
        raw.update(
            {
                "specversion": getattr(event, "specversion", "1.0"),
                "id": getattr(event, "id", None),
                "source": getattr(event, "source", None),
                "type": getattr(event, "type", None),
                "time": _iso(getattr(event, "time", None)),
                "subject": getattr(event, "subject", None),
                "datacontenttype": getattr(event, "datacontenttype", None),
                "dataschema": getattr(event, "dataschema", None),
                "data": _json_of(event),
            }
        )
        return raw
    raise TypeError(f"expected an Event Grid event or a CloudEvent, got {type(event).__name__}")
