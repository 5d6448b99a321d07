"""Which AI accounts the given subscriptions hold: Resource Graph first (1,000 subscriptions a query), and when it
fails (an outage, a 404, throttling past its deadline) or is turned off (ENFORCER_RESOURCE_GRAPH=off), each
subscription's own `Accounts - List` from ARM, paged with nextLink, at most `ENFORCER_SWEEP_CONCURRENCY`
subscriptions at once and within the caller's deadline. Used by the sweep's account pass and by `coverage`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final

from enforcer.core.accounts import AccountRef, UnreadableAccount
from enforcer.core.errors import EnforcementError, ResourceGraphError
from enforcer.core.models import MAX_SUBSCRIPTIONS_PER_QUERY
from enforcer.core.settings import Settings
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)

# The call kind of one `Accounts - List` page, named as the emulator counts it.
LIST_ACCOUNTS: Final = "cognitive.accounts.list"
# Resource Graph account queries in flight at once (each covers 1,000 subscriptions; the per-user quota is 15 per
# 5 s, which the gateway waits for).
GRAPH_QUERIES_AT_ONCE: Final = 4


@dataclass
class AccountListing:
    """The accounts found, what it cost, and what could not be listed (and why)."""

    accounts: list[AccountRef | UnreadableAccount] = field(default_factory=list)
    graph_requests: int = 0
    arm_pages: int = 0
    # Subscriptions whose accounts are unknown: the listing failed or the deadline came first.
    unlisted: list[str] = field(default_factory=list)
    out_of_time: bool = False
    notes: list[str] = field(default_factory=list)


def list_accounts(
    services: Services,
    settings: Settings,
    subscription_ids: Sequence[str],
    *,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AccountListing:
    """Every AI account of these subscriptions (see the module docstring); never raises for Azure errors."""
    listing = AccountListing()
    subs = list(dict.fromkeys(s.lower() for s in subscription_ids))
    by_arm: list[str] = []
    index = services.account_index if settings.use_resource_graph else None
    if index is None:
        by_arm = subs
        if subs:
            why = "ENFORCER_RESOURCE_GRAPH=off" if not settings.use_resource_graph else "no Resource Graph index"
            listing.notes.append(f"AI accounts listed per subscription with ARM ({why})")
    else:
        batches = [subs[i : i + MAX_SUBSCRIPTIONS_PER_QUERY] for i in range(0, len(subs), MAX_SUBSCRIPTIONS_PER_QUERY)]

        def query(batch: list[str]) -> tuple[list[AccountRef | UnreadableAccount], int] | ResourceGraphError:
            try:
                return index.accounts(batch)
            except ResourceGraphError as error:
                return error

        # A few batches at once: each query pages on its own; the gateway's shared quota view paces them all.
        with ThreadPoolExecutor(max_workers=max(1, min(GRAPH_QUERIES_AT_ONCE, len(batches)))) as pool:
            answers = list(pool.map(query, batches))
        for batch, answer in zip(batches, answers, strict=True):
            if isinstance(answer, ResourceGraphError):
                listing.graph_requests += answer.requests
                listing.notes.append(
                    f"Resource Graph could not list the AI accounts of {len(batch)} subscription(s) ({answer}); "
                    "listed them per subscription with ARM instead"
                )
                by_arm.extend(batch)
                continue
            found, requests = answer
            listing.graph_requests += requests
            listing.accounts.extend(found)
    if by_arm:
        _list_with_arm(services, settings, by_arm, listing, deadline, clock)
    return listing


def _list_with_arm(
    services: Services,
    settings: Settings,
    subs: Sequence[str],
    listing: AccountListing,
    deadline: float | None,
    clock: Callable[[], float],
) -> None:
    gateway = services.accounts
    if gateway is None:
        listing.unlisted.extend(subs)
        listing.notes.append(f"AI accounts of {len(subs)} subscription(s) not listed: no AI account gateway")
        return

    def one(sub: str) -> tuple[str, list[AccountRef | UnreadableAccount], int, EnforcementError | None] | None:
        if deadline is not None and clock() >= deadline:
            return None
        try:
            found, pages = gateway.list_accounts(sub, deadline=deadline)
        except EnforcementError as error:
            logger.warning("cannot list the AI accounts of subscription %s: %s", sub, error.message)
            return sub, [], 0, error
        return sub, found, pages, None

    workers = max(1, min(settings.sweep_concurrency, len(subs)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="list-accounts") as pool:
        results = list(pool.map(one, subs))
    failures: list[EnforcementError] = []
    for sub, result in zip(subs, results, strict=True):
        if result is None:
            listing.unlisted.append(sub)
            listing.out_of_time = True
            continue
        _, found, pages, error = result
        listing.arm_pages += pages
        listing.accounts.extend(found)
        if error is not None:
            listing.unlisted.append(sub)
            failures.append(error)
    if listing.out_of_time:
        listing.notes.append(
            f"time budget spent: the AI accounts of {sum(r is None for r in results)} subscription(s) not listed; "
            "the next run lists them"
        )
    if failures:
        listing.notes.append(
            f"AI accounts of {len(failures)} subscription(s) could not be listed with ARM: {failures[0].message}"
        )
