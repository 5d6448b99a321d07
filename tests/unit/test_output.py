from __future__ import annotations

import json

import pytest

from enforcer.core.models import FieldChange, Outcome, OutcomeKind, Trigger
from enforcer.core.render import exit_code, outcomes_json, outcomes_table, summary_line

T = Trigger("cli", "r")


def outcome(kind: OutcomeKind, sub: str = "00000000-0000-0000-0000-000000000001", **kw: object) -> Outcome:
    return Outcome(subscription_id=sub, outcome=kind, trigger=T, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kinds", "code"),
    [
        ([OutcomeKind.COMPLIANT, OutcomeKind.REMEDIATED, OutcomeKind.EXCLUDED], 0),
        ([OutcomeKind.WOULD_REMEDIATE, OutcomeKind.IGNORED, OutcomeKind.REJECTED], 0),
        ([OutcomeKind.COMPLIANT, OutcomeKind.PARTIALLY_FAILED], 1),
        ([OutcomeKind.FAILED], 1),
        ([], 0),
    ],
)
def test_exit_code(kinds: list[OutcomeKind], code: int):
    assert exit_code([outcome(k) for k in kinds]) == code


def test_json_has_the_documented_fields():
    o = outcome(OutcomeKind.REMEDIATED, changes=[FieldChange("pricingTier", "Free", "Standard")])
    (row,) = json.loads(outcomes_json([o]))
    assert row["subscription_id"] == o.subscription_id
    assert row["outcome"] == "remediated"
    assert row["changes"] == [{"field": "pricingTier", "before": "Free", "after": "Standard"}]
    assert row["error"] is None


def test_table_puts_failures_first_and_summary_counts():
    rows = [
        outcome(OutcomeKind.COMPLIANT, "00000000-0000-0000-0000-000000000001"),
        outcome(OutcomeKind.FAILED, "00000000-0000-0000-0000-000000000002", error="denied. Fix: grant"),
    ]
    table = outcomes_table(rows).splitlines()
    assert "failed" in table[2] and "denied. Fix: grant" in table[2]
    assert "compliant" in table[3]
    assert summary_line(rows) == "2 subscription(s): 1 failed, 1 compliant"
    assert summary_line(rows, noun="event") == "2 event(s): 1 failed, 1 compliant"
