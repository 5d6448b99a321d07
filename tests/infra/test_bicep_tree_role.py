"""The identity may read the management-group tree (issue 20): a custom role with only the Entities API's action,
defined and assigned at the management group."""

from __future__ import annotations

import re

from tests.infra.bicep_text import INFRA, blocks, entry_value


def test_tree_role_grants_only_the_entities_action_and_is_assigned() -> None:
    text = (INFRA / "mg/main.bicep").read_text(encoding="utf-8")
    (role,) = [
        b
        for b in blocks(text)
        if b.target.startswith("Microsoft.Authorization/roleDefinitions@") and "tree-reader" in b.body
    ]
    assert set(re.findall(r"'(Microsoft\.[A-Za-z]+/[^'@]*)'", role.body)) == {"Microsoft.Management/getEntities/action"}
    assert "managementGroup().id" in entry_value(entry_value(role.body, "properties"), "assignableScopes")
    (assignment,) = [
        b
        for b in blocks(text)
        if b.target.startswith("Microsoft.Authorization/roleAssignments@") and "treeRole.id" in b.body
    ]
    assert "principalId: principalId" in assignment.body
