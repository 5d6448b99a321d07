"""The enforcer's own telemetry: OpenTelemetry metrics, exported to Application Insights by the Azure Monitor distro.

Off unless APPLICATIONINSIGHTS_CONNECTION_STRING is set (the deployment sets it, and
APPLICATIONINSIGHTS_AUTHENTICATION_STRING, which makes the exporter use the managed identity). The distro and the
OpenTelemetry SDK are imported only then, and only when the services are built, never when function_app is
imported: they cost more than the cold-start budget. The distro also turns on azure-core's OpenTelemetry tracing,
so ARM, Resource Graph and Table calls appear as dependencies.

Metric names are what the alert rules in infra/modules/alerts.bicep query in `customMetrics`: keep them in step.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from enforcer.core.health import OutboxDepth, parse_time
from enforcer.core.models import Outcome, OutcomeKind, RunSummary

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

logger = logging.getLogger(__name__)

CONNECTION_STRING: Final = "APPLICATIONINSIGHTS_CONNECTION_STRING"
METER_NAME: Final = "defender_ai_enforcer"

SWEEPS: Final = "enforcer.sweeps"
SWEEP_DURATION: Final = "enforcer.sweep.duration"
SWEEP_FAILURES: Final = "enforcer.sweep.failures"
SUBSCRIPTIONS_IN_SCOPE: Final = "enforcer.subscriptions.in_scope"
COMPLIANT_SHARE: Final = "enforcer.subscriptions.compliant_share"
REMEDIATIONS: Final = "enforcer.remediations"
FAILURES: Final = "enforcer.failures"
EVENT_DURATION: Final = "enforcer.event.duration"
OUTBOX_PENDING: Final = "enforcer.outbox.pending"
OUTBOX_OLDEST_AGE: Final = "enforcer.outbox.oldest_age"

_configured = False
_lock = threading.Lock()


def configure_azure_monitor_from_env(env: Mapping[str, str] | None = None) -> bool:
    """Configure the Azure Monitor distro once per process when a connection string is set; True if it is."""
    global _configured  # noqa: PLW0603 - one OpenTelemetry pipeline per process, as the distro expects
    env = os.environ if env is None else env
    if not env.get(CONNECTION_STRING, "").strip():
        return False
    with _lock:
        if not _configured:
            from azure.monitor.opentelemetry import configure_azure_monitor

            # Logs already reach Application Insights through the Functions host: exporting them again would
            # double them. The requests/urllib instrumentations are off because they record full URLs, and a
            # legacy Teams webhook URL carries its secret in the path; azure-core's own spans (ARM, Resource
            # Graph, Tables) redact query strings, and the Teams client has no tracing policy at all.
            # Live metrics off: it keeps a connection open per instance for a view nobody watches here.
            configure_azure_monitor(
                disable_logging=True,
                enable_live_metrics=False,
                instrumentation_options={name: {"enabled": False} for name in ("requests", "urllib", "urllib3")},
            )
            _configured = True
            logger.info("telemetry: exporting metrics and dependencies to Application Insights")
    return True


def _failure_kind(outcome: Outcome) -> str:
    return outcome.error_kind.value if outcome.error_kind else outcome.outcome.value


class OtelMetrics:
    """The Metrics port on OpenTelemetry instruments; `meter_provider` None means the global one (the distro's)."""

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        from opentelemetry import metrics

        meter = metrics.get_meter(METER_NAME, meter_provider=meter_provider)
        # Per-sweep values are histograms: exported once, in the interval the sweep ended (delta), so an
        # alert on them fires once per sweep instead of on a gauge re-exported every minute.
        self._sweeps = meter.create_counter(SWEEPS, unit="{sweep}", description="Sweeps finished")
        self._sweep_duration = meter.create_histogram(SWEEP_DURATION, unit="s", description="Sweep duration")
        self._sweep_failures = meter.create_histogram(
            SWEEP_FAILURES, unit="{subscription}", description="Failed or partially failed subscriptions per sweep"
        )
        self._in_scope = meter.create_gauge(
            SUBSCRIPTIONS_IN_SCOPE, unit="{subscription}", description="Subscriptions in scope at the last sweep"
        )
        self._compliant_share = meter.create_gauge(
            COMPLIANT_SHARE, unit="1", description="Share of in-scope subscriptions compliant after the last sweep"
        )
        self._remediations = meter.create_counter(
            REMEDIATIONS, unit="{subscription}", description="Plans brought to the desired state (or would be)"
        )
        self._failures = meter.create_counter(FAILURES, unit="{subscription}", description="Failed enforcements")
        self._event_duration = meter.create_histogram(
            EVENT_DURATION, unit="s", description="Time to handle one Event Grid event"
        )
        self._outbox_pending = meter.create_gauge(OUTBOX_PENDING, unit="{card}", description="Teams cards pending")
        self._outbox_oldest = meter.create_gauge(
            OUTBOX_OLDEST_AGE, unit="s", description="Age of the oldest pending Teams card"
        )

    def _count(self, outcomes: Sequence[Outcome], trigger: str) -> None:
        for o in outcomes:
            if o.outcome.is_change:
                self._remediations.add(1, {"trigger": trigger, "outcome": o.outcome.value})
            elif o.outcome.is_failure:
                self._failures.add(1, {"trigger": trigger, "kind": _failure_kind(o)})

    def record_sweep(self, summary: RunSummary, outcomes: Sequence[Outcome]) -> None:
        try:
            attributes: dict[str, Any] = {"kind": summary.kind, "complete": str(summary.complete).lower()}
            counts = summary.counts
            handled = sum(counts.values())
            in_scope = handled - counts.get(OutcomeKind.EXCLUDED.value, 0)
            compliant = counts.get(OutcomeKind.COMPLIANT.value, 0) + counts.get(OutcomeKind.REMEDIATED.value, 0)
            failures = sum(counts.get(k.value, 0) for k in OutcomeKind if k.is_failure)
            self._sweeps.add(1, attributes)
            self._sweep_duration.record(summary.duration_ms / 1000, attributes)
            self._sweep_failures.record(failures, attributes)
            self._in_scope.set(in_scope, {"kind": summary.kind})
            if in_scope:
                self._compliant_share.set(compliant / in_scope, {"kind": summary.kind})
            self._count(outcomes, "sweep")
        except Exception:  # telemetry never fails a sweep
            logger.warning("telemetry: could not record sweep %s", summary.run_id, exc_info=True)

    def record_event(self, outcomes: Sequence[Outcome], seconds: float) -> None:
        try:
            for o in outcomes:
                self._event_duration.record(seconds, {"outcome": o.outcome.value})
            self._count(outcomes, "event")
        except Exception:
            logger.warning("telemetry: could not record an event", exc_info=True)

    def record_outbox(self, depth: OutboxDepth) -> None:
        try:
            self._outbox_pending.set(depth.pending)
            oldest = parse_time(depth.oldest_enqueued_at or "")
            age = (datetime.now(UTC) - oldest).total_seconds() if oldest and depth.pending else 0.0
            self._outbox_oldest.set(max(0.0, age))
        except Exception:
            logger.warning("telemetry: could not record the outbox depth", exc_info=True)
