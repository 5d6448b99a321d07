"""Outcome builders for the audit and Teams tests (literal values, built straight from enforcer.core.models)."""

from __future__ import annotations

from typing import Any

from enforcer.core.models import (
    ErrorKind,
    ExtensionState,
    FieldChange,
    Mode,
    Outcome,
    OutcomeKind,
    PricingState,
    Trigger,
)

FREE = PricingState("Free")
STANDARD_FULL = PricingState(
    "Standard", (ExtensionState("AIPromptEvidence", True), ExtensionState("AIModelScanner", True))
)
STANDARD_NO_EVIDENCE = PricingState(
    "Standard", (ExtensionState("AIPromptEvidence", False), ExtensionState("AIModelScanner", True))
)


def sub_id(n: int) -> str:
    return f"{n:08x}-1111-2222-3333-444455556666"


def make_outcome(kind: OutcomeKind, n: int = 1, **overrides: Any) -> Outcome:
    """A realistic outcome of this kind for subscription number n."""
    values: dict[str, Any] = {
        "subscription_id": sub_id(n),
        "subscription_name": f"Subscription {n}",
        "outcome": kind,
        "trigger": Trigger("sweep", "sweep-2025-06-01T10:00:00Z"),
        "mode": Mode.AUDIT if kind is OutcomeKind.WOULD_REMEDIATE else Mode.ENFORCE,
        "started_at": f"2025-06-01T10:00:{n % 60:02d}.{n:06d}Z",
        "duration_ms": 12.5,
        "arm_calls": {"get": 1},
    }
    if kind in (OutcomeKind.REMEDIATED, OutcomeKind.WOULD_REMEDIATE):
        values |= {
            "before": FREE,
            "after": STANDARD_FULL if kind is OutcomeKind.REMEDIATED else None,
            "changes": [
                FieldChange("pricingTier", "Free", "Standard"),
                FieldChange("extensions.AIPromptEvidence", "off", "on"),
            ],
            "arm_calls": {"get": 1, "put": 1} if kind is OutcomeKind.REMEDIATED else {"get": 1},
        }
    elif kind is OutcomeKind.COMPLIANT:
        values |= {"before": STANDARD_FULL, "after": STANDARD_FULL}
    elif kind is OutcomeKind.EXCLUDED:
        values |= {"reason": "tag defender-ai-exempt=sandbox", "before": FREE, "after": FREE}
    elif kind is OutcomeKind.FAILED:
        values |= {
            "before": FREE,
            "after": FREE,
            "changes": [FieldChange("pricingTier", "Free", "Standard")],
            "error": "AuthorizationFailed: the identity cannot write pricings. "
            "Fix: assign Security Admin to the enforcer's identity at the management group.",
            "error_kind": ErrorKind.FORBIDDEN,
            "arm_calls": {"get": 1, "put": 1},
        }
    elif kind is OutcomeKind.PARTIALLY_FAILED:
        values |= {
            "before": FREE,
            "after": STANDARD_NO_EVIDENCE,
            "changes": [
                FieldChange("pricingTier", "Free", "Standard"),
                FieldChange("extensions.AIPromptEvidence", "off", "on"),
            ],
            "error": "Extension AIPromptEvidence failed: role assignment denied. "
            "Fix: give the identity Owner or User Access Administrator.",
            "error_kind": ErrorKind.EXTENSION_FAILED,
            "arm_calls": {"get": 1, "put": 1},
        }
    elif kind is OutcomeKind.IGNORED:
        values |= {
            "reason": "event is not a pricing write",
            "trigger": Trigger("event", f"event-{n}", "Microsoft.Resources.ResourceWriteSuccess"),
        }
    elif kind is OutcomeKind.REJECTED:
        values |= {
            "reason": "subscription is out of scope",
            "trigger": Trigger("event", f"event-{n}", "Microsoft.Resources.ResourceWriteSuccess"),
        }
    values |= overrides
    return Outcome(**values)
