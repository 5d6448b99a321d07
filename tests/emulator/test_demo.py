"""The demo's table and exit code (pure: built outcomes, no server)."""

from __future__ import annotations

from enforcer.core.models import ExtensionState, OutcomeKind, PricingState
from localdev.demo import EXPECTED_FAILURES, table_lines, unexpected_failures
from tests.audit.builders import make_outcome


def test_the_table_stays_aligned_with_long_state_text():
    long_state = PricingState(
        "Standard",
        tuple(ExtensionState(f"AIVeryLongExtensionName{n}", True) for n in range(5)),
    )
    short = make_outcome(OutcomeKind.COMPLIANT, 1)
    long = make_outcome(OutcomeKind.REMEDIATED, 2)
    long.subscription_name = "a-subscription-name-much-longer-than-22-characters"
    long.before = long_state
    long.after = long_state
    lines = table_lines([short, long])

    for header in ("OUTCOME", "BEFORE", "AFTER"):
        column = lines[0].index(header)
        assert all(line[column - 1] == " " and line[column] != " " for line in lines), (header, lines)


def test_only_failures_of_subscriptions_the_demo_expects_to_fix_count():
    special = {kind: f"0000000{n}-0000-4000-8000-000000000000" for n, kind in enumerate(EXPECTED_FAILURES)}
    denied = make_outcome(OutcomeKind.FAILED, 1)
    denied.subscription_id = special["denied"]
    partial = make_outcome(OutcomeKind.PARTIALLY_FAILED, 2)
    partial.subscription_id = special["failing_component"]
    fine = make_outcome(OutcomeKind.REMEDIATED, 3)
    assert unexpected_failures([denied, partial, fine], special) == []

    surprise = make_outcome(OutcomeKind.FAILED, 4)
    assert unexpected_failures([denied, partial, fine, surprise], special) == [surprise]
