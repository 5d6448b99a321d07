"""The decision, tested with literals: every component setting x every observed value, on both tiers."""

from __future__ import annotations

import itertools

import pytest

from enforcer.core.decision import decide
from enforcer.core.models import (
    Component,
    ComponentSetting,
    DesiredState,
    ExtensionState,
    FieldChange,
    PricingState,
)

ON, OFF, UNMANAGED = ComponentSetting.ON, ComponentSetting.OFF, ComponentSetting.UNMANAGED


def desired(
    prompt: ComponentSetting = ON, data: ComponentSetting = UNMANAGED, model: ComponentSetting = ON
) -> DesiredState:
    return DesiredState(
        (
            Component("prompt_evidence", "AIPromptEvidence", prompt),
            Component("data_security", "AIPromptSharingWithPurview", data),
            Component("model_security", "AIModelScanner", model),
        )
    )


def only(setting: ComponentSetting) -> DesiredState:
    """The data-security component set to `setting`; the other two unmanaged."""
    return desired(UNMANAGED, setting, UNMANAGED)


# observed value of AIPromptSharingWithPurview -> (setting -> expected value after, changed?)
EXPECTED = {
    ("True", ON): ("True", False),
    ("True", OFF): ("False", True),
    ("True", UNMANAGED): ("True", False),
    ("False", ON): ("True", True),
    ("False", OFF): ("False", False),
    ("False", UNMANAGED): ("False", False),
    ("absent", ON): ("True", True),
    ("absent", OFF): ("False", False),
    ("absent", UNMANAGED): ("False", False),
}


@pytest.mark.parametrize(
    ("tier", "observed_value", "setting"),
    list(itertools.product(["Standard", "Free"], ["True", "False", "absent"], [ON, OFF, UNMANAGED])),
)
def test_every_setting_against_every_observed_value(tier: str, observed_value: str, setting: ComponentSetting):
    exts = (
        () if observed_value == "absent" else (ExtensionState("AIPromptSharingWithPurview", observed_value == "True"),)
    )
    observed = PricingState(tier, exts)

    result = decide(observed, only(setting))

    after_value, changed = EXPECTED[(observed_value, setting)]
    expected_changes = []
    if tier == "Free":
        expected_changes.append(FieldChange("pricingTier", "Free", "Standard"))
    if changed:
        expected_changes.append(FieldChange("extensions.AIPromptSharingWithPurview", observed_value, after_value))
    if not expected_changes:
        assert result is None
        return
    assert result is not None
    assert list(result.changes) == expected_changes
    assert result.target.tier == "Standard"
    # The PUT lists every configured component explicitly, so nothing is left to default to "on".
    values = {e.name: e.enabled for e in result.target.extensions}
    assert values["AIPromptSharingWithPurview"] is (after_value == "True")
    # Unmanaged and absent components are written as off, never switched on.
    assert values["AIPromptEvidence"] is False
    assert values["AIModelScanner"] is False


def test_free_plan_without_extensions_gets_exactly_the_configured_components():
    result = decide(PricingState("Free"), desired())
    assert result is not None
    assert result.target == PricingState(
        "Standard",
        (
            ExtensionState("AIPromptEvidence", True),
            ExtensionState("AIPromptSharingWithPurview", False),
            ExtensionState("AIModelScanner", True),
        ),
    )
    assert result.changes == (
        FieldChange("pricingTier", "Free", "Standard"),
        FieldChange("extensions.AIPromptEvidence", "absent", "True"),
        FieldChange("extensions.AIModelScanner", "absent", "True"),
    )


def test_compliant_standard_plan_needs_nothing():
    observed = PricingState(
        "Standard",
        (
            ExtensionState("AIPromptEvidence", True),
            ExtensionState("AIPromptSharingWithPurview", True),
            ExtensionState("AIModelScanner", True),
        ),
    )
    assert decide(observed, desired()) is None


def test_unknown_extensions_are_kept_as_they_are():
    observed = PricingState(
        "Standard", (ExtensionState("SomeFutureThing", True), ExtensionState("AIPromptEvidence", False))
    )
    result = decide(observed, desired())
    assert result is not None
    assert result.target.extensions[0] == ExtensionState("SomeFutureThing", True)
    assert [c.field for c in result.changes] == ["extensions.AIPromptEvidence", "extensions.AIModelScanner"]


def test_extension_names_match_case_insensitively_and_keep_observed_spelling():
    observed = PricingState(
        "Standard", (ExtensionState("aipromptevidence", True), ExtensionState("AIModelScanner", False))
    )
    result = decide(observed, desired())
    assert result is not None
    assert result.changes == (FieldChange("extensions.AIModelScanner", "False", "True"),)
    assert [e.name for e in result.target.extensions] == [
        "aipromptevidence",
        "AIModelScanner",
        "AIPromptSharingWithPurview",
    ]


def test_a_failed_extension_that_should_be_on_is_retried():
    observed = PricingState(
        "Standard",
        (
            ExtensionState("AIPromptEvidence", True, "Failed", "role assignment failed"),
            ExtensionState("AIModelScanner", True, "Succeeded"),
        ),
    )
    result = decide(observed, desired())
    assert result is not None
    assert result.changes == (FieldChange("extensions.AIPromptEvidence", "True (last operation failed)", "True"),)


def test_a_failed_extension_that_should_be_off_is_not_rewritten_when_already_off():
    observed = PricingState(
        "Standard",
        (
            ExtensionState("AIPromptEvidence", True),
            ExtensionState("AIModelScanner", True),
            ExtensionState("AIPromptSharingWithPurview", False, "Failed", "x"),
        ),
    )
    assert decide(observed, desired(data=OFF)) is None


def test_sub_plan_is_carried_over():
    result = decide(PricingState("Free", sub_plan="P1"), desired())
    assert result is not None
    assert result.target.sub_plan == "P1"


def test_an_unlisted_extension_is_kept_by_default_and_turned_off_with_unlisted_off():
    observed = PricingState(
        "Standard",
        (
            ExtensionState("AIPromptEvidence", True),
            ExtensionState("AIModelScanner", True),
            ExtensionState("AIFutureComponent", True),
        ),
    )
    assert decide(observed, desired()) is None
    off = DesiredState(desired().components, unlisted_off=True)
    remediation = decide(observed, off)
    assert remediation is not None
    assert remediation.changes == (FieldChange("extensions.AIFutureComponent", "True", "False"),)
    assert remediation.target.extension("AIFutureComponent") == ExtensionState("AIFutureComponent", False)
    assert remediation.target.extension("AIModelScanner") == ExtensionState("AIModelScanner", True)
