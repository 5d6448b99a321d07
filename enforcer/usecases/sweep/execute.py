"""Step 2, execute: Resource Graph settles what it can, the rest goes through `Enforcer.enforce` in parallel.

Each notable decision (a change, a failure, a new subscription: `is_notable`) is written to the audit history
as soon as it is made, by the worker that made it, before the next subscription is started. When the store
stops answering, the outcome goes to the log at ERROR with every detail, and the run starts no new work.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from enforcer.core.models import (
    ErrorKind,
    Outcome,
    OutcomeKind,
    PricingState,
    SubscriptionInfo,
    Trigger,
    utc_now_iso,
)
from enforcer.core.records import is_notable
from enforcer.core.sweep_plan import compliant_per_graph, compliant_per_graph_scoped
from enforcer.usecases.drift_actors import attribute_drift
from enforcer.usecases.enforce import Enforcer
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
        self.previous: dict[str, str] = {}
        self.unrecorded: list[Outcome] = []
        self.store_error: str | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="sweep")

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def out_of_time(self) -> bool:
        """The budget is spent, or a stop was asked for (SIGINT/SIGTERM): no new work starts."""
        return self.remaining() <= 0 or self.services.stop.is_set()

    def halted(self) -> bool:
        """The audit store failed: no new work starts (what is in flight finishes and is logged)."""
        with self._lock:
            return self.store_error is not None

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes[outcome.subscription_id] = outcome
            done = len(self.outcomes)
            if self.progress is not None:
                self.progress(done, self.total)

    def submit(self, sub: str, info: SubscriptionInfo | None, *, new: bool) -> bool:
        """Start enforcing one subscription; False (nothing started) when out of time or the store failed."""
        remaining = self.remaining()
        if self.out_of_time() or self.halted() or not self._slots.acquire(timeout=remaining):
            return False
        if self.halted():
            self._slots.release()
            return False
        future = self._pool.submit(self._enforce_one, sub, info, new)
        future.add_done_callback(lambda _: self._slots.release())
        return True

    def _enforce_one(self, sub: str, info: SubscriptionInfo | None, new: bool) -> Outcome:
        try:
            outcome = self.enforcer.enforce(
                sub, self.trigger, info=info, new_subscription=new, budget_seconds=max(self.remaining(), 0.1)
            )
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
        attribute_drift(self.services, outcome, remaining=self.remaining())  # drift: who did it, before recording
        self._record_history(outcome)
        self.record(outcome)
        return outcome

    def _record_history(self, outcome: Outcome) -> None:
        audit = self.services.audit
        if audit is None or not is_notable(outcome, self.previous.get(outcome.subscription_id)):
            return
        if self.services.notifier is not None and outcome.outcome.needs_attention:
            outcome.notification = "pending"  # the digest card follows at the end of the run
        try:
            audit.record_history([outcome])
        except Exception as error:
            logger.error("audit write failed; outcome kept in the log: %s", json.dumps(outcome.to_dict()))
            with self._lock:
                self.unrecorded.append(outcome)
                if self.store_error is None:
                    self.store_error = str(error) or type(error).__name__
                    logger.error("audit store failed mid-sweep (%s): no new subscription is started", self.store_error)

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


def execute(run: Run, plan: Plan) -> tuple[int, bool, int]:
    """Handle the plan in order until done, out of time or halted; (items of `rest` started, stopped, compliant
    per Resource Graph)."""
    desired = run.enforcer.settings.desired
    in_scope = [s for s in plan.pricings if s not in plan.excluded]
    document = run.enforcer.document
    # (state, rule): the rule is named only under a desired-state document (issue 20).
    compliant: dict[str, tuple[PricingState, str | None]] = (
        {s: (p, None) for s, p in compliant_per_graph(in_scope, plan.pricings, desired).items()}
        if document is None
        else dict(
            compliant_per_graph_scoped(
                in_scope, plan.pricings, plan.infos, document, {c.key for c in desired.components}
            )
        )
    )
    for sub in plan.new:
        info = plan.infos[sub]
        if sub in plan.excluded:
            run.record(_excluded_outcome(run, sub, info, plan.excluded[sub], True))
        elif not run.submit(sub, info, new=True):
            return 0, True, 0
    started = settled = 0
    for sub in plan.rest:
        if run.out_of_time() or run.halted():
            return started, True, settled
        info = plan.infos[sub]
        if sub in plan.excluded:
            run.record(_excluded_outcome(run, sub, info, plan.excluded[sub], False))
        elif sub in compliant:
            settled += 1
            state, rule = compliant[sub]
            outcome = _compliant_outcome(run, sub, info, state)
            if rule is not None and document is not None:
                outcome.rule, outcome.desired_state_hash = rule, document.hash
            run.record(outcome)
        elif not run.submit(sub, info, new=False):
            return started, True, settled
        started += 1
    return started, False, settled
