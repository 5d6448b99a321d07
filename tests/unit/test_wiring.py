"""The event-wiring decision (pure) and its settings."""

from __future__ import annotations

import dataclasses

import pytest

from enforcer.core.models import OUTCOME_ORDER, OutcomeKind
from enforcer.core.settings import ConfigError, Settings
from enforcer.core.wiring import (
    OPERATIONS,
    EventSubscriptionView,
    SystemTopic,
    WiringAction,
    WiringConfig,
    WiringMode,
    decide,
    differences,
    endpoint_base_url,
    resources_topic,
)

SUB = "00000000-0000-4000-8000-000000000001"
URL = "https://func.example.net/runtime/webhooks/EventGrid?functionName=ai_account_created"
CONFIG = WiringConfig(delivery_url=URL, location="westeurope", dead_letter_account_id="/subscriptions/x/sa")
TOPIC = SystemTopic(
    id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.EventGrid/systemTopics/t",
    name="t",
    resource_group="rg",
    subscription_id=SUB,
    source=f"/subscriptions/{SUB}",
    topic_type="Microsoft.Resources.Subscriptions",
)
WIRED = EventSubscriptionView(
    name=CONFIG.event_subscription_name,
    endpoint_type="WebHook",
    endpoint_base_url="https://func.example.net/runtime/webhooks/EventGrid",
    included_event_types=("Microsoft.Resources.ResourceWriteSuccess",),
    advanced_filters=(("StringIn", "data.operationName", OPERATIONS),),
    max_delivery_attempts=30,
    event_ttl_minutes=1440,
    dead_letter_account_id="/subscriptions/x/sa",
    dead_letter_container="eventgrid-deadletter",
    provisioning_state="Succeeded",
)


def test_no_topic_creates_one_a_topic_without_ours_gets_ours_and_a_match_is_left_alone():
    assert decide(None, None, CONFIG).action is WiringAction.CREATE_TOPIC
    assert decide(TOPIC, None, CONFIG).action is WiringAction.PUT_SUBSCRIPTION
    assert decide(TOPIC, WIRED, CONFIG).action is WiringAction.NONE


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"endpoint_base_url": "https://elsewhere.example/hook"}, "delivers to another endpoint"),
        ({"included_event_types": ("Microsoft.Resources.ResourceDeleteSuccess",)}, "includedEventTypes differ"),
        ({"advanced_filters": ()}, "advanced filters differ"),
        ({"max_delivery_attempts": 10}, "retry policy differs"),
        ({"dead_letter_container": "other"}, "dead-letter destination differs"),
        ({"provisioning_state": "Failed"}, "provisioningState is Failed"),
    ],
)
def test_a_drifted_event_subscription_is_repaired(change, expected):
    drifted = dataclasses.replace(WIRED, **change)
    assert expected in differences(drifted, CONFIG)
    assert decide(TOPIC, drifted, CONFIG).action is WiringAction.PUT_SUBSCRIPTION


def test_comparisons_ignore_case():
    upper = dataclasses.replace(
        WIRED,
        endpoint_base_url=WIRED.endpoint_base_url.upper(),
        advanced_filters=(("stringin", "DATA.OPERATIONNAME", tuple(o.lower() for o in OPERATIONS)),),
    )
    assert differences(upper, CONFIG) == []


def test_an_event_subscription_with_the_older_filter_is_repaired_in_place():
    """Issue 19: one that carries only accounts/write (before drift events) differs, so the repair path updates it."""
    older = dataclasses.replace(
        WIRED, advanced_filters=(("StringIn", "data.operationName", ("Microsoft.CognitiveServices/accounts/write",)),)
    )
    assert differences(older, CONFIG) == ["advanced filters differ"]


def test_the_topic_of_a_subscription_is_found_by_source_and_type():
    other_type = dataclasses.replace(TOPIC, topic_type="Microsoft.Storage.StorageAccounts")
    other_source = dataclasses.replace(TOPIC, source="/subscriptions/another")
    assert resources_topic(SUB, [other_type, other_source]) is None
    assert resources_topic(SUB.upper(), [other_type, TOPIC]) is TOPIC


def test_endpoint_base_url_drops_the_query():
    assert endpoint_base_url(URL + "&code=secret") == "https://func.example.net/runtime/webhooks/EventGrid"


def test_settings_keep_the_key_out_of_the_url_and_out_of_repr():
    with pytest.raises(ConfigError, match="must not carry the key"):
        Settings.from_env({"ENFORCER_EVENT_DELIVERY_URL": URL + "&code=secret"})
    settings = Settings.from_env({"ENFORCER_EVENT_DELIVERY_URL": URL, "ENFORCER_EVENT_DELIVERY_KEY": "k3y-s3cret"})
    assert settings.event_delivery_key == "k3y-s3cret"
    assert "k3y-s3cret" not in repr(settings)
    with pytest.raises(ConfigError, match="ENFORCER_EVENT_WIRING"):
        Settings.from_env({"ENFORCER_EVENT_WIRING": "sometimes"})


def test_an_unresolved_key_vault_reference_is_no_key():
    settings = Settings.from_env(
        {"ENFORCER_EVENT_DELIVERY_KEY": "@Microsoft.KeyVault(SecretUri=https://kv/secrets/k/)"}
    )
    assert settings.event_delivery_key is None
    assert settings.wiring.missing_for_writes(False) == [
        "ENFORCER_EVENT_DELIVERY_URL",
        "ENFORCER_EVENT_DELIVERY_KEY",
        "ENFORCER_EVENTS_LOCATION",
    ]
    assert settings.wiring.mode is WiringMode.ON


def test_wiring_outcomes_are_ordered_and_classified():
    assert set(OUTCOME_ORDER) == set(OutcomeKind)
    assert OutcomeKind.WIRING_FAILED.is_failure and OutcomeKind.WIRING_FAILED.is_wiring
    assert OutcomeKind.WIRED.is_change and not OutcomeKind.ALREADY_WIRED.needs_attention
    assert not OutcomeKind.FAILED.is_wiring


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENFORCER_EVENT_SUBSCRIPTION_NAME", "has space"),
        ("ENFORCER_EVENTS_TOPIC_NAME", "x"),
        ("ENFORCER_EVENTS_RESOURCE_GROUP", "ends-with-dot."),
        # A superscript digit is a Unicode digit but not a decimal one (Char.IsLetterOrDigit says no); the group
        # rule is the one account ids are read with.
        ("ENFORCER_EVENTS_RESOURCE_GROUP", "rg-events²"),
        ("ENFORCER_EVENTS_RESOURCE_GROUP", "g" * 91),
        ("ENFORCER_EVENT_DEAD_LETTER_ACCOUNT_ID", "stenforcer"),
    ],
)
def test_names_azure_would_refuse_are_refused_at_start(name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_the_deployments_names_are_accepted():
    settings = Settings.from_env(
        {
            "ENFORCER_EVENT_SUBSCRIPTION_NAME": "func-enforcer-abcdefghijklm-ai-account-created",
            "ENFORCER_EVENTS_RESOURCE_GROUP": "rg-données_(events).prod",
            "ENFORCER_EVENT_DEAD_LETTER_ACCOUNT_ID": "/subscriptions/s/resourceGroups/rg-x/providers/"
            "Microsoft.Storage/storageAccounts/stenfabcdefghijklm",
        }
    )
    assert settings.wiring.event_subscription_name.endswith("-ai-account-created")
    assert settings.wiring.resource_group == "rg-données_(events).prod"
