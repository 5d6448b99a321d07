"""`explain`'s report and its one-screen text, from literal facts, documents and states."""

from __future__ import annotations

import json

from enforcer.core.desired_state import resolve, resolve_account
from enforcer.core.desired_state_loader import parse_document
from enforcer.core.explain import AccountFacts, explain_json, explain_report, explain_text
from enforcer.core.models import ExtensionState, Mode, PricingState, SubscriptionInfo
from enforcer.core.settings import Settings

SETTINGS = Settings.from_env({})
SUB = "11111111-1111-1111-1111-111111111111"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/red"
DOCUMENT = parse_document(
    """\
version: 1
rules:
  - {name: prod, match: {management_group: mg-prod}, set: {components: {data_security: on}}}
  - {name: corp, match: {management_group: mg-corp}, set: {mode: audit}}
  - {name: red-team, match: {account_tag: team=red}, set: {account_protection: report}}
""",
    "ds.yaml",
    SETTINGS,
)
INFO = SubscriptionInfo(SUB, "prod\x1b[2J", "Enabled", {"owner": "a\nb"}, ("mg-prod", "mg-corp", "root"))
COMPLIANT = PricingState(
    "Standard",
    (
        ExtensionState("AIPromptEvidence", True),
        ExtensionState("AIPromptSharingWithPurview", True),
        ExtensionState("AIModelScanner", True),
    ),
)


def test_the_report_lists_rules_in_precedence_order_winners_and_the_account_part() -> None:
    resolution = resolve(INFO, DOCUMENT)
    account = resolve_account(resolution, {"team": "red"}, DOCUMENT, ACCOUNT)
    report = explain_report(
        INFO,
        resolution,
        DOCUMENT,
        COMPLIANT,
        Mode.ENFORCE,
        (AccountFacts(ACCOUNT, {"team": "red"}, "Disabled"), account),
    )
    assert [m["rule"] for m in report["matched"]] == ["prod", "corp"]
    assert report["winners"]["mode"] == {"value": "audit", "rule": "corp"}
    assert report["would_do"] == ["nothing: the plan is already in the desired state"]
    assert report["account"]["account_protection"] == {"value": "report", "rule": "red-team"}
    assert report["account"]["would_do"] == "report defenderForAISettings.state: Disabled -> Enabled"
    assert json.loads(explain_json(report)) == report

    text = explain_text(report)
    assert "ancestry     mg-prod > mg-corp > root" in text
    assert "prod\\x1b[2J" in text and "owner=a\\nb" in text  # outside text stays one escaped line
    assert "account_protection              report      red-team" in text
    assert len(text.splitlines()) <= 30


def test_a_change_in_audit_mode_is_reported_not_written() -> None:
    resolution = resolve(INFO, DOCUMENT)
    report = explain_report(INFO, resolution, DOCUMENT, PricingState("Free"), Mode.ENFORCE)
    assert report["would_do"][0] == "report (audit mode, no write) pricingTier: Free -> Standard"
