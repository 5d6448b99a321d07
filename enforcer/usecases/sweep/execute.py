"""Step 2, execute: Resource Graph settles what it can, the rest goes through `Enforcer.enforce` in parallel."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from enforcer.core.errors import ResourceGraphError
from enforcer.core.models import (
    ErrorKind,
    Outcome,
    OutcomeKind,
    PricingRows,
    PricingState,
    SubscriptionInfo,
    Trigger,
    utc_now_iso,
)
from enforcer.core.sweep_plan import chunked, compliant_per_graph
from enforcer.usecases.enforce import Enforcer
from enforcer.usecases.ports import PricingIndex
from enforcer.usecases.services import Services
from enforcer.usecases.sweep.model import COMPLIANT_PER_GRAPH, Plan, Progress

logger = logging.getLogger(__name__)


class Run:
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


def _decided_without_arm(
    run: Run, sub: str, info: SubscriptionInfo | None, kind: OutcomeKind, **fields: Any
) -> Outcome:
    """An outcome the sweep reaches without an ARM call: excluded by scope, or compliant per Resource Graph."""
    return Outcome(
        subscription_id=sub,
        outcome=kind,
        trigger=run.trigger,
        mode=run.enforcer.settings.mode,
        subscription_name=info.display_name if info else None,
        started_at=utc_now_iso(),
        **fields,
    )


def _excluded_outcome(run: Run, sub: str, info: SubscriptionInfo | None, reason: str, new: bool) -> Outcome:
    return _decided_without_arm(run, sub, info, OutcomeKind.EXCLUDED, reason=reason, new_subscription=new)


def _compliant_outcome(run: Run, sub: str, info: SubscriptionInfo | None, state: PricingState) -> Outcome:
    return _decided_without_arm(
        run, sub, info, OutcomeKind.COMPLIANT, before=state, after=state, reason=COMPLIANT_PER_GRAPH
    )


@dataclass
class _GraphStats:
    batches: int = 0
    failed_batches: int = 0
    fallback_subscriptions: int = 0
    compliant: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)


def _query_graph(graph: PricingIndex, ids: list[str]) -> PricingRows | ResourceGraphError:
    try:
        return graph.pricings(ids)
    except ResourceGraphError as error:
        return error


def execute(run: Run, plan: Plan, graph: PricingIndex | None) -> tuple[int, bool, _GraphStats]:
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
        chunks = list(chunked(plan.rest))
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


def graph_notes(stats: _GraphStats, enabled: bool, total: int) -> list[str]:
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
