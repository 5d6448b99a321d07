"""The pure parts of per-account Defender for AI: ids, exemption, the decision, records, the coverage report."""

from __future__ import annotations

import json
from typing import Any

import pytest

from enforcer.core import coverage
from enforcer.core.accounts import (
    ABSENT,
    AccountProtection,
    canonical_state,
    decide_account,
    exempt_reason,
    parse_account_id,
)
from enforcer.core.models import Outcome, OutcomeKind, Trigger
from enforcer.core.records import AuditRecord
from enforcer.core.settings import ConfigError, Settings

SUB = "5f2c9a1e-3b7d-4c6a-9e8f-1a2b3c4d5e6f"
ACCOUNT = f"/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso"


def test_parse_account_id_accepts_only_an_account() -> None:
    ref = parse_account_id(ACCOUNT.upper().replace("SUBSCRIPTIONS", "subscriptions"))
    assert ref is not None and ref.subscription_id == SUB
    assert parse_account_id(ACCOUNT + "/defenderForAISettings/Default") is None
    assert parse_account_id(ACCOUNT.replace(SUB, "not-a-guid")) is None
    assert parse_account_id(ACCOUNT.replace("contoso", "x<script>")) is None
    assert parse_account_id(ACCOUNT.replace("CognitiveServices", "Storage")) is None


@pytest.mark.parametrize(
    ("observed", "protection", "kind", "write"),
    [
        ("Enabled", AccountProtection.ON, OutcomeKind.COMPLIANT, None),
        ("enabled", AccountProtection.REPORT, OutcomeKind.COMPLIANT, None),
        ("Disabled", AccountProtection.ON, OutcomeKind.REMEDIATED, "Enabled"),
        (None, AccountProtection.ON, OutcomeKind.REMEDIATED, "Enabled"),
        ("Disabled", AccountProtection.REPORT, OutcomeKind.WOULD_REMEDIATE, None),
        ("Disabled", AccountProtection.UNMANAGED, OutcomeKind.COMPLIANT, None),
    ],
)
def test_decide_account(observed, protection, kind, write) -> None:
    decision = decide_account(observed, protection)
    assert (decision.outcome, decision.write) == (kind, write)
    if decision.change is not None:
        assert decision.change.before == canonical_state(observed)


def test_exempt_tag_is_case_insensitive_and_carries_the_reason() -> None:
    assert (
        exempt_reason({"Defender-AI-Exempt": "lab"}, "defender-ai-exempt") == "account tagged defender-ai-exempt: lab"
    )
    assert exempt_reason({"other": "x"}, "defender-ai-exempt") is None
    assert canonical_state(None) == ABSENT


def test_setting_values() -> None:
    assert Settings.from_env({}).account_protection is AccountProtection.ON
    assert Settings.from_env({"ENFORCER_ACCOUNT_PROTECTION": "Report"}).account_protection is AccountProtection.REPORT
    with pytest.raises(ConfigError, match="ENFORCER_ACCOUNT_PROTECTION"):
        Settings.from_env({"ENFORCER_ACCOUNT_PROTECTION": "maybe"})


def test_account_record_round_trips_and_gets_its_own_row_key() -> None:
    trigger = Trigger("sweep", "sweep-1")
    a = Outcome(SUB, OutcomeKind.REMEDIATED, trigger, started_at="2026-01-01T00:00:00.000Z", resource_id=ACCOUNT)
    a.account_before, a.account_after = "Disabled", "Enabled"
    b = a.replace(resource_id=ACCOUNT + "2")
    plan = a.replace(resource_id=None)
    keys = {AuditRecord.from_outcome(o).RowKey for o in (a, b, plan)}
    assert len(keys) == 3  # same subscription, trigger and millisecond: still three rows
    record = AuditRecord.from_entity(AuditRecord.from_outcome(a).to_entity())
    assert record.is_account and record.to_outcome().account_before == "Disabled"
    assert record.to_dict()["resource_id"] == ACCOUNT
    assert "resource_id" not in AuditRecord.from_outcome(plan).to_dict()


def _row(name: str, **kw) -> coverage.CoverageRow:
    values: dict[str, Any] = {
        "resource_id": ACCOUNT.replace("contoso", name),
        "account": name,
        "subscription_id": SUB,
        "subscription_name": "ai <team>",
        "plan_tier": "Standard",
        "plan_components": {"AIPromptEvidence": True},
        "account_state": "Enabled",
    }
    values.update(kw)
    return coverage.CoverageRow(**values)


def test_why_not_order_and_summary() -> None:
    rows = [
        _row("a"),
        _row("b", account_state="Disabled"),
        _row("c", plan_tier="Free", account_state="Disabled"),
        _row("d", exempt_reason="tagged: <lab>", plan_tier="Free"),
        _row("e", error="forbidden", account_state=None),
    ]
    assert [r.why_not for r in rows] == [None, "account disabled", "plan off", "exempt", "not readable"]
    s = coverage.summary(rows)
    assert (s["accounts"], s["protected"], s["percent_protected"]) == (5, 1, 20.0)
    assert s["by_subscription"][0]["percent_protected"] == 20.0
    report = json.loads(coverage.to_json(rows, "now"))
    assert report["accounts"][-1]["protected"] is True  # unprotected first


def test_html_escapes_every_value_and_loads_nothing() -> None:
    page = coverage.to_html([_row("a", exempt_reason='"><img src=x onerror=alert(1)>')], "<now>")
    assert "<img" not in page and "&lt;img src=x" in page
    assert "ai &lt;team&gt;" in page and "&lt;now&gt;" in page
    assert "http://" not in page.split("<script>")[0].replace("http-equiv", "")
    assert "https://" not in page
