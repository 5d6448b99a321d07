"""When the sweep reads an AI account's `defenderForAISettings` again (pure): at most once a day for an account the
audit store has recorded as verified `Enabled`, each account at its own time of day.

Why once a day is enough: a change to an account's setting by anyone else arrives as an event
(`Microsoft.CognitiveServices/accounts/defenderForAISettings/write`, README "Drift in seconds"), so the sweep's
read is the safety net for a lost event, not the first line. Reading every account every 5 minutes cost one GET
per account per sweep (576,000 a day at 2,000 accounts).

Spread: each account has a fixed time of day, its slot (a hash of its resource id), so the daily re-reads of a
fleet first recorded by one sweep do not all fall into one sweep 24 hours later. An account is read when it has no
record, when its record is not a verified `Enabled`, or when its slot has come round since it was last verified
(which is always the case once the record is a day old).

Layout of the index (pure data; the audit store adapter sends it): one row per account, in 16 shard partitions
`latest-accounts-00` … `latest-accounts-15` of the audit table (above `g`, so the history retention never deletes
them), RowKey the account's lower-case resource id, with `verified_at` and the state last read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from enforcer.core.accounts import ENABLED, AccountRef
from enforcer.core.health import parse_time
from enforcer.core.models import Outcome, OutcomeKind
from enforcer.core.records import SCHEMA_VERSION, table_key

RECHECK_ACCOUNT_HOURS: Final = 24.0
ACCOUNT_CHECK_SHARDS: Final = 16
ACCOUNT_CHECK_PARTITION_PREFIX: Final = "latest-accounts-"
# Outcomes after which the enforcer knows the account's setting as Azure answered it (a GET, or the PUT's answer).
_READ_OUTCOMES: Final = frozenset(
    {OutcomeKind.COMPLIANT, OutcomeKind.REMEDIATED, OutcomeKind.WOULD_REMEDIATE, OutcomeKind.FAILED}
)


@dataclass(frozen=True)
class AccountCheck:
    """The last time the enforcer read one account's setting, and what it read."""

    key: str  # the account's lower-case resource id (AccountRef.key)
    verified_at: str  # ISO 8601, UTC
    state: str  # Enabled, Disabled, absent, or an error's absence of a state ("")

    @property
    def verified_enabled(self) -> bool:
        return self.state == ENABLED


def account_check_partition(key: str) -> str:
    shard = int(hashlib.sha256(key.lower().encode()).hexdigest()[:8], 16) % ACCOUNT_CHECK_SHARDS
    return f"{ACCOUNT_CHECK_PARTITION_PREFIX}{shard:02d}"


def account_check_partitions() -> list[str]:
    return [f"{ACCOUNT_CHECK_PARTITION_PREFIX}{shard:02d}" for shard in range(ACCOUNT_CHECK_SHARDS)]


def check_from_outcome(outcome: Outcome, verified_at: str) -> AccountCheck | None:
    """What an account decision tells about the account's setting; None when the setting was not read (excluded,
    ignored, or a failure before the GET answered)."""
    if not outcome.resource_id or outcome.outcome not in _READ_OUTCOMES or outcome.account_after is None:
        return None
    state = outcome.account_after if outcome.outcome is not OutcomeKind.FAILED else ""
    return AccountCheck(outcome.resource_id.lower(), outcome.started_at or verified_at, state)


def account_check_entity(check: AccountCheck) -> dict[str, Any]:
    return {
        "PartitionKey": account_check_partition(check.key),
        "RowKey": table_key(check.key),
        "resource_id": check.key,
        "verified_at": check.verified_at,
        "state": check.state,
        "schema_version": SCHEMA_VERSION,
    }


def account_check_from_entity(entity: Mapping[str, Any]) -> AccountCheck:
    return AccountCheck(
        str(entity.get("resource_id") or entity.get("RowKey") or ""),
        str(entity.get("verified_at") or ""),
        str(entity.get("state") or ""),
    )


def slot_offset(key: str, hours: float = RECHECK_ACCOUNT_HOURS) -> timedelta:
    """The account's fixed place in the re-read period (a stable hash of its id, evenly spread)."""
    fraction = int(hashlib.sha256(key.lower().encode()).hexdigest()[:12], 16) / float(16**12)
    return timedelta(hours=hours * fraction)


def last_slot(key: str, now: datetime, hours: float = RECHECK_ACCOUNT_HOURS) -> datetime:
    """The latest time at or before `now` at which the account's slot came round (periods start at the epoch)."""
    period = timedelta(hours=hours)
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
    start = epoch + period * ((now - epoch) // period) + slot_offset(key, hours)
    return start if start <= now else start - period


def due_for_read(check: AccountCheck | None, now: datetime, hours: float = RECHECK_ACCOUNT_HOURS) -> bool:
    """Whether the sweep reads the account now: no record, not verified `Enabled`, or its slot came round since."""
    if check is None or not check.verified_enabled:
        return True
    verified = parse_time(check.verified_at)
    if verified is None:
        return True
    return verified < last_slot(check.key, now, hours)


def split_due(
    accounts: Iterable[AccountRef], checks: Mapping[str, AccountCheck], now: datetime
) -> tuple[list[AccountRef], list[AccountRef]]:
    """(accounts to read now, accounts verified `Enabled` recently enough to leave until their slot)."""
    due: list[AccountRef] = []
    resting: list[AccountRef] = []
    for account in accounts:
        (due if due_for_read(checks.get(account.key), now) else resting).append(account)
    return due, resting
