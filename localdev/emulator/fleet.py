"""Deterministic fleets of subscriptions with a chosen share of AI-plan drift."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any, Final

from localdev.emulator.state import AI_EXTENSIONS

COMPLIANT: Final = "compliant"
FREE_DRIFT: Final = "free"
COMPONENT_OFF: Final = "component_off"
PURVIEW_ON: Final = "purview_on"
NO_EXTENSIONS: Final = "no_extensions"
DRIFT_KINDS: Final = (FREE_DRIFT, COMPONENT_OFF, PURVIEW_ON, NO_EXTENSIONS)

# A fixed past enablement time keeps seeded fleets byte-for-byte reproducible.
SEEDED_ENABLEMENT_TIME: Final = "2024-06-03T09:15:27.4181216Z"
_ENVIRONMENTS: Final = ("prod", "dev", "test", "shared")


@dataclass(frozen=True)
class FleetMember:
    subscription_id: str
    display_name: str
    drift_kind: str  # "compliant" | "free" | "component_off" | "purview_on" | "no_extensions"


@dataclass(frozen=True)
class SeededSubscription:
    member: FleetMember
    tags: dict[str, str]
    ai_pricing: dict[str, Any]  # the stored properties of pricings/AI


# The AI plan as the enforcer's defaults want it (prompt evidence and model security on, Purview off).
COMPLIANT_EXTENSIONS: dict[str, str] = {
    "AIPromptEvidence": "True",
    "AIPromptSharingWithPurview": "False",
    "AIModelScanner": "True",
}
COMPLIANT_AI_PRICING: dict[str, Any] = {
    "pricingTier": "Standard",
    "extensions": [{"name": n, "isEnabled": v} for n, v in COMPLIANT_EXTENSIONS.items()],
}


def _standard(extensions: dict[str, str] | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "pricingTier": "Standard",
        "freeTrialRemainingTime": "PT0S",
        "enablementTime": SEEDED_ENABLEMENT_TIME,
        "enforce": "False",
        "resourcesCoverageStatus": "FullyCovered",
    }
    if extensions is not None:
        props["extensions"] = [{"name": name, "isEnabled": value} for name, value in extensions.items()]
    return props


def ai_pricing_for(kind: str, rng: random.Random) -> dict[str, Any]:
    """The AI plan's stored properties for one drift kind."""
    compliant = COMPLIANT_EXTENSIONS
    if kind == COMPLIANT:
        return _standard(compliant)
    if kind == FREE_DRIFT:
        return {
            "pricingTier": "Free",
            "freeTrialRemainingTime": "PT0S",
            "enforce": "False",
            "resourcesCoverageStatus": "NotCovered",
        }
    if kind == COMPONENT_OFF:
        off = rng.choice(("AIPromptEvidence", "AIModelScanner"))
        return _standard({**compliant, off: "False"})
    if kind == PURVIEW_ON:
        return _standard(dict.fromkeys(AI_EXTENSIONS, "True"))
    if kind == NO_EXTENSIONS:
        # How a plan enabled before extensions existed looks: no `extensions` key at all.
        return _standard(None)
    raise ValueError(f"unknown drift kind {kind!r}; expected one of {(COMPLIANT, *DRIFT_KINDS)}")


def build_fleet(n: int, drift_fraction: float = 0.2, seed: int = 1) -> list[SeededSubscription]:
    """n subscriptions; round(n * drift_fraction) of them drifted, spread evenly over the drift kinds."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if not 0.0 <= drift_fraction <= 1.0:
        raise ValueError("drift_fraction must be between 0 and 1")
    rng = random.Random(seed)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]
    drifted = rng.sample(range(n), round(n * drift_fraction))
    kinds = [COMPLIANT] * n
    kind_order = list(DRIFT_KINDS)
    rng.shuffle(kind_order)
    for position, index in enumerate(drifted):
        kinds[index] = kind_order[position % len(kind_order)]
    fleet: list[SeededSubscription] = []
    for index, (sub_id, kind) in enumerate(zip(ids, kinds, strict=True)):
        name = f"sub-{index + 1:04d}"
        tags = {"env": _ENVIRONMENTS[index % len(_ENVIRONMENTS)], "costCenter": f"cc-{rng.randrange(100, 1000)}"}
        fleet.append(SeededSubscription(FleetMember(sub_id, name, kind), tags, ai_pricing_for(kind, rng)))
    return fleet


__all__ = [
    "COMPLIANT",
    "COMPONENT_OFF",
    "DRIFT_KINDS",
    "FREE_DRIFT",
    "NO_EXTENSIONS",
    "PURVIEW_ON",
    "FleetMember",
    "SeededSubscription",
    "ai_pricing_for",
    "build_fleet",
]
