"""The sweep: plan, execute, record (step 3 below), then one run summary and one digest card."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from enforcer.core.errors import InventoryError
from enforcer.core.models import (
    Mode,
    Outcome,
    RunSummary,
    Trigger,
    utc_now_iso,
)
from enforcer.core.sweep_plan import resume_point
from enforcer.usecases.enforce import Enforcer
from enforcer.usecases.ports import Inventory, PricingIndex
from enforcer.usecases.protect_accounts import account_pass
from enforcer.usecases.record import new_run_id
from enforcer.usecases.services import Services
from enforcer.usecases.sweep.execute import Run, execute, graph_notes
from enforcer.usecases.sweep.model import DRY_RUN_KIND, SWEEP_KIND, Plan, Progress, SweepError, SweepResult
from enforcer.usecases.sweep.plan import make_plan

AUDIT_CHUNK: Final = 100
AUDIT_WRITERS: Final = 8

logger = logging.getLogger(__name__)


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


def _remember(inventory: Inventory | None, ids: Sequence[str], notes: list[str]) -> None:
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
    resource_graph: PricingIndex | None = None,
    inventory: Inventory | None = None,
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
    run = Run(services, enforcer, Trigger(kind="sweep", id=run_id), started + settings.sweep_time_budget_seconds, clock)
    run.progress = progress

    inventory = inventory if inventory is not None else services.inventory
    graph = resource_graph if resource_graph is not None else services.resource_graph
    plan, listing_error = make_plan(services, inventory, dry_run=dry_run)
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
        started_rest, stopped, stats = execute(run, plan, graph if settings.use_resource_graph else None)
    finally:
        run.finish()
    records_started = clock()
    timings["checks"] = records_started - checks_started
    order = plan.new + plan.rest
    outcomes = [run.outcomes[s] for s in order if s in run.outcomes]
    # Then every AI account's own setting in the subscriptions just handled (usecases/protect_accounts.py).
    accounts_started = clock()
    accounts = account_pass(services, run.enforcer.settings, run.trigger, outcomes, deadline=run.deadline, clock=clock)
    outcomes += accounts.outcomes
    if accounts.requests:
        plan.calls["resourcegraph.resources.accounts"] = accounts.requests
    plan.notes.extend(accounts.notes)
    records_started = clock()
    timings["accounts"] = records_started - accounts_started
    plan.calls["resourcegraph.resources"] = stats.requests
    plan.notes.extend(graph_notes(stats, settings.use_resource_graph, run.total))
    if stopped:
        plan.notes.append(
            f"time budget of {settings.sweep_time_budget_seconds} s spent: {len(outcomes) - len(accounts.outcomes)} "
            f"of {run.total} "
            "subscription(s) handled; the next sweep continues from here"
        )

    notify = [o for o in outcomes if o.outcome.is_failure or o.outcome.is_change] if services.notifier else []
    for o in notify:
        o.notification = "pending"
    _write_audit(services, outcomes)
    if not dry_run:
        handled = (
            list(plan.infos) if plan.inventory_baseline else [o.subscription_id for o in outcomes if not o.is_account]
        )
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


def _summarise(
    run: Run,
    plan: Plan,
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
