"""The sweep: plan, execute, record (step 3 below), then one run summary and one digest card."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from enforcer.core.account_checks import RECHECK_ACCOUNT_HOURS
from enforcer.core.claims import CLAIM_KEEP_HOURS
from enforcer.core.models import (
    Mode,
    Outcome,
    RunSummary,
    Trigger,
    utc_iso,
    utc_now_iso,
)
from enforcer.core.records import is_notable
from enforcer.core.sweep_plan import resume_point
from enforcer.usecases.account_listing import LIST_ACCOUNTS
from enforcer.usecases.doctor import MAX_CATALOGUE_READS, daily_catalogue
from enforcer.usecases.drift_actors import attribute_all
from enforcer.usecases.health import after_sweep
from enforcer.usecases.notify import resend_pending
from enforcer.usecases.ports import AccountCheckLog, PricingIndex
from enforcer.usecases.protect_accounts import account_pass
from enforcer.usecases.record import new_run_id
from enforcer.usecases.services import Services
from enforcer.usecases.sweep.document_change import announce_document_change
from enforcer.usecases.sweep.execute import Run, execute
from enforcer.usecases.sweep.model import (
    DRY_RUN_KIND,
    FULL_LISTING_MARKER,
    RETENTION_EVERY_HOURS,
    RETENTION_MARKER,
    SWEEP_KIND,
    Plan,
    Progress,
    SweepError,
    SweepResult,
)
from enforcer.usecases.sweep.plan import StoreUnavailable, make_plan
from enforcer.usecases.wire_events import wire_sweep

logger = logging.getLogger(__name__)


def _record_run_end(services: Services, run: Run, plan: Plan, outcomes: list[Outcome], summary: RunSummary) -> None:
    """Step 3, record: the digest card, the notification results, every subscription's current state (batched,
    sharded), the run summary. A store failure here loses no Azure change (those were recorded as they
    happened): it is logged at ERROR and noted in the summary, and the run reports failure."""
    audit, notifier = services.audit, services.notifier
    notify = [o for o in outcomes if o.outcome.needs_attention and o not in run.unrecorded]
    resend_pending(services, summary.notes)
    if notifier is not None and notify:
        result = notifier.notify_digest(summary, outcomes)
        for o in notify:
            o.notification = f"digest: {result}"
    if audit is None or run.store_error is not None:
        return
    try:
        if notifier is not None and notify:
            audit.record_history([o for o in notify if is_notable(o, plan.previous.get(o.subscription_id))])
        audit.record_current(outcomes, previous=plan.current, run_id=run.trigger.id)
    except Exception as error:
        run.store_error = str(error) or type(error).__name__
        logger.error("audit store failed at the end of the sweep (%s): current state not updated", run.store_error)


def _record_notable(services: Services, run: Run, outcomes: Sequence[Outcome]) -> None:
    """Account and wiring decisions that changed something or failed go to the history as they are made."""
    notable = [o for o in outcomes if is_notable(o, None)]
    if services.audit is None or not notable or run.store_error is not None:
        return
    try:
        services.audit.record_history(notable)
    except Exception as error:
        for o in notable:
            logger.error("audit write failed; outcome kept in the log: %s", json.dumps(o.to_dict()))
        run.unrecorded.extend(notable)
        run.store_error = str(error) or type(error).__name__


def _maintain(services: Services, run: Run, plan: Plan, notes: list[str], now: datetime) -> None:
    """Markers for the next runs, and the retention cleanup at most once a day, within the time budget."""
    if plan.full_listing:
        services.sweep_memory[FULL_LISTING_MARKER] = now.isoformat()
    audit = services.audit
    if audit is None or run.store_error is not None:
        return
    try:
        if plan.full_listing:
            audit.set_marker(FULL_LISTING_MARKER, now.isoformat())
        last = audit.marker(RETENTION_MARKER)
        due = last is None or now - datetime.fromisoformat(last) >= timedelta(hours=RETENTION_EVERY_HOURS)
        if not due or run.out_of_time():
            return
        cutoff = now - timedelta(days=services.settings.audit_retention_days)
        deadline = time.monotonic() + max(run.remaining(), 0.0)
        deleted = audit.delete_history_before(cutoff.isoformat(), deadline=deadline)
        if services.claims is not None:
            claims_cutoff = now - timedelta(hours=CLAIM_KEEP_HOURS)
            purged = services.claims.purge(claims_cutoff.isoformat().replace("+00:00", "Z"), deadline=deadline)
            if purged:
                notes.append(f"retention: deleted {purged} event claim(s) older than {CLAIM_KEEP_HOURS:g} h")
        if isinstance(audit, AccountCheckLog):
            # Accounts deleted since leave their check rows behind; a live account's row is rewritten daily.
            checks_cutoff = now - timedelta(hours=2 * RECHECK_ACCOUNT_HOURS)
            gone = audit.delete_account_checks_before(utc_iso(checks_cutoff), deadline=deadline)
            if gone:
                notes.append(f"retention: deleted {gone} AI account check row(s) not written for 2 days")
        audit.set_marker(RETENTION_MARKER, now.isoformat())
        if deleted:
            notes.append(f"retention: deleted {deleted} history row(s) older than {cutoff:%Y-%m-%d}")
    except Exception as error:  # housekeeping: the next sweep tries again
        logger.warning("audit maintenance failed: %s", type(error).__name__)
        notes.append(f"audit maintenance failed ({type(error).__name__}); the next sweep tries again")


def _catalogue_candidates(plan: Plan) -> list[str]:
    """Where to read the AI plan's catalogue: subscriptions in scope, those Resource Graph shows at Standard first."""
    subscriptions = [s for s in [*plan.new, *plan.rest] if s not in plan.excluded]
    standard = [s for s in subscriptions if (p := plan.pricings.get(s)) is not None and p.tier.lower() == "standard"]
    return list(dict.fromkeys([*standard, *subscriptions]))[:MAX_CATALOGUE_READS]


def sweep(
    services: Services,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    resource_graph: PricingIndex | None = None,
) -> SweepResult:
    """One sweep over every subscription in scope; returns the outcomes (in handling order) and the run summary.

    `dry_run` decides and reports without writing (audit mode), and leaves the resume point alone.
    `progress(done, total)` is called as subscriptions finish (from worker threads, one call at a time).
    `resource_graph` replaces the services' one. Raises SweepError when nothing can be swept: no subscription
    list, or an audit store that does not answer before the first write. A store that fails mid-run stops new
    work; the result's `store_error` and `unrecorded` say so (the CLI and the timer report it as a failure).
    """
    settings = services.settings
    enforcer = services.enforcer
    if dry_run and settings.mode is not Mode.AUDIT:
        settings = settings.for_dry_run(dry_run)
        enforcer = services.enforcer.with_settings(settings)
    kind = DRY_RUN_KIND if dry_run else SWEEP_KIND
    run_id = new_run_id("sweep")
    started_at, started = utc_now_iso(), clock()
    run = Run(services, enforcer, Trigger(kind="sweep", id=run_id), started + settings.sweep_time_budget_seconds, clock)
    run.progress = progress

    if resource_graph is not None:
        services = dataclasses.replace(services, resource_graph=resource_graph)
    now = datetime.now(UTC)
    try:
        plan, listing_error = make_plan(services, dry_run=dry_run, now=now)
    except StoreUnavailable as error:
        summary = RunSummary(run_id, kind, settings.mode, started_at, complete=False)
        summary.notes.append(f"audit store unavailable before the first write: {error}")
        logger.error("sweep %s refused to start: the audit store does not answer (%s)", run_id, error)
        raise SweepError(
            f"sweep {run_id} did not start: the audit store does not answer ({error}), so nothing was changed. "
            "Fix: check ENFORCER_STORAGE and the identity's Storage Table Data Contributor role.",
            summary,
        ) from error
    run.previous = plan.previous
    if not dry_run:
        announce_document_change(services, plan)  # issue 20: a changed document is announced, then enforced
    # Once a day: the extensions the AI plan offers; a configured name it lacks is left alone (usecases/doctor.py).
    catalogue = daily_catalogue(services, _catalogue_candidates(plan), now, known=plan.pricings, record=not dry_run)
    if catalogue.settings is not services.settings:
        run.enforcer = services.enforcer.with_settings(catalogue.settings.for_dry_run(dry_run))
    plan.notes.extend(catalogue.notes)
    timings = {"inventory": clock() - started}
    if dry_run:
        plan.notes.append("dry run: nothing written to Azure; resume point left as it was")
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
        started_rest, stopped, settled = execute(run, plan)
    finally:
        run.finish()
    timings["checks"] = clock() - checks_started
    order = plan.new + plan.rest
    outcomes = [run.outcomes[s] for s in order if s in run.outcomes]
    # Then every AI account's own setting in the subscriptions just handled (usecases/protect_accounts.py).
    accounts_started = clock()
    accounts = account_pass(
        services, run.enforcer.settings, run.trigger, outcomes, deadline=run.deadline, clock=clock, now=now
    )
    attribute_all(services, accounts.outcomes, deadline=run.deadline, clock=clock)  # drift: who did it
    _record_notable(services, run, accounts.outcomes)
    outcomes += accounts.outcomes
    if accounts.requests:
        plan.calls["resourcegraph.resources.accounts"] = accounts.requests
    if accounts.list_pages:
        plan.calls[LIST_ACCOUNTS] = accounts.list_pages
    plan.notes.extend(accounts.notes)
    timings["accounts"] = clock() - accounts_started
    # Event wiring for new AI accounts, for the subscriptions just handled (usecases/wire_events.py).
    wiring_started = clock()
    wiring = wire_sweep(services, outcomes, run.trigger, dry_run=dry_run, deadline=run.deadline, clock=clock)
    _record_notable(services, run, wiring.outcomes)
    outcomes += wiring.outcomes
    plan.notes.extend(wiring.notes)
    plan.calls["resourcegraph.resources"] = plan.calls.get("resourcegraph.resources", 0) + wiring.graph_requests
    timings["wiring"] = clock() - wiring_started
    records_started = clock()
    if settled:
        plan.notes.append(f"{settled} subscription(s) compliant per Resource Graph (no ARM call)")
    if not settings.use_resource_graph and run.total:
        plan.notes.append("Resource Graph off (ENFORCER_RESOURCE_GRAPH=off): one ARM GET per subscription")
    if stopped and run.store_error is None and services.stop.is_set():
        plan.notes.append(
            f"stopped on request (SIGINT/SIGTERM): {len(outcomes)} of {run.total} subscription(s) handled; "
            "the next sweep continues from here"
        )
    elif stopped and run.store_error is None:
        plan.notes.append(
            f"time budget of {settings.sweep_time_budget_seconds} s spent: {len(outcomes) - len(accounts.outcomes)} "
            f"of {run.total} "
            "subscription(s) handled; the next sweep continues from here"
        )
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
    _record_run_end(services, run, plan, outcomes, summary)
    if not dry_run:
        _maintain(services, run, plan, summary.notes, now)
    if run.store_error is not None:
        summary.complete = False
        summary.notes.append(
            f"audit store failed mid-run ({run.store_error}): {len(run.unrecorded)} decision(s) not recorded "
            "are in the log at ERROR; no new subscription was started after the failure"
        )
    elif services.audit is not None:
        services.audit.record_run(summary)
    after_sweep(services, summary, outcomes, dry_run=dry_run)  # metrics, and the heartbeat when nothing changed
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
    return SweepResult(outcomes, summary, timings, unrecorded=list(run.unrecorded), store_error=run.store_error)


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
    """The timer's entry point: one sweep, its summary. A store failure mid-run raises, so the run is seen failed."""
    result = sweep(services, dry_run=dry_run, progress=progress)
    if result.store_error is not None:
        raise SweepError(f"sweep {result.summary.run_id}: {result.summary.notes[-1]}", result.summary)
    return result.summary
