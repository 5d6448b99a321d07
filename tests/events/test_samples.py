"""Every documented sample payload, through every route, gives the expected decision."""

from __future__ import annotations

import pytest

from enforcer.core.events import EnforceRequest, EventSkipped, Route, parse_event
from enforcer.core.models import OutcomeKind
from tests.events.samples import SUBSCRIPTION, sample, sample_names

AI, SUB, ANY = Route.AI_ACCOUNT, Route.SUBSCRIPTION, Route.ANY

# (file, route) -> ("enforce", kind) or ("ignored", words the reason must contain)
EXPECTED: dict[tuple[str, Route], tuple[str, str]] = {}


def expect(name: str, ai: tuple[str, str], sub: tuple[str, str], any_: tuple[str, str]) -> None:
    EXPECTED[(name, AI)] = ai
    EXPECTED[(name, SUB)] = sub
    EXPECTED[(name, ANY)] = any_


for schema in ("eventgrid", "cloudevents"):
    expect(
        f"resource-write-cognitive-account.{schema}.json",
        ("enforce", "ai_account"),
        ("ignored", "handled by ai_account_created"),
        ("enforce", "ai_account"),
    )
    expect(
        f"subscription-created-vending.{schema}.json",
        ("ignored", "handled by subscription_created"),
        ("enforce", "subscription_vending"),
        ("enforce", "subscription_vending"),
    )
    for change in ("created", "changed"):
        expect(
            f"policy-state-{change}-defender-ai.{schema}.json",
            ("ignored", "handled by subscription_created"),
            ("enforce", "policy_state"),
            ("enforce", "policy_state"),
        )
expect(
    "resource-write-storage-account.eventgrid.json",
    ("ignored", "'Microsoft.Storage/storageAccounts/write' is not one ai_account_created handles"),
    ("ignored", "'Microsoft.Storage/storageAccounts/write' is not one subscription_created handles"),
    ("ignored", "is not one the enforcer handles"),
)
expect(
    "resource-write-security-pricing.eventgrid.json",
    ("enforce", "pricing_write"),
    ("ignored", "handled by ai_account_created"),
    ("enforce", "pricing_write"),
)
expect(
    "policy-state-created-unrelated.eventgrid.json",
    ("ignored", "handled by subscription_created"),
    ("ignored", "policy definition '404c3081-a854-4457-ae30-26a93ef643f9' is not a Defender for AI policy"),
    ("ignored", "is not a Defender for AI policy"),
)
expect(
    "management-group-subscription-move.eventgrid.json",
    ("ignored", "handled by subscription_created"),
    ("enforce", "management_group_move"),
    ("enforce", "management_group_move"),
)
expect(
    "subscription-alias-write.eventgrid.json",
    ("ignored", "handled by subscription_created"),
    ("ignored", "names the alias, not the new subscription"),
    ("ignored", "names the alias, not the new subscription"),
)


def test_every_sample_file_has_expectations_for_every_route():
    assert {name for name, _ in EXPECTED} == set(sample_names())
    assert len(EXPECTED) == 3 * len(sample_names())


def _case_order(case: tuple[str, Route]) -> tuple[str, str]:
    return case[0], case[1].value


CASES = sorted(EXPECTED, key=_case_order)


@pytest.mark.parametrize(("name", "route"), CASES)
def test_sample_decision(name: str, route: Route):
    raw = sample(name)
    result = parse_event(raw, route)
    verdict, detail = EXPECTED[(name, route)]
    if verdict == "enforce":
        assert isinstance(result, EnforceRequest), result
        assert result.kind == detail
        assert result.subscription_id == SUBSCRIPTION
        assert result.event_id == raw["id"]
        assert result.event_type == raw.get("eventType", raw.get("type"))  # as given
    else:
        assert isinstance(result, EventSkipped), result
        assert result.outcome is OutcomeKind.IGNORED
        assert detail in result.reason
        assert result.event_id == raw["id"]


def test_vending_samples_carry_names():
    ce = parse_event(sample("subscription-created-vending.cloudevents.json"), SUB)
    eg = parse_event(sample("subscription-created-vending.eventgrid.json"), SUB)
    assert isinstance(ce, EnforceRequest) and isinstance(eg, EnforceRequest)
    assert (ce.display_name, ce.requested_by) == ("contoso-ai-prod", "platform-team@contoso.com")
    assert (eg.display_name, eg.requested_by) == ("contoso-ai-prod", None)


def test_ignored_samples_report_the_subscription_they_name_except_the_alias():
    storage = parse_event(sample("resource-write-storage-account.eventgrid.json"), AI)
    alias = parse_event(sample("subscription-alias-write.eventgrid.json"), SUB)
    assert isinstance(storage, EventSkipped) and storage.subscription_id == SUBSCRIPTION
    # The alias event's topic/data.subscriptionId name the observing subscription, not the new one.
    assert isinstance(alias, EventSkipped) and alias.subscription_id is None
