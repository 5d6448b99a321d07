"""Management-group ancestry from Resource Graph's chain and from the Entities API, into one shape (literals)."""

from __future__ import annotations

from enforcer.core.ancestry import ancestry_from_chain, ancestry_from_entities, with_ancestry, without_ancestry
from enforcer.core.models import SubscriptionInfo

SUB = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"
ROOT = "72f988bf-0000-4000-8000-00000000e1a7"


def test_resource_graph_chain_is_kept_nearest_parent_first():
    chain = [
        {"name": "mg-prod", "displayName": "Production"},
        {"name": "mg-corp", "displayName": "Corp"},
        {"name": ROOT, "displayName": "Tenant Root Group"},
    ]
    assert ancestry_from_chain(chain) == ("mg-prod", "mg-corp", ROOT)


def test_a_chain_that_is_absent_or_has_a_hole_is_unknown():
    assert ancestry_from_chain(None) == ()
    assert ancestry_from_chain("mg-prod") == ()
    assert ancestry_from_chain([{"name": "mg-prod"}, {"displayName": "no name"}, {"name": ROOT}]) == ()


def test_entities_parent_name_chain_is_root_first_and_is_reversed():
    entities = [
        {
            "type": "/subscriptions",
            "name": SUB.upper(),
            "properties": {"parentNameChain": [ROOT, "mg-corp", "mg-prod"]},
        },
        {"type": "/subscriptions", "name": OTHER, "properties": {"parentNameChain": [ROOT]}},
        # Management groups and unreadable items are not subscriptions' ancestry.
        {"type": "Microsoft.Management/managementGroups", "name": "mg-corp", "properties": {"parentNameChain": [ROOT]}},
        {"type": "/subscriptions", "name": "not-a-guid", "properties": {"parentNameChain": [ROOT]}},
        {"type": "/subscriptions", "name": OTHER.replace("2", "3"), "properties": {"parentNameChain": [ROOT, 7]}},
        "garbage",
    ]
    assert ancestry_from_entities(entities) == {SUB: ("mg-prod", "mg-corp", ROOT), OTHER: (ROOT,)}


def test_only_subscriptions_without_ancestry_are_filled():
    known = SubscriptionInfo(SUB, "a", "Enabled", management_groups=("mg-dev", ROOT))
    unknown = SubscriptionInfo(OTHER, "b", "Enabled")
    tree = {SUB: ("mg-prod", ROOT), OTHER: ("mg-prod", ROOT)}

    assert without_ancestry([known, unknown, None]) == [OTHER]
    assert with_ancestry(known, tree) is known
    assert with_ancestry(unknown, tree).management_groups == ("mg-prod", ROOT)
    assert with_ancestry(unknown, {}) is unknown
