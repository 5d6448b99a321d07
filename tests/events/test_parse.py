"""Targeted cases for parse_event, envelope_from_dict and load_events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from enforcer.core.events import (
    AI_ACCOUNT_OPERATIONS,
    DEFENDER_FOR_AI_POLICY_DEFINITION_IDS,
    EVENT_ID_MAX_CHARS,
    NAME_MAX_CHARS,
    POLICY_EVENT_TYPES,
    REASON_MAX_CHARS,
    RESOURCE_EVENT_TYPES,
    SUBSCRIPTION_OPERATIONS,
    VENDING_EVENT_TYPE,
    EnforceRequest,
    EventEnvelope,
    EventSkipped,
    Route,
    envelope_from_dict,
    load_events,
    normalize_subscription_id,
    parse_event,
)
from enforcer.core.models import OutcomeKind
from tests.events.samples import SUBSCRIPTION, sample

OTHER = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
COG_EG = "resource-write-cognitive-account.eventgrid.json"
COG_CE = "resource-write-cognitive-account.cloudevents.json"
VENDING_CE = "subscription-created-vending.cloudevents.json"
VENDING_EG = "subscription-created-vending.eventgrid.json"
POLICY_EG = "policy-state-created-defender-ai.eventgrid.json"
UNRELATED_POLICY = "policy-state-created-unrelated.eventgrid.json"
MG_MOVE = "management-group-subscription-move.eventgrid.json"
ALIAS = "subscription-alias-write.eventgrid.json"
PRICING = "resource-write-security-pricing.eventgrid.json"


def rejected(result: object, *words: str) -> EventSkipped:
    assert isinstance(result, EventSkipped), result
    assert result.outcome is OutcomeKind.REJECTED, result
    for word in words:
        assert word in result.reason, (word, result.reason)
    return result


def ignored(result: object, *words: str) -> EventSkipped:
    assert isinstance(result, EventSkipped), result
    assert result.outcome is OutcomeKind.IGNORED, result
    for word in words:
        assert word in result.reason, (word, result.reason)
    return result


def enforced(result: object, kind: str, subscription: str = SUBSCRIPTION) -> EnforceRequest:
    assert isinstance(result, EnforceRequest), result
    assert (result.kind, result.subscription_id) == (kind, subscription)
    return result


# --- subscription ids must agree -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "route", "field"),
    [
        (COG_EG, Route.AI_ACCOUNT, "data.subscriptionId"),
        (COG_EG, Route.AI_ACCOUNT, "data.resourceUri"),
        (COG_EG, Route.AI_ACCOUNT, "subject"),
        (COG_EG, Route.AI_ACCOUNT, "topic"),
        (COG_CE, Route.AI_ACCOUNT, "source"),
        (VENDING_CE, Route.SUBSCRIPTION, "subject"),
        (VENDING_CE, Route.SUBSCRIPTION, "data.subscriptionId"),
        (POLICY_EG, Route.SUBSCRIPTION, "subject"),
        (MG_MOVE, Route.SUBSCRIPTION, "data.resourceUri"),
        (MG_MOVE, Route.SUBSCRIPTION, "topic"),
    ],
)
def test_disagreeing_subscription_ids_are_rejected(name: str, route: Route, field: str):
    raw = sample(name)
    if field == "data.subscriptionId":
        raw["data"]["subscriptionId"] = OTHER
    elif field == "data.resourceUri":
        raw["data"]["resourceUri"] = f"/subscriptions/{OTHER}/resourceGroups/rg/providers/X.Y/z/n"
    elif field == "subject":
        raw["subject"] = f"/subscriptions/{OTHER}"
    else:
        raw[field] = f"/subscriptions/{OTHER}"
    result = rejected(parse_event(raw, route), "subscription ids disagree", OTHER, SUBSCRIPTION, field)
    assert result.subscription_id is None


def test_disagreement_is_rejected_even_for_events_the_route_would_ignore():
    raw = sample(VENDING_CE)
    raw["subject"] = f"/subscriptions/{OTHER}"
    rejected(parse_event(raw, Route.AI_ACCOUNT), "disagree")
    pricing = sample(PRICING)
    pricing["data"]["subscriptionId"] = OTHER
    rejected(parse_event(pricing, Route.SUBSCRIPTION), "disagree")


def test_resource_group_system_topic_names_its_subscription():
    raw = sample(COG_EG)
    raw["topic"] = f"/subscriptions/{OTHER}/resourceGroups/rg-ai"
    rejected(parse_event(raw, Route.AI_ACCOUNT), "topic=" + OTHER)
    raw["topic"] = f"/subscriptions/{SUBSCRIPTION.upper()}/resourceGroups/rg-ai"
    enforced(parse_event(raw, Route.AI_ACCOUNT), "ai_account")


def test_a_custom_topic_id_does_not_name_the_event_subscription():
    raw = sample(VENDING_EG)
    assert raw["topic"].startswith("/subscriptions/0e9d8c7b")  # the subscription hosting the topic
    enforced(parse_event(raw, Route.SUBSCRIPTION), "subscription_vending")


# --- subscription ids must be GUIDs ----------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "{subscription-id}",
        "not-a-guid",
        SUBSCRIPTION + "\n",
        "{" + SUBSCRIPTION + "}",
        SUBSCRIPTION[:-1],
        " " + SUBSCRIPTION,
    ],
)
def test_non_guid_data_subscription_id_is_rejected(bad: str):
    raw = sample(VENDING_CE)
    raw["data"]["subscriptionId"] = bad
    rejected(parse_event(raw, Route.SUBSCRIPTION), "data.subscriptionId", "not a GUID")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "/subscriptions/not-a-guid/resourceGroups/rg"),
        ("subject", "/subscriptions/"),
        ("topic", "/subscriptions/xyz"),
        ("data.resourceUri", "/providers/Microsoft.Management/managementGroups/mg/subscriptions/abc"),
    ],
)
def test_non_guid_in_a_path_is_rejected(field: str, value: str):
    raw = sample(COG_EG)
    if field == "data.resourceUri":
        raw["data"]["resourceUri"] = value
    else:
        raw[field] = value
    rejected(parse_event(raw, Route.AI_ACCOUNT), field, "not a GUID")


@pytest.mark.parametrize("value", [12345, ["x"], {"id": SUBSCRIPTION}, True])
def test_non_string_subscription_fields_are_rejected(value: Any):
    raw = sample(VENDING_CE)
    raw["data"]["subscriptionId"] = value
    rejected(parse_event(raw, Route.SUBSCRIPTION), "data.subscriptionId is not a string")
    raw = sample(COG_EG)
    raw["data"]["resourceUri"] = value
    rejected(parse_event(raw, Route.AI_ACCOUNT), "data.resourceUri is not a string")


def test_ids_compare_case_insensitively_and_come_out_lower_case():
    raw = sample(COG_EG)
    raw["data"]["subscriptionId"] = SUBSCRIPTION.upper()
    raw["subject"] = raw["subject"].replace("/subscriptions/", "/SUBSCRIPTIONS/")
    raw["eventType"] = raw["eventType"].lower()
    raw["data"]["operationName"] = raw["data"]["operationName"].upper()
    result = enforced(parse_event(raw, Route.AI_ACCOUNT), "ai_account")
    assert result.event_type == "microsoft.resources.resourcewritesuccess"  # as given


def test_empty_data_subscription_id_counts_as_absent():
    raw = sample(COG_EG)
    raw["data"]["subscriptionId"] = ""
    enforced(parse_event(raw, Route.AI_ACCOUNT), "ai_account")


def test_normalize_subscription_id():
    assert normalize_subscription_id(SUBSCRIPTION.upper()) == SUBSCRIPTION
    assert normalize_subscription_id(SUBSCRIPTION + "\n") is None
    assert normalize_subscription_id(None) is None
    # Non-ASCII digits and case-folding tricks are not GUIDs.
    fullwidth_five = "\uff15"
    assert normalize_subscription_id(fullwidth_five + SUBSCRIPTION[1:]) is None


# --- missing or malformed data -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "route", "words"),
    [
        (COG_EG, Route.AI_ACCOUNT, "missing field data.operationName"),
        (MG_MOVE, Route.SUBSCRIPTION, "missing field data.operationName"),
        (VENDING_CE, Route.SUBSCRIPTION, "missing field data.subscriptionId"),
        (POLICY_EG, Route.SUBSCRIPTION, "missing field data.policyDefinitionId"),
    ],
)
@pytest.mark.parametrize("how", ["absent", "null", "empty"])
def test_missing_data_is_rejected_where_it_matters(name: str, route: Route, words: str, how: str):
    raw = sample(name)
    if how == "absent":
        del raw["data"]
    else:
        raw["data"] = None if how == "null" else {}
    rejected(parse_event(raw, route), words)


def test_missing_data_in_an_event_for_the_other_function_is_ignored():
    raw = sample(VENDING_CE)
    del raw["data"]
    ignored(parse_event(raw, Route.AI_ACCOUNT), "handled by subscription_created")


@pytest.mark.parametrize("data", ["text", 42, [1, 2], True])
def test_data_that_is_not_an_object_is_rejected(data: Any):
    raw = sample(COG_EG)
    raw["data"] = data
    rejected(parse_event(raw, Route.AI_ACCOUNT), "field data is not a JSON object")


def test_vending_subscription_id_must_be_in_data():
    raw = sample(VENDING_CE)
    del raw["data"]["subscriptionId"]
    # The subject still names it, but the contract says data.subscriptionId.
    rejected(parse_event(raw, Route.SUBSCRIPTION), "missing field data.subscriptionId")


def test_policy_subscription_id_must_be_in_data():
    raw = sample(POLICY_EG)
    del raw["data"]["subscriptionId"]
    rejected(parse_event(raw, Route.SUBSCRIPTION), "missing field data.subscriptionId")


def test_ai_account_event_naming_no_subscription_is_rejected():
    raw = sample(COG_EG)
    del raw["data"]["subscriptionId"], raw["data"]["resourceUri"], raw["topic"]
    raw["subject"] = "contoso-openai"
    rejected(parse_event(raw, Route.AI_ACCOUNT), "names no subscription")


def test_operation_name_of_wrong_type_is_rejected():
    raw = sample(COG_EG)
    raw["data"]["operationName"] = ["Microsoft.CognitiveServices/accounts/write"]
    rejected(parse_event(raw, Route.AI_ACCOUNT), "data.operationName is not a string")


def test_vending_optional_names_are_bounded_and_typed():
    raw = sample(VENDING_CE)
    raw["data"]["displayName"] = "x" * 10_000
    raw["data"]["requestedBy"] = {"upn": "someone"}
    result = enforced(parse_event(raw, Route.SUBSCRIPTION), "subscription_vending")
    assert result.display_name is not None and len(result.display_name) == NAME_MAX_CHARS
    assert result.requested_by is None


# --- which events each function handles ----------------------------------------------------------


def test_pricing_writes_to_the_ai_plan_are_drift_reports_with_their_actor_in_any_case():
    for route in (Route.AI_ACCOUNT, Route.ANY):
        raw = sample(PRICING)
        raw["data"]["operationName"] = "microsoft.security/PRICINGS/write"
        result = enforced(parse_event(raw, route), "pricing_write")
        assert result.subscription_id == SUBSCRIPTION
        assert result.is_drift_report and not result.announces_new_subscription
        assert result.actor is not None and result.actor.name == "{user-name}"
        assert result.actor.at == "2018-07-19T18:38:04.611Z"
    ignored(parse_event(sample(PRICING), Route.SUBSCRIPTION), "handled by ai_account_created")


def test_writes_to_another_plan_are_ignored():
    raw = sample(PRICING)
    for field in ("subject",):
        raw[field] = raw[field].replace("/pricings/AI", "/pricings/VirtualMachines")
    raw["data"]["resourceUri"] = raw["data"]["resourceUri"].replace("/pricings/AI", "/pricings/VirtualMachines")
    ignored(parse_event(raw, Route.AI_ACCOUNT), "write to plan 'VirtualMachines', not AI")


def test_a_pricing_delete_is_not_a_plan_write():
    raw = sample(PRICING)
    raw["data"]["operationName"] = "Microsoft.Security/pricings/delete"
    ignored(parse_event(raw, Route.AI_ACCOUNT), "is not a write of a Defender plan")


def test_an_account_setting_write_names_the_account_and_its_actor():
    raw = sample(PRICING)
    account = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/oai1"
    raw["subject"] = raw["data"]["resourceUri"] = account + "/defenderForAISettings/Default"
    raw["data"]["operationName"] = "Microsoft.CognitiveServices/accounts/defenderForAISettings/write"
    result = enforced(parse_event(raw, Route.AI_ACCOUNT), "account_setting_write")
    assert result.resource_id == account and result.actor is not None
    raw["subject"] = raw["data"]["resourceUri"] = account + "/deployments/x"
    rejected(parse_event(raw, Route.AI_ACCOUNT), "names no account")


def test_resource_events_other_than_success_are_ignored():
    for event_type in ("Microsoft.Resources.ResourceDeleteSuccess", "Microsoft.Resources.ResourceWriteFailure"):
        raw = sample(COG_EG)
        raw["eventType"] = event_type
        ignored(parse_event(raw, Route.AI_ACCOUNT), "event type", "is not one ai_account_created handles")


def test_account_write_in_an_action_event_is_ignored():
    raw = sample(COG_EG)
    raw["eventType"] = "Microsoft.Resources.ResourceActionSuccess"
    ignored(parse_event(raw, Route.AI_ACCOUNT), "is not a write")


def test_sub_resource_writes_of_an_account_are_ignored():
    raw = sample(COG_EG)
    raw["data"]["operationName"] = "Microsoft.CognitiveServices/accounts/deployments/write"
    ignored(parse_event(raw, Route.AI_ACCOUNT), "is not one ai_account_created handles")


def test_unknown_event_types_are_ignored():
    raw = {"id": "1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "subject": "", "data": {}}
    ignored(parse_event(raw, Route.ANY), "is not one the enforcer handles")
    raw = sample(POLICY_EG)
    raw["eventType"] = "Microsoft.PolicyInsights.PolicyStateDeleted"
    ignored(parse_event(raw, Route.SUBSCRIPTION), "PolicyStateDeleted")


def test_extra_policy_definition_ids_match_on_the_last_segment_in_any_case():
    raw = sample(UNRELATED_POLICY)
    ignored(parse_event(raw, Route.SUBSCRIPTION, ["11111111-2222-4333-8444-555555555555"]))
    for extra in (
        "404C3081-A854-4457-AE30-26A93EF643F9",
        "/providers/Microsoft.Authorization/policyDefinitions/404c3081-a854-4457-ae30-26a93ef643f9",
    ):
        enforced(parse_event(raw, Route.SUBSCRIPTION, [extra]), "policy_state")


def test_custom_policy_definitions_are_matched_by_name():
    raw = sample(UNRELATED_POLICY)
    raw["data"]["policyDefinitionId"] = (
        "/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/policyDefinitions/Deploy-DfAI"
    )
    ignored(parse_event(raw, Route.SUBSCRIPTION))
    enforced(parse_event(raw, Route.SUBSCRIPTION, ("deploy-dfai",)), "policy_state")


@pytest.mark.parametrize("definition", sorted(DEFENDER_FOR_AI_POLICY_DEFINITION_IDS))
def test_each_defender_for_ai_definition_counts(definition: str):
    raw = sample(UNRELATED_POLICY)
    raw["data"]["policyDefinitionId"] = f"/providers/Microsoft.Authorization/policyDefinitions/{definition.upper()}"
    enforced(parse_event(raw, Route.SUBSCRIPTION), "policy_state")


def test_alias_write_is_enforced_only_when_the_event_names_the_subscription_in_its_path():
    raw = sample(ALIAS)
    raw["data"]["resourceUri"] = f"/subscriptions/{SUBSCRIPTION}"
    raw["subject"] = f"/subscriptions/{SUBSCRIPTION}"
    raw["topic"] = f"/subscriptions/{SUBSCRIPTION}"
    raw["data"]["subscriptionId"] = SUBSCRIPTION
    enforced(parse_event(raw, Route.SUBSCRIPTION), "subscription_alias")
    raw["eventType"] = "Microsoft.Resources.ResourceActionSuccess"
    enforced(parse_event(raw, Route.SUBSCRIPTION), "subscription_alias")


def test_alias_write_with_only_data_subscription_id_is_not_guessed():
    raw = sample(ALIAS)
    del raw["topic"]
    assert raw["data"]["subscriptionId"]  # present, but it is not the new subscription's id
    ignored(parse_event(raw, Route.SUBSCRIPTION), "names the alias")


def test_management_group_move_without_the_subscription_in_its_path_is_rejected():
    raw = sample(MG_MOVE)
    raw["data"]["resourceUri"] = "/providers/Microsoft.Management/managementGroups/mg-landing-zones"
    raw["subject"] = raw["data"]["resourceUri"]
    rejected(parse_event(raw, Route.SUBSCRIPTION), "management-group move names no subscription")


def test_constants_agree_with_the_parser():
    for op in AI_ACCOUNT_OPERATIONS:
        raw = sample(COG_EG)
        raw["data"]["operationName"] = op
        enforced(parse_event(raw, Route.AI_ACCOUNT), "ai_account")
    for op in SUBSCRIPTION_OPERATIONS:
        for event_type in RESOURCE_EVENT_TYPES:
            raw = sample(MG_MOVE)
            raw["eventType"] = event_type
            raw["data"]["operationName"] = op
            assert isinstance(parse_event(raw, Route.SUBSCRIPTION), EnforceRequest)
    for event_type in POLICY_EVENT_TYPES:
        raw = sample(POLICY_EG)
        raw["eventType"] = event_type
        enforced(parse_event(raw, Route.SUBSCRIPTION), "policy_state")
    raw = sample(VENDING_EG)
    assert raw["eventType"] == VENDING_EVENT_TYPE
    for guid in DEFENDER_FOR_AI_POLICY_DEFINITION_IDS:
        assert normalize_subscription_id(guid) == guid  # GUID-shaped and lower-case


def test_route_may_be_given_as_its_value_and_an_unknown_route_raises():
    enforced(parse_event(sample(COG_EG), "ai_account"), "ai_account")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        parse_event(sample(COG_EG), "nope")  # type: ignore[arg-type]


# --- the envelope ----------------------------------------------------------------------------------


def test_envelope_is_schema_neutral():
    eg = envelope_from_dict(sample(COG_EG))
    ce = envelope_from_dict(sample(COG_CE))
    assert isinstance(eg, EventEnvelope) and isinstance(ce, EventEnvelope)
    assert (eg.schema, ce.schema) == ("eventgrid", "cloudevents")
    assert (eg.id, eg.type, eg.subject, eg.source, dict(eg.data)) == (
        ce.id,
        ce.type,
        ce.subject,
        ce.source,
        dict(ce.data),
    )
    assert eg.source == f"/subscriptions/{SUBSCRIPTION}"


def test_specversion_decides_the_schema_like_the_functions_host():
    raw = sample(COG_CE)
    raw["eventType"] = "Something.Else"
    env = envelope_from_dict(raw)
    assert isinstance(env, EventEnvelope) and env.schema == "cloudevents" and env.type == raw["type"]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ([], "not a JSON object (got array)"),
        ("text", "not a JSON object (got string)"),
        (None, "not a JSON object (got null)"),
        ({"id": "1", "data": {}}, "neither eventType"),
        ({"specversion": "0.3", "id": "1", "type": "t", "source": "s"}, "specversion '0.3' is not supported"),
        ({"specversion": "1.0", "id": "1", "type": "t"}, "missing field source"),
        ({"specversion": "1.0", "type": "t", "source": "s"}, "missing field id"),
        ({"eventType": "t", "id": 7}, "field id is not a string (got number)"),
        ({"eventType": "", "id": "1"}, "field eventType is empty"),
        ({"eventType": "t", "id": "1", "subject": ["x"]}, "field subject is not a string"),
        ({"eventType": "t", "id": "1", "topic": 5}, "field topic is not a string"),
        ({"eventType": "t", "id": "x" * (EVENT_ID_MAX_CHARS + 1)}, "field id is longer than"),
    ],
)
def test_malformed_envelopes_are_rejected(raw: object, words: str):
    result = envelope_from_dict(raw)
    rejected(result, words)
    rejected(parse_event(raw, Route.ANY), words)


def test_huge_and_odd_values_never_make_the_reason_unbounded():
    raw = sample(COG_EG)
    raw["data"]["operationName"] = "\u202e\n\x00" + "Ω" * 1_000_000
    raw["eventType"] = "Microsoft.Resources.ResourceWriteSuccess"
    result = ignored(parse_event(raw, Route.AI_ACCOUNT))
    assert len(result.reason) <= REASON_MAX_CHARS
    assert "\n" not in result.reason and "\x00" not in result.reason and "\u202e" not in result.reason
    raw = sample(COG_EG)
    raw["eventType"] = "E" * 1_000_000
    result = ignored(parse_event(raw, Route.ANY))
    assert len(result.reason) <= REASON_MAX_CHARS and len(result.event_type) <= REASON_MAX_CHARS
    raw = sample(VENDING_CE)
    raw["data"]["subscriptionId"] = "\U0001f600" * 100_000
    assert len(rejected(parse_event(raw, Route.SUBSCRIPTION)).reason) <= REASON_MAX_CHARS


# --- load_events ----------------------------------------------------------------------------------


def test_load_events_accepts_an_object_or_an_array():
    event = sample(COG_EG)
    assert load_events(json.dumps(event)) == [event]
    assert load_events(json.dumps([event, event])) == [event, event]
    assert load_events("[]") == []


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"id": ', "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2,]", "line 1 column"),
        ("42", "got number"),
        ('"event"', "got string"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ],
)
def test_load_events_rejects_what_is_not_events(text: str, words: str):
    with pytest.raises(ValueError) as info:
        load_events(text)
    assert words in str(info.value)
