"""Per-account Defender for AI (issue 13) on the emulator: the ai_account_created event and the sweep's account pass,
with real SDK clients, Azurite and the local Teams sink."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from enforcer.adapters.audit_store import AuditStore
from enforcer.adapters.teams import TeamsNotifier
from enforcer.core.events import Route
from enforcer.core.records import AuditRecord
from enforcer.usecases.handle_event import handle_event
from enforcer.usecases.sweep import sweep
from localdev.emulator import Emulator
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from localdev.webhook_sink import WebhookSink
from tests.events.samples import SUBSCRIPTION, sample
from tests.integration.helpers import services_for
from tests.sweep.helpers import PATIENT_RETRY, RecordingNotifier

pytestmark = pytest.mark.integration

ACCOUNT = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-openai"
)
EVENT = "resource-write-cognitive-account.eventgrid.json"


def account_records(audit: AuditStore, sub: str = SUBSCRIPTION) -> list[AuditRecord]:
    return [r for r in audit.history(sub, limit=1000) if r.is_account]


def card_texts(message: dict[str, Any]) -> str:
    import json

    return json.dumps(message["attachments"][0]["content"], ensure_ascii=False)


@pytest.fixture
def stack(emulator: Emulator, audit_store: AuditStore, webhook_sink: WebhookSink) -> Iterator[dict[str, Any]]:
    def build(**env: str) -> Any:
        notifier = TeamsNotifier(webhook_sink.url, retry_total=1, total_timeout=5)
        return services_for(emulator.url, env, audit=audit_store, notifier=notifier)

    yield {"emulator": emulator, "audit": audit_store, "sink": webhook_sink, "build": build}


def test_new_disabled_account_under_standard_plan_ends_enabled_with_one_record(stack):
    emulator, audit = stack["emulator"], stack["audit"]
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team", pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled")

    handle_event(sample(EVENT), Route.AI_ACCOUNT, stack["build"]())

    assert emulator.cognitive.state(ACCOUNT) == "Enabled"
    assert emulator.calls["pricings.put"] == 0  # the plan was already Standard
    assert emulator.calls["cognitive.defenderforai.put"] == 1
    (record,) = account_records(audit)
    assert record.outcome == "remediated"
    assert record.resource_id == ACCOUNT
    assert (record.account_before, record.account_after) == ("Disabled", "Enabled")
    assert record.trigger_id == sample(EVENT)["id"]
    # The subscription's own latest state is still the plan's decision, not the account's.
    (latest,) = audit.latest_outcomes(SUBSCRIPTION)
    assert latest.resource_id is None and latest.outcome == "compliant"
    (message,) = stack["sink"].messages
    assert "Defender for AI enabled on AI account contoso-openai" in card_texts(message)


def test_report_mode_leaves_the_account_disabled_and_says_so(stack):
    emulator, audit = stack["emulator"], stack["audit"]
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team", pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled")

    handle_event(sample(EVENT), Route.AI_ACCOUNT, stack["build"](ENFORCER_ACCOUNT_PROTECTION="report"))

    assert emulator.cognitive.state(ACCOUNT) == "Disabled"
    assert emulator.calls["cognitive.defenderforai.put"] == 0
    (record,) = account_records(audit)
    assert record.outcome == "would_remediate"
    assert "ENFORCER_ACCOUNT_PROTECTION=report" in (record.reason or "")
    assert (record.account_before, record.account_after) == ("Disabled", "Disabled")
    (message,) = stack["sink"].messages
    text = card_texts(message)
    assert "Report: Defender for AI is Disabled on AI account contoso-openai" in text
    assert "Reported (not changed)" in text


def test_exempt_account_is_untouched(stack):
    emulator, audit = stack["emulator"], stack["audit"]
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team", pricing=COMPLIANT_AI)
    emulator.cognitive.add(
        SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled", tags={"defender-ai-exempt": "red-team lab"}
    )

    handle_event(sample(EVENT), Route.AI_ACCOUNT, stack["build"]())

    assert emulator.cognitive.state(ACCOUNT) == "Disabled"
    assert emulator.calls["cognitive.defenderforai.put"] == 0
    (record,) = account_records(audit)
    assert record.outcome == "excluded"
    assert "red-team lab" in (record.reason or "")
    assert stack["sink"].messages == []


def test_accounts_of_an_exempt_subscription_are_not_even_read(stack):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, tags={"defender-ai-exempt": "sandbox"})
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled")

    handle_event(sample(EVENT), Route.AI_ACCOUNT, stack["build"]())

    assert emulator.cognitive.state(ACCOUNT) == "Disabled"
    assert not any(k.startswith("cognitive.") for k in emulator.calls)
    (record,) = account_records(stack["audit"])
    assert record.outcome == "excluded" and "sandbox" in (record.reason or "")


def test_unmanaged_does_not_read_the_account(stack):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled")

    handle_event(sample(EVENT), Route.AI_ACCOUNT, stack["build"](ENFORCER_ACCOUNT_PROTECTION="unmanaged"))

    assert not any(k.startswith("cognitive.") for k in emulator.calls)
    assert account_records(stack["audit"]) == []


def test_our_own_setting_write_does_not_loop(stack):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled")
    raw = sample(EVENT)
    raw["subject"] = raw["data"]["resourceUri"] = ACCOUNT + "/defenderForAISettings/Default"
    raw["data"]["operationName"] = "Microsoft.CognitiveServices/accounts/defenderForAISettings/write"
    # Issue 19: recognised as our own by the caller's object id in the claims, not by the operation name.
    own = "5f0c3b1e-0000-4000-8000-0000000e0001"
    raw["data"]["claims"]["http://schemas.microsoft.com/identity/claims/objectidentifier"] = own

    outcome = handle_event(raw, Route.AI_ACCOUNT, stack["build"](ENFORCER_IDENTITY_OBJECT_ID=own))

    assert outcome.outcome.value == "ignored"
    assert sum(emulator.calls.values()) == 0


def test_setting_created_when_the_account_has_none(stack):
    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state=None)

    handle_event(sample(EVENT), Route.AI_ACCOUNT, stack["build"]())

    assert emulator.cognitive.state(ACCOUNT) == "Enabled"
    (record,) = account_records(stack["audit"])
    assert (record.outcome, record.account_before) == ("remediated", "absent")


def test_sweep_finds_and_fixes_an_account_switched_off_later(emulator):
    # Without an audit store every sweep reads every account (with one: tests/integration/test_account_checks.py).
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team", pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Enabled")
    notifier = RecordingNotifier()
    services = services_for(emulator.url, notifier=notifier, retry=PATIENT_RETRY)
    first = sweep(services)
    assert [o.outcome.value for o in first.outcomes if o.is_account] == ["compliant"]
    assert emulator.calls["cognitive.defenderforai.put"] == 0

    emulator.cognitive.set_state(ACCOUNT, "Disabled")  # someone deploys a template that opts it out
    second = sweep(services)

    assert emulator.cognitive.state(ACCOUNT) == "Enabled"
    (fixed,) = [o for o in second.outcomes if o.is_account]
    assert fixed.outcome.value == "remediated" and fixed.account_before == "Disabled"
    assert emulator.calls["resourcegraph.resources.accounts"] == 2
    (summary, digest_outcomes) = notifier.digests[-1]
    assert fixed in digest_outcomes
    assert any("AI accounts: 1 checked" in n for n in summary.notes)
    from enforcer.core.cards import digest_card

    assert "AI account contoso-openai" in str(digest_card(summary, digest_outcomes))


def test_thousand_accounts_across_hundred_subscriptions_in_one_sweep(emulator):
    members = emulator.seed_fleet(100, drift_fraction=0.0, seed=5)
    subs = [m.subscription_id for m in members]
    ids = emulator.cognitive.seed(subs, 1000, disabled_fraction=0.05, seed=5)
    services = services_for(emulator.url, {"ENFORCER_SWEEP_CONCURRENCY": "8"}, retry=PATIENT_RETRY)
    emulator.reset_calls()

    result = sweep(services)

    accounts = [o for o in result.outcomes if o.is_account]
    assert len(accounts) == 1000
    assert sum(o.outcome.value == "remediated" for o in accounts) == 50
    assert all(emulator.cognitive.state(i) == "Enabled" for i in ids)
    assert emulator.calls["cognitive.defenderforai.get"] == 1000
    assert emulator.calls["cognitive.defenderforai.put"] == 50
    assert emulator.calls["resourcegraph.resources.accounts"] == 1  # 100 subscriptions, 1,000 rows: one page
    # Bounded concurrency: never more than 8 account requests in flight at once.
    spans = [(r.started, r.ended) for r in emulator.requests if r.kind.startswith("cognitive.")]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    in_flight = peak = 0
    for _, delta in events:
        in_flight += delta
        peak = max(peak, in_flight)
    assert 1 < peak <= 8
    assert result.summary.complete


def test_coverage_reads_last_verified_and_changed_from_the_audit_store(stack):
    from enforcer.usecases.coverage import gather_coverage

    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team", pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled")
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "never-seen", state="Disabled")
    services = stack["build"]()
    handle_event(sample(EVENT), Route.AI_ACCOUNT, services)
    (record,) = account_records(stack["audit"])

    rows = {r.account: r for r in gather_coverage(services)}

    fixed, other = rows["contoso-openai"], rows["never-seen"]
    assert fixed.protected and fixed.last_changed == fixed.last_verified == record.started_at
    assert (other.protected, other.why_not, other.last_verified) == (False, "account disabled", None)
    assert emulator.calls["cognitive.defenderforai.put"] == 1  # the report itself never writes


def test_write_denied_is_a_failure_that_names_the_account_role(stack):
    from localdev.emulator import FaultConfig

    emulator = stack["emulator"]
    emulator.add_subscription(SUBSCRIPTION, display_name="ai-team", pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled")
    emulator.faults = FaultConfig(forbidden={SUBSCRIPTION: "write"})

    handle_event(sample(EVENT), Route.AI_ACCOUNT, stack["build"]())

    assert emulator.cognitive.state(ACCOUNT) == "Disabled"
    (record,) = account_records(stack["audit"])
    assert (record.outcome, record.error_kind) == ("failed", "forbidden")
    assert "Defender for AI Enforcer account settings" in (record.error or "")
    (message,) = stack["sink"].messages
    assert "Enabling Defender for AI failed on AI account contoso-openai" in card_texts(message)


def test_resource_graph_lists_accounts_with_skip_tokens_and_at_most_1000_subscriptions(emulator):
    from enforcer.adapters.cognitive import AccountGraph

    members = emulator.seed_fleet(1001, drift_fraction=0.0, seed=9)
    subs = [m.subscription_id for m in members]
    ids = emulator.cognitive.seed(subs[:10], 20, disabled_fraction=0.0, seed=9)
    services = services_for(emulator.url)
    graph = AccountGraph(services.arm, page_size=7)  # type: ignore[arg-type]
    try:
        found, requests = graph.accounts(subs[:10])
        with pytest.raises(ValueError, match="1000"):
            graph.accounts(subs)
    finally:
        graph.close()
    assert requests == 3  # 20 rows, 7 a page
    assert sorted(a.resource_id for a in found) == sorted(ids)
    assert emulator.calls["resourcegraph.resources.accounts"] == 3
