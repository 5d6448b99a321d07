"""The ports: what the use cases need from the outside world, as small Protocols.

Adapters (enforcer/adapters) satisfy them structurally; the composition root plugs them in. Tests may pass
any object with these methods, but adapters are tested against the emulator and Azurite, not with fakes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from enforcer.core.models import Outcome, PricingRows, PricingState, RunSummary, SubscriptionInfo, SubscriptionListing

if TYPE_CHECKING:
    from enforcer.core.health import OutboxDepth
    from enforcer.core.records import AuditRecord


class PricingGateway(Protocol):
    """Azure Resource Manager: the AI plan's pricing and the subscriptions it applies to."""

    def get_pricing(self, subscription_id: str) -> PricingState: ...
    def put_pricing(self, subscription_id: str, target: PricingState) -> PricingState: ...
    def get_subscription(self, subscription_id: str) -> SubscriptionInfo: ...
    def list_subscriptions(self) -> SubscriptionListing: ...
    def close(self) -> None: ...


class AuditLog(Protocol):
    """Where every decision and every run is recorded before anyone is told about it."""

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> object: ...
    def record_run(self, summary: RunSummary) -> None: ...
    def latest_run(self, kind: str) -> RunSummary | None: ...
    def find_by_trigger(self, subscription_id: str, trigger_id: str) -> AuditRecord | None: ...
    def latest_outcomes(self, subscription_id: str | None = None) -> list[AuditRecord]: ...
    def close(self) -> None: ...


class Notifier(Protocol):
    """Teams: one card per change or failure, one digest per run."""

    def notify_outcome(self, outcome: Outcome) -> str: ...
    def notify_digest(self, summary: RunSummary, outcomes: Sequence[Outcome]) -> str: ...
    def close(self) -> None: ...


class Inventory(Protocol):
    """The subscriptions seen before, so that a new one is noticed."""

    def known(self) -> set[str]: ...
    def remember(self, subscription_ids: Iterable[str]) -> int: ...
    def close(self) -> None: ...


class PricingIndex(Protocol):
    """Azure Resource Graph: the AI plan's pricing for many subscriptions per query (can lag behind ARM)."""

    def pricings(self, subscription_ids: Sequence[str]) -> PricingRows: ...
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
    """Cards waiting to be posted to Teams. No outbox exists yet: a durable one (issue 12) fills this port."""

    def depth(self) -> OutboxDepth: ...


@runtime_checkable
class HeartbeatSender(Protocol):
    """A notifier that can say "all compliant" (the Teams notifier does)."""

    def notify_heartbeat(self, summary: RunSummary, text: str) -> str: ...
