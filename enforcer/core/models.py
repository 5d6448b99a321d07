"""Value types shared by the core, the adapters and the triggers.

They carry no behaviour beyond (de)serialisation so that the decision, the
audit store, the Teams cards and the CLI all speak about the same things. Over 300 lines because
every value type lives here, with the one outcome ordering beside the outcome kinds it orders.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from enforcer.core.actors import Actor

PLAN_NAME = "AI"
# Resource Graph takes at most 1,000 subscriptions per query from SDK clients.
MAX_SUBSCRIPTIONS_PER_QUERY = 1000
STANDARD = "Standard"
FREE = "Free"


class ComponentSetting(enum.StrEnum):
    """What the enforcer does with one optional plan component (a pricing extension)."""

    ON = "on"
    OFF = "off"
    UNMANAGED = "unmanaged"


class Mode(enum.StrEnum):
    ENFORCE = "enforce"
    AUDIT = "audit"


class OutcomeKind(enum.StrEnum):
    COMPLIANT = "compliant"
    REMEDIATED = "remediated"
    WOULD_REMEDIATE = "would_remediate"
    EXCLUDED = "excluded"
    FAILED = "failed"
    PARTIALLY_FAILED = "partially_failed"
    # Event handling only: the event was not about a subscription to enforce.
    IGNORED = "ignored"
    REJECTED = "rejected"
    # Event wiring (enforcer/core/wiring.py): the subscription's event subscription for new AI accounts. Kinds
    # of their own, so that a wiring failure is never counted or shown as a failure of the plan.
    WIRED = "wired"
    WOULD_WIRE = "would_wire"
    ALREADY_WIRED = "already_wired"
    WIRING_FAILED = "wiring_failed"
    # Event path only (issue 19): another actor keeps undoing the enforcer's restores; the event path stops
    # restoring that resource for the rest of the window (the sweep still enforces). A failure: protection is off.
    CONFLICT = "conflict"

    @property
    def is_failure(self) -> bool:
        return self in (
            OutcomeKind.FAILED,
            OutcomeKind.PARTIALLY_FAILED,
            OutcomeKind.WIRING_FAILED,
            OutcomeKind.CONFLICT,
        )

    @property
    def is_change(self) -> bool:
        return self in (OutcomeKind.REMEDIATED, OutcomeKind.WOULD_REMEDIATE, OutcomeKind.WIRED, OutcomeKind.WOULD_WIRE)

    @property
    def is_wiring(self) -> bool:
        return self in WIRING_OUTCOMES

    @property
    def needs_attention(self) -> bool:
        """Failures and changes: what is carded, counted in digests and listed first."""
        return self.is_failure or self.is_change


# What needs attention first: failures, then changes, then the quiet outcomes. The one ordering of outcomes
# for tables, `status`, cards and digests.
OUTCOME_ORDER: tuple[OutcomeKind, ...] = (
    OutcomeKind.FAILED,
    OutcomeKind.CONFLICT,
    OutcomeKind.PARTIALLY_FAILED,
    OutcomeKind.WIRING_FAILED,
    OutcomeKind.REJECTED,
    OutcomeKind.REMEDIATED,
    OutcomeKind.WOULD_REMEDIATE,
    OutcomeKind.WIRED,
    OutcomeKind.WOULD_WIRE,
    OutcomeKind.EXCLUDED,
    OutcomeKind.IGNORED,
    OutcomeKind.COMPLIANT,
    OutcomeKind.ALREADY_WIRED,
)

WIRING_OUTCOMES: frozenset[OutcomeKind] = frozenset(
    {OutcomeKind.WIRED, OutcomeKind.WOULD_WIRE, OutcomeKind.ALREADY_WIRED, OutcomeKind.WIRING_FAILED}
)


def attention_rank(outcome: OutcomeKind | str) -> int:
    """0 for the most urgent outcome kind; unknown kinds (from a newer writer) sort last."""
    try:
        return OUTCOME_ORDER.index(OutcomeKind(outcome))
    except ValueError:
        return len(OUTCOME_ORDER)


def utc_now_iso() -> str:
    """Now, as ISO 8601 UTC with milliseconds and a Z: the form of every time the enforcer records."""
    return utc_iso(datetime.now(UTC))


def utc_iso(moment: datetime) -> str:
    """A time in the form of every time the enforcer records (see utc_now_iso), so that stored times compare as text."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ErrorKind(enum.StrEnum):
    """Why an enforcement failed; each kind maps to advice a tenant admin can act on."""

    FORBIDDEN = "forbidden"
    SUBSCRIPTION_NOT_FOUND = "subscription_not_found"
    SUBSCRIPTION_DISABLED = "subscription_disabled"
    PROVIDER_NOT_REGISTERED = "provider_not_registered"
    CONFLICT = "conflict"
    THROTTLED = "throttled"
    UNAUTHENTICATED = "unauthenticated"
    EXTENSION_FAILED = "extension_failed"
    # A configured extension name Azure rejects (400) or leaves out of its answer.
    UNKNOWN_EXTENSION = "unknown_extension"
    # Azure's answer to the PUT (and the one follow-up PUT) still differs from the desired state.
    NOT_CONVERGED = "not_converged"
    # Two desired-state rules at one precedence level match the subscription and disagree (core/desired_state.py).
    DESIRED_STATE_CONFLICT = "desired_state_conflict"
    UNEXPECTED = "unexpected"


@dataclass(frozen=True)
class Component:
    """One optional plan component: its stable key, its pricing extension name, and the wanted setting."""

    key: str  # "prompt_evidence" | "data_security" | "model_security"
    extension_name: str
    setting: ComponentSetting


@dataclass(frozen=True)
class DesiredState:
    """The plan is always wanted at Standard; components as configured.

    `unlisted_off`: extensions no component names (a component Microsoft adds later, or the real name of one
    configured under a wrong name) are wanted off; otherwise (`keep`) whatever Azure chose is kept.
    """

    components: tuple[Component, ...]
    unlisted_off: bool = False

    def is_listed(self, extension_name: str) -> bool:
        lowered = extension_name.lower()
        return any(c.extension_name.lower() == lowered for c in self.components)

    def extension_names(self) -> tuple[str, ...]:
        return tuple(c.extension_name for c in self.components)


@dataclass(frozen=True)
class ExtensionState:
    name: str
    enabled: bool
    # operationStatus as returned by ARM after a PUT (None when absent, e.g. on GET).
    status_code: str | None = None
    status_message: str | None = None

    @property
    def failed(self) -> bool:
        return (self.status_code or "").lower() == "failed"


@dataclass(frozen=True)
class PricingState:
    """What ARM says about `pricings/AI` on one subscription (the parts we reason about)."""

    tier: str
    extensions: tuple[ExtensionState, ...] = ()
    sub_plan: str | None = None

    def extension(self, name: str) -> ExtensionState | None:
        for ext in self.extensions:
            if ext.name.lower() == name.lower():
                return ext
        return None

    def to_dict(self) -> dict[str, Any]:
        """A compact form for audit records and JSON output: {"tier": ..., "extensions": {name: bool}}."""
        return {
            "tier": self.tier,
            "extensions": {e.name: e.enabled for e in self.extensions},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PricingState:
        exts = data.get("extensions") or {}
        return cls(
            tier=str(data.get("tier", FREE)),
            extensions=tuple(ExtensionState(str(n), bool(v)) for n, v in exts.items()),
        )


@dataclass(frozen=True)
class SubscriptionInfo:
    """A subscription's name, state and tags: what the scope rules read."""

    subscription_id: str
    display_name: str | None
    state: str | None
    tags: dict[str, str] = field(default_factory=dict)
    # Management-group ancestry, nearest parent first, tenant root last (ids as Azure names them, e.g. "mg-prod");
    # empty when unknown. Desired-state rules match on it (issue 20).
    management_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubscriptionListing:
    """Every subscription the subscriptions API returned, and the pages it took."""

    subscriptions: list[SubscriptionInfo]
    pages: int


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between observed and desired state: `pricingTier` or `extensions.<name>`."""

    field: str
    before: str
    after: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Remediation:
    """The change the decision asks for: the full pricing to PUT and the fields it changes."""

    target: PricingState
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class Trigger:
    """What caused an enforcement: a CLI run, an Event Grid event, or a sweep."""

    kind: str  # "cli" | "event" | "sweep" | "demo"
    id: str  # event id, sweep run id, or CLI run id
    type: str = ""  # event type, or "" for cli/sweep

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "type": self.type}


@dataclass
class Outcome:
    """The record of one decision on one subscription; the unit of audit, notification and output."""

    subscription_id: str
    outcome: OutcomeKind
    trigger: Trigger
    mode: Mode = Mode.ENFORCE
    subscription_name: str | None = None
    changes: list[FieldChange] = field(default_factory=list)
    before: PricingState | None = None
    after: PricingState | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    # Excluded/ignored/rejected: why.
    reason: str | None = None
    new_subscription: bool = False
    started_at: str = ""  # ISO 8601 UTC
    duration_ms: float = 0.0
    arm_calls: dict[str, int] = field(default_factory=dict)
    # Filled by the notifier: "sent" | "not_needed" | "failed: <why>" | "skipped_duplicate".
    notification: str | None = None
    # Set when the decision is about one AI account's defenderForAISettings (core/accounts.py), not the plan:
    # its resource id and its `properties.state` before and after (`before`/`after` above stay None).
    resource_id: str | None = None
    account_before: str | None = None
    account_after: str | None = None
    # Who made the change this decision answers (core/actors.py): from the event's claims, or from the Activity
    # Log for drift the sweep found; None when nobody was asked (a compliant sweep check, a CLI run).
    actor: Actor | None = None
    # Issue 20, set only when ENFORCER_DESIRED_STATE names a document: the rule(s) that decided, and the document's
    # hash (core/desired_state.py). Without a document both stay None and the record is as before.
    rule: str | None = None
    desired_state_hash: str | None = None

    @property
    def is_account(self) -> bool:
        return self.resource_id is not None

    def to_dict(self) -> dict[str, Any]:
        account = (
            {
                "resource_id": self.resource_id,
                "account_before": self.account_before,
                "account_after": self.account_after,
            }
            if self.resource_id is not None
            else {}
        )
        return {
            "subscription_id": self.subscription_id,
            "subscription_name": self.subscription_name,
            "outcome": self.outcome.value,
            "mode": self.mode.value,
            "trigger": self.trigger.to_dict(),
            "changes": [c.to_dict() for c in self.changes],
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
            "error": self.error,
            "error_kind": self.error_kind.value if self.error_kind else None,
            "reason": self.reason,
            "new_subscription": self.new_subscription,
            "started_at": self.started_at,
            "duration_ms": round(self.duration_ms, 1),
            "arm_calls": dict(self.arm_calls),
            "notification": self.notification,
            **account,
            **({"actor": self.actor.to_dict()} if self.actor is not None else {}),
            **({"rule": self.rule, "desired_state_hash": self.desired_state_hash} if self.rule is not None else {}),
        }

    def replace(self, **changes: Any) -> Outcome:
        return dataclasses.replace(self, **changes)


@dataclass
class RunSummary:
    """One CLI run, event batch or sweep: what it decided, in counts."""

    run_id: str
    kind: str  # "cli" | "event" | "sweep" | "demo"
    mode: Mode
    started_at: str  # ISO 8601 UTC
    duration_ms: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  # outcome kind -> count
    arm_calls: dict[str, int] = field(default_factory=dict)  # call kind -> count
    new_subscriptions: int = 0
    notes: list[str] = field(default_factory=list)  # e.g. "Resource Graph unavailable; used direct GETs"
    # Sweep only: where a sweep that ran out of time stopped (the next run resumes there).
    resume_after: str | None = None
    complete: bool = True

    @classmethod
    def from_outcomes(
        cls, run_id: str, kind: str, mode: Mode, started_at: str, outcomes: list[Outcome], duration_ms: float
    ) -> RunSummary:
        counts: dict[str, int] = {}
        calls: dict[str, int] = {}
        for o in outcomes:
            counts[o.outcome.value] = counts.get(o.outcome.value, 0) + 1
            for k, v in o.arm_calls.items():
                calls[k] = calls.get(k, 0) + v
        return cls(
            run_id=run_id,
            kind=kind,
            mode=mode,
            started_at=started_at,
            duration_ms=duration_ms,
            counts=counts,
            arm_calls=calls,
            new_subscriptions=sum(1 for o in outcomes if o.new_subscription),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "mode": self.mode.value,
            "started_at": self.started_at,
            "duration_ms": round(self.duration_ms, 1),
            "counts": dict(self.counts),
            "arm_calls": dict(self.arm_calls),
            "new_subscriptions": self.new_subscriptions,
            "notes": list(self.notes),
            "resume_after": self.resume_after,
            "complete": self.complete,
        }


@dataclass(frozen=True)
class InventoryRows:
    """What Resource Graph says in one pass: the subscriptions (name, state, tags) and their AI pricing.

    `pricings` maps a listed subscription id (lowercase) to its pricing, or to None when it has no readable
    pricing row (not registered, not readable, or not indexed yet): such a subscription needs an ARM GET.
    A subscription Resource Graph does not list at all is unknown to it (not indexed yet, or not visible).
    """

    subscriptions: list[SubscriptionInfo] = field(default_factory=list)
    pricings: dict[str, PricingState | None] = field(default_factory=dict)
    requests: int = 0
    quota_wait_seconds: float = 0.0
