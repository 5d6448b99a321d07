"""Desired state per scope (issue 20), tested with literal documents and literal subscription facts."""

from __future__ import annotations

import pytest

from enforcer.core.accounts import AccountProtection
from enforcer.core.desired_state import (
    DEFAULT_RULE,
    ResolveConflict,
    ScopeMode,
    default_document,
    resolve,
    resolve_account,
)
from enforcer.core.desired_state_loader import DesiredStateError, parse_document
from enforcer.core.models import ComponentSetting, Mode, SubscriptionInfo
from enforcer.core.settings import Settings

SETTINGS = Settings.from_env({"ENFORCER_DATA_SECURITY": "off"})
PROD = "11111111-1111-1111-1111-111111111111"
SANDBOX = "22222222-2222-2222-2222-222222222222"
OTHER = "33333333-3333-3333-3333-333333333333"

THREE_RULES = f"""\
version: 1
rules:
  - name: production-purview
    match: {{management_group: mg-prod}}
    set:
      components: {{data_security: on}}
  - name: restricted-data
    match: {{tag: data-class=restricted}}
    set:
      components: {{prompt_evidence: off}}
  - name: sandbox-exempt
    match: {{subscriptions: ["{SANDBOX}"]}}
    set: {{mode: exempt}}
  - name: corp-audit
    match: {{management_group: mg-corp}}
    set: {{mode: audit, components: {{data_security: off}}}}
  - name: red-team
    match: {{account_tag: team=red}}
    set: {{account_protection: unmanaged}}
"""


def sub(sub_id: str, tags: dict[str, str] | None = None, groups: tuple[str, ...] = ()) -> SubscriptionInfo:
    return SubscriptionInfo(sub_id, "name", "Enabled", tags or {}, groups)


def problems(text: str) -> list[str]:
    with pytest.raises(DesiredStateError) as caught:
        parse_document(text, "ds.yaml", SETTINGS)
    return [p.render("ds.yaml") for p in caught.value.problems]


def test_no_document_is_todays_settings_with_the_default_rule() -> None:
    resolution = resolve(sub(PROD, {"data-class": "restricted"}, ("mg-prod",)), default_document(SETTINGS))
    assert resolution.mode is ScopeMode.ENFORCE
    assert resolution.component("prompt_evidence") is ComponentSetting.ON
    assert resolution.component("data_security") is ComponentSetting.OFF
    assert resolution.account_protection is AccountProtection.ON
    assert set(resolution.winners.values()) == {DEFAULT_RULE}
    assert resolution.matched == ()
    assert resolution.document_hash == ""
    assert resolution.desired_state(default_document(SETTINGS)) == SETTINGS.desired


def test_each_rule_wins_its_field_and_omitted_fields_come_from_beneath() -> None:
    document = parse_document(THREE_RULES, "ds.yaml", SETTINGS)
    # Nearest parent first: mg-prod under mg-corp. Deeper mg-prod wins data_security; mode comes from mg-corp.
    prod = resolve(sub(PROD, {"Data-Class": "restricted"}, ("mg-prod", "mg-corp", "tenant-root")), document)
    assert prod.values == {
        "mode": "audit",
        "components.prompt_evidence": "off",
        "components.data_security": "on",
        "components.model_security": "on",
        "account_protection": "on",
    }
    assert prod.winners == {
        "mode": "corp-audit",
        "components.prompt_evidence": "restricted-data",
        "components.data_security": "production-purview",
        "components.model_security": DEFAULT_RULE,
        "account_protection": DEFAULT_RULE,
    }
    assert [m.rule.name for m in prod.matched] == ["restricted-data", "production-purview", "corp-audit"]
    assert prod.plan_mode(Mode.ENFORCE) is Mode.AUDIT
    assert len(prod.document_hash) == 12


def test_subscription_id_outranks_everything_and_tag_values_are_case_sensitive() -> None:
    document = parse_document(THREE_RULES, "ds.yaml", SETTINGS)
    sandbox = resolve(sub(SANDBOX.upper(), {"data-class": "Restricted"}, ("mg-prod",)), document)
    assert sandbox.mode is ScopeMode.EXEMPT and sandbox.rule_for("mode") == "sandbox-exempt"
    assert sandbox.component("prompt_evidence") is ComponentSetting.ON  # "Restricted" != "restricted"
    assert [m.rule.name for m in sandbox.matched] == ["sandbox-exempt", "production-purview"]


def test_global_audit_mode_is_never_raised_to_enforce_by_a_rule() -> None:
    document = parse_document(THREE_RULES, "ds.yaml", SETTINGS)
    assert resolve(sub(OTHER), document).plan_mode(Mode.AUDIT) is Mode.AUDIT
    assert resolve(sub(OTHER), document).plan_mode(Mode.ENFORCE) is Mode.ENFORCE


def test_account_tag_rule_wins_for_its_accounts_only() -> None:
    document = parse_document(THREE_RULES, "ds.yaml", SETTINGS)
    resolution = resolve(sub(OTHER), document)
    red = resolve_account(resolution, {"Team": "red"}, document, "/subscriptions/x/acct")
    assert (red.protection, red.rule) == (AccountProtection.UNMANAGED, "red-team")
    blue = resolve_account(resolution, {"team": "blue"}, document, "/subscriptions/x/acct")
    assert (blue.protection, blue.rule) == (AccountProtection.ON, DEFAULT_RULE)


def test_document_default_overrides_settings_field_by_field_and_json_reads_the_same() -> None:
    document = parse_document('{"version": "1", "default": {"mode": "audit"}}', "ds.json", SETTINGS)
    resolution = resolve(sub(OTHER), document)
    assert resolution.mode is ScopeMode.AUDIT
    assert resolution.component("data_security") is ComponentSetting.OFF  # from ENFORCER_DATA_SECURITY


def test_yaml_on_and_off_stay_words() -> None:
    document = parse_document("version: 1\ndefault:\n  components:\n    model_security: off\n", "d", SETTINGS)
    assert resolve(sub(OTHER), document).component("model_security") is ComponentSetting.OFF


def test_two_tag_rules_both_matching_and_disagreeing_are_refused_naming_both_and_the_subscription() -> None:
    text = """\
version: 1
rules:
  - name: restricted
    match: {tag: data-class=restricted}
    set: {components: {prompt_evidence: off}}
  - name: works-council
    match: {tag: works-council}
    set: {components: {prompt_evidence: on}}
"""
    # `works-council` (key only) and `data-class=restricted` cannot clash in the document alone ...
    document = parse_document(text, "ds.yaml", SETTINGS)
    # ... but on a subscription with both tags they do.
    with pytest.raises(ResolveConflict) as caught:
        resolve(sub(OTHER, {"data-class": "restricted", "works-council": "de"}), document)
    assert caught.value.rules == ("restricted", "works-council")
    assert OTHER in str(caught.value) and "components.prompt_evidence" in str(caught.value)


def test_equal_rules_on_one_scope_that_disagree_are_refused_at_load_with_both_names() -> None:
    text = f"""\
version: 1
rules:
  - name: purview-on
    match: {{management_group: MG-Prod}}
    set: {{components: {{data_security: on}}}}
  - name: purview-off
    match: {{management_group: mg-prod}}
    set: {{components: {{data_security: off}}}}
  - name: one
    match: {{subscriptions: ["{PROD}"]}}
    set: {{mode: audit}}
  - name: two
    match: {{subscriptions: ["{OTHER}", "{PROD.upper()}"]}}
    set: {{mode: enforce}}
  - name: three
    match: {{subscriptions: ["{PROD}"]}}
    set: {{mode: audit}}
"""
    found = problems(text)
    assert found == [
        "ds.yaml:6:5: rules 'purview-on' (line 3) and 'purview-off' both match management group mg-prod at the "
        "same precedence level and disagree on components.data_security (on vs off)",
        f"ds.yaml:12:5: rules 'one' (line 9) and 'two' both match subscription {PROD} at the same precedence "
        "level and disagree on mode (audit vs enforce)",
        f"ds.yaml:15:5: rules 'two' (line 12) and 'three' both match subscription {PROD} at the same precedence "
        "level and disagree on mode (enforce vs audit)",
    ]


def test_key_only_and_key_value_tag_rules_clash_statically() -> None:
    text = """\
version: 1
rules:
  - {name: a, match: {tag: env}, set: {mode: audit}}
  - {name: b, match: {tag: env=prod}, set: {mode: enforce}}
  - {name: c, match: {tag: env=dev}, set: {mode: enforce}}
"""
    assert problems(text) == [
        "ds.yaml:4:5: rules 'a' (line 3) and 'b' both match tag env=prod at the same precedence level and "
        "disagree on mode (audit vs enforce)",
        "ds.yaml:5:5: rules 'a' (line 3) and 'c' both match tag env=dev at the same precedence level and "
        "disagree on mode (audit vs enforce)",
    ]


def test_schema_errors_carry_line_and_column() -> None:
    text = """\
version: 1
default:
  mode: enforced
rules:
  - name: r1
    match: {management_group: mg-prod}
    set:
      components: {purview: on}
  - name: r2
    match: {tag: x, management_group: y}
    set: {mode: audit}
  - name: r3
    match: {subscriptions: [not-a-guid]}
    set: {mode: audit}
"""
    assert problems(text) == [
        "ds.yaml:3:9: default/mode: 'enforced' is not one of ['enforce', 'audit', 'exempt']",
        "ds.yaml:8:20: unknown component 'purview' in rules/0/set/components; allowed: data_security, "
        "model_security, prompt_evidence",
        "ds.yaml:10:12: rules/1/match: a rule matches on exactly one of subscriptions, tag, management_group, "
        "account_tag",
        "ds.yaml:13:29: rules/2/match/subscriptions/0: 'not-a-guid' does not match "
        "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'",
    ]


def test_empty_rules_duplicate_names_and_account_rules_setting_plan_fields_are_refused() -> None:
    text = """\
version: 1
rules:
  - {name: empty, match: {tag: a}, set: {}}
  - {name: dup, match: {tag: b}, set: {mode: audit}}
  - {name: dup, match: {tag: c}, set: {mode: audit}}
  - {name: acct, match: {account_tag: team=red}, set: {mode: exempt}}
"""
    assert problems(text) == [
        "ds.yaml:3:5: rule 'empty' sets nothing; give `set` a mode, a component or account_protection",
        "ds.yaml:5:5: rule name 'dup' is used twice (first at line 4)",
        "ds.yaml:6:5: rule 'acct' matches an account tag, so it may set only account_protection",
    ]


def test_broken_yaml_duplicate_keys_and_empty_documents_name_their_place() -> None:
    assert problems("version: 1\nrules: [\n") == [
        "ds.yaml:3:1: not valid YAML or JSON: expected the node content, but found '<stream end>'"
    ]
    assert problems("version: 1\nversion: 1\n") == ["ds.yaml:2:1: duplicate key 'version'"]
    assert problems("") == ["ds.yaml:1:1: the document is empty; it needs at least `version: 1`"]


def test_many_tag_rules_on_one_key_match_by_value_and_a_key_only_rule_matches_any_value() -> None:
    from enforcer.core.desired_state import matching_rules

    rules = "".join(
        f"  - {{name: cc-{i}, match: {{tag: costCenter=cc-{i}}}, set: {{mode: audit}}}}\n" for i in range(20)
    )
    text = f"version: 1\nrules:\n{rules}  - {{name: any-cc, match: {{tag: costcenter}}, set: {{mode: audit}}}}\n"
    document = parse_document(text, "ds.yaml", SETTINGS)
    # Tag names are case-insensitive, values exact: cc-7 and the key-only rule, nothing else.
    assert [m.rule.name for m in matching_rules(sub(OTHER, {"COSTCENTER": "cc-7"}), document)] == ["cc-7", "any-cc"]
    assert [m.rule.name for m in matching_rules(sub(OTHER, {"costCenter": "CC-7"}), document)] == ["any-cc"]
    assert matching_rules(sub(OTHER, {"owner": "cc-7"}), document) == []
