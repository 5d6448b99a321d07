"""render_status: pure rendering of audit records."""

from __future__ import annotations

import json

from enforcer.core.models import OutcomeKind
from enforcer.core.records import AuditRecord
from enforcer.core.render import failures_first, render_status
from tests.audit.builders import make_outcome, sub_id


def _records(*kinds: OutcomeKind) -> list[AuditRecord]:
    return [AuditRecord.from_outcome(make_outcome(kind, n)) for n, kind in enumerate(kinds, start=1)]


def test_table_lists_failures_first_with_before_after_and_detail() -> None:
    records = _records(OutcomeKind.COMPLIANT, OutcomeKind.REMEDIATED, OutcomeKind.FAILED, OutcomeKind.EXCLUDED)
    lines = render_status(records, as_json=False).splitlines()
    assert lines[0].split()[:3] == ["OUTCOME", "SUBSCRIPTION", "ID"]
    assert [line.split()[0] for line in lines[1:5]] == ["failed", "remediated", "excluded", "compliant"]
    failed, remediated, excluded = lines[1], lines[2], lines[3]
    assert sub_id(3) in failed and "AuthorizationFailed" in failed
    assert "Free -> Standard AIPromptEvidence=on AIModelScanner=on" in remediated
    assert "tag defender-ai-exempt=sandbox" in excluded
    assert lines[-1] == "4 subscription(s), 1 failing."


def test_json_is_an_array_failures_first() -> None:
    records = _records(OutcomeKind.COMPLIANT, OutcomeKind.PARTIALLY_FAILED)
    data = json.loads(render_status(records, as_json=True))
    assert [d["outcome"] for d in data] == ["partially_failed", "compliant"]
    assert data[0]["after"] == {"tier": "Standard", "extensions": {"AIPromptEvidence": False, "AIModelScanner": True}}
    assert data[0]["changes"][0] == {"field": "pricingTier", "before": "Free", "after": "Standard"}
    assert data[0]["trigger"]["kind"] == "sweep"


def test_empty_store() -> None:
    assert render_status([], as_json=False) == "No audit records yet."
    assert json.loads(render_status([], as_json=True)) == []


def test_failures_first_orders_by_name_within_a_kind() -> None:
    a = AuditRecord.from_outcome(make_outcome(OutcomeKind.FAILED, 1, subscription_name="zeta"))
    b = AuditRecord.from_outcome(make_outcome(OutcomeKind.FAILED, 2, subscription_name="Alpha"))
    c = AuditRecord.from_outcome(make_outcome(OutcomeKind.COMPLIANT, 3, subscription_name="aardvark"))
    assert [r.subscription_name for r in failures_first([c, a, b])] == ["Alpha", "zeta", "aardvark"]
