"""When the sweep reads an AI account's setting again (core/account_checks.py): decisions on literals."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from enforcer.core.account_checks import (
    ACCOUNT_CHECK_PARTITION_PREFIX,
    AccountCheck,
    account_check_entity,
    account_check_from_entity,
    check_from_outcome,
    due_for_read,
    last_slot,
    slot_offset,
    split_due,
)
from enforcer.core.accounts import AccountRef
from enforcer.core.models import Mode, Outcome, OutcomeKind, Trigger
from enforcer.core.records import HISTORY_PARTITIONS_BELOW

SUB = "00000000-0000-0000-0000-0000000000aa"
NOW = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)


def account(name: str) -> AccountRef:
    return AccountRef(SUB, "rg", name)


def check(name: str, at: datetime, state: str = "Enabled") -> AccountCheck:
    return AccountCheck(account(name).key, at.isoformat(), state)


def test_unrecorded_and_not_enabled_accounts_are_always_read():
    assert due_for_read(None, NOW)
    assert due_for_read(check("a", NOW, "Disabled"), NOW)
    assert due_for_read(check("a", NOW, "absent"), NOW)
    assert due_for_read(check("a", NOW, ""), NOW)  # the last read failed
    assert due_for_read(AccountCheck(account("a").key, "not a time", "Enabled"), NOW)


def test_a_record_older_than_a_day_is_always_read():
    for name in (f"acct-{i}" for i in range(200)):
        assert due_for_read(check(name, NOW - timedelta(hours=24, seconds=1)), NOW)


def test_a_verified_account_is_read_once_as_its_slot_comes_round():
    key = account("x").key
    verified = NOW
    reads = []
    for step in range(1, 289):  # one day of 5-minute sweeps
        now = NOW + timedelta(minutes=5 * step)
        if due_for_read(AccountCheck(key, verified.isoformat(), "Enabled"), now):
            reads.append(now)
            verified = now
    assert len(reads) == 1
    assert timedelta(0) <= reads[0] - last_slot(key, reads[0]) < timedelta(minutes=5)  # the first sweep after it


def test_last_slot_is_within_the_day_before_now():
    for name in (f"acct-{i}" for i in range(300)):
        slot = last_slot(account(name).key, NOW)
        assert NOW - timedelta(hours=24) < slot <= NOW


def test_slots_spread_over_the_day():
    hours = Counter(int(slot_offset(account(f"acct-{i}").key).total_seconds() // 3600) for i in range(2400))
    assert set(hours) == set(range(24))
    assert max(hours.values()) < 2 * min(hours.values())  # about 100 an hour, none empty or crowded


def test_split_due_keeps_recently_verified_accounts_resting():
    fresh, old, unknown = account("fresh"), account("old"), account("unknown")
    checks = {
        fresh.key: AccountCheck(fresh.key, last_slot(fresh.key, NOW).isoformat(), "Enabled"),
        old.key: AccountCheck(old.key, (NOW - timedelta(days=2)).isoformat(), "Enabled"),
    }
    due, resting = split_due([fresh, old, unknown], checks, NOW)
    assert [a.name for a in due] == ["old", "unknown"]
    assert [a.name for a in resting] == ["fresh"]


def outcome(kind: OutcomeKind, after: str | None, resource_id: str | None = None) -> Outcome:
    return Outcome(
        subscription_id=SUB,
        outcome=kind,
        trigger=Trigger(kind="sweep", id="run-1"),
        mode=Mode.ENFORCE,
        resource_id=resource_id if resource_id is not None else account("A-b").resource_id,
        account_after=after,
        started_at="2026-12-05T14:00:00+00:00",
    )


def test_what_an_outcome_tells_about_the_setting():
    verified = check_from_outcome(outcome(OutcomeKind.REMEDIATED, "Enabled"), "later")
    assert verified == AccountCheck(account("a-b").key, "2026-12-05T14:00:00+00:00", "Enabled")
    assert verified.verified_enabled
    reported = check_from_outcome(outcome(OutcomeKind.WOULD_REMEDIATE, "Disabled"), "later")
    assert reported is not None and not reported.verified_enabled
    failed = check_from_outcome(outcome(OutcomeKind.FAILED, "Enabled"), "later")  # e.g. the PUT failed after a GET
    assert failed is not None and failed.state == "" and not failed.verified_enabled
    assert check_from_outcome(outcome(OutcomeKind.EXCLUDED, None), "later") is None
    assert check_from_outcome(outcome(OutcomeKind.FAILED, None), "later") is None  # the GET itself failed
    assert check_from_outcome(outcome(OutcomeKind.COMPLIANT, "Enabled", resource_id=""), "later") is None


def test_index_rows_live_above_the_history_partitions_and_round_trip():
    item = check("a", NOW)
    entity = account_check_entity(item)
    assert entity["PartitionKey"].startswith(ACCOUNT_CHECK_PARTITION_PREFIX)
    assert entity["PartitionKey"] > HISTORY_PARTITIONS_BELOW  # retention deletes only partitions below "g"
    assert "/" not in entity["RowKey"]
    assert account_check_from_entity(entity) == item
