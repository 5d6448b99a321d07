"""The composition root: the one place where adapters are built from settings and plugged into the use cases.

Clients are built lazily by the adapters themselves (cold start); building `Services` does no network call.
"""

from __future__ import annotations

import logging

from enforcer.adapters.arm import ArmGateway, RetrySettings
from enforcer.adapters.redact import install_redaction
from enforcer.core.settings import ConfigError, Settings
from enforcer.usecases.enforce import Enforcer
from enforcer.usecases.ports import AuditLog, EventClaims, Notifier, PricingIndex
from enforcer.usecases.services import Services

logger = logging.getLogger(__name__)


def build_services(
    settings: Settings,
    *,
    arm: ArmGateway | None = None,
    audit: AuditLog | None = None,
    notifier: Notifier | None = None,
) -> Services:
    """Wire adapters from settings. The audit store and the notifier are only built here when not passed in."""
    install_redaction()  # every log line from here on: control characters in values escaped
    arm = arm or ArmGateway(
        settings.arm_endpoint,
        retry=RetrySettings(deadline_seconds=settings.arm_retry_deadline_seconds),
        pool_size=max(16, settings.sweep_concurrency * 2),
        scope=settings.arm_scope,
    )
    resource_graph: PricingIndex | None = None
    if settings.use_resource_graph:
        from enforcer.adapters.resource_graph import ResourceGraphGateway

        resource_graph = ResourceGraphGateway(arm)
    _attach_outbox(audit, notifier)
    return Services(
        settings=settings,
        arm=arm,
        enforcer=Enforcer(settings, arm),
        audit=audit,
        notifier=notifier,
        resource_graph=resource_graph,
        claims=_claims_for(audit),
    )


def _attach_outbox(audit: AuditLog | None, notifier: Notifier | None) -> None:
    """Cards that cannot be delivered are kept in the audit store's runs table and re-sent by the next run."""
    if audit is None or notifier is None:
        return
    from enforcer.adapters.audit_store import AuditStore
    from enforcer.adapters.teams import TeamsNotifier

    if isinstance(audit, AuditStore) and isinstance(notifier, TeamsNotifier) and not notifier.has_outbox:
        from enforcer.adapters.outbox import TableOutbox

        notifier.use_outbox(TableOutbox(audit.tables, audit.runs_table))


def _claims_for(audit: AuditLog | None) -> EventClaims | None:
    """Event claims live in the audit store's runs table, on its connection."""
    if audit is None:
        return None
    from enforcer.adapters.audit_store import AuditStore  # loaded already when `audit` is one

    if not isinstance(audit, AuditStore):
        return None
    from enforcer.adapters.claims import TableEventClaims

    return TableEventClaims(audit.tables, audit.runs_table)


def _audit_and_notifier(settings: Settings) -> tuple[AuditLog | None, Notifier | None]:
    # azure-data-tables and the Teams client are imported only when configured (cold start).
    audit: AuditLog | None = None
    notifier: Notifier | None = None
    if settings.storage:
        from enforcer.adapters.audit_store import AuditStore

        audit = AuditStore(settings.storage, audit_table=settings.audit_table, runs_table=settings.runs_table)
    if settings.teams_webhook_url:
        from enforcer.adapters.teams import TeamsNotifier

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
    if not settings.storage:
        raise ConfigError(
            "ENFORCER_STORAGE must be set for the function app (a Table storage account URL or connection "
            "string): every decision is recorded in the audit log before anything else happens"
        )
    audit, notifier = _audit_and_notifier(settings)
    return build_services(settings, audit=audit, notifier=notifier)
