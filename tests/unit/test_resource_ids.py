"""Issue 22, item 1: account ids are read by Azure's naming rules (Unicode letters and digits in resource groups),
and nothing else reads as an account id."""

from __future__ import annotations

import pytest

from enforcer.core.accounts import UnreadableAccount, is_resource_group_name, parse_account_id

SUB = "5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f"


def account_id(group: str, name: str = "ai-1", provider: str = "Microsoft.CognitiveServices") -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{group}/providers/{provider}/accounts/{name}"


@pytest.mark.parametrize("group", ["rg-données", "rg-日本", "Ресурсы", "rg_(1).x", "٣rg", "a" * 90, "rg-ǅ", "rg-ʰ"])
def test_resource_groups_azure_allows_are_read(group: str) -> None:
    assert is_resource_group_name(group)
    account = parse_account_id(account_id(group))
    assert account is not None and account.resource_group == group and account.resource_id == account_id(group)


@pytest.mark.parametrize("group", ["", "rg.", "a" * 91, "rg x", "rg/x", "rg²", "rg\u0301", "rg\n", "rg#1", "rg🙂"])
def test_resource_groups_azure_refuses_are_not(group: str) -> None:
    assert not is_resource_group_name(group)


@pytest.mark.parametrize(
    "text",
    [
        account_id("rg", "a"),  # account names are 2-64 characters
        account_id("rg", "-ai"),
        account_id("rg", "ai 1"),
        account_id("rg", "x" * 65),
        account_id("rg", "ai-1", provider="Microsoft.CognitiveService\u017f"),  # long s casefolds to 's'
        account_id("rg") + "/deployments/gpt",
        "subscriptions/" + account_id("rg").split("/subscriptions/")[1],
    ],
)
def test_anything_else_is_not_an_account_id(text: str) -> None:
    assert parse_account_id(text) is None


def test_an_unreadable_id_is_shown_escaped_in_its_error() -> None:
    account = UnreadableAccount(SUB, account_id("rg", "evil\x1b[2J\nFAKE"))
    assert "evil\\x1b[2J\\nFAKE" in account.error and "\x1b" not in account.error and "\n" not in account.error
    assert account.error.startswith("not readable: ")
