"""Role assignments are named guid(scope, principal, role) and say which role they grant."""

from __future__ import annotations

import re

from tests.infra.bicep_text import INFRA, Block, blocks, call_arguments, entry_value

ROLE_NAMES = {
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "fb1c8493-542b-48eb-b624-b4c8fea62acd": "Security Admin",
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
}


def role_assignments() -> list[tuple[str, Block]]:
    found = []
    for path in sorted(INFRA.rglob("*.bicep")):
        for block in blocks(path.read_text(encoding="utf-8")):
            if block.target.startswith("Microsoft.Authorization/roleAssignments@"):
                found.append((path.relative_to(INFRA).as_posix(), block))
    return found


def test_role_assignments_exist() -> None:
    files = {path for path, _ in role_assignments()}
    assert {"mg/main.bicep", "modules/managed-subscription.bicep", "modules/app-rbac.bicep"} <= files


def test_role_assignment_names_are_guid_of_scope_principal_role() -> None:
    for path, block in role_assignments():
        name = entry_value(block.body, "name")
        arguments = call_arguments(name, "guid")
        assert len(arguments) == 3, f"{path}:{block.name}: name {name} is not guid(scope, principal, role)"
        scope, principal, role = arguments
        where = f"{path}:{block.name}"
        assert re.search(r"\.id$", scope), f"{where}: scope {scope} is not a resource, subscription or group id"
        assert "rincipal" in principal or principal in ("publisher", "reader"), f"{where}: principal {principal}"
        role_definition = entry_value(entry_value(block.body, "properties"), "roleDefinitionId")
        assert role in role_definition, f"{path}:{block.name}: guid() role {role} is not the assigned {role_definition}"


def test_role_assignments_carry_a_comment_naming_the_role() -> None:
    for path, block in role_assignments():
        comment_lines = []
        for line in reversed(block.preceding_text.rstrip("\n").splitlines()):
            if not line.strip().startswith("//"):
                break
            comment_lines.append(line)
        assert comment_lines, f"{path}:{block.name}: no comment above the role assignment"


def test_pricing_roles_are_the_documented_built_ins() -> None:
    for path in ("mg/main.bicep", "modules/managed-subscription.bicep"):
        text = (INFRA / path).read_text(encoding="utf-8")
        for role_id, role_name in ROLE_NAMES.items():
            assert role_id in text, f"{path}: {role_name} ({role_id}) missing"
