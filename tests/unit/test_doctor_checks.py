"""doctor's pure checks (core/doctor.py), with literals."""

from __future__ import annotations

from enforcer.core.accounts import AccountProtection
from enforcer.core.doctor import (
    CatalogueDay,
    Permission,
    ScopePermissions,
    Status,
    catalogue_gaps,
    delivery_key_problem,
    function_timeout_seconds,
    is_allowed,
    permissions_check,
    projected_columns,
    required_features,
    schedule_check,
    without_gaps,
)
from enforcer.core.settings import Settings
from enforcer.core.wiring import WiringMode

DESIRED = Settings.from_env({}).desired


def test_rbac_wildcards_and_not_actions() -> None:
    reader = (Permission(("*/read",)),)
    assert is_allowed("Microsoft.Security/pricings/read", reader)
    assert not is_allowed("Microsoft.Security/pricings/write", reader)
    owner_but = (Permission(("*",), ("Microsoft.Security/*/write",)),)
    assert not is_allowed("microsoft.security/pricings/write", owner_but)  # case-insensitive
    # A notAction subtracts from its own role only: another role may still grant it.
    assert is_allowed(
        "Microsoft.Security/pricings/write", (*owner_but, Permission(("Microsoft.Security/pricings/write",)))
    )


def test_audit_mode_needs_no_write_action() -> None:
    features = required_features("Security Admin", WiringMode.REPORT, AccountProtection.ON, audit_only=True)
    actions = {a for f in features for a in f.actions}
    assert not {a for a in actions if a.endswith("/write")}


def test_permissions_check_names_role_and_scope() -> None:
    features = required_features("Security Admin", WiringMode.OFF, AccountProtection.UNMANAGED, audit_only=False)
    scope = ScopePermissions("subscription s", "/subscriptions/s", (Permission(("*/read",)),))
    check = permissions_check([scope], features)
    assert check.status is Status.FAIL
    assert check.evidence == ("subscription s: missing Microsoft.Security/pricings/write (plan writes)",)
    assert check.fix.startswith("assign Security Admin to the identity at /subscriptions/s")


def test_catalogue_gap_names_the_setting_and_the_closest_offered_name() -> None:
    offered = ["AIPromptEvidence", "AIPromptSharingWithPurview", "AIModelSecurity"]
    gaps = catalogue_gaps(offered, DESIRED)
    assert [g.message for g in gaps] == [
        "configured AIModelScanner, Azure offers AIModelSecurity: set ENFORCER_MODEL_SECURITY_EXTENSION"
    ]
    # Data security is unmanaged by default: its name is not required to be offered.
    assert catalogue_gaps(["AIPromptEvidence", "AIModelScanner"], DESIRED) == []
    assert [c.key for c in without_gaps(DESIRED, gaps).components] == ["prompt_evidence", "data_security"]


def test_catalogue_day_round_trips_and_rejects_garbage() -> None:
    day = CatalogueDay("2026-12-05", "s", ("A", "B"), tuple(catalogue_gaps(["A"], DESIRED)))
    assert CatalogueDay.from_json(day.to_json()) == day
    assert CatalogueDay.from_json("{not json") is None


def test_projected_columns_are_those_of_the_last_project() -> None:
    query = "resources | project a, b = tostring(x) | join (t | project c) on a | project a, b, c | order by a asc"
    assert projected_columns(query) == ("a", "b", "c")


def test_delivery_key_forms() -> None:
    assert delivery_key_problem("") == "ENFORCER_EVENT_DELIVERY_KEY is not set"
    assert "Key Vault reference" in (delivery_key_problem("@Microsoft.KeyVault(SecretUri=x)") or "")
    assert delivery_key_problem("has spaces in it, not a key") is not None
    assert delivery_key_problem("aBcD_eFgH-1234567890ab==") is None


def test_schedule_budget_against_interval_and_timeout() -> None:
    assert schedule_check("0 */5 * * * *", 240, 600).status is Status.PASS
    assert schedule_check("0 */5 * * * *", 300, 600).status is Status.FAIL  # equal to the interval: overlap
    too_long = schedule_check("0 0 * * * *", 900, 600)
    assert too_long.status is Status.FAIL
    assert "function timeout (600 s)" in too_long.evidence[0]
    assert schedule_check("0 */5 * * MON *", 240, 600).status is Status.WARN  # not read: said so
    assert function_timeout_seconds({"functionTimeout": "00:10:00"}) == 600
    assert function_timeout_seconds({}) is None
