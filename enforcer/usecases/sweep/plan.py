"""Step 1, plan: what the sweep looks at, and what it already knows before any ARM pricing call.

- The audit store's current-state rows say which subscriptions were seen before (new ones are handled first)
  and what each one's outcome was (for what counts as notable). A sweep with an audit store configured that
  cannot read it stops here: nothing is changed that could not be recorded.
- Resource Graph lists every subscription (name, state, tags, management groups) with its AI pricing in one pass.
  It can lag, so every `ENFORCER_FULL_LISTING_MINUTES` the subscriptions API lists them too and any that Resource
  Graph has not indexed yet are added; when Resource Graph fails, the subscriptions API is the inventory and ARM
  GETs decide. Subscriptions listed that way get their management groups from one read of the tree.
- Scope (ENFORCER_SUBSCRIPTIONS, exclusions, the exempt tag, read-only states) and the resume point of a
  sweep that ran out of time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from enforcer.core.ancestry import MANAGEMENT_GROUPS_CALL, with_ancestry, without_ancestry
from enforcer.core.errors import EnforcementError, ResourceGraphError
from enforcer.core.models import MAX_SUBSCRIPTIONS_PER_QUERY, PricingState, RunSummary, SubscriptionInfo
from enforcer.core.records import AuditRecord
from enforcer.core.sweep_plan import chunked, exclusion, rotate
from enforcer.usecases.services import Services
from enforcer.usecases.sweep.model import FULL_LISTING_MARKER, SWEEP_KIND, Plan

logger = logging.getLogger(__name__)


class StoreUnavailable(RuntimeError):
    """The audit store did not answer before the first write; the message names the store's error."""


def _previous_states(services: Services, notes: list[str]) -> dict[str, AuditRecord] | None:
    """Each subscription's current-state row; None without an audit store."""
    if services.audit is None:
        notes.append("no audit store (ENFORCER_STORAGE not set): new-subscription detection is off")
        return None
    try:
        return services.audit.current_states()
    except Exception as error:
        raise StoreUnavailable(str(error) or type(error).__name__) from error


def _previous_resume_point(services: Services, dry_run: bool, notes: list[str]) -> str | None:
    if dry_run or services.audit is None:
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


def _full_listing_due(services: Services, now: datetime) -> bool:
    """Whether this sweep also lists the subscriptions API: when the last listing (a marker in the runs table, or
    what this process remembers when there is no audit store) is older than ENFORCER_FULL_LISTING_MINUTES."""
    minutes = services.settings.full_listing_minutes
    if minutes == 0:
        return True
    last = services.sweep_memory.get(FULL_LISTING_MARKER)
    if services.audit is not None:
        try:
            last = services.audit.marker(FULL_LISTING_MARKER) or last
        except Exception:  # unknown: list, which is always correct
            return True
    try:
        when = datetime.fromisoformat(last) if last else None
    except ValueError:
        when = None
    return when is None or now - when >= timedelta(minutes=minutes)


def _graph_inventory(
    services: Services, notes: list[str], calls: dict[str, int]
) -> tuple[dict[str, SubscriptionInfo | None], dict[str, PricingState | None]] | None:
    """Subscriptions and pricings from Resource Graph, or None when it is off or failed (the note says why)."""
    graph = services.resource_graph
    if graph is None or not services.settings.use_resource_graph:
        return None
    scope = services.settings.subscriptions
    infos: dict[str, SubscriptionInfo | None] = {}
    pricings: dict[str, PricingState | None] = {}
    try:
        for ids in chunked(list(scope), MAX_SUBSCRIPTIONS_PER_QUERY) if scope is not None else [None]:
            rows = graph.inventory(ids)
            calls["resourcegraph.resources"] = calls.get("resourcegraph.resources", 0) + rows.requests
            if rows.quota_wait_seconds:
                notes.append(f"waited {rows.quota_wait_seconds:.1f} s for Resource Graph's per-user quota")
            infos.update((info.subscription_id, info) for info in rows.subscriptions)
            pricings.update(rows.pricings)
    except ResourceGraphError as error:
        calls["resourcegraph.resources"] = calls.get("resourcegraph.resources", 0) + error.requests
        logger.warning("%s: listing from the subscriptions API, one ARM GET per subscription", error)
        notes.append(f"Resource Graph unavailable ({error})")
        return None
    return infos, pricings


def _fill_ancestry(
    services: Services, infos: dict[str, SubscriptionInfo | None], notes: list[str], calls: dict[str, int]
) -> None:
    """Management groups for the subscriptions Resource Graph did not describe (it was down, or has not indexed
    them yet): one read of the whole tree (Entities API, a few pages), at most once a sweep, and only while rules
    may match on management groups. When it fails they stay unknown and the note says why."""
    index = services.management_groups
    scope = services.settings.subscriptions
    missing = [sub for sub in without_ancestry(infos.values()) if scope is None or sub in scope]
    if index is None or not missing or not services.rules_read_management_groups:
        return
    try:
        ancestry = index.ancestry()
    except EnforcementError as error:
        logger.warning("management-group tree unreadable: %s", error.message)
        notes.append(
            f"management groups unknown for {len(missing)} subscription(s) "
            f"(the management-group tree could not be read: {error.message})"
        )
        return
    calls[MANAGEMENT_GROUPS_CALL] = calls.get(MANAGEMENT_GROUPS_CALL, 0) + ancestry.requests
    services.enforcer.directory.remember_tree(ancestry.by_subscription)
    for sub in missing:
        info = infos[sub]
        if info is not None:
            infos[sub] = with_ancestry(info, ancestry.by_subscription)
    unplaced = [sub for sub in missing if sub not in ancestry.by_subscription]
    notes.append(
        f"management groups of {len(missing) - len(unplaced)} subscription(s) read from the management-group tree "
        f"in {ancestry.requests} request(s)" + (f"; {len(unplaced)} not in the tree (unknown)" if unplaced else "")
    )


def make_plan(
    services: Services, *, dry_run: bool, now: datetime | None = None
) -> tuple[Plan, EnforcementError | None]:
    """The plan, or the listing error that leaves nothing to sweep. Raises StoreUnavailable (see above)."""
    now = now or datetime.now(UTC)
    notes: list[str] = []
    calls: dict[str, int] = {}
    previous = _previous_states(services, notes)

    listing_error: EnforcementError | None = None
    graph = _graph_inventory(services, notes, calls)
    infos, pricings = graph if graph is not None else ({}, {})
    full_listing = graph is None or _full_listing_due(services, now)
    if full_listing:
        try:
            listing = services.arm.list_subscriptions()
            calls["subscriptions.list"] = listing.pages
            unindexed = [info for info in listing.subscriptions if info.subscription_id not in infos]
            if graph is not None and unindexed:
                notes.append(f"{len(unindexed)} subscription(s) not in Resource Graph yet: read from ARM")
            infos.update((info.subscription_id, info) for info in unindexed)
            if graph is None and services.settings.use_resource_graph and services.resource_graph is not None:
                notes.append(
                    f"listed {len(infos)} subscription(s) from the subscriptions API instead, "
                    f"with direct ARM GETs for each"
                )
        except EnforcementError as error:
            if graph is None:
                listing_error = error
            notes.append(f"could not list subscriptions: {error.message}")
    _fill_ancestry(services, infos, notes, calls)
    # Event handlers in this process reuse the names, states and tags instead of reading them again.
    services.enforcer.directory.remember([info for info in infos.values() if info is not None])

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

    settings = services.settings
    excluded = {sub: reason for sub, info in infos.items() if (reason := exclusion(sub, info, settings)) is not None}

    baseline = previous is not None and not previous
    new_ids: set[str] = set()
    if baseline:
        notes.append(
            f"first sweep with no recorded state: {len(infos)} subscription(s) recorded as the baseline, "
            "none flagged new"
        )
    elif previous is not None:
        new_ids = {s for s in infos if s not in previous}

    resume_after = _previous_resume_point(services, dry_run, notes)
    order = rotate(list(infos), resume_after)
    plan = Plan(
        infos=infos,
        new=[s for s in order if s in new_ids],
        rest=[s for s in order if s not in new_ids],
        excluded=excluded,
        pricings=pricings,
        previous={sub: record.outcome for sub, record in (previous or {}).items()},
        current=previous,
        notes=notes,
        calls=calls,
        inventory_baseline=baseline,
        resume_after=resume_after,
        full_listing=full_listing and graph is not None and listing_error is None,
    )
    return plan, listing_error
