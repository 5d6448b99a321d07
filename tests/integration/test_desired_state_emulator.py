"""Desired state per scope (issue 20) on the ARM emulator with the real SDK clients: three rules, each subscription
ends in its rule's state, and every record, table row and card names the rule and the document's hash.

Management-group ancestry comes from the emulator's tree (Resource Graph's ancestry column, or the Entities API
for a subscription read on its own); a few tests hand SubscriptionInfo facts to the enforcer directly."""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest

from enforcer.core.cards import digest_card, outcome_card
from enforcer.core.desired_state_loader import parse_document
from enforcer.core.models import Mode, OutcomeKind, RunSummary, SubscriptionInfo, Trigger
from enforcer.core.records import AuditRecord
from enforcer.core.render import outcomes_table, render_status
from tests.integration.helpers import extensions_of, services_for

pytestmark = pytest.mark.integration

DOCUMENT = "tests/data/desired-state/three-rules.yaml"
SANDBOX = "20202020-0000-4000-8000-00000000e5e5"
TRIGGER = Trigger("sweep", "sweep-test")
ROOT = "tenant-root"


def add(emulator, sub: str, tags: dict[str, str] | None = None) -> None:
    emulator.add_subscription(sub, display_name=f"sub-{sub[:4]}", tags=tags or {}, pricing={"pricingTier": "Free"})


def facts(sub: str, tags: dict[str, str] | None = None, groups: tuple[str, ...] = (ROOT,)) -> SubscriptionInfo:
    return SubscriptionInfo(sub, f"sub-{sub[:4]}", "Enabled", tags or {}, groups)


def test_each_subscription_ends_in_its_rules_state_and_every_output_names_the_rule(emulator):
    production, restricted, plain = (str(uuid.uuid4()) for _ in range(3))
    add(emulator, production)
    add(emulator, restricted, {"data-class": "restricted"})
    add(emulator, plain)
    add(emulator, SANDBOX)
    services = services_for(emulator.url, {"ENFORCER_DESIRED_STATE": DOCUMENT})
    enforce = services.enforcer.enforce

    outcomes = [
        enforce(production, TRIGGER, info=facts(production, groups=("mg-production", ROOT))),
        enforce(restricted, TRIGGER, info=facts(restricted, {"data-class": "restricted"}, ("mg-research", ROOT))),
        enforce(plain, TRIGGER, info=facts(plain)),
        enforce(SANDBOX, TRIGGER, info=facts(SANDBOX, groups=("mg-production", ROOT))),
    ]

    assert extensions_of(emulator.pricing(production, "AI")) == {
        "AIPromptEvidence": "True",
        "AIPromptSharingWithPurview": "True",
        "AIModelScanner": "True",
    }
    assert extensions_of(emulator.pricing(restricted, "AI")) == {
        "AIPromptEvidence": "False",
        "AIPromptSharingWithPurview": "False",
        "AIModelScanner": "True",
    }
    assert extensions_of(emulator.pricing(plain, "AI"))["AIPromptSharingWithPurview"] == "False"
    assert emulator.pricing(SANDBOX, "AI")["properties"]["pricingTier"] == "Free"  # exempt: never written

    kinds = [o.outcome for o in outcomes]
    assert kinds == [OutcomeKind.REMEDIATED] * 3 + [OutcomeKind.EXCLUDED]
    # The tier follows the mode's winner (default); each component its own rule.
    assert [o.rule for o in outcomes] == [
        "default, production-purview",
        "default, restricted-data",
        "default",
        "sandbox-exempt",
    ]
    assert outcomes[3].reason == "exempt by desired-state rule sandbox-exempt"
    document_hash = services.desired_state.hash if services.desired_state else ""
    assert len(document_hash) == 12 and {o.desired_state_hash for o in outcomes} == {document_hash}

    # The record, status, --json, the card and the digest all carry the rule.
    records = [AuditRecord.from_outcome(o) for o in outcomes]
    assert [AuditRecord.from_entity(r.to_entity()).to_dict()["rule"] for r in records] == [o.rule for o in outcomes]
    assert json.loads(json.dumps([o.to_dict() for o in outcomes]))[1]["desired_state_hash"] == document_hash
    assert "[rule: default, restricted-data]" in outcomes_table(outcomes)
    assert "[rule: sandbox-exempt]" in render_status(records, as_json=False)
    card = json.dumps(outcome_card(outcomes[0]))
    assert "Desired-state rule" in card and f"default, production-purview (document {document_hash})" in card
    summary = RunSummary.from_outcomes("sweep-test", "sweep", Mode.ENFORCE, "2026-01-01T00:00:00.000Z", outcomes, 1)
    assert "(rule default, restricted-data)" in json.dumps(digest_card(summary, outcomes))

    # The next pass converges: compliant, still naming the most specific matching rule.
    again = enforce(production, TRIGGER, info=facts(production, groups=("mg-production", ROOT)))
    assert (again.outcome, again.rule) == (OutcomeKind.COMPLIANT, "production-purview")


def test_an_event_reads_the_management_group_tree_and_enforces_its_rule(emulator):
    production = str(uuid.uuid4())
    add(emulator, production)
    emulator.management_groups.add(emulator.management_groups.root, "mg-production")
    emulator.management_groups.place(production, "mg-production")
    services = services_for(emulator.url, {"ENFORCER_DESIRED_STATE": DOCUMENT})

    outcome = services.enforcer.enforce(production, Trigger("event", "evt-1", "Microsoft.Security/pricings/write"))

    assert (outcome.outcome, outcome.rule) == (OutcomeKind.REMEDIATED, "default, production-purview")
    assert extensions_of(emulator.pricing(production, "AI"))["AIPromptSharingWithPurview"] == "True"
    assert emulator.calls.get("management.entities", 0) == 1


def test_a_path_without_ancestry_reports_instead_of_undoing_a_management_group_rule(emulator):
    production = str(uuid.uuid4())
    add(emulator, production)
    emulator.management_groups.forbidden = True  # the tree cannot be read: the ancestry stays unknown
    services = services_for(emulator.url, {"ENFORCER_DESIRED_STATE": DOCUMENT})

    outcome = services.enforcer.enforce(production, Trigger("event", "evt-1", "Microsoft.Security/pricings/write"))

    assert outcome.outcome is OutcomeKind.WOULD_REMEDIATE and outcome.mode is Mode.AUDIT
    assert outcome.reason == "management-group ancestry not known on this path; the sweep enforces"
    assert emulator.pricing(production, "AI")["properties"]["pricingTier"] == "Free"


def test_tag_rules_that_clash_on_one_subscription_fail_it_naming_both(emulator):
    sub = str(uuid.uuid4())
    add(emulator, sub)
    services = services_for(emulator.url, {"ENFORCER_DESIRED_STATE": DOCUMENT})
    text = """\
version: 1
rules:
  - {name: restricted, match: {tag: data-class=restricted}, set: {components: {prompt_evidence: off}}}
  - {name: works-council, match: {tag: works-council}, set: {components: {prompt_evidence: on}}}
"""
    services.enforcer.document = parse_document(text, "inline", services.settings)
    info = facts(sub, {"data-class": "restricted", "works-council": "de"})

    outcome = services.enforcer.enforce(sub, TRIGGER, info=info)

    assert outcome.outcome is OutcomeKind.FAILED and outcome.rule == "restricted vs works-council"
    assert outcome.error is not None and "'restricted' and 'works-council'" in outcome.error and sub in outcome.error
    assert emulator.pricing(sub, "AI")["properties"]["pricingTier"] == "Free"  # nothing written


def explain_cli(emulator, *args: str):
    from tests.integration.test_cli import run_cli

    env = {"ENFORCER_ARM_ENDPOINT": emulator.url, "ENFORCER_DESIRED_STATE": DOCUMENT}
    return run_cli("explain", *args, env=env)


def test_explain_names_the_matched_rules_the_winners_and_what_would_happen_readable_and_json(emulator):
    restricted = str(uuid.uuid4())
    add(emulator, restricted, {"data-class": "restricted", "owner": "[x](https://evil)\n"})
    add(emulator, SANDBOX)

    text = explain_cli(emulator, restricted)
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "1. restricted-data  (tag data-class=restricted)" in out
    assert "components.prompt_evidence      off         restricted-data" in out
    assert "components.data_security        off         default" in out
    assert "current      Free" in out
    # The ancestry is known (the emulator's tree: this subscription sits under the root), so it would write.
    assert "write pricingTier: Free -> Standard" in out
    assert "management-group ancestry not known" not in out
    assert "owner=[x](https://evil)\\n" in out  # a tag stays text: its newline shown, not obeyed
    assert len(out.splitlines()) <= 25  # one screen

    as_json = explain_cli(emulator, restricted, "--json")
    report = json.loads(as_json.stdout)
    assert [m["rule"] for m in report["matched"]] == ["restricted-data"]
    assert report["winners"]["components.prompt_evidence"] == {"value": "off", "rule": "restricted-data"}
    assert report["desired"]["mode"] == "enforce" and report["current"]["tier"] == "Free"
    assert report["document"]["hash"] and report["rule"] == "restricted-data"

    exempt = json.loads(explain_cli(emulator, SANDBOX, "--json").stdout)
    assert exempt["would_do"] == ["nothing: exempt by rule sandbox-exempt"]
    # Read-only: explain never wrote.
    assert emulator.pricing(restricted, "AI")["properties"]["pricingTier"] == "Free"
    assert emulator.calls.get("pricings.put", 0) == 0


def test_explain_with_management_group_ancestry_names_the_deeper_group(emulator):
    from enforcer.usecases.explain import explain

    production = str(uuid.uuid4())
    add(emulator, production)
    emulator.management_groups.add(emulator.management_groups.root, "mg-production")
    emulator.management_groups.place(production, "mg-production")  # read through Resource Graph's ancestry column
    services = services_for(emulator.url, {"ENFORCER_DESIRED_STATE": DOCUMENT})

    report = explain(services, production)
    assert report["matched"] == [
        {
            "rule": "production-purview",
            "because": "ancestor management group mg-production",
            "sets": {"components.data_security": "on"},
        }
    ]
    assert report["winners"]["components.data_security"] == {"value": "on", "rule": "production-purview"}
    assert "write extensions.AIPromptSharingWithPurview: absent -> True" in report["would_do"]


def test_account_protection_per_account_follows_the_account_tag_rule(emulator):
    from enforcer.core.accounts import parse_account_id
    from enforcer.usecases.protect_accounts import protect_account

    sub = str(uuid.uuid4())
    add(emulator, sub)
    red = emulator.cognitive.add(sub, "rg-ai", "red-team-openai", state="Disabled", tags={"Team": "red"})
    blue = emulator.cognitive.add(sub, "rg-ai", "blue-openai", state="Disabled", tags={"team": "blue"})
    services = services_for(emulator.url, {"ENFORCER_DESIRED_STATE": DOCUMENT})
    services.enforcer.directory.remember([facts(sub)])

    red_ref, blue_ref = parse_account_id(red), parse_account_id(blue)
    assert red_ref is not None and blue_ref is not None
    # Tags known (the sweep's account index) and not known (an event: the account's tags are read before a write).
    left_alone = protect_account(services, dataclasses.replace(red_ref, tags={"Team": "red"}), TRIGGER, tags_known=True)
    unknown_tags = protect_account(services, red_ref, TRIGGER)
    protected = protect_account(services, dataclasses.replace(blue_ref, tags={"team": "blue"}), TRIGGER)
    assert (unknown_tags.outcome, unknown_tags.rule) == (OutcomeKind.EXCLUDED, "red-team-accounts")

    assert (left_alone.outcome, left_alone.rule) == (OutcomeKind.EXCLUDED, "red-team-accounts")
    assert left_alone.reason == "account protection unmanaged by desired-state rule red-team-accounts"
    assert emulator.cognitive.state(red) == "Disabled"
    assert (protected.outcome, protected.rule) == (OutcomeKind.REMEDIATED, "default")
    assert emulator.cognitive.state(blue) == "Enabled"


def test_coverage_names_the_rule_per_account_in_json_csv_and_html(emulator):
    from enforcer.core import coverage
    from enforcer.usecases.coverage import gather_coverage_in_scope
    from localdev.emulator.fleet import COMPLIANT_AI_PRICING

    sub = str(uuid.uuid4())
    emulator.add_subscription(sub, display_name="ai-team", pricing=COMPLIANT_AI_PRICING)
    emulator.add_subscription(SANDBOX, display_name="sandbox", pricing=COMPLIANT_AI_PRICING)
    emulator.cognitive.add(sub, "rg-ai", "red-openai", state="Disabled", tags={"team": "red"})
    emulator.cognitive.add(sub, "rg-ai", "blue-openai", state="Enabled")
    emulator.cognitive.add(SANDBOX, "rg-ai", "sandbox-openai", state="Enabled")
    services = services_for(emulator.url, {"ENFORCER_DESIRED_STATE": DOCUMENT})

    rows, _ = gather_coverage_in_scope(services)

    by_name = {r.account: r for r in rows}
    assert by_name["red-openai"].rule == "red-team-accounts"
    assert by_name["blue-openai"].rule == "default"
    assert (by_name["sandbox-openai"].rule, by_name["sandbox-openai"].why_not) == ("sandbox-exempt", "exempt")
    assert by_name["sandbox-openai"].exempt_reason == "exempt by desired-state rule sandbox-exempt"
    assert coverage.to_csv(rows).splitlines()[0].endswith(",rule")
    assert "<td>red-team-accounts</td>" in coverage.to_html(rows, "2026-01-01T00:00:00Z")
    assert json.loads(coverage.to_json(rows, "2026-01-01T00:00:00Z"))["accounts"][0]["rule"]


def test_an_audit_rule_reports_a_disabled_account_without_writing(emulator):
    from enforcer.core.accounts import parse_account_id
    from enforcer.usecases.protect_accounts import protect_account

    sub = str(uuid.uuid4())
    add(emulator, sub, {"business-unit": "research"})
    account = emulator.cognitive.add(sub, "rg-ai", "research-openai", state="Disabled")
    services = services_for(emulator.url, {"ENFORCER_DESIRED_STATE": "examples/desired-state/demo-business-units.yaml"})
    services.enforcer.directory.remember([facts(sub, {"business-unit": "research"})])
    ref = parse_account_id(account)
    assert ref is not None

    outcome = protect_account(services, ref, TRIGGER, tags_known=True)

    assert (outcome.outcome, outcome.mode) == (OutcomeKind.WOULD_REMEDIATE, Mode.AUDIT)
    assert outcome.rule == "default, research-audit-first"
    assert outcome.reason == "audit mode (desired-state rule default, research-audit-first): not changed"
    assert emulator.cognitive.state(account) == "Disabled"


def test_explain_of_a_subscription_where_two_rules_clash_exits_1_naming_both_with_json(emulator):
    from tests.integration.test_cli import run_cli

    sub = str(uuid.uuid4())
    add(emulator, sub, {"data-class": "restricted", "works-council": "de"})
    env = {"ENFORCER_ARM_ENDPOINT": emulator.url, "ENFORCER_DESIRED_STATE": "tests/data/desired-state/tag-clash.yaml"}

    result = run_cli("explain", sub, "--json", env=env)

    assert result.returncode == 1
    answer = json.loads(result.stdout)
    assert answer["subscription_id"] == sub and "'restricted' and 'works-council'" in answer["error"]
    assert "explain failed: rules 'restricted' and 'works-council' both match" in result.stderr
