"""The ports one process works with, bundled; built by the composition root (enforcer/composition.py)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from enforcer.core.desired_state import Document
from enforcer.core.settings import Settings
from enforcer.usecases.enforce import Enforcer
from enforcer.usecases.ports import (
    AccountGateway,
    AccountIndex,
    ActivityLog,
    AuditLog,
    DoctorProbe,
    EventClaims,
    EventWiring,
    ManagementGroupIndex,
    Metrics,
    NoMetrics,
    Notifier,
    OutboxGauge,
    OwnIdentity,
    PricingGateway,
    PricingIndex,
    TableProbes,
)


class RecentEvents:
    """(event id, subscription) pairs this process has handled: catches duplicates even without an audit store
    (bounded). The pair, not the id alone: an event id reused for another subscription must still enforce it."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, event_id: str, subscription_id: str) -> str | None:
        with self._lock:
            return self._ids.get((event_id, subscription_id.lower()))

    def add(self, event_id: str, subscription_id: str, outcome: str) -> None:
        with self._lock:
            self._ids[(event_id, subscription_id.lower())] = outcome
            while len(self._ids) > self._capacity:
                self._ids.popitem(last=False)


@dataclass
class Services:
    settings: Settings
    arm: PricingGateway
    enforcer: Enforcer
    audit: AuditLog | None = None
    notifier: Notifier | None = None
    resource_graph: PricingIndex | None = None
    wiring: EventWiring | None = None
    recent_events: RecentEvents = field(default_factory=RecentEvents)
    # What this process remembers from one sweep to the next (the last full listing, when there is no audit store).
    sweep_memory: dict[str, str] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=NoMetrics)
    outbox: OutboxGauge | None = None  # the Teams outbox's depth (adapters/outbox.py), when there is one
    # AI accounts' own defenderForAISettings (usecases/protect_accounts.py); None: accounts are not handled.
    accounts: AccountGateway | None = None
    account_index: AccountIndex | None = None
    claims: EventClaims | None = None
    # doctor's reads, for the sweep's daily cheap checks (usecases/doctor.py); None: only the catalogue is read.
    doctor_probe: DoctorProbe | None = None
    table_probes: TableProbes | None = None
    # The Activity Log, to name who caused drift no event reported (usecases/drift_actors.py); None: not asked.
    activity_log: ActivityLog | None = None
    # The management-group tree, for subscriptions Resource Graph did not describe (issue 20); read at most once a
    # sweep, and only while rules match on management groups: the desired-state document sets this when one of its
    # rules names a management group (until then no rule does, and the tree is never read).
    management_groups: ManagementGroupIndex | None = None
    rules_read_management_groups: bool = False
    # The desired-state document (issue 20), read once at start; None only where no composition root built it.
    desired_state: Document | None = None
    # Set by SIGINT/SIGTERM in the CLI: no new work starts; work in flight finishes and is recorded.
    stop: threading.Event = field(default_factory=threading.Event)
    # The enforcer's own object id once learned (setting, else token): "" when neither names it.
    _own_object_id: str | None = field(default=None, repr=False)

    def own_object_id(self) -> str:
        """Who the enforcer is, to recognise its own writes in events: ENFORCER_IDENTITY_OBJECT_ID, else the `oid`
        of its ARM token (read once per process); "" when neither says (then its own writes are read back like
        anyone's: one GET, no PUT)."""
        if self._own_object_id is None:
            learned = self.settings.identity_object_id
            if not learned and isinstance(self.arm, OwnIdentity):
                learned = self.arm.own_object_id() or ""
            self._own_object_id = learned
        return self._own_object_id

    def close(self) -> None:
        """Close every client; the pricing gateway last, since Resource Graph shares its HTTP session."""
        for port in (
            self.activity_log,
            self.doctor_probe,
            self.account_index,
            self.accounts,
            self.wiring,
            self.resource_graph,
            self.audit,
            self.notifier,
            self.arm,
        ):
            if port is not None:
                port.close()
