"""The identity's permission for per-account Defender for AI is a narrow custom role: read accounts, read and write
their defenderForAISettings, nothing else; assigned wherever the pricing roles are."""

from __future__ import annotations

import re

import pytest

from tests.infra.bicep_text import INFRA, blocks, entry_value

EXPECTED_ACTIONS = {
    "Microsoft.CognitiveServices/accounts/read",
    "Microsoft.CognitiveServices/accounts/defenderForAISettings/read",
    "Microsoft.CognitiveServices/accounts/defenderForAISettings/write",
}
FILES = ["mg/main.bicep", "modules/managed-subscription.bicep"]


@pytest.mark.parametrize("path", FILES)
def test_custom_role_grants_only_account_settings(path: str) -> None:
    text = (INFRA / path).read_text(encoding="utf-8")
    # mg/main.bicep also defines the event wiring role (issue 14): the account role is the one named for it.
    (role,) = [
        b
        for b in blocks(text)
        if b.target.startswith("Microsoft.Authorization/roleDefinitions@") and "account-settings" in b.body
    ]
    # Every quoted action-like string of the account role's action list (resource types carry an @api-version;
    # role definition ids in subscriptionResourceId() name Microsoft.Authorization).
    listed = (
        text.split("var accountSettingsActions = [", 1)[1].split("]", 1)[0]
        if "var accountSettingsActions" in text
        else text
    )
    actions = set(re.findall(r"'(Microsoft\.(?!Authorization/)[A-Za-z]+/[^'@]*)'", listed))
    assert actions == EXPECTED_ACTIONS
    assert "*'" not in text.split("accountSettings", 1)[1]  # no wildcard action
    assert "CustomRole" in role.body
    scopes = entry_value(entry_value(role.body, "properties"), "assignableScopes")
    assert ("managementGroup().id" if path.startswith("mg/") else "subscription().id") in scopes


@pytest.mark.parametrize("path", FILES)
def test_custom_role_is_assigned_to_the_enforcer_identity(path: str) -> None:
    text = (INFRA / path).read_text(encoding="utf-8")
    assignments = [
        b
        for b in blocks(text)
        if b.target.startswith("Microsoft.Authorization/roleAssignments@") and "accountSettingsRole.id" in b.body
    ]
    assert len(assignments) == 1
    assert "principalId: principalId" in assignments[0].body
