"""The demo's desired-state part on the emulator: two business units end in their rules' states, and `explain`
is printed for one subscription of each."""

from __future__ import annotations

import pytest

from localdev.demo_desired_state import RESEARCH, RETAIL, show_business_units
from tests.integration.helpers import extensions_of

pytestmark = pytest.mark.integration


def test_two_business_units_each_in_their_rules_state_with_explain_for_both(emulator, capsys):
    show_business_units(emulator, {"ENFORCER_ARM_ENDPOINT": emulator.url})

    out = capsys.readouterr().out
    assert f"subscription {RETAIL} (retail-checkout)" in out and f"subscription {RESEARCH} (research-models)" in out
    assert "components.data_security        on          retail-purview" in out
    assert "mode                            audit       research-audit-first" in out
    assert extensions_of(emulator.pricing(RETAIL, "AI")) == {
        "AIPromptEvidence": "False",
        "AIPromptSharingWithPurview": "True",
        "AIModelScanner": "True",
    }
    assert emulator.pricing(RESEARCH, "AI")["properties"]["pricingTier"] != "Standard"  # audit: reported only
    assert "would_remediate" in out and "[rule: research-audit-first, default]" in out
