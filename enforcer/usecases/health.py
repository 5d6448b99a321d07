"""Who watches the enforcer: metrics and the Teams heartbeat after each run, and the health verdict.

`after_sweep` is the one call at the end of a sweep; `check_health` reads the runs table for
`python -m enforcer health`. Neither may fail a run: telemetry and the heartbeat are logged and skipped on error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from enforcer.core.health import MISSED_INTERVALS, Health, HealthInput, OutboxDepth, assess, schedule_interval
from enforcer.core.heartbeat import HEARTBEAT_KIND, heartbeat_due, heartbeat_text, is_quiet
from enforcer.core.models import Outcome, RunSummary
from enforcer.usecases.ports import AuditLog, HeartbeatSender
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def outbox_depth(services: Services) -> OutboxDepth | None:
    """The outbox's depth, or None when there is no outbox (or it cannot be read)."""
    if services.outbox is None:
        return None
    try:
        return services.outbox.depth()
    except Exception:
        logger.warning("could not read the Teams outbox depth", exc_info=True)
        return None


def after_sweep(
    services: Services, summary: RunSummary, outcomes: Sequence[Outcome], *, dry_run: bool, now: Clock = utc_now
) -> str | None:
    """Record the sweep's metrics, then send the heartbeat when due; returns the heartbeat's result, if sent."""
    services.metrics.record_sweep(summary, outcomes)
    depth = outbox_depth(services)
    if depth is not None:
        services.metrics.record_outbox(depth)
    if dry_run:
        return None
    try:
        return _heartbeat(services, summary, now())
    except Exception:  # the sweep's own records are written; a heartbeat problem must not fail it
        logger.warning("heartbeat after sweep %s not sent", summary.run_id, exc_info=True)
        return None


def _heartbeat(services: Services, summary: RunSummary, now: datetime) -> str | None:
    notifier: object = services.notifier  # any notifier that can send one (HeartbeatSender)
    audit, hours = services.audit, services.settings.heartbeat_hours
    # Without the runs table there is no way to know when the last one went out: every sweep would send one.
    if hours <= 0 or audit is None or not isinstance(notifier, HeartbeatSender) or not is_quiet(summary):
        return None
    if not heartbeat_due(audit.latest_run(HEARTBEAT_KIND), now, hours):
        return None
    checked_at = now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    result = notifier.notify_heartbeat(summary, heartbeat_text(summary, checked_at))
    if result == "sent":
        audit.record_run(
            RunSummary(
                run_id=summary.run_id,
                kind=HEARTBEAT_KIND,
                mode=summary.mode,
                started_at=checked_at,
                counts=dict(summary.counts),
                complete=summary.complete,
            )
        )
    return result


def max_sweep_age(schedule: str, override: timedelta | None = None) -> timedelta:
    """How old the last sweep may be: `override`, else three schedule intervals. ValueError for a schedule
    health cannot read (the caller asks for an explicit maximum)."""
    return override if override is not None else MISSED_INTERVALS * schedule_interval(schedule)


def check_health(
    audit: AuditLog,
    *,
    now: datetime,
    max_age: timedelta,
    outbox: OutboxDepth | Callable[[], OutboxDepth | None] | None = None,
) -> Health:
    """The verdict from the runs table (latest sweep and latest event run) at `now`.

    `outbox` may be a function: it is called only once the runs table has answered, so a store that does not
    answer costs one deadline, not one per read."""
    # The store may record a schema version of its tables (the sweep/audit restructuring); older ones do not.
    schema = getattr(audit, "schema_version", None)
    if callable(schema):
        schema = schema()
    last_sweep = audit.latest_run("sweep")
    last_event = audit.latest_run("event")
    facts = HealthInput(
        last_sweep=last_sweep,
        last_event=last_event,
        outbox=outbox() if callable(outbox) else outbox,
        schema_version=str(schema) if schema is not None else None,
        last_doctor=audit.latest_run("doctor"),
    )
    return assess(facts, now=now, max_sweep_age=max_age)
