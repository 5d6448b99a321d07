"""The event-wiring custom role: only the actions wiring needs, defined and assigned at the management group."""

from __future__ import annotations

import re

from tests.infra.bicep_text import INFRA, blocks, entry_value

MG = (INFRA / "mg" / "main.bicep").read_text(encoding="utf-8")

EXPECTED_ACTIONS = {
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Resources/subscriptions/resourceGroups/write",
    "Microsoft.EventGrid/systemTopics/read",
    "Microsoft.EventGrid/systemTopics/write",
    "Microsoft.EventGrid/systemTopics/eventSubscriptions/read",
    "Microsoft.EventGrid/systemTopics/eventSubscriptions/write",
}


def test_the_wiring_role_grants_only_what_wiring_needs() -> None:
    # mg/main.bicep also defines the AI account settings role (issue 13).
    (role,) = [b for b in blocks(MG) if b.name == "wiringRole"]
    actions = set(
        re.findall(r"'(Microsoft\.[A-Za-z./]+)'", entry_value(entry_value(role.body, "properties"), "permissions"))
    )
    assert actions == EXPECTED_ACTIONS
    assert not any(a.endswith(("/delete", "/*")) for a in actions)
    assert "managementGroup().id" in entry_value(entry_value(role.body, "properties"), "assignableScopes")


def test_the_wiring_role_is_assigned_to_the_identity_at_the_management_group() -> None:
    assignments = [b for b in blocks(MG) if b.target.startswith("Microsoft.Authorization/roleAssignments@")]
    wiring = [b for b in assignments if "wiringRole.id" in entry_value(b.body, "name")]
    assert len(wiring) == 1
    assert entry_value(wiring[0].body, "name") == "guid(managementGroup().id, principalId, wiringRole.id)"


def test_the_code_names_the_role_the_bicep_defines() -> None:
    from enforcer.adapters.eventgrid import WIRING_ROLE

    assert f"'{WIRING_ROLE} (${{managementGroup().name}})'" in MG
