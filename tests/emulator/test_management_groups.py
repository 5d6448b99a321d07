"""The emulator's management-group tree: seeding rules, the Entities API's shape, Resource Graph's column."""

from __future__ import annotations

import json
import urllib.request
import uuid
from typing import Any

import pytest

from localdev.emulator import Emulator
from localdev.emulator.management_groups import ManagementGroupTree, seed_demo_tree

pytestmark = pytest.mark.integration


def test_groups_must_exist_before_children_or_subscriptions_go_under_them():
    tree = ManagementGroupTree(root="tenant")
    with pytest.raises(KeyError):
        tree.add("mg-missing", "mg-child")
    tree.add("tenant", "mg-corp")
    with pytest.raises(ValueError):
        tree.add("tenant", "mg-corp")
    with pytest.raises(KeyError):
        tree.place("sub", "mg-missing")
    tree.place("SUB", "mg-corp")
    assert tree.ancestry("sub") == ["mg-corp", "tenant"]
    assert tree.ancestry("never-placed") == ["tenant"]


def post(url: str) -> dict[str, Any]:
    request = urllib.request.Request(url, method="POST", headers={"Authorization": "Bearer local"}, data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def test_entities_list_groups_and_subscriptions_root_first_in_pages(emulator: Emulator):
    sub = str(uuid.uuid4())
    emulator.add_subscription(sub, "Payments")
    tree = emulator.management_groups
    tree.add(tree.root, "mg-corp", "Corp")
    tree.place(sub, "mg-corp")
    tree.page_size = 2

    first = post(f"{emulator.url}/providers/Microsoft.Management/getEntities?api-version=2021-04-01")
    second = post(first["nextLink"])

    entities = first["value"] + second["value"]
    assert "nextLink" not in second and first["count"] == 3
    by_name = {e["name"]: e for e in entities}
    assert by_name[sub]["type"] == "/subscriptions"
    assert by_name[sub]["properties"]["parentNameChain"] == [tree.root, "mg-corp"]
    assert by_name[sub]["properties"]["parentDisplayNameChain"] == ["Tenant Root Group", "Corp"]
    assert by_name[sub]["properties"]["parent"] == {"id": "/providers/Microsoft.Management/managementGroups/mg-corp"}
    assert by_name["mg-corp"]["type"] == "Microsoft.Management/managementGroups"
    assert by_name[tree.root]["properties"]["parent"] is None


def test_the_demo_tree_deals_subscriptions_to_prod_dev_sandbox_and_the_root():
    tree = ManagementGroupTree(root="tenant")
    placed = seed_demo_tree(tree, ["a", "b", "c", "d", "e"])

    assert placed == {"a": "mg-prod", "b": "mg-dev", "c": "mg-sandbox", "d": "tenant", "e": "mg-prod"}
    assert tree.ancestry("a") == ["mg-prod", "mg-corp", "tenant"]
    assert tree.ancestry("c") == ["mg-sandbox", "tenant"]
    assert tree.ancestry("d") == ["tenant"]
