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


def test_each_change_has_its_own_announcement_key_and_racing_sweeps_share_it() -> None:
    from enforcer.core.desired_state_changes import announcement_key

    before, after = parse_document(BEFORE, "d", SETTINGS), parse_document(AFTER, "d", SETTINGS)
    marker = snapshot(before, "2026-12-05T10:00:00.000Z")
    change = document_change(marker, after)
    assert change is not None
    # Two sweeps that read the same marker find the same change under the same key.
    assert announcement_key(marker, change) == announcement_key(marker, document_change(marker, after))  # type: ignore[arg-type]
    assert announcement_key(marker, change) == f"desired-state {before.hash}@2026-12-05T10:00:00.000Z -> {after.hash}"
    # The same change made again later starts from a marker recorded at another time: another key, another card.
    again = snapshot(before, "2026-12-05T11:00:00.000Z")
    assert announcement_key(again, change) != announcement_key(marker, change)
    # Markers written before the time was kept, and no marker at all, still give a key.
    assert announcement_key(snapshot(before), change).startswith(f"desired-state {before.hash}@- -> ")
    first = document_change(None, after)
    assert first is not None and announcement_key(None, first) == f"desired-state none@- -> {after.hash}"
