"""Bring AI accounts' own Defender for AI setting to the desired state: one account (the event) or every account in
scope (the sweep's account pass). The decision is `core.accounts.decide_account`; this is its imperative shell.

Per account: scope (subscription exclusions, then the account's exempt tag), GET defenderForAISettings/Default,
decide, and in `on` mode PUT `Enabled` and check the state Azure answered. Never raises for ARM errors: a failure
is an outcome like any other.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime

from enforcer.core.account_checks import RECHECK_ACCOUNT_HOURS, AccountCheck, split_due
from enforcer.core.accounts import (
    ENABLED,
    NOT_READABLE,
    AccountProtection,
    AccountRef,
    UnreadableAccount,
    canonical_state,
    decide_account,
    exempt_reason,
    parse_account_id,
)
from enforcer.core.desired_state import MODE_FIELD, ResolveConflict, ScopeMode, resolve, resolve_account
from enforcer.core.errors import EnforcementError, mark_failed
from enforcer.core.models import (
    ErrorKind,
    Mode,
    Outcome,
    OutcomeKind,
    Trigger,
    utc_now_iso,
)
from enforcer.core.scope import exclusion_by_id, exclusion_by_metadata
from enforcer.core.settings import Settings
from enforcer.usecases.account_listing import list_accounts
from enforcer.usecases.ports import AccountCheckLog, AccountGateway
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)


def _account_outcome(account: AccountRef | UnreadableAccount, trigger: Trigger, settings: Settings) -> Outcome:
    """An account's outcome before its decision: compliant until shown otherwise."""
    return Outcome(
        subscription_id=account.subscription_id,
        outcome=OutcomeKind.COMPLIANT,
        trigger=trigger,
        mode=settings.mode,
        resource_id=account.resource_id,
        started_at=utc_now_iso(),
    )


def protect_account(
    services: Services,
    account: AccountRef,
    trigger: Trigger,
    *,
    settings: Settings | None = None,
    tags_known: bool = False,
    subscription_checked: bool = False,
    read_account_at_once: bool = False,
) -> Outcome:
    """One account's decision. `tags_known`: `account.tags` came from Resource Graph (else read when needed).
    `subscription_checked`: the caller already applied the subscription's exclusions (the sweep).
    `read_account_at_once`: read the account (its exempt tag) beside its setting rather than after it (the
    creation event): a write then waits one round trip less, for one GET more when the setting is as desired."""
    settings = settings or services.settings
    started = time.perf_counter()
    calls: Counter[str] = Counter()
    outcome = _account_outcome(account, trigger, settings)
    try:
        _protect(
            services,
            settings,
            account,
            outcome,
            calls,
            tags_known=tags_known,
            checked=subscription_checked,
            read_account_at_once=read_account_at_once,
        )
    except EnforcementError as error:
        mark_failed(outcome, error)
    outcome.arm_calls = dict(calls)
    outcome.duration_ms = (time.perf_counter() - started) * 1000
    logger.info(
        "account=%s outcome=%s before=%s after=%s trigger=%s:%s",
        account.resource_id,
        outcome.outcome.value,
        outcome.account_before,
        outcome.account_after,
        trigger.kind,
        trigger.id,
    )
    return outcome


def _subscription_exclusion(
    services: Services, settings: Settings, sub: str, outcome: Outcome, calls: Counter[str]
) -> str | None:
    """Why the account's subscription is excluded (listed, tagged, disabled), or None; names the subscription."""
    reason = exclusion_by_id(sub, settings)
    if reason is None:
        info = services.enforcer.directory.get(sub, calls)
        outcome.subscription_name = info.display_name
        reason = exclusion_by_metadata(info.tags, info.state, settings)
    return reason


def _protect(
    services: Services,
    settings: Settings,
    account: AccountRef,
    outcome: Outcome,
    calls: Counter[str],
    *,
    tags_known: bool,
    checked: bool,
    read_account_at_once: bool = False,
) -> None:
    gateway = services.accounts
    if gateway is None:
        raise EnforcementError(ErrorKind.UNEXPECTED, "no AI account gateway is configured")
    reason = None if checked else _subscription_exclusion(services, settings, account.subscription_id, outcome, calls)
    if reason is None and tags_known:
        reason = exempt_reason(account.tags, settings.exempt_tag)
    if reason is not None:
        outcome.outcome = OutcomeKind.EXCLUDED
        outcome.reason = reason
        return

    protection = settings.account_protection
    mode = settings.mode
    if services.enforcer.document is not None:
        tags = account.tags if tags_known else {}
        protection, mode, reason = _scoped_protection(services, settings, account, tags, outcome, calls)
        if reason is not None:
            outcome.outcome = OutcomeKind.EXCLUDED
            outcome.reason = reason
            return
    read_account = _account_reader(
        gateway, account.resource_id, calls, settings, ahead=read_account_at_once and not tags_known
    )
    calls["defenderForAISettings.get"] += 1
    observed = gateway.get_setting(account.resource_id)
    decision = decide_account(observed, protection)
    outcome.account_before = outcome.account_after = canonical_state(observed)
    if decision.outcome is OutcomeKind.COMPLIANT:
        return
    if not tags_known or observed is None:
        # About to report or write: the event carried no tags, so read the account's own exempt tag first; and a
        # missing setting may mean a missing account (deleted since the event or the index saw it).
        current = read_account()
        if current is None:
            outcome.outcome = OutcomeKind.IGNORED
            outcome.reason = "the AI account no longer exists"
            outcome.account_before = outcome.account_after = None
            return
        reason = exempt_reason(current.tags, settings.exempt_tag)
        if reason is not None:
            outcome.outcome = OutcomeKind.EXCLUDED
            outcome.reason = reason
            return
        if services.enforcer.document is not None and not tags_known:
            # The event carried no tags: an account-tag rule is decided on the tags just read.
            protection, mode, reason = _scoped_protection(services, settings, account, current.tags, outcome, calls)
            if reason is not None:
                outcome.outcome = OutcomeKind.EXCLUDED
                outcome.reason = reason
                return
            decision = decide_account(observed, protection)
    assert decision.change is not None
    outcome.changes = [decision.change]
    if decision.write is None or mode is Mode.AUDIT:
        outcome.outcome = OutcomeKind.WOULD_REMEDIATE
        outcome.reason = (
            "ENFORCER_ACCOUNT_PROTECTION=report: reported, not changed"
            if settings.account_protection is AccountProtection.REPORT and outcome.rule is None
            else f"account protection report (rule {outcome.rule}): reported, not changed"
            if protection is AccountProtection.REPORT
            else "audit mode: not changed"
            if settings.mode is Mode.AUDIT or outcome.rule is None
            else f"audit mode (desired-state rule {outcome.rule}): not changed"
        )
        return
    calls["defenderForAISettings.put"] += 1
    answered = gateway.put_setting(account.resource_id, decision.write)
    outcome.account_after = answered
    if answered != ENABLED:
        # Verify what Azure answered, as for pricings: a 200 that does not say Enabled is not a success.
        outcome.outcome = OutcomeKind.FAILED
        outcome.error_kind = ErrorKind.UNEXPECTED
        outcome.error = (
            f"Azure answered the PUT of {account.resource_id}/defenderForAISettings/Default with state "
            f"{answered!r}, not {ENABLED!r}. Fix: check for an Azure Policy deny or a template that resets it; "
            "the next sweep retries."
        )
        return
    outcome.outcome = OutcomeKind.REMEDIATED


def _account_reader(
    gateway: AccountGateway, resource_id: str, calls: Counter[str], settings: Settings, *, ahead: bool
) -> Callable[[], AccountRef | None]:
    """How `_protect` reads the account when it needs its tags: now (when asked), or from a read started at once
    beside the setting's (`ahead`), waited for at most the event's retry deadline."""

    def read_now() -> AccountRef | None:
        calls["accounts.get"] += 1
        return gateway.get_account(resource_id)

    if not ahead:
        return read_now
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="account-read")
    calls["accounts.get"] += 1
    started = reader.submit(gateway.get_account, resource_id)
    reader.shutdown(wait=False)  # the read runs on; nobody waits for it when the setting is as desired
    seconds = settings.event_retry_deadline_seconds

    def read_ahead() -> AccountRef | None:
        try:
            return started.result(timeout=seconds)
        except FutureTimeout:
            raise EnforcementError(
                ErrorKind.THROTTLED,
                f"Reading AI account {resource_id} took longer than the event's {seconds:.0f} s deadline "
                "(ENFORCER_EVENT_RETRY_DEADLINE_SECONDS). Fix: none needed if ARM was slow for a moment (the next "
                "sweep checks the account); if it persists, check ARM throttling in the function's logs.",
            ) from None

    return read_ahead


def _scoped_protection(
    services: Services,
    settings: Settings,
    account: AccountRef,
    tags: Mapping[str, str],
    outcome: Outcome,
    calls: Counter[str],
) -> tuple[AccountProtection, Mode, str | None]:
    """Account protection under the desired-state document (issue 20): the subscription's resolution, then an
    account-tag rule; the subscription's mode (an audit rule reports, never writes). Returns (protection, mode,
    why excluded or None) and names the rule on the outcome."""
    document = services.enforcer.document
    assert document is not None
    info = services.enforcer.directory.get(account.subscription_id, calls)
    outcome.desired_state_hash = document.hash
    try:
        resolution = resolve(info, document)
        decided = resolve_account(resolution, tags, document, account.resource_id)
    except ResolveConflict as error:
        outcome.rule = " vs ".join(error.rules)
        raise EnforcementError(ErrorKind.DESIRED_STATE_CONFLICT, str(error)) from error
    mode = resolution.plan_mode(settings.mode)
    if resolution.mode is ScopeMode.EXEMPT:
        outcome.rule = resolution.rule_for(MODE_FIELD)
        return decided.protection, mode, f"exempt by desired-state rule {outcome.rule}"
    outcome.mode = mode
    deciding = (decided.rule,) if mode is settings.mode else (decided.rule, resolution.rule_for(MODE_FIELD))
    outcome.rule = ", ".join(dict.fromkeys(deciding))
    if decided.protection is AccountProtection.UNMANAGED:
        return decided.protection, mode, f"account protection unmanaged by desired-state rule {decided.rule}"
    return decided.protection, mode, None


def not_readable(account: UnreadableAccount, trigger: Trigger, settings: Settings) -> Outcome:
    """An account whose id cannot be read: `failed` (it is not protected and nothing can be done to it), with the
    id escaped in the error, so it reaches the audit log, the card or digest and the exit code; never dropped."""
    outcome = _account_outcome(account, trigger, settings)
    outcome.reason = NOT_READABLE
    mark_failed(outcome, EnforcementError(ErrorKind.UNEXPECTED, account.error))
    logger.warning("account=%s outcome=failed: %s", account.shown_id, NOT_READABLE)
    return outcome


def protect_event_account(
    services: Services, resource_id: str | None, trigger: Trigger, *, subscription_id: str | None = None
) -> Outcome | None:
    """The `ai_account_created` event's second step, after the subscription's plan: the account it names (an id
    that cannot be read is recorded as such, in `subscription_id`, the event's subscription)."""
    if resource_id is None or services.settings.account_protection is AccountProtection.UNMANAGED:
        return None
    account = parse_account_id(resource_id)
    if account is not None:
        return protect_account(services, account, trigger, read_account_at_once=True)
    if subscription_id is None:
        return None
    unreadable = UnreadableAccount(subscription_id, resource_id)
    outcome = _account_outcome(unreadable, trigger, services.settings)
    try:
        reason = _subscription_exclusion(services, services.settings, subscription_id, outcome, Counter())
    except EnforcementError:
        reason = None  # the subscription's own record says why; the account is still reported
    if reason is not None:  # an excluded subscription's accounts are left alone, readable or not
        outcome.outcome, outcome.reason = OutcomeKind.EXCLUDED, reason
        return outcome
    return not_readable(unreadable, trigger, services.settings)


@dataclass
class AccountPass:
    """What the sweep's account pass did: one outcome per account read, Resource Graph requests, ARM list pages,
    notes."""

    outcomes: list[Outcome] = field(default_factory=list)
    requests: int = 0
    notes: list[str] = field(default_factory=list)
    list_pages: int = 0
    # Accounts verified Enabled recently, left until their time of day (core/account_checks.py).
    resting: int = 0


def account_pass(
    services: Services,
    settings: Settings,
    trigger: Trigger,
    subscription_outcomes: Sequence[Outcome],
    *,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: datetime | None = None,
) -> AccountPass:
    """Every AI account of the subscriptions the subscription pass handled (excluded ones skipped: their exclusion
    covers their accounts), listed by `account_listing.list_accounts`, each account decided with at most
    `settings.sweep_concurrency` at once. With an audit store that keeps account checks, an account verified
    `Enabled` within the day is read again only when its time of day comes round (`now`, default the current
    time). Accounts not started by `deadline` are left to the next run."""
    result = AccountPass()
    if settings.account_protection is AccountProtection.UNMANAGED:
        return result
    if services.accounts is None:
        result.notes.append("AI accounts not checked: no AI account gateway is configured")
        return result
    skip = {OutcomeKind.EXCLUDED, OutcomeKind.IGNORED, OutcomeKind.REJECTED}
    subs = list(dict.fromkeys(o.subscription_id for o in subscription_outcomes if o.outcome not in skip))
    # The check index is read while the accounts are listed (both are a few round trips of waiting).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="account-checks") as pool:
        checks = pool.submit(_account_checks, services)
        listing = list_accounts(services, settings, subs, deadline=deadline, clock=clock)
    result.requests, result.list_pages = listing.graph_requests, listing.arm_pages
    result.notes.extend(listing.notes)
    accounts, result.resting = _not_resting(settings, listing.accounts, checks.result(), now or datetime.now(UTC))
    if result.resting:
        result.notes.append(
            f"{result.resting} AI account(s) verified Enabled within {RECHECK_ACCOUNT_HOURS:g} h: not read again "
            "until their time of day (other writers' changes arrive as events)"
        )
    if not accounts:
        return result

    def one(account: AccountRef | UnreadableAccount) -> Outcome | None:
        if isinstance(account, UnreadableAccount):
            return not_readable(account, trigger, settings)
        if deadline is not None and clock() >= deadline:
            return None
        return protect_account(
            services, account, trigger, settings=settings, tags_known=True, subscription_checked=True
        )

    workers = max(1, min(settings.sweep_concurrency, len(accounts)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweep-accounts") as pool:
        done = list(pool.map(one, accounts))
    result.outcomes = [o for o in done if o is not None]
    if len(result.outcomes) < len(accounts):
        result.notes.append(
            f"time budget spent: {len(result.outcomes)} of {len(accounts)} AI account(s) checked; the next sweep "
            "checks them all again"
        )
    if not result.outcomes:
        return result
    counts = Counter(o.outcome.value for o in result.outcomes)
    result.notes.append(
        f"AI accounts: {len(result.outcomes)} checked ("
        + ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
        + f") in {len(subs)} subscription(s)"
    )
    return result


def _account_checks(services: Services) -> dict[str, AccountCheck] | None:
    """Each account's last check from the audit store; None without one (or unreadable): every account is read."""
    audit = services.audit
    if audit is None or not isinstance(audit, AccountCheckLog):
        return None
    try:
        return audit.account_checks()
    except Exception as error:  # an optimisation only: without it every account is read, as without a store
        logger.warning("AI account check index unreadable (%s): every account is read", type(error).__name__)
        return None


def _not_resting(
    settings: Settings,
    accounts: list[AccountRef | UnreadableAccount],
    checks: dict[str, AccountCheck] | None,
    now: datetime,
) -> tuple[list[AccountRef | UnreadableAccount], int]:
    """(accounts to decide now, how many rest until their time of day)."""
    if checks is None or not accounts:
        return accounts, 0
    # An id that cannot be read is reported every time; an exempt account costs no read and keeps `excluded`.
    unreadable = [a for a in accounts if isinstance(a, UnreadableAccount)]
    readable = [a for a in accounts if isinstance(a, AccountRef)]
    exempt = [a for a in readable if exempt_reason(a.tags, settings.exempt_tag) is not None]
    exempt_keys = {a.key for a in exempt}
    due, resting = split_due([a for a in readable if a.key not in exempt_keys], checks, now)
    return [*unreadable, *exempt, *due], len(resting)
