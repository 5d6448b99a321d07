"""enforce_subscription through the real azure-mgmt-security client against the ARM emulator over HTTP."""

from __future__ import annotations

import uuid

import pytest

from enforcer.core.models import ErrorKind, OutcomeKind, Trigger
from localdev.emulator import FaultConfig
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from tests.integration.helpers import extensions_of, services_for

pytestmark = pytest.mark.integration

TRIGGER = Trigger("cli", "test-run")


def new_sub() -> str:
    return str(uuid.uuid4())


def test_free_subscription_ends_standard_with_exactly_the_configured_components(emulator):
    sub = new_sub()
    emulator.add_subscription(sub, display_name="free-one")
    services = services_for(emulator.url)

    outcome = services.enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.REMEDIATED, outcome.error
    stored = emulator.pricing(sub, "AI")
    assert stored["properties"]["pricingTier"] == "Standard"
    # Prompt evidence and model security on (defaults), Purview unmanaged and absent: stays off.
    assert extensions_of(stored) == {
        "AIPromptEvidence": "True",
        "AIPromptSharingWithPurview": "False",
        "AIModelScanner": "True",
    }
    assert [c.to_dict() for c in outcome.changes] == [
        {"field": "pricingTier", "before": "Free", "after": "Standard"},
        {"field": "extensions.AIPromptEvidence", "before": "absent", "after": "True"},
        {"field": "extensions.AIModelScanner", "before": "absent", "after": "True"},
    ]
    assert outcome.subscription_name == "free-one"
    assert emulator.calls["pricings.put"] == 1


def test_unmanaged_component_keeps_its_value(emulator):
    sub = new_sub()
    pricing = {
        "pricingTier": "Standard",
        "extensions": [
            {"name": "AIPromptEvidence", "isEnabled": "False"},
            {"name": "AIPromptSharingWithPurview", "isEnabled": "True"},
            {"name": "AIModelScanner", "isEnabled": "True"},
        ],
    }
    emulator.add_subscription(sub, pricing=pricing)
    services = services_for(emulator.url)

    outcome = services.enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.REMEDIATED
    assert extensions_of(emulator.pricing(sub, "AI")) == {
        "AIPromptEvidence": "True",
        "AIPromptSharingWithPurview": "True",  # unmanaged: kept on
        "AIModelScanner": "True",
    }


def test_off_component_is_switched_off(emulator):
    sub = new_sub()
    emulator.add_subscription(sub, pricing={"pricingTier": "Standard"})  # stored with no extensions listed
    services = services_for(emulator.url, {"ENFORCER_MODEL_SECURITY": "off", "ENFORCER_DATA_SECURITY": "off"})

    outcome = services.enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome in (OutcomeKind.REMEDIATED, OutcomeKind.COMPLIANT)
    assert extensions_of(emulator.pricing(sub, "AI")) == {
        "AIPromptEvidence": "True",
        "AIPromptSharingWithPurview": "False",
        "AIModelScanner": "False",
    }


def test_compliant_subscription_costs_one_get_and_no_put(emulator):
    sub = new_sub()
    emulator.add_subscription(sub, pricing=COMPLIANT_AI)
    services = services_for(emulator.url)
    emulator.reset_calls()

    outcome = services.enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.COMPLIANT
    assert outcome.changes == []
    assert sum(emulator.calls.values()) == 1
    assert emulator.calls["pricings.get"] == 1
    assert outcome.arm_calls == {"pricings.get": 1}


def test_audit_mode_writes_nothing(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    services = services_for(emulator.url, {"ENFORCER_MODE": "audit"})

    outcome = services.enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.WOULD_REMEDIATE
    assert outcome.changes and outcome.after is not None and outcome.after.tier == "Standard"
    assert emulator.calls["pricings.put"] == 0
    assert emulator.pricing(sub, "AI")["properties"]["pricingTier"] == "Free"


def test_forbidden_write_says_which_role_is_needed(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    emulator.faults = FaultConfig(forbidden={sub: "write"})
    services = services_for(emulator.url)

    outcome = services.enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.FAILED
    assert outcome.error_kind is ErrorKind.FORBIDDEN
    assert outcome.error is not None and "Security Admin" in outcome.error
    assert emulator.pricing(sub, "AI")["properties"]["pricingTier"] == "Free"


def test_forbidden_read_asks_for_reader(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    emulator.faults = FaultConfig(forbidden={sub: "all"})

    outcome = services_for(emulator.url).enforcer.enforce(sub, TRIGGER)

    assert outcome.error_kind is ErrorKind.FORBIDDEN
    assert outcome.error is not None and "Reader" in outcome.error


def test_disabled_subscription_is_left_alone_with_its_reason(emulator):
    sub = new_sub()
    emulator.add_subscription(sub, state="Disabled")

    outcome = services_for(emulator.url).enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.EXCLUDED
    assert outcome.reason is not None and "Disabled" in outcome.reason
    assert emulator.calls["pricings.put"] == 0


def test_disabled_subscription_refusing_the_write_is_reported_as_disabled(emulator):
    """If the state changed after we read it, ARM's read-only refusal gets its own message."""
    from enforcer.core.models import SubscriptionInfo

    sub = new_sub()
    emulator.add_subscription(sub, state="Disabled")
    stale = SubscriptionInfo(sub, "was-enabled", "Enabled", {})

    outcome = services_for(emulator.url).enforcer.enforce(sub, TRIGGER, info=stale)

    assert outcome.outcome is OutcomeKind.FAILED
    assert outcome.error_kind is ErrorKind.SUBSCRIPTION_DISABLED
    assert outcome.error is not None and "disabled" in outcome.error


def test_partial_failure_reports_the_failed_component(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    emulator.faults = FaultConfig(fail_extensions={sub: {"AIModelScanner": "Failed assigning roles"}})

    outcome = services_for(emulator.url).enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.PARTIALLY_FAILED
    assert outcome.error_kind is ErrorKind.EXTENSION_FAILED
    assert outcome.error is not None and "AIModelScanner: Failed assigning roles" in outcome.error
    assert emulator.pricing(sub, "AI")["properties"]["pricingTier"] == "Standard"


def test_conflict_is_retried_and_then_succeeds(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    emulator.faults = FaultConfig(conflict_next_puts={sub: 2})

    outcome = services_for(emulator.url).enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.REMEDIATED
    assert emulator.calls["pricings.put"] == 3


def test_persistent_conflict_fails_with_its_own_message(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    emulator.faults = FaultConfig(conflict_next_puts={sub: 50})

    outcome = services_for(emulator.url).enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.FAILED
    assert outcome.error_kind is ErrorKind.CONFLICT
    assert outcome.error is not None and "in progress" in outcome.error


def test_unknown_subscription(emulator):
    outcome = services_for(emulator.url).enforcer.enforce(new_sub(), TRIGGER)
    assert outcome.outcome is OutcomeKind.FAILED
    assert outcome.error_kind is ErrorKind.SUBSCRIPTION_NOT_FOUND


def test_throttling_and_server_errors_are_retried_by_the_sdk(emulator):
    subs = [new_sub() for _ in range(5)]
    for sub in subs:
        emulator.add_subscription(sub)
    emulator.faults = FaultConfig(throttle_fraction=0.3, error_fraction=0.1, retry_after_seconds=0, seed=3)
    services = services_for(emulator.url)

    outcomes = [services.enforcer.enforce(s, TRIGGER) for s in subs]

    assert {o.outcome for o in outcomes} == {OutcomeKind.REMEDIATED}, [o.error for o in outcomes]
    assert emulator.calls["pricings.get"] + emulator.calls["pricings.put"] > 10


def test_provider_registration_is_done_by_the_sdk_policy(emulator):
    sub = new_sub()
    emulator.add_subscription(sub, registered=False)

    outcome = services_for(emulator.url).enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.REMEDIATED, outcome.error
    assert emulator.calls["providers.register"] == 1


def test_provider_registration_refused_gives_its_own_message(emulator):
    sub = new_sub()
    emulator.add_subscription(sub, registered=False)
    emulator.faults = FaultConfig(registration_forbidden={sub})

    outcome = services_for(emulator.url).enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.FAILED
    assert outcome.error_kind is ErrorKind.PROVIDER_NOT_REGISTERED
    assert outcome.error is not None and "az provider register" in outcome.error


def test_exempt_tag_excludes_before_any_write(emulator):
    sub = new_sub()
    emulator.add_subscription(sub, tags={"Defender-AI-Exempt": "sandbox"})

    outcome = services_for(emulator.url).enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.EXCLUDED
    assert outcome.reason == "tagged defender-ai-exempt: sandbox"
    assert emulator.calls["pricings.put"] == 0


def test_excluded_by_setting_makes_no_call(emulator):
    sub = new_sub()
    emulator.add_subscription(sub)
    services = services_for(emulator.url, {"ENFORCER_EXCLUDE_SUBSCRIPTIONS": sub})
    emulator.reset_calls()

    outcome = services.enforcer.enforce(sub, TRIGGER)

    assert outcome.outcome is OutcomeKind.EXCLUDED
    assert sum(emulator.calls.values()) == 0


def test_missing_bearer_token_is_refused_by_the_emulator(emulator):
    """The SDK always sends the token; this proves the emulator would notice if it did not."""
    import requests

    response = requests.get(
        f"{emulator.url}/subscriptions/{new_sub()}/providers/Microsoft.Security/pricings/AI",
        params={"api-version": "2024-01-01"},
        timeout=5,
    )
    assert response.status_code == 401
