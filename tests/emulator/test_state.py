"""Pricing replace semantics and history, as pure functions over literals."""

from __future__ import annotations

import random

import pytest

from localdev.emulator.fleet import DRIFT_KINDS, ai_pricing_for, build_fleet
from localdev.emulator.state import (
    PricingValidationError,
    SubscriptionRecord,
    apply_put,
    canonical_bool,
    default_plans,
    find_plan,
    seed_properties,
)

PLANS = default_plans()
AI = PLANS["AI"]
VMS = PLANS["VirtualMachines"]
NOW = "2025-01-02T03:04:05.0000000Z"
STANDARD_ALL_ON = {
    "pricingTier": "Standard",
    "freeTrialRemainingTime": "PT0S",
    "enablementTime": "2024-01-01T00:00:00.0000000Z",
    "enforce": "False",
    "resourcesCoverageStatus": "FullyCovered",
    "extensions": [
        {"name": "AIPromptEvidence", "isEnabled": "True"},
        {"name": "AIPromptSharingWithPurview", "isEnabled": "True"},
        {"name": "AIModelScanner", "isEnabled": "True"},
    ],
}
FREE = {"pricingTier": "Free", "freeTrialRemainingTime": "PT0S"}


def ext_states(props):
    return {e["name"]: e["isEnabled"] for e in props["extensions"]}


def test_tier_only_put_enables_every_extension_with_succeeded_status():
    result = apply_put(AI, FREE, {"properties": {"pricingTier": "Standard"}}, NOW)
    assert ext_states(result.stored) == {
        "AIPromptEvidence": "True",
        "AIPromptSharingWithPurview": "True",
        "AIModelScanner": "True",
    }
    assert [e["operationStatus"]["code"] for e in result.response["extensions"]] == ["Succeeded"] * 3
    assert all("operationStatus" not in e for e in result.stored["extensions"])
    assert result.stored["enablementTime"] == NOW


def test_put_replaces_omitted_extensions_come_back_enabled():
    body = {"properties": {"pricingTier": "Standard", "extensions": [{"name": "AIModelScanner", "isEnabled": "False"}]}}
    previous = {**STANDARD_ALL_ON, "extensions": [{"name": "AIPromptEvidence", "isEnabled": "False"}]}
    result = apply_put(AI, previous, body, NOW)
    assert ext_states(result.stored) == {
        "AIPromptEvidence": "True",
        "AIPromptSharingWithPurview": "True",
        "AIModelScanner": "False",
    }
    disabled = result.response["extensions"][2]
    assert disabled["operationStatus"] == {"code": "Succeeded", "message": "Successfully disabled extension"}


@pytest.mark.parametrize("spelled", ["true", "TRUE", "True", True])
def test_is_enabled_is_accepted_in_any_case_and_answered_canonically(spelled):
    body = {
        "properties": {"pricingTier": "standard", "extensions": [{"name": "aipromptevidence", "isEnabled": spelled}]}
    }
    result = apply_put(AI, FREE, body, NOW)
    assert result.stored["pricingTier"] == "Standard"
    assert result.stored["extensions"][0] == {"name": "AIPromptEvidence", "isEnabled": "True"}


def test_read_only_fields_in_the_body_are_ignored():
    body = {
        "properties": {
            "pricingTier": "Standard",
            "freeTrialRemainingTime": "P30D",
            "enablementTime": "1999-01-01T00:00:00Z",
            "inherited": "True",
            "resourcesCoverageStatus": "NotCovered",
            "extensions": [
                {"name": "AIPromptEvidence", "isEnabled": "True", "operationStatus": {"code": "Failed", "message": "x"}}
            ],
        }
    }
    result = apply_put(AI, FREE, body, NOW)
    assert result.stored["freeTrialRemainingTime"] == "PT0S"
    assert result.stored["enablementTime"] == NOW
    assert result.stored["resourcesCoverageStatus"] == "FullyCovered"
    assert "inherited" not in result.stored
    assert result.response["extensions"][0]["operationStatus"]["code"] == "Succeeded"


def test_enablement_time_is_kept_while_the_plan_stays_standard():
    result = apply_put(AI, STANDARD_ALL_ON, {"properties": {"pricingTier": "Standard"}}, NOW)
    assert result.stored["enablementTime"] == "2024-01-01T00:00:00.0000000Z"


def test_free_put_lists_no_extensions_and_drops_enablement_time():
    result = apply_put(AI, STANDARD_ALL_ON, {"properties": {"pricingTier": "Free"}}, NOW)
    assert result.stored == {
        "pricingTier": "Free",
        "freeTrialRemainingTime": "PT0S",
        "enforce": "False",
        "resourcesCoverageStatus": "NotCovered",
    }


def test_failed_extension_keeps_the_asked_value_and_reports_failed():
    result = apply_put(
        AI, FREE, {"properties": {"pricingTier": "Standard"}}, NOW, {"AIModelScanner": "role assignment failed"}
    )
    scanner = result.response["extensions"][2]
    assert scanner == {
        "name": "AIModelScanner",
        "isEnabled": "True",
        "operationStatus": {"code": "Failed", "message": "role assignment failed"},
    }
    assert result.stored["extensions"][2] == {"name": "AIModelScanner", "isEnabled": "True"}


def test_extension_off_by_default_and_omitted_gets_no_status():
    # PutPricingVMsByName_example.json: MdeDesignatedSubscription comes back "False" without operationStatus,
    # AgentlessVmScanning keeps its previous additionalExtensionProperties.
    previous = {
        "pricingTier": "Standard",
        "extensions": [
            {
                "name": "AgentlessVmScanning",
                "isEnabled": "True",
                "additionalExtensionProperties": {"ExclusionTags": "[]"},
            }
        ],
    }
    result = apply_put(VMS, previous, {"properties": {"pricingTier": "Standard", "enforce": "true"}}, NOW)
    assert result.response["extensions"][0] == {"name": "MdeDesignatedSubscription", "isEnabled": "False"}
    assert result.response["extensions"][1]["additionalExtensionProperties"] == {"ExclusionTags": "[]"}
    assert result.stored["subPlan"] == "P2"
    assert result.stored["enforce"] == "True"


@pytest.mark.parametrize(
    ("body", "code", "mentions"),
    [
        ({"properties": {}}, "InvalidInput", "pricingTier"),
        ({"properties": {"pricingTier": "Premium"}}, "InvalidInput", "Premium"),
        ({"pricingTier": "Standard"}, "InvalidInput", "properties"),
        ([], "InvalidInput", "JSON object"),
        (
            {"properties": {"pricingTier": "Standard", "extensions": [{"name": "AIFancyThing", "isEnabled": "True"}]}},
            "InvalidExtensionName",
            "AIFancyThing",
        ),
        (
            {"properties": {"pricingTier": "Standard", "extensions": [{"name": "AIModelScanner", "isEnabled": "yes"}]}},
            "InvalidInput",
            "AIModelScanner",
        ),
        ({"properties": {"pricingTier": "Standard", "extensions": {"name": "x"}}}, "InvalidInput", "array"),
    ],
)
def test_invalid_bodies_are_rejected_with_a_message_naming_the_problem(body, code, mentions):
    with pytest.raises(PricingValidationError) as raised:
        apply_put(AI, FREE, body, NOW)
    assert raised.value.code == code
    assert mentions in raised.value.message


def test_canonical_bool_and_find_plan_are_case_insensitive():
    assert canonical_bool("fAlSe") == "False"
    assert canonical_bool("1") is None
    assert find_plan(PLANS, "ai") is AI
    assert find_plan(PLANS, "NoSuchPlan") is None


def test_seed_properties_keeps_what_it_is_given_and_rejects_bad_tiers():
    seeded = seed_properties(
        {"pricingTier": "standard", "extensions": [{"name": "AIPromptEvidence", "isEnabled": "false"}]}
    )
    assert seeded == {"pricingTier": "Standard", "extensions": [{"name": "AIPromptEvidence", "isEnabled": "False"}]}
    with pytest.raises(ValueError):
        seed_properties({"pricingTier": "Gold"})


def test_history_answers_for_past_moments_and_prunes_old_versions():
    record = SubscriptionRecord("0" * 8 + "-0000-4000-8000-" + "0" * 12, "s", "Enabled", {}, "t", True)
    record.pricings["AI"] = FREE
    record.write(AI, STANDARD_ALL_ON, at=100.0, keep_seconds=50.0)
    assert record.properties_as_of(AI, 99.0) == FREE  # the seeded version counts as always there
    assert record.properties_as_of(AI, 100.0) == STANDARD_ALL_ON
    record.write(AI, FREE, at=200.0, keep_seconds=50.0)
    # At 200 with a 50 s horizon, the seeded version (superseded at 100) is no longer needed.
    assert [v[0] for v in record.history["AI"]] == [100.0, 200.0]
    assert record.properties_as_of(AI, 160.0) == STANDARD_ALL_ON
    assert record.properties(AI) == FREE


def test_fleet_is_deterministic_and_spreads_drift_over_every_kind():
    first, second = build_fleet(200, 0.2, seed=7), build_fleet(200, 0.2, seed=7)
    assert [s.member for s in first] == [s.member for s in second]
    kinds = [s.member.drift_kind for s in first]
    assert kinds.count("compliant") == 160
    assert {k: kinds.count(k) for k in DRIFT_KINDS} == dict.fromkeys(DRIFT_KINDS, 10)
    assert first[6].member.display_name == "sub-0007"
    assert len({s.member.subscription_id for s in first}) == 200
    assert build_fleet(200, 0.2, seed=8)[0].member != first[0].member


def test_fleet_drift_fraction_rounds():
    kinds = [s.member.drift_kind for s in build_fleet(7, 0.5, seed=1)]
    assert sum(k != "compliant" for k in kinds) == 4  # round(3.5) == 4 (banker's rounding)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("compliant", {"AIPromptEvidence": "True", "AIPromptSharingWithPurview": "False", "AIModelScanner": "True"}),
        ("purview_on", {"AIPromptEvidence": "True", "AIPromptSharingWithPurview": "True", "AIModelScanner": "True"}),
    ],
)
def test_fleet_pricing_shapes(kind, expected):
    assert ext_states(ai_pricing_for(kind, random.Random(1))) == expected


def test_fleet_component_off_and_no_extensions_and_free():
    off = ext_states(ai_pricing_for("component_off", random.Random(1)))
    assert off["AIPromptSharingWithPurview"] == "False"
    assert sorted([off["AIPromptEvidence"], off["AIModelScanner"]]) == ["False", "True"]
    no_ext = ai_pricing_for("no_extensions", random.Random(1))
    assert no_ext["pricingTier"] == "Standard" and "extensions" not in no_ext
    assert ai_pricing_for("free", random.Random(1))["pricingTier"] == "Free"
    with pytest.raises(ValueError):
        ai_pricing_for("weird", random.Random(1))


def test_unknown_extension_names_are_dropped_when_asked_and_the_future_component_comes_back_on():
    from localdev.emulator.state import FUTURE_AI_EXTENSION, plans_with_future_component

    ai = plans_with_future_component()["AI"]
    body = {"properties": {"pricingTier": "Standard", "extensions": [{"name": "NoSuchThing", "isEnabled": "True"}]}}
    with pytest.raises(PricingValidationError):
        apply_put(ai, FREE, body, NOW)
    result = apply_put(ai, FREE, body, NOW, drop_unknown=True)
    names = {e["name"]: e["isEnabled"] for e in result.response["extensions"]}
    assert "NoSuchThing" not in names
    assert names[FUTURE_AI_EXTENSION] == "True"
    assert "AIFutureComponent" not in {e.name for e in AI.extensions}  # the default catalogue is unchanged
