"""The cheap account pass (issue 19, item 5): with an audit store, the sweep re-reads an AI account it recorded as
verified `Enabled` at most once a day, at the account's own time of day. Emulator and Azurite, real SDK clients."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from enforcer.core.account_checks import last_slot
from enforcer.core.events import Route
from enforcer.core.models import Trigger
from enforcer.usecases.handle_event import handle_event
from enforcer.usecases.protect_accounts import account_pass
from enforcer.usecases.sweep import sweep
from localdev.emulator import Emulator
from localdev.emulator.fleet import COMPLIANT_AI_PRICING as COMPLIANT_AI
from tests.events.samples import SUBSCRIPTION, sample
from tests.integration.helpers import services_for
from tests.sweep.helpers import PATIENT_RETRY

pytestmark = pytest.mark.integration

EVENT = "resource-write-cognitive-account.eventgrid.json"


def reads(emulator: Emulator) -> int:
    return int(emulator.calls["cognitive.defenderforai.get"])


def test_second_sweep_reads_no_account_verified_today_but_reads_a_new_one(emulator, audit_store):
    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    ids = [emulator.cognitive.add(SUBSCRIPTION, "rg-ai", f"acct-{i}", state="Enabled") for i in range(4)]
    disabled = emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "opted-out", state="Disabled")
    services = services_for(emulator.url, audit=audit_store, retry=PATIENT_RETRY)

    first = sweep(services)
    assert reads(emulator) == 5 and emulator.cognitive.state(disabled) == "Enabled"
    assert len(audit_store.account_checks()) == 5

    newcomer = emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "newcomer", state="Disabled")
    emulator.reset_calls()
    second = sweep(services)

    # Only the account never recorded is read (an account whose slot falls in these seconds would be too: none
    # of these five does, or the count says so).
    due_now = [i for i in [*ids, disabled] if last_slot(i.lower(), datetime.now(UTC)) > _started(first)]
    assert reads(emulator) == 1 + len(due_now)
    assert emulator.cognitive.state(newcomer) == "Enabled"
    assert [o.resource_id for o in second.outcomes if o.is_account and o.resource_id not in due_now] == [newcomer]
    assert any(f"{5 - len(due_now)} AI account(s) verified Enabled within 24 h" in n for n in second.summary.notes)


def _started(result) -> datetime:
    return datetime.fromisoformat(result.summary.started_at.replace("Z", "+00:00"))


def test_record_older_than_a_day_and_not_enabled_accounts_are_read(emulator, audit_store):
    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    for i in range(6):
        emulator.cognitive.add(SUBSCRIPTION, "rg-ai", f"acct-{i}", state="Enabled")
    reported = emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "reported", state="Disabled")
    services = services_for(
        emulator.url, {"ENFORCER_ACCOUNT_PROTECTION": "report"}, audit=audit_store, retry=PATIENT_RETRY
    )
    first = sweep(services)
    plan = [o for o in first.outcomes if not o.is_account]
    trigger = Trigger(kind="sweep", id="later")

    emulator.reset_calls()
    soon = account_pass(services, services.settings, trigger, plan, now=datetime.now(UTC) + timedelta(seconds=1))
    # `report` leaves the Disabled one as it is: never verified, so read on every sweep.
    assert reported in {o.resource_id for o in soon.outcomes}
    assert reads(emulator) == len(soon.outcomes) < 7

    emulator.reset_calls()
    tomorrow = account_pass(services, services.settings, trigger, plan, now=datetime.now(UTC) + timedelta(hours=25))
    assert reads(emulator) == 7 and len(tomorrow.outcomes) == 7 and tomorrow.resting == 0


def test_an_event_that_verified_the_account_spares_the_sweep_its_read(emulator, audit_store):
    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "contoso-openai", state="Disabled")
    services = services_for(emulator.url, audit=audit_store, retry=PATIENT_RETRY)
    handle_event(sample(EVENT), Route.AI_ACCOUNT, services)  # the account's creation event: fixed and recorded
    assert reads(emulator) == 1

    emulator.reset_calls()
    result = sweep(services)

    account = sample(EVENT)["data"]["resourceUri"].lower()
    expected = 1 if last_slot(account, datetime.now(UTC)) > _started(result) - timedelta(seconds=5) else 0
    assert reads(emulator) == expected
    assert result.summary.complete


def test_without_a_store_every_sweep_reads_every_account(emulator):
    sub = str(uuid.uuid4())
    emulator.add_subscription(sub, pricing=COMPLIANT_AI)
    for i in range(3):
        emulator.cognitive.add(sub, "rg-ai", f"acct-{i}", state="Enabled")
    services = services_for(emulator.url, retry=PATIENT_RETRY)

    sweep(services)
    sweep(services)

    assert reads(emulator) == 6


def test_check_rows_not_written_for_two_days_are_deleted_by_retention(emulator, audit_store):
    from enforcer.core.models import Mode, Outcome, OutcomeKind, utc_iso

    def checked(name: str, when: datetime) -> Outcome:
        return Outcome(
            subscription_id=SUBSCRIPTION,
            outcome=OutcomeKind.COMPLIANT,
            trigger=Trigger(kind="sweep", id="old"),
            mode=Mode.ENFORCE,
            resource_id=f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/{name}",
            account_before="Enabled",
            account_after="Enabled",
            started_at=utc_iso(when),
        )

    now = datetime.now(UTC)
    audit_store.record_current([checked("deleted-long-ago", now - timedelta(days=3)), checked("live", now)])
    assert len(audit_store.account_checks()) == 2

    deleted = audit_store.delete_account_checks_before(utc_iso(now - timedelta(hours=48)))

    assert deleted == 1
    assert [c.key.rsplit("/", 1)[1] for c in audit_store.account_checks().values()] == ["live"]


def test_coverage_shows_when_a_quiet_sweep_last_verified_an_account(emulator, audit_store):
    from enforcer.usecases.coverage import gather_coverage

    emulator.add_subscription(SUBSCRIPTION, pricing=COMPLIANT_AI)
    account = emulator.cognitive.add(SUBSCRIPTION, "rg-ai", "quiet", state="Enabled")
    services = services_for(emulator.url, audit=audit_store, retry=PATIENT_RETRY)
    sweep(services)  # compliant: no history row, one check row
    assert not any(r.is_account for r in audit_store.history(SUBSCRIPTION, limit=100))

    (row,) = gather_coverage(services)

    assert row.resource_id == account and row.protected
    assert row.last_verified == audit_store.account_checks()[account.lower()].verified_at
    assert row.last_changed is None
