"""The ports: what the use cases need from the outside world, as small Protocols.

Adapters (enforcer/adapters) satisfy them structurally; the composition root plugs them in. Tests may pass
any object with these methods, but adapters are tested against the emulator and Azurite, not with fakes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from enforcer.core.accounts import AccountRef, UnreadableAccount
from enforcer.core.ancestry import Ancestry
from enforcer.core.doctor import GraphSample, Permission, TableProbe
from enforcer.core.models import (
    InventoryRows,
    Outcome,
    PricingState,
    RunSummary,
    SubscriptionInfo,
    SubscriptionListing,
)
from enforcer.core.wiring import EventSubscriptionView, SystemTopic, WiringConfig

if TYPE_CHECKING:
    from enforcer.core.account_checks import AccountCheck
    from enforcer.core.activity_log import ActivityEntry
    from enforcer.core.claims import Claim
    from enforcer.core.health import OutboxDepth
    from enforcer.core.records import AuditRecord


class PricingGateway(Protocol):
    """Azure Resource Manager: the AI plan's pricing and the subscriptions it applies to."""

    # `deadline`: seconds this call may spend retrying throttling and conflicts (None: the gateway's default).
    def get_pricing(self, subscription_id: str, *, deadline: float | None = None) -> PricingState: ...
    def put_pricing(
        self, subscription_id: str, target: PricingState, *, deadline: float | None = None
    ) -> PricingState: ...
    def get_subscription(self, subscription_id: str, *, deadline: float | None = None) -> SubscriptionInfo: ...
    def list_subscriptions(self) -> SubscriptionListing: ...
    def close(self) -> None: ...


class AuditLog(Protocol):
    """Where every decision and every run is recorded before anyone is told about it."""

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> object:
        """History rows and current state."""
        ...

    def record_history(self, outcomes: Sequence[Outcome]) -> object:
        """History rows only (the sweep writes current state in one batch at its end)."""
        ...

    def record_current(
        self, outcomes: Sequence[Outcome], *, previous: Mapping[str, AuditRecord] | None = None, run_id: str = ""
    ) -> None:
        """Current state only: each subscription's newest decision and when it was last verified (with
        `previous`, only what changed is rewritten)."""
        ...

    def current_states(self) -> dict[str, AuditRecord]: ...
    def latest_wiring(self) -> list[AuditRecord]: ...
    def marker(self, name: str) -> str | None: ...
    def set_marker(self, name: str, value: str) -> None: ...
    def delete_history_before(self, older_than_iso: str, *, deadline: float | None = None) -> int: ...
    def record_run(self, summary: RunSummary) -> None: ...
    def latest_run(self, kind: str) -> RunSummary | None: ...
    def find_by_trigger(self, subscription_id: str, trigger_id: str) -> AuditRecord | None: ...
    def event_decisions_since(self, subscription_id: str, since_iso: str) -> list[AuditRecord]: ...
    def latest_outcomes(self, subscription_id: str | None = None) -> list[AuditRecord]: ...
    def close(self) -> None: ...


class Notifier(Protocol):
    """Teams: one card per change or failure, one digest per run."""

    def notify_outcome(self, outcome: Outcome) -> str: ...
    def notify_digest(self, summary: RunSummary, outcomes: Sequence[Outcome]) -> str: ...
    def flush_outbox(self, *, limit: int = ..., min_interval: float = ...) -> int | None:
        """Re-send cards kept from earlier failures, oldest first; how many still wait (None: unknown)."""
        ...

    def close(self) -> None: ...


class PricingIndex(Protocol):
    """Azure Resource Graph: subscriptions and their AI pricing in one pass (an index: it can lag behind ARM)."""

    def inventory(self, subscription_ids: Sequence[str] | None = None) -> InventoryRows: ...
    def close(self) -> None: ...


class ManagementGroupIndex(Protocol):
    """The management-group tree, read whole: each subscription's ancestry (the Entities API; issue 20)."""

    def ancestry(self, *, deadline: float | None = None) -> Ancestry: ...
    def close(self) -> None: ...


class Metrics(Protocol):
    """Telemetry of the enforcer itself (OpenTelemetry through Azure Monitor when configured), so that a
    stopped or failing enforcer raises an alert. Implementations never raise: telemetry must not fail a run."""

    def record_sweep(self, summary: RunSummary, outcomes: Sequence[Outcome]) -> None: ...
    def record_event(self, outcomes: Sequence[Outcome], seconds: float) -> None: ...
    def record_outbox(self, depth: OutboxDepth) -> None: ...


class NoMetrics:
    """The default: nothing measured, nothing sent."""

    def record_sweep(self, summary: RunSummary, outcomes: Sequence[Outcome]) -> None:
        return None

    def record_event(self, outcomes: Sequence[Outcome], seconds: float) -> None:
        return None

    def record_outbox(self, depth: OutboxDepth) -> None:
        return None


@runtime_checkable
class OutboxGauge(Protocol):
    """Cards waiting to be posted to Teams (the durable outbox, adapters/outbox.py)."""

    def depth(self) -> OutboxDepth: ...


@runtime_checkable
class HeartbeatSender(Protocol):
    """A notifier that can say "all compliant" (the Teams notifier does)."""

    def notify_heartbeat(self, summary: RunSummary, text: str) -> str: ...


class EventWiring(Protocol):
    """Event Grid and resource groups in each subscription: what event wiring reads and writes.

    Errors are EnforcementError (forbidden, throttled, ...), except `resources_topics`, which raises
    ResourceGraphError so the caller can fall back to listing with ARM.
    """

    def resources_topics(self, subscription_ids: Sequence[str]) -> tuple[dict[str, SystemTopic], int]: ...
    def list_topics(self, subscription_id: str) -> list[SystemTopic]: ...
    def get_event_subscription(self, topic: SystemTopic, name: str) -> EventSubscriptionView | None: ...
    def ensure_resource_group(self, subscription_id: str, name: str, location: str) -> bool: ...
    def create_topic(self, subscription_id: str, resource_group: str, name: str) -> SystemTopic: ...
    def put_event_subscription(self, topic: SystemTopic, config: WiringConfig) -> EventSubscriptionView: ...
    def close(self) -> None: ...


@runtime_checkable
class OwnIdentity(Protocol):
    """The enforcer's own object id, learned from its access token (None when the token is not a JWT)."""

    def own_object_id(self) -> str | None: ...


class AccountGateway(Protocol):
    """Azure Resource Manager: one AI account and its `defenderForAISettings/Default` (core/accounts.py)."""

    def get_account(self, resource_id: str) -> AccountRef | None: ...
    def get_setting(self, resource_id: str) -> str | None: ...
    def put_setting(self, resource_id: str, state: str) -> str: ...
    # (accounts, pages read): a subscription's `Accounts - List`, when Resource Graph cannot list them.
    def list_accounts(
        self, subscription_id: str, *, deadline: float | None = None
    ) -> tuple[list[AccountRef | UnreadableAccount], int]: ...
    def close(self) -> None: ...


@runtime_checkable
class AccountCheckLog(Protocol):
    """An audit store that keeps when each AI account's setting was last read (core/account_checks.py); it writes
    that index itself when it records account outcomes."""

    def account_checks(self) -> dict[str, AccountCheck]: ...
    def delete_account_checks_before(self, older_than_iso: str, *, deadline: float | None = None) -> int: ...


class AccountIndex(Protocol):
    """Azure Resource Graph: the AI accounts of up to 1,000 subscriptions per query; returns (accounts, requests).
    An account whose id cannot be read is an UnreadableAccount in the list, never left out."""

    def accounts(self, subscription_ids: Sequence[str]) -> tuple[list[AccountRef | UnreadableAccount], int]: ...
    def close(self) -> None: ...


class EventClaims(Protocol):
    """One action per (event id, subscription) across instances: an atomic claim before acting."""

    def claim(self, event_id: str, subscription_id: str) -> Claim: ...
    def complete(self, claim: Claim, outcome: str) -> None: ...
    def release(self, claim: Claim) -> None: ...
    def purge(self, older_than_iso: str, *, deadline: float | None = None) -> int: ...


class DoctorProbe(Protocol):
    """The tenant reads only `doctor` makes (adapters/doctor.py; checks in core/doctor.py)."""

    def token_claims(self) -> Mapping[str, Any] | None: ...
    def permissions(self, scope: str) -> tuple[Permission, ...]: ...
    def graph_samples(self, subscription_ids: list[str] | None) -> list[GraphSample]: ...
    def close(self) -> None: ...


class TableProbes(Protocol):
    """A probe row written, read back and deleted in one audit table (doctor, and the sweep's daily check)."""

    def probe(self, table: str) -> TableProbe: ...
    def close(self) -> None: ...


class ActivityLog(Protocol):
    """Azure Monitor's Activity Log of a subscription: a resource's recent entries (core/activity_log.py), to name
    who caused drift the sweep found. Raises EnforcementError (403 as FORBIDDEN, ...)."""

    def entries(
        self, subscription_id: str, resource_uri: str, *, deadline: float | None = None
    ) -> list[ActivityEntry]: ...
    def close(self) -> None: ...
