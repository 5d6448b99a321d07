"""A changed desired-state document, compared with the last one enforced: literal documents, literal facts."""

from __future__ import annotations

import json

from enforcer.core.desired_state import default_document
from enforcer.core.desired_state_changes import change_card, change_note, document_change, snapshot
from enforcer.core.desired_state_loader import parse_document
from enforcer.core.models import SubscriptionInfo
from enforcer.core.settings import Settings

SETTINGS = Settings.from_env({})
SUB = "11111111-1111-1111-1111-111111111111"
BEFORE = f"""\
version: 1
rules:
  - {{name: prod, match: {{management_group: mg-prod}}, set: {{components: {{data_security: on}}}}}}
  - {{name: restricted, match: {{tag: data-class=restricted}}, set: {{components: {{prompt_evidence: off}}}}}}
  - {{name: sandbox, match: {{subscriptions: ["{SUB}"]}}, set: {{mode: exempt}}}}
"""
AFTER = """\
version: 1
rules:
  - {name: prod, match: {management_group: mg-prod}, set: {components: {data_security: on}}}
  - name: restricted
    match: {tag: data-class=restricted}
    set: {components: {prompt_evidence: off, model_security: off}}
  - {name: red-team, match: {account_tag: team=red}, set: {account_protection: unmanaged}}
"""
INFOS = [
    SubscriptionInfo(SUB, "a", "Enabled", {"data-class": "restricted"}, ("mg-prod", "root")),
    SubscriptionInfo("22222222-2222-2222-2222-222222222222", "b", "Enabled", {}, ("MG-Prod", "root")),
]


def test_no_change_when_the_hash_is_the_one_recorded() -> None:
    document = parse_document(BEFORE, "d", SETTINGS)
    assert document_change(snapshot(document), document) is None
    assert document_change(None, default_document(SETTINGS)) is None


def test_added_removed_and_altered_rules_with_the_subscriptions_each_affects() -> None:
    before, after = parse_document(BEFORE, "d", SETTINGS), parse_document(AFTER, "d", SETTINGS)
    change = document_change(snapshot(before), after)
    assert change is not None
    assert (change.old_hash, change.new_hash) == (before.hash, after.hash)
    assert [(r.name, r.change) for r in change.rules] == [
        ("red-team", "added"),
        ("sandbox", "removed"),
        ("restricted", "altered"),
    ]
    card = json.dumps(change_card(change, INFOS))
    assert "added: red-team (account tag team=red; AI accounts by tag)" in card
    assert f"removed: sandbox (subscription {SUB}; 1 subscription(s))" in card
    assert "altered: restricted (tag data-class=restricted; 1 subscription(s))" in card
    assert change_note(change) == (
        f"desired-state document changed ({before.hash} -> {after.hash}): this sweep enforces it (3 rule change(s))"
    )


def test_a_first_document_lists_every_rule_as_added_and_removing_it_lists_them_removed() -> None:
    document = parse_document(BEFORE, "d", SETTINGS)
    first = document_change(None, document)
    assert first is not None and {r.change for r in first.rules} == {"added"} and first.old_hash == ""
    assert "management group mg-prod; 2 subscription(s)" in json.dumps(change_card(first, INFOS))
    gone = document_change(snapshot(document), default_document(SETTINGS))
    assert gone is not None and {r.change for r in gone.rules} == {"removed"} and gone.new_hash == ""
    assert document_change("not json", document) is not None  # an unreadable marker: reported, not missed
