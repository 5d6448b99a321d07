"""Every event the Bicep subscribes a function to is one that function's handler accepts.

For each event subscription in infra/events.bicep, the test builds a minimal, well-formed event per
(event type x StringIn filter values) in the delivery schema of that subscription, and asserts that
`enforcer.core.events.parse_event` returns an EnforceRequest for the function's route.
"""

from __future__ import annotations

import ast
import importlib
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.infra.bicep_text import INFRA, blocks, declarations, entry_value, literal, object_entries, read
from tests.infra.test_bicep_topics import DEPLOYMENT, MANAGEMENT_GROUP, SUBSCRIPTION_ID, TENANT_ID, source_of

REPO = INFRA.parent
EVENT_MODULE_PATH = "modules/event-subscription.bicep"

HOSTING_SUBSCRIPTION_ID = "11111111-2222-4333-8444-555555555555"
AUDIT_POLICY_ID = "/providers/Microsoft.Authorization/policyDefinitions/c2c0c6d8-007b-4a48-8d9b-3539bddd8e87"


@dataclass(frozen=True)
class EventSubscription:
    module: str
    function_name: str
    event_types: tuple[str, ...]
    string_in: dict[str, tuple[str, ...]]
    schema: str


def event_subscriptions() -> list[EventSubscription]:
    text = read("events.bicep")
    env = declarations(text).env()
    found = []
    for block in blocks((INFRA / "events.bicep").read_text(encoding="utf-8")):
        if block.kind != "module" or block.target != EVENT_MODULE_PATH:
            continue
        params = object_entries(entry_value(block.body, "params"))
        filters = literal(params.get("stringInFilters", "{}"), env)
        assert isinstance(filters, dict)
        event_types = literal(params["includedEventTypes"], env)
        assert isinstance(event_types, list)
        found.append(
            EventSubscription(
                module=block.name,
                function_name=str(literal(params["functionName"], env)),
                event_types=tuple(str(t) for t in event_types),
                string_in={str(k): tuple(str(v) for v in values) for k, values in filters.items()},
                schema=str(literal(params["eventDeliverySchema"], env)),
            )
        )
    return found


SUBSCRIPTIONS = event_subscriptions()


def test_the_expected_event_subscriptions_are_declared() -> None:
    by_function = {(s.function_name, s.schema) for s in SUBSCRIPTIONS}
    assert ("ai_account_created", "EventGridSchema") in by_function
    assert ("subscription_created", "CloudEventSchemaV1_0") in by_function
    assert len(SUBSCRIPTIONS) == 3, [s.module for s in SUBSCRIPTIONS]


def test_the_event_subscription_module_applies_its_parameters_as_filters() -> None:
    module = read(EVENT_MODULE_PATH)
    variables = declarations(module).variables
    event_filter = object_entries(variables["eventFilter"])
    assert event_filter["includedEventTypes"] == "includedEventTypes"
    advanced = event_filter["advancedFilters"]
    assert re.fullmatch(r"\[for (\w+) in items\(stringInFilters\): \{.*\}\]", advanced, re.DOTALL), advanced
    loop_body = object_entries(advanced[advanced.index("{") : advanced.rindex("}") + 1])
    assert literal(loop_body["operatorType"], {}) == "StringIn"
    assert loop_body["key"].endswith(".key") and loop_body["values"].endswith(".value")
    for resource in blocks((INFRA / EVENT_MODULE_PATH).read_text(encoding="utf-8")):
        if "eventSubscriptions@" in resource.target:
            properties = object_entries(entry_value(resource.body, "properties"))
            assert properties["filter"] == "eventFilter"
            assert properties["eventDeliverySchema"] == "eventDeliverySchema"


def test_event_subscriptions_exist_only_in_the_checked_module() -> None:
    for path in INFRA.rglob("*.bicep"):
        if path.relative_to(INFRA).as_posix() == EVENT_MODULE_PATH:
            continue
        text = path.read_text(encoding="utf-8")
        assert "eventSubscriptions@" not in text, f"{path}: declare event subscriptions via {EVENT_MODULE_PATH}"


def test_the_policy_subscription_listens_for_the_assigned_policy() -> None:
    policy = [s for s in SUBSCRIPTIONS if any(t.startswith("Microsoft.PolicyInsights.") for t in s.event_types)]
    assert len(policy) == 1
    assert AUDIT_POLICY_ID in policy[0].string_in["data.policyDefinitionId"]
    mg = declarations(read("mg/main.bicep"))
    assert literal(mg.variables["auditPolicyDefinitionId"], {}) == AUDIT_POLICY_ID


# --- building events that pass each filter -------------------------------------------------------


def _resource_uri_for(operation: str) -> str:
    # "Microsoft.CognitiveServices/accounts/write" -> a resource of type Microsoft.CognitiveServices/accounts
    provider, *types, _verb = operation.split("/")
    assert types, f"not a resource operation: {operation}"
    if provider.lower() == "microsoft.security" and types == ["pricings"]:
        # Plans are subscription-scope resources; the enforcer acts on the AI plan (issue 19).
        return f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Security/pricings/AI"
    path = "/".join(f"{t}/{t[:-1] if t.endswith('s') else t}1" for t in types)
    return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-ai/providers/{provider}/{path}"


def _event_body(event_type: str, data_values: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    """(source/topic, subject, data) of a well-formed event of this type, with the filtered fields set."""
    if event_type.startswith("Microsoft.Resources."):
        operation = data_values.get("operationName", "")
        resource_uri = _resource_uri_for(operation)
        data: dict[str, Any] = {
            "resourceProvider": operation.split("/")[0],
            "resourceUri": resource_uri,
            "operationName": operation,
            "status": "Succeeded",
            "subscriptionId": SUBSCRIPTION_ID,
            "tenantId": TENANT_ID,
            "correlationId": "5f0e9b3c-8d6a-4b2e-9c1f-7a3d2e1b0c9d",
        }
        # The event's topic is the system topic's source, as the Bicep sets it.
        source = source_of("Microsoft.Resources.Subscriptions", DEPLOYMENT)
        return source, resource_uri, {**data, **data_values}
    if event_type.startswith("Microsoft.PolicyInsights."):
        data = {
            "timestamp": "2025-11-20T10:15:00.0000000Z",
            "policyAssignmentId": f"/providers/Microsoft.Management/managementGroups/{MANAGEMENT_GROUP}"
            "/providers/Microsoft.Authorization/policyAssignments/enforcer-defender-ai",
            "policyDefinitionId": AUDIT_POLICY_ID,
            "policyDefinitionReferenceId": "",
            "complianceState": "NonCompliant",
            "subscriptionId": SUBSCRIPTION_ID,
            "complianceReasonCode": "",
        }
        source = source_of("Microsoft.PolicyInsights.PolicyStates", DEPLOYMENT)
        return source, f"/subscriptions/{SUBSCRIPTION_ID}", {**data, **data_values}
    if event_type == "Enforcer.SubscriptionCreated":
        source = (
            f"/subscriptions/{HOSTING_SUBSCRIPTION_ID}/resourceGroups/rg-enforcer"
            "/providers/Microsoft.EventGrid/topics/evgt-enforcer-vending"
        )
        return source, f"/subscriptions/{SUBSCRIPTION_ID}", {"subscriptionId": SUBSCRIPTION_ID, **data_values}
    raise AssertionError(f"no event template for {event_type}: extend _event_body when subscribing to a new type")


def build_event(event_type: str, data_values: dict[str, str], schema: str) -> dict[str, Any]:
    source, subject, data = _event_body(event_type, data_values)
    event_id = "b7a6f1e2-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
    if schema == "EventGridSchema":
        return {
            "id": event_id,
            "topic": source,
            "subject": subject,
            "eventType": event_type,
            "eventTime": "2025-11-20T10:15:01.1234567Z",
            "data": data,
            "dataVersion": "2" if event_type.startswith("Microsoft.Resources.") else "1",
            "metadataVersion": "1",
        }
    assert schema == "CloudEventSchemaV1_0", schema
    return {
        "id": event_id,
        "source": source,
        "subject": subject,
        "type": event_type,
        "time": "2025-11-20T10:15:01.1234567Z",
        "specversion": "1.0",
        "data": data,
    }


def filter_cases() -> list[tuple[EventSubscription, str, dict[str, str]]]:
    cases = []
    for sub in SUBSCRIPTIONS:
        keys = sorted(sub.string_in)
        for event_type in sub.event_types:
            for values in itertools.product(*(sub.string_in[k] for k in keys)):
                # "data.operationName" -> "operationName"; the tests only filter on data fields.
                assert all(k.startswith("data.") for k in keys), keys
                cases.append((sub, event_type, {k[len("data.") :]: v for k, v in zip(keys, values, strict=True)}))
    return cases


CASES = filter_cases()


def events_module() -> ModuleType:
    # Imported here so the other infra tests run while enforcer/core/events.py is being written.
    return importlib.import_module("enforcer.core.events")


def route_for(events: ModuleType, function_name: str) -> Any:
    routes = {"ai_account_created": events.Route.AI_ACCOUNT, "subscription_created": events.Route.SUBSCRIPTION}
    assert function_name in routes, f"no handler route for function {function_name}"
    return routes[function_name]


@pytest.mark.parametrize(
    ("subscription", "event_type", "data_values"),
    CASES,
    ids=[f"{s.function_name}-{t}-{'-'.join(v.values())}" for s, t, v in CASES],
)
def test_the_handler_accepts_every_filtered_event(
    subscription: EventSubscription, event_type: str, data_values: dict[str, str]
) -> None:
    events = events_module()
    raw = build_event(event_type, data_values, subscription.schema)
    result = events.parse_event(raw, route_for(events, subscription.function_name))
    assert isinstance(result, events.EnforceRequest), f"{event_type} {data_values} -> {result!r}"
    assert SUBSCRIPTION_ID in repr(result).lower(), f"the request does not name the subscription: {result!r}"


def test_filter_values_are_in_the_handlers_constants() -> None:
    events = events_module()
    ai_operations = {op.lower() for op in events.AI_ACCOUNT_OPERATIONS | events.DRIFT_OPERATIONS}
    for sub in SUBSCRIPTIONS:
        if sub.function_name == "ai_account_created":
            assert set(sub.event_types) <= set(events.RESOURCE_EVENT_TYPES)
            # Event Grid's StringIn is case-insensitive; so must the handler be.
            assert {op.lower() for op in sub.string_in["data.operationName"]} <= ai_operations
        else:
            accepted = {events.VENDING_EVENT_TYPE, *events.POLICY_EVENT_TYPES}
            assert set(sub.event_types) <= accepted, sub.event_types


# --- function names ---------------------------------------------------------------------------------


def _decorated_functions(source: str) -> dict[str, set[str]]:
    """Function name -> decorator names (app.<decorator>), honouring @app.function_name(name=...)."""
    functions: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        name = node.name
        decorators: set[str] = set()
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if isinstance(target, ast.Attribute):
                decorators.add(target.attr)
                if target.attr == "function_name" and call is not None:
                    arguments = [*call.args, *(k.value for k in call.keywords if k.arg == "name")]
                    if arguments and isinstance(arguments[0], ast.Constant):
                        name = str(arguments[0].value)
        functions[name] = decorators
    return functions


def _timer_schedules(source: str) -> list[object]:
    schedules: list[object] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "timer_trigger":
            for keyword in node.keywords:
                if keyword.arg == "schedule" and isinstance(keyword.value, ast.Constant):
                    schedules.append(keyword.value.value)
    return schedules


def test_bicep_function_names_are_event_grid_triggers_in_function_app() -> None:
    functions = _decorated_functions(Path(REPO / "function_app.py").read_text(encoding="utf-8"))
    for sub in SUBSCRIPTIONS:
        assert sub.function_name in functions, f"{sub.function_name} (infra/events.bicep) is not in function_app.py"
        assert "event_grid_trigger" in functions[sub.function_name], f"{sub.function_name} is not an Event Grid trigger"


def test_the_drift_sweep_reads_its_schedule_from_the_app_setting() -> None:
    source = Path(REPO / "function_app.py").read_text(encoding="utf-8")
    assert "drift_sweep" in _decorated_functions(source)
    assert "%ENFORCER_SWEEP_SCHEDULE%" in _timer_schedules(source)
