"""Gather the coverage report (core/coverage.py): every AI account in scope, its subscription's plan, its own
setting, and when the enforcer last verified and last changed it. Reads only; never writes to Azure.

Calls: the subscription list (one paged call), the plan per subscription (Resource Graph in batches of 1,000, with
a direct GET for any subscription it does not show), the accounts (Resource Graph, or each subscription's
`Accounts - List` when it fails or is off: usecases/account_listing.py), one GET per account (bounded
concurrency), and per subscription one audit-store query when an audit store is configured.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, runtime_checkable

from enforcer.core.accounts import AccountRef, UnreadableAccount, canonical_state, exempt_reason
from enforcer.core.coverage import CoverageRow
from enforcer.core.desired_state import MODE_FIELD, Document, ResolveConflict, ScopeMode, resolve, resolve_account
from enforcer.core.errors import EnforcementError, ResourceGraphError
from enforcer.core.models import MAX_SUBSCRIPTIONS_PER_QUERY, OutcomeKind, PricingState, SubscriptionInfo
from enforcer.core.scope import exclusion_by_id, exclusion_by_metadata
from enforcer.usecases.account_listing import list_accounts
from enforcer.usecases.ports import AccountCheckLog
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)

# Records read per subscription to find each account's latest verification and change.
HISTORY_LIMIT = 1000


@runtime_checkable
class AuditHistory(Protocol):
    """An audit store that can list a subscription's records newest first (adapters/audit_store.py)."""

    def history(self, subscription_id: str, limit: int = 50) -> Sequence[object]: ...


class CoverageError(RuntimeError):
    """The subscriptions or the accounts could not be listed: no report."""


def _plans(services: Services, subs: Sequence[str]) -> dict[str, PricingState | None]:
    plans: dict[str, PricingState | None] = {}
    if services.resource_graph is not None:
        for start in range(0, len(subs), MAX_SUBSCRIPTIONS_PER_QUERY):
            try:
                rows = services.resource_graph.inventory(subs[start : start + MAX_SUBSCRIPTIONS_PER_QUERY])
            except ResourceGraphError as error:
                logger.warning("coverage: Resource Graph pricings unavailable (%s); reading plans directly", error)
                continue
            plans.update(rows.pricings)

    def direct(sub: str) -> tuple[str, PricingState | None]:
        try:
            return sub, services.arm.get_pricing(sub)
        except EnforcementError as error:
            logger.warning("coverage: cannot read the plan of %s: %s", sub, error)
            return sub, None

    missing = [s for s in subs if plans.get(s) is None]
    if missing:
        with ThreadPoolExecutor(max_workers=max(1, min(services.settings.sweep_concurrency, len(missing)))) as pool:
            plans.update(pool.map(direct, missing))
    return plans


def _history(services: Services, sub: str) -> dict[str, tuple[str | None, str | None]]:
    """{resource id (lower-case): (last verified, last changed)} from the subscription's audit records."""
    audit = services.audit
    if audit is None or not isinstance(audit, AuditHistory):
        return {}
    found: dict[str, tuple[str | None, str | None]] = {}
    try:
        records = audit.history(sub, limit=HISTORY_LIMIT)
    except Exception as error:  # the report is still useful without the audit trail
        logger.warning("coverage: cannot read the audit history of %s: %s", sub, type(error).__name__)
        return {}
    verified_kinds = {OutcomeKind.COMPLIANT.value, OutcomeKind.REMEDIATED.value}
    for record in records:  # newest first: the first hit of each kind is the latest
        resource_id = getattr(record, "resource_id", None)
        if not resource_id:
            continue
        key = str(resource_id).lower()
        verified, changed = found.get(key, (None, None))
        started = str(getattr(record, "started_at", "") or "") or None
        outcome = getattr(record, "outcome", "")
        if verified is None and outcome in verified_kinds:
            verified = started
        if changed is None and outcome == OutcomeKind.REMEDIATED.value:
            changed = started
        found[key] = (verified, changed)
    return found


def gather_coverage(services: Services) -> list[CoverageRow]:
    """One row per AI account in scope. Raises CoverageError when subscriptions or accounts cannot be listed."""
    return gather_coverage_in_scope(services)[0]


def gather_coverage_in_scope(services: Services) -> tuple[list[CoverageRow], int]:
    """(one row per AI account in scope, subscriptions in scope the identity sees): with no accounts, the second
    tells "sees no subscription" from "sees subscriptions without accounts". Raises CoverageError as above."""
    settings = services.settings
    if services.accounts is None:
        raise CoverageError("no AI account gateway is configured")
    try:
        listing = services.arm.list_subscriptions()
    except EnforcementError as error:
        raise CoverageError(f"cannot list subscriptions: {error}") from error
    infos: dict[str, SubscriptionInfo] = {
        i.subscription_id: i for i in listing.subscriptions if exclusion_by_id(i.subscription_id, settings) is None
    }
    subs = sorted(infos)
    # Resource Graph, or per subscription with ARM when it fails or is off; within the sweep's time budget.
    found = list_accounts(services, settings, subs, deadline=time.monotonic() + settings.sweep_time_budget_seconds)
    if found.out_of_time:
        raise CoverageError(
            f"cannot list AI accounts: the AI accounts of {len(found.unlisted)} subscription(s) were not listed "
            f"within {settings.sweep_time_budget_seconds} s (ENFORCER_SWEEP_TIME_BUDGET_SECONDS). Fix: retry, or "
            "raise the budget or ENFORCER_SWEEP_CONCURRENCY"
        )
    for note in found.notes:
        logger.warning("coverage: %s", note)
    accounts = found.accounts
    plans = _plans(services, sorted({a.subscription_id for a in accounts}))
    gateway = services.accounts
    document = services.desired_state if services.desired_state is not None and services.desired_state.hash else None

    def row(account: AccountRef | UnreadableAccount) -> CoverageRow:
        info = infos[account.subscription_id]
        plan = plans.get(account.subscription_id)
        reason: str | None = exclusion_by_metadata(info.tags, info.state, settings)
        state: str | None = None
        error: str | None = None
        rule: str | None = None
        if document is not None and reason is None:
            rule, reason = _rule_for(document, info, account)
        if isinstance(account, UnreadableAccount):
            error = account.error  # reported "not readable", with the id escaped
        else:
            reason = reason or exempt_reason(account.tags, settings.exempt_tag)
            try:
                # No setting resource (404) is not readable-or-not: it is simply not Enabled.
                state = canonical_state(gateway.get_setting(account.resource_id))
            except EnforcementError as failure:
                error = failure.message[:300]
        return CoverageRow(
            resource_id=account.resource_id,
            account=account.name,
            subscription_id=account.subscription_id,
            subscription_name=info.display_name,
            plan_tier=plan.tier if plan is not None else None,
            plan_components={e.name: e.enabled for e in plan.extensions} if plan is not None else {},
            account_state=state,
            exempt_reason=reason,
            error=error,
            rule=rule,
        )

    workers = max(1, min(settings.sweep_concurrency, len(accounts) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="coverage") as pool:
        rows = list(pool.map(row, accounts))
    histories = {sub: _history(services, sub) for sub in sorted({r.subscription_id for r in rows})}
    checks = _verified_by_checks(services)
    result = []
    for r in rows:
        verified, changed = histories.get(r.subscription_id, {}).get(r.resource_id.lower(), (None, None))
        # A sweep's quiet check leaves no history row; the account check index has its time.
        checked = checks.get(r.resource_id.lower())
        if checked and (verified is None or checked > verified):
            verified = checked
        result.append(
            CoverageRow(**{**r.__dict__, "last_verified": verified, "last_changed": changed})
            if verified or changed
            else r
        )
    return result, len(subs)


def _rule_for(
    document: Document, info: SubscriptionInfo, account: AccountRef | UnreadableAccount
) -> tuple[str | None, str | None]:
    """(the rule deciding the account's protection, why exempt by the document or None) (issue 20)."""
    try:
        resolution = resolve(info, document)
        tags = account.tags if isinstance(account, AccountRef) else {}
        decided = resolve_account(resolution, tags, document, account.resource_id)
    except ResolveConflict as conflict:
        return " vs ".join(conflict.rules), None
    if resolution.mode is ScopeMode.EXEMPT:
        rule = resolution.rule_for(MODE_FIELD)
        return rule, f"exempt by desired-state rule {rule}"
    return decided.rule, None


def _verified_by_checks(services: Services) -> dict[str, str]:
    """{resource id (lower-case): when its setting was last read as Enabled} from the account check index."""
    audit = services.audit
    if audit is None or not isinstance(audit, AccountCheckLog):
        return {}
    try:
        return {key: c.verified_at for key, c in audit.account_checks().items() if c.verified_enabled}
    except Exception as error:  # the report is still useful without it
        logger.warning("coverage: cannot read the AI account check index: %s", type(error).__name__)
        return {}
