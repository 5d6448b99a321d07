"""The composition root: the one place where adapters are built from settings and plugged into the use cases.

Clients are built lazily by the adapters themselves (cold start); building `Services` does no network call.
"""

from __future__ import annotations

import logging

from enforcer.adapters.arm import ArmGateway, RetrySettings
from enforcer.adapters.desired_state_file import load_desired_state
from enforcer.adapters.redact import install_redaction
from enforcer.core.settings import ConfigError, Settings
from enforcer.core.wiring import WiringMode
from enforcer.usecases.enforce import Enforcer
from enforcer.usecases.ports import (
    AuditLog,
    EventClaims,
    EventWiring,
    Metrics,
    NoMetrics,
    Notifier,
    OutboxGauge,
    PricingIndex,
)
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
    wiring: EventWiring | None = None
    if settings.wiring.mode is not WiringMode.OFF:
        from enforcer.adapters.eventgrid import EventGridGateway

        wiring = EventGridGateway(arm, settings.event_delivery_key)
    # AI accounts: always built (no network until used) so that `coverage` works whatever ENFORCER_ACCOUNT_PROTECTION.
    from enforcer.adapters.activity_log import ActivityLogGateway
    from enforcer.adapters.cognitive import AccountGraph, CognitiveGateway
    from enforcer.adapters.management_groups import ManagementGroupGateway

    outbox = _attach_outbox(audit, notifier)
    desired_state = load_desired_state(settings)  # an invalid document stops the start (ConfigError)
    services = Services(
        settings=settings,
        arm=arm,
        enforcer=Enforcer(settings, arm, document=desired_state),
        audit=audit,
        notifier=notifier,
        resource_graph=resource_graph,
        wiring=wiring,
        accounts=CognitiveGateway(arm),
        account_index=AccountGraph(arm),
        management_groups=ManagementGroupGateway(arm),  # no network until a sweep needs the tree
        claims=_claims_for(audit),
        desired_state=desired_state,
        outbox=outbox,
        activity_log=ActivityLogGateway(arm),
        # The tree is read only while a rule matches on a management group.
        rules_read_management_groups=bool(desired_state is not None and desired_state.by_group),
    )
    # Subscriptions read one by one (events) get management groups from the same tree, while rules may need them.
    services.enforcer.directory.use_tree(services.management_groups, lambda: services.rules_read_management_groups)
    return services


def _attach_outbox(audit: AuditLog | None, notifier: Notifier | None) -> OutboxGauge | None:
    """Cards that cannot be delivered are kept in the audit store's runs table and re-sent by the next run; the
    outbox is also what metrics and `health` read its depth from."""
    if audit is None or notifier is None:
        return None
    from enforcer.adapters.audit_store import AuditStore
    from enforcer.adapters.teams import TeamsNotifier

    if isinstance(audit, AuditStore) and isinstance(notifier, TeamsNotifier) and not notifier.has_outbox:
        from enforcer.adapters.outbox import TableOutbox

        outbox = TableOutbox(audit.tables, audit.runs_table)
        notifier.use_outbox(outbox)
        return outbox
    return None


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

        audit = AuditStore.from_settings(settings)
    if settings.teams_webhook_url:
        from enforcer.adapters.teams import TeamsNotifier

        notifier = TeamsNotifier.from_settings(settings)
    return audit, notifier


def metrics_from_env() -> Metrics:
    """OpenTelemetry metrics when APPLICATIONINSIGHTS_CONNECTION_STRING is set; otherwise nothing is measured."""
    from enforcer.adapters import telemetry

    return telemetry.OtelMetrics() if telemetry.configure_azure_monitor_from_env() else NoMetrics()


def build_cli_services(settings: Settings, *, arm: ArmGateway | None = None) -> Services:
    """The CLI may run without an audit store, but says so loudly."""
    audit, notifier = _audit_and_notifier(settings)
    if audit is None:
        logger.warning(
            "ENFORCER_STORAGE is not set: decisions are NOT written to the audit log. "
            "Set it to a Table storage connection string or account URL to keep an audit trail."
        )
    services = build_services(settings, arm=arm, audit=audit, notifier=notifier)
    services.metrics = metrics_from_env()
    return services


def build_app_services(settings: Settings) -> Services:
    """The function app refuses to start without an audit store: no enforcement goes unrecorded."""
    if not settings.storage:
        raise ConfigError(
            "ENFORCER_STORAGE must be set for the function app (a Table storage account URL or connection "
            "string): every decision is recorded in the audit log before anything else happens"
        )
    audit, notifier = _audit_and_notifier(settings)
    services = _attach_doctor(build_services(settings, audit=audit, notifier=notifier))
    services.metrics = metrics_from_env()
    return services


def _attach_doctor(services: Services) -> Services:
    """doctor's reads (adapters/doctor.py) on the services' ARM gateway and audit store connection: for the
    `doctor` command, and for the sweep's daily cheap checks."""
    from enforcer.adapters.audit_store import AuditStore
    from enforcer.adapters.doctor import TableProber, TenantProbe

    if isinstance(services.arm, ArmGateway):
        services.doctor_probe = TenantProbe(services.arm)
    if isinstance(services.audit, AuditStore):
        services.table_probes = TableProber(services.audit.tables)
    return services


def build_doctor(settings: Settings) -> Services:
    """doctor's services. No telemetry is configured: doctor reports the Application Insights connection, it
    does not send to it."""
    audit, notifier = _audit_and_notifier(settings)
    return _attach_doctor(build_services(settings, audit=audit, notifier=notifier))
