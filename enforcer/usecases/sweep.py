"""The drift sweep: re-check every subscription in scope, repair drift, and record the run.

1. Inventory: the subscriptions API lists every subscription the identity can see; ENFORCER_SUBSCRIPTIONS,
   ENFORCER_EXCLUDE_SUBSCRIPTIONS, the exempt tag and read-only states (Disabled/Deleted) decide the scope.
   Ids missing from the stored inventory are new: they are enforced first and reported as new.
2. Fast path: Azure Resource Graph answers the AI plan's pricing for up to 1,000 subscriptions per query.
   Rows that are compliant are recorded as such without an ARM call; rows that need a change and
   subscriptions without a row are candidates. Resource Graph can lag, so each candidate goes through
   `Enforcer.enforce`, whose ARM GET confirms it before any PUT. A batch whose query fails falls back to
   direct GETs, and the run summary says so.
3. Limits: bounded concurrency (ENFORCER_SWEEP_CONCURRENCY); one subscription is handled once per sweep and
   the Enforcer's per-subscription lock keeps writes apart; throttling is azure-core's Retry-After handling.
   Subscriptions are handled in a stable (sorted) order; when the time budget is spent no new work starts,
   work in flight finishes, and the run records the last id it finished so the next sweep starts after it.
4. Every decision is written to the audit store (in concurrent chunks), then the run summary, then one
   digest card when anything changed or failed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Final

from enforcer.adapters.arm import SubscriptionInfo
from enforcer.adapters.inventory import InventoryError, InventoryStore
from enforcer.adapters.resource_graph import (
    MAX_SUBSCRIPTIONS_PER_QUERY,
    PricingRows,
    ResourceGraphError,
    ResourceGraphGateway,
)
from enforcer.composition import Services, new_run_id
from enforcer.core.decision import decide
from enforcer.core.errors import EnforcementError
from enforcer.core.models import DesiredState, ErrorKind, Mode, Outcome, OutcomeKind, PricingState, RunSummary, Trigger
from enforcer.core.scope import exclusion_by_id, exclusion_by_metadata
from enforcer.usecases.enforce import Enforcer, utc_now_iso

logger = logging.getLogger(__name__)

SWEEP_KIND: Final = "sweep"
# A dry run is recorded apart, so that it neither moves the real sweep's resume point nor reads it.
DRY_RUN_KIND: Final = "sweep-dry-run"
COMPLIANT_PER_GRAPH: Final = "compliant per Resource Graph (not re-read from ARM)"
AUDIT_CHUNK: Final = 100
AUDIT_WRITERS: Final = 8

Progress = Callable[[int, int], None]


class SweepError(RuntimeError):
    """The sweep could not start (the subscription list failed); the run summary was recorded."""

    def __init__(self, message: str, summary: RunSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class SweepResult:
    outcomes: list[Outcome]
    summary: RunSummary
    # Seconds spent per phase: "inventory" (list, scope, stored inventory, resume point), "checks" (Resource
    # Graph, GETs and PUTs), "records" (audit records, inventory, run summary, digest card).
    timings: dict[str, float] = field(default_factory=dict)


# -- pure helpers ----------------------------------------------------------------------------------


def rotate(ids: Sequence[str], resume_after: str | None) -> list[str]:
    """Sorted ids starting after `resume_after` and wrapping around (it need not be in `ids` any more)."""
    ordered = sorted(ids)
    if resume_after is None:
        return ordered
    start = next((i for i, sub in enumerate(ordered) if sub > resume_after), 0)
    return ordered[start:] + ordered[:start]


def batches(ids: Sequence[str], size: int = MAX_SUBSCRIPTIONS_PER_QUERY) -> Iterator[list[str]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def compliant_per_graph(
    ids: Sequence[str], pricings: Mapping[str, PricingState | None], desired: DesiredState
) -> dict[str, PricingState]:
    """The subscriptions whose Resource Graph row needs no change; every other id is a candidate for a GET."""
    compliant: dict[str, PricingState] = {}
    for sub in ids:
        state = pricings.get(sub)
        if state is not None and decide(state, desired) is None:
            compliant[sub] = state
    return compliant


def resume_point(rest: Sequence[str], started: int, previous: str | None) -> str | None:
    """The last id of the resumable order that this run handled, or the previous point when it handled none."""
    return rest[started - 1] if started > 0 else previous


def exclusion(sub: str, info: SubscriptionInfo | None, services: Services) -> str | None:
    reason = exclusion_by_id(sub, services.settings)
    if reason is None and info is not None:
        reason = exclusion_by_metadata(info.tags, info.state, services.settings)
    return reason


# -- the run -----------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What this run will look at, in order, and what it knows before any pricing call."""

    infos: dict[str, SubscriptionInfo | None]
    new: list[str]  # handled first
    rest: list[str]  # sorted and rotated after the resume point
    excluded: dict[str, str]
    notes: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    inventory_baseline: bool = False
    resume_after: str | None = None


class _Run:
    """One sweep's mutable state; the thread pool's callbacks only touch it under `_lock`."""

    def __init__(
        self, services: Services, enforcer: Enforcer, trigger: Trigger, deadline: float, clock: Callable[[], float]
    ) -> None:
        self.services = services
        self.enforcer = enforcer
        self.trigger = trigger
        self.deadline = deadline
        self.clock = clock
        self.concurrency = max(1, services.settings.sweep_concurrency)
        self.outcomes: dict[str, Outcome] = {}
        self.total = 0
        self.progress: Progress | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="sweep")

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def out_of_time(self) -> bool:
        return self.remaining() <= 0

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes[outcome.subscription_id] = outcome
            done = len(self.outcomes)
            if self.progress is not None:
                self.progress(done, self.total)

    def submit(self, sub: str, info: SubscriptionInfo | None, *, new: bool) -> bool:
        """Start enforcing one subscription; False (nothing started) when the budget ran out waiting for a slot."""
        remaining = self.remaining()
        if remaining <= 0 or not self._slots.acquire(timeout=remaining):
            return False
        future = self._pool.submit(self._enforce_one, sub, info, new)
        future.add_done_callback(lambda _: self._slots.release())
        return True

    def _enforce_one(self, sub: str, info: SubscriptionInfo | None, new: bool) -> Outcome:
        try:
            outcome = self.enforcer.enforce(sub, self.trigger, info=info, new_subscription=new)
        except Exception as error:  # one subscription's failure never stops the sweep
            logger.exception("subscription=%s unexpected error in the sweep", sub)
            outcome = Outcome(
                subscription_id=sub,
                outcome=OutcomeKind.FAILED,
                trigger=self.trigger,
                mode=self.enforcer.settings.mode,
                subscription_name=info.display_name if info else None,
                error=f"Unexpected error while enforcing ({type(error).__name__}); the next sweep retries.",
                error_kind=ErrorKind.UNEXPECTED,
                new_subscription=new,
                started_at=utc_now_iso(),
            )
        self.record(outcome)
        return outcome

    def finish(self) -> None:
        """Let work in flight end (it always does: every ARM call has timeouts and bounded retries)."""
        self._pool.shutdown(wait=True)


def _read_inventory(store: InventoryStore | None, plan_notes: list[str]) -> set[str] | None:
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


def _plan(
    services: Services, inventory: InventoryStore | None, *, dry_run: bool
) -> tuple[_Plan, EnforcementError | None]:
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

    excluded = {sub: reason for sub, info in infos.items() if (reason := exclusion(sub, info, services)) is not None}

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
    plan = _Plan(
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


def _excluded_outcome(run: _Run, sub: str, info: SubscriptionInfo | None, reason: str, new: bool) -> Outcome:
    return Outcome(
        subscription_id=sub,
        outcome=OutcomeKind.EXCLUDED,
        trigger=run.trigger,
        mode=run.enforcer.settings.mode,
        subscription_name=info.display_name if info else None,
        reason=reason,
        new_subscription=new,
        started_at=utc_now_iso(),
    )


def _compliant_outcome(run: _Run, sub: str, info: SubscriptionInfo | None, state: PricingState) -> Outcome:
    return Outcome(
        subscription_id=sub,
        outcome=OutcomeKind.COMPLIANT,
        trigger=run.trigger,
        mode=run.enforcer.settings.mode,
        subscription_name=info.display_name if info else None,
        before=state,
        after=state,
        reason=COMPLIANT_PER_GRAPH,
        started_at=utc_now_iso(),
    )


@dataclass
class _GraphStats:
    batches: int = 0
    failed_batches: int = 0
    fallback_subscriptions: int = 0
    compliant: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)


def _query_graph(graph: ResourceGraphGateway, ids: list[str]) -> PricingRows | ResourceGraphError:
    try:
        return graph.pricings(ids)
    except ResourceGraphError as error:
        return error


def _execute(run: _Run, plan: _Plan, graph: ResourceGraphGateway | None) -> tuple[int, bool, _GraphStats]:
    """Handle the plan in order until done or out of time; returns (items of `rest` started, stopped, stats)."""
    stats = _GraphStats()
    desired = run.enforcer.settings.desired
    for sub in plan.new:
        info = plan.infos[sub]
        if sub in plan.excluded:
            run.record(_excluded_outcome(run, sub, info, plan.excluded[sub], True))
        elif not run.submit(sub, info, new=True):
            return 0, True, stats

    started = 0
    graph_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-graph") if graph is not None else None
    try:
        chunks = list(batches(plan.rest))
        lookups: list[Future[PricingRows | ResourceGraphError] | None] = []

        def look_up(index: int) -> None:
            # Queried one batch ahead, so the next answer is ready when this batch's candidates are started.
            if graph_pool is None or graph is None or index >= len(chunks) or index < len(lookups):
                return
            eligible = [s for s in chunks[index] if s not in plan.excluded]
            lookups.append(graph_pool.submit(_query_graph, graph, eligible) if eligible else None)

        for index, chunk in enumerate(chunks):
            look_up(index)
            look_up(index + 1)
            compliant: dict[str, PricingState] = {}
            lookup = lookups[index] if index < len(lookups) else None
            if lookup is not None:
                try:
                    answer = lookup.result(timeout=max(run.remaining(), 0.001))
                except FutureTimeout:
                    return started, True, stats
                stats.batches += 1
                if isinstance(answer, ResourceGraphError):
                    stats.failed_batches += 1
                    stats.requests += answer.requests
                    stats.errors.append(str(answer))
                    stats.fallback_subscriptions += sum(1 for s in chunk if s not in plan.excluded)
                    logger.warning("%s: direct GETs for batch %d of %d", answer, index + 1, len(chunks))
                else:
                    stats.requests += answer.requests
                    compliant = compliant_per_graph(chunk, answer.pricings, desired)
            for sub in chunk:
                if run.out_of_time():
                    return started, True, stats
                info = plan.infos[sub]
                if sub in plan.excluded:
                    run.record(_excluded_outcome(run, sub, info, plan.excluded[sub], False))
                elif sub in compliant:
                    stats.compliant += 1
                    run.record(_compliant_outcome(run, sub, info, compliant[sub]))
                elif not run.submit(sub, info, new=False):
                    return started, True, stats
                started += 1
        return started, False, stats
    finally:
        if graph_pool is not None:
            graph_pool.shutdown(wait=True, cancel_futures=True)


def _graph_notes(stats: _GraphStats, enabled: bool, total: int) -> list[str]:
    if not enabled:
        return ["Resource Graph off (ENFORCER_RESOURCE_GRAPH=off): one ARM GET per subscription"] if total else []
    notes = []
    if stats.compliant:
        notes.append(f"{stats.compliant} subscription(s) compliant per Resource Graph (no ARM call)")
    if stats.failed_batches:
        reasons = "; ".join(sorted(set(stats.errors)))[:500]
        notes.append(
            f"Resource Graph unavailable for {stats.failed_batches} of {stats.batches} batch(es) ({reasons}): "
            f"used direct ARM GETs for {stats.fallback_subscriptions} subscription(s)"
        )
    return notes


def _write_audit(services: Services, outcomes: Sequence[Outcome]) -> None:
    """Every outcome to the audit store, in chunks written concurrently; re-raises the first failure."""
    if services.audit is None or not outcomes:
        return
    audit = services.audit
    chunks = [outcomes[i : i + AUDIT_CHUNK] for i in range(0, len(outcomes), AUDIT_CHUNK)]
    if len(chunks) == 1:
        audit.record_outcomes(chunks[0])
        return
    with ThreadPoolExecutor(max_workers=min(AUDIT_WRITERS, len(chunks)), thread_name_prefix="sweep-audit") as pool:
        for future in [pool.submit(audit.record_outcomes, chunk) for chunk in chunks]:
            future.result()


def _remember(inventory: InventoryStore | None, ids: Sequence[str], notes: list[str]) -> None:
    if inventory is None or not ids:
        return
    try:
        inventory.remember(ids)
    except InventoryError as error:
        logger.warning("could not update the subscription inventory: %s", error)
        notes.append(f"could not update the subscription inventory ({error}); new subscriptions may be reported again")


def sweep(
    services: Services,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    resource_graph: ResourceGraphGateway | None = None,
    inventory: InventoryStore | None = None,
) -> SweepResult:
    """One sweep over every subscription in scope; returns the outcomes (in handling order) and the run summary.

    `dry_run` decides and reports without writing (audit mode), and leaves the resume point and the inventory
    alone. `progress(done, total)` is called as subscriptions finish (from worker threads, one call at a time).
    `resource_graph` and `inventory` default to ones built from the services' settings. Raises SweepError when
    the subscription list cannot be read (nothing to sweep), and the audit store's error when records cannot be
    written (the invocation must fail so it is noticed and retried).
    """
    settings = services.settings
    enforcer = services.enforcer
    if dry_run and settings.mode is not Mode.AUDIT:
        settings = settings.for_dry_run(dry_run)
        enforcer = Enforcer(settings, services.arm, services.enforcer.directory)
    kind = DRY_RUN_KIND if dry_run else SWEEP_KIND
    run_id = new_run_id("sweep")
    started_at, started = utc_now_iso(), clock()
    run = _Run(
        services, enforcer, Trigger(kind="sweep", id=run_id), started + settings.sweep_time_budget_seconds, clock
    )
    run.progress = progress

    owns_inventory = inventory is None and services.audit is not None
    if owns_inventory:
        inventory = InventoryStore.from_settings(settings)
    owns_graph = resource_graph is None and settings.use_resource_graph
    graph = ResourceGraphGateway(services.arm) if owns_graph else resource_graph
    try:
        plan, listing_error = _plan(services, inventory, dry_run=dry_run)
        timings = {"inventory": clock() - started}
        if dry_run:
            plan.notes.append("dry run: nothing written to Azure; resume point and inventory left as they were")
        run.total = len(plan.new) + len(plan.rest)
        if listing_error is not None:
            summary = _summarise(
                run, plan, kind, started_at=started_at, started=started, outcomes=[], stopped=True, started_rest=0
            )
            if services.audit is not None:
                services.audit.record_run(summary)
            raise SweepError(f"sweep {run_id} could not start: {listing_error.message}", summary)
        checks_started = clock()
        try:
            started_rest, stopped, stats = _execute(run, plan, graph if settings.use_resource_graph else None)
        finally:
            run.finish()
        records_started = clock()
        timings["checks"] = records_started - checks_started
        order = plan.new + plan.rest
        outcomes = [run.outcomes[s] for s in order if s in run.outcomes]
        plan.calls["resourcegraph.resources"] = stats.requests
        plan.notes.extend(_graph_notes(stats, settings.use_resource_graph, run.total))
        if stopped:
            plan.notes.append(
                f"time budget of {settings.sweep_time_budget_seconds} s spent: {len(outcomes)} of {run.total} "
                "subscription(s) handled; the next sweep continues from here"
            )

        notify = [o for o in outcomes if o.outcome.is_failure or o.outcome.is_change] if services.notifier else []
        for o in notify:
            o.notification = "pending"
        _write_audit(services, outcomes)
        if not dry_run:
            handled = list(plan.infos) if plan.inventory_baseline else [o.subscription_id for o in outcomes]
            _remember(inventory, handled, plan.notes)
        summary = _summarise(
            run,
            plan,
            kind,
            started_at=started_at,
            started=started,
            outcomes=outcomes,
            stopped=stopped,
            started_rest=started_rest,
        )
        if services.audit is not None:
            services.audit.record_run(summary)
        if services.notifier is not None and notify:
            result = services.notifier.notify_digest(summary, outcomes)
            for o in notify:
                o.notification = f"digest: {result}"
            if services.audit is not None:
                services.audit.record_outcomes(notify)
        timings["records"] = clock() - records_started
        logger.info(
            "sweep %s: %d subscription(s) in %.1f s (%s), counts=%s arm_calls=%s complete=%s",
            run_id,
            len(outcomes),
            summary.duration_ms / 1000,
            ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in timings.items()),
            summary.counts,
            summary.arm_calls,
            summary.complete,
        )
        return SweepResult(outcomes, summary, timings)
    finally:
        if owns_graph and graph is not None:
            graph.close()
        if owns_inventory and inventory is not None:
            inventory.close()


def _summarise(
    run: _Run,
    plan: _Plan,
    kind: str,
    *,
    started_at: str,
    started: float,
    outcomes: list[Outcome],
    stopped: bool,
    started_rest: int,
) -> RunSummary:
    summary = RunSummary.from_outcomes(
        run.trigger.id, kind, run.enforcer.settings.mode, started_at, outcomes, (run.clock() - started) * 1000
    )
    for call, count in plan.calls.items():
        if count:
            summary.arm_calls[call] = summary.arm_calls.get(call, 0) + count
    summary.notes = list(plan.notes)
    summary.complete = not stopped
    summary.resume_after = resume_point(plan.rest, started_rest, plan.resume_after) if stopped else None
    return summary


def run_sweep(services: Services, *, dry_run: bool = False, progress: Progress | None = None) -> RunSummary:
    """The timer's entry point: one sweep, its summary."""
    return sweep(services, dry_run=dry_run, progress=progress).summary


__all__ = [
    "COMPLIANT_PER_GRAPH",
    "DRY_RUN_KIND",
    "SWEEP_KIND",
    "SweepError",
    "SweepResult",
    "batches",
    "compliant_per_graph",
    "resume_point",
    "rotate",
    "run_sweep",
    "sweep",
]
