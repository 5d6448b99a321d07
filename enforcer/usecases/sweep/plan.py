"""Step 1, plan: list the subscriptions, apply the scope, find the new ones and where to resume."""

from __future__ import annotations

import logging

from enforcer.core.errors import EnforcementError, InventoryError
from enforcer.core.models import (
    RunSummary,
    SubscriptionInfo,
)
from enforcer.core.sweep_plan import exclusion, rotate
from enforcer.usecases.ports import Inventory
from enforcer.usecases.services import Services
from enforcer.usecases.sweep.model import SWEEP_KIND, Plan

logger = logging.getLogger(__name__)


def _read_inventory(store: Inventory | None, plan_notes: list[str]) -> set[str] | None:
    if store is None:
        plan_notes.append("no audit store (ENFORCER_STORAGE not set): new-subscription detection is off")
        return None
    try:
        return store.known()
    except InventoryError as error:
        logger.warning("subscription inventory unavailable: %s", error)
        plan_notes.append(f"subscription inventory unavailable ({error}): new-subscription detection is off")
        return None


def _previous_resume_point(services: Services, dry_run: bool, notes: list[str]) -> str | None:
    if dry_run:
        return None
    if services.audit is None:
        return None
    try:
        previous = services.audit.latest_run(SWEEP_KIND)
    except Exception as error:  # a resume point is an optimisation: without it the sweep starts at the top
        logger.warning("cannot read the previous sweep: %s", type(error).__name__)
        notes.append(f"could not read the previous sweep ({type(error).__name__}): started from the beginning")
        return None
    if not isinstance(previous, RunSummary) or previous.complete or not previous.resume_after:
        return None
    notes.append(f"resumed after {previous.resume_after}, where sweep {previous.run_id} ran out of time")
    return previous.resume_after


def make_plan(
    services: Services, inventory: Inventory | None, *, dry_run: bool
) -> tuple[Plan, EnforcementError | None]:
    notes: list[str] = []
    calls: dict[str, int] = {}
    listing_error: EnforcementError | None = None
    infos: dict[str, SubscriptionInfo | None] = {}
    try:
        listing = services.arm.list_subscriptions()
        calls["subscriptions.list"] = listing.pages
        infos = {info.subscription_id: info for info in listing.subscriptions}
        # Event handlers in this process reuse the names, states and tags instead of reading them again.
        services.enforcer.directory.remember(listing.subscriptions)
    except EnforcementError as error:
        listing_error = error
        notes.append(f"could not list subscriptions: {error.message}")

    scope = services.settings.subscriptions
    if scope is not None:
        outside = [s for s in infos if s not in scope]
        for sub in outside:
            del infos[sub]
        if outside:
            notes.append(f"{len(outside)} visible subscription(s) are outside ENFORCER_SUBSCRIPTIONS and were skipped")
        unseen = [s for s in scope if s not in infos]
        if unseen and listing_error is None:
            notes.append(f"{len(unseen)} subscription(s) in ENFORCER_SUBSCRIPTIONS are not in the subscription list")
        for sub in unseen:
            infos[sub] = None  # enforced directly: its GET says whether it exists and is readable
        if listing_error is not None and unseen:
            listing_error = None  # an explicit scope can still be swept

    excluded = {
        sub: reason for sub, info in infos.items() if (reason := exclusion(sub, info, services.settings)) is not None
    }

    known = _read_inventory(inventory, notes)
    baseline = known is not None and not known
    new_ids: set[str] = set()
    if baseline:
        notes.append(
            f"first sweep with an empty inventory: {len(infos)} subscription(s) recorded as the baseline, "
            "none flagged new"
        )
    elif known is not None:
        new_ids = {s for s in infos if s not in known}

    resume_after = _previous_resume_point(services, dry_run, notes)
    order = rotate(list(infos), resume_after)
    plan = Plan(
        infos=infos,
        new=[s for s in order if s in new_ids],
        rest=[s for s in order if s not in new_ids],
        excluded=excluded,
        notes=notes,
        calls=calls,
        inventory_baseline=baseline,
        resume_after=resume_after,
    )
    return plan, listing_error
