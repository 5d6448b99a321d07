"""Record, then notify: the one path every entry point (CLI, events, sweep) takes after deciding.

The record is written before the card is sent (no action goes unrecorded), then updated with the
notification's result. An audit failure raises: the invocation must fail so that it is retried.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from enforcer.core.models import Outcome, RunSummary, Trigger, utc_now_iso
from enforcer.usecases.notify import resend_pending
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)

# Added to an audit-store error after which outcomes were logged at ERROR because they could not be recorded.
UNRECORDED_NOTE = "each outcome that could not be recorded is logged at ERROR"


def new_run_id(kind: str) -> str:
    return f"{kind}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"


def record_outcomes(services: Services, outcomes: Sequence[Outcome]) -> None:
    """Write these outcomes to the audit store (when there is one); on failure log each one at ERROR, then raise."""
    if services.audit is None or not outcomes:
        return
    try:
        services.audit.record_outcomes(outcomes)
    except Exception as error:
        # The invocation fails and is retried, but what was already done must not vanish: keep it in the logs.
        for o in outcomes:
            logger.error("audit write failed; outcome kept in the log: %s", json.dumps(o.to_dict()))
        error.add_note(UNRECORDED_NOTE)  # so a message about this error can say so truthfully
        raise


def record_and_notify(
    services: Services,
    outcomes: Sequence[Outcome],
    *,
    send: Callable[[Sequence[Outcome]], None] | None = None,
) -> None:
    """Audit every outcome, then tell Teams about those that need attention, then record how that went.

    By default each such outcome gets its own card; the sweep passes `send` to post one digest instead.
    """
    notify = [o for o in outcomes if o.outcome.needs_attention] if services.notifier else []
    for o in notify:
        o.notification = "pending"
    record_outcomes(services, outcomes)
    if services.notifier is None or not notify:
        return
    if send is None:
        for o in notify:
            o.notification = services.notifier.notify_outcome(o)
    else:
        send(notify)
    record_outcomes(services, notify)


def finish_run(services: Services, summary: RunSummary, outcomes: Sequence[Outcome]) -> RunSummary:
    """Re-send cards kept from earlier runs; record the run summary; one digest card when anything changed or
    failed (it says how many cards are still pending)."""
    resend_pending(services, summary.notes)
    if services.audit is not None:
        services.audit.record_run(summary)
    if services.notifier is not None and any(o.outcome.needs_attention for o in outcomes):
        services.notifier.notify_digest(summary, outcomes)
    return summary


def summarise(
    services: Services, run_id: str, kind: str, *, started_at: str, started: float, outcomes: Sequence[Outcome]
) -> RunSummary:
    return RunSummary.from_outcomes(
        run_id, kind, services.settings.mode, started_at, list(outcomes), (time.perf_counter() - started) * 1000
    )


def enforce_many(
    services: Services, subscription_ids: Sequence[str], trigger: Trigger, concurrency: int = 8
) -> list[Outcome]:
    """Enforce several subscriptions with bounded concurrency, keeping the input order. Once `services.stop` is set
    no new subscription is started (those are left out of the result)."""

    def one(sub: str) -> Outcome | None:
        return None if services.stop.is_set() else services.enforcer.enforce(sub, trigger)

    if len(subscription_ids) <= 1 or concurrency <= 1:
        results = [one(s) for s in subscription_ids]
    else:
        with ThreadPoolExecutor(max_workers=min(concurrency, len(subscription_ids))) as pool:
            results = list(pool.map(one, subscription_ids))
    return [o for o in results if o is not None]


def run_enforcement(
    services: Services, subscription_ids: Sequence[str], kind: str = "cli"
) -> tuple[list[Outcome], RunSummary]:
    """One run over a list of subscriptions: enforce, record and notify, summarise."""
    run_id = new_run_id(kind)
    started_at, started = utc_now_iso(), time.perf_counter()
    trigger = Trigger(kind=kind, id=run_id)
    outcomes = enforce_many(services, subscription_ids, trigger, concurrency=services.settings.sweep_concurrency)
    record_and_notify(services, outcomes)
    summary = summarise(services, run_id, kind, started_at=started_at, started=started, outcomes=outcomes)
    return outcomes, finish_run(services, summary, outcomes)
