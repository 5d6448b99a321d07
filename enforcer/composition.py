"""The one place where adapters are built from settings and handed to the core.

Tests build `Services` with real local servers (emulator, Azurite, webhook sink) or small recording fakes.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from enforcer.adapters.arm import ArmGateway
from enforcer.core.models import Outcome, RunSummary, Trigger
from enforcer.core.settings import Settings
from enforcer.usecases.enforce import Enforcer, utc_now_iso

if TYPE_CHECKING:  # azure-data-tables is imported only when an audit store is configured (cold start)
    from enforcer.adapters.audit_store import AuditStore

logger = logging.getLogger(__name__)


class Notifier(Protocol):
    def notify_outcome(self, outcome: Outcome) -> str: ...
    def notify_digest(self, summary: RunSummary, outcomes: Sequence[Outcome]) -> str: ...


@dataclass
class Services:
    settings: Settings
    arm: ArmGateway
    enforcer: Enforcer
    audit: AuditStore | None = None
    notifier: Notifier | None = None

    def close(self) -> None:
        self.arm.close()
        for closeable in (self.audit, self.notifier):
            close = getattr(closeable, "close", None)
            if callable(close):
                close()


def build_services(
    settings: Settings,
    *,
    arm: ArmGateway | None = None,
    audit: AuditStore | None = None,
    notifier: Notifier | None = None,
) -> Services:
    """Wire adapters from settings. Audit store and notifier are only built here when not passed in."""
    arm = arm or ArmGateway(settings.arm_endpoint, pool_size=max(16, settings.sweep_concurrency * 2))
    return Services(settings=settings, arm=arm, enforcer=Enforcer(settings, arm), audit=audit, notifier=notifier)


def new_run_id(kind: str) -> str:
    return f"{kind}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"


def enforce_many(
    services: Services, subscription_ids: Sequence[str], trigger: Trigger, concurrency: int = 8
) -> list[Outcome]:
    """Enforce several subscriptions with bounded concurrency, keeping the input order."""
    if len(subscription_ids) <= 1 or concurrency <= 1:
        return [services.enforcer.enforce(s, trigger) for s in subscription_ids]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(subscription_ids))) as pool:
        return list(pool.map(lambda s: services.enforcer.enforce(s, trigger), subscription_ids))


def publish(services: Services, outcomes: Sequence[Outcome]) -> None:
    """Audit every outcome, and notify Teams of changes and failures.

    The record is written before the card is sent (no action goes unrecorded), then updated with the
    notification's result. An audit failure raises: the invocation must fail so that it is retried.
    """
    notify = [o for o in outcomes if o.outcome.is_failure or o.outcome.is_change] if services.notifier else []
    for o in notify:
        o.notification = "pending"
    if services.audit is not None:
        try:
            services.audit.record_outcomes(outcomes)
        except Exception:
            # The invocation fails and is retried, but what was already done must not vanish: keep it in the logs.
            for o in outcomes:
                logger.error("audit write failed; outcome kept in the log: %s", json.dumps(o.to_dict()))
            raise
    if services.notifier is None:
        return
    for o in notify:
        o.notification = services.notifier.notify_outcome(o)
    if services.audit is not None and notify:
        services.audit.record_outcomes(notify)


def finish_run(
    services: Services, run_id: str, kind: str, *, started_at: str, started: float, outcomes: Sequence[Outcome]
) -> RunSummary:
    summary = RunSummary.from_outcomes(
        run_id, kind, services.settings.mode, started_at, list(outcomes), (time.perf_counter() - started) * 1000
    )
    if services.audit is not None:
        services.audit.record_run(summary)
    if services.notifier is not None and any(o.outcome.is_failure or o.outcome.is_change for o in outcomes):
        services.notifier.notify_digest(summary, outcomes)
    return summary


def run_enforcement(
    services: Services, subscription_ids: Sequence[str], kind: str = "cli"
) -> tuple[list[Outcome], RunSummary]:
    """One run over a list of subscriptions: enforce, audit, notify, summarise."""
    run_id = new_run_id(kind)
    started_at, started = utc_now_iso(), time.perf_counter()
    trigger = Trigger(kind=kind, id=run_id)
    outcomes = enforce_many(services, subscription_ids, trigger, concurrency=services.settings.sweep_concurrency)
    publish(services, outcomes)
    summary = finish_run(services, run_id, kind, started_at=started_at, started=started, outcomes=outcomes)
    return outcomes, summary


def _audit_and_notifier(settings: Settings) -> tuple[AuditStore | None, Notifier | None]:
    audit: AuditStore | None = None
    notifier: Notifier | None = None
    if settings.storage:
        from enforcer.adapters.audit_store import AuditStore

        audit = AuditStore.from_settings(settings)
    if settings.teams_webhook_url:
        from enforcer.adapters.redact import install_redaction
        from enforcer.adapters.teams import TeamsNotifier

        install_redaction(settings.teams_webhook_url)
        notifier = TeamsNotifier.from_settings(settings)
    return audit, notifier


def build_cli_services(settings: Settings, *, arm: ArmGateway | None = None) -> Services:
    """The CLI may run without an audit store, but says so loudly."""
    audit, notifier = _audit_and_notifier(settings)
    if audit is None:
        logger.warning(
            "ENFORCER_STORAGE is not set: decisions are NOT written to the audit log. "
            "Set it to a Table storage connection string or account URL to keep an audit trail."
        )
    return build_services(settings, arm=arm, audit=audit, notifier=notifier)


def build_app_services(settings: Settings) -> Services:
    """The function app refuses to start without an audit store: no enforcement goes unrecorded."""
    from enforcer.core.settings import ConfigError

    if not settings.storage:
        raise ConfigError(
            "ENFORCER_STORAGE must be set for the function app (a Table storage account URL or connection "
            "string): every decision is recorded in the audit log before anything else happens"
        )
    audit, notifier = _audit_and_notifier(settings)
    return build_services(settings, audit=audit, notifier=notifier)
