"""What one sweep knows and returns: its kinds, its result, and the plan it follows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from enforcer.core.models import Outcome, RunSummary, SubscriptionInfo

SWEEP_KIND: Final = "sweep"
# A dry run is recorded apart, so that it neither moves the real sweep's resume point nor reads it.
DRY_RUN_KIND: Final = "sweep-dry-run"
COMPLIANT_PER_GRAPH: Final = "compliant per Resource Graph (not re-read from ARM)"
AUDIT_CHUNK: Final = 100
AUDIT_WRITERS: Final = 8

Progress = Callable[[int, int], None]


class SweepError(RuntimeError):
    """The sweep could not start (the subscription list failed); the run summary was recorded."""

    def __init__(self, message: str, summary: RunSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class SweepResult:
    outcomes: list[Outcome]
    summary: RunSummary
    # Seconds spent per phase: "inventory" (list, scope, stored inventory, resume point), "checks" (Resource
    # Graph, GETs and PUTs), "records" (audit records, inventory, run summary, digest card).
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Plan:
    """What this run will look at, in order, and what it knows before any pricing call."""

    infos: dict[str, SubscriptionInfo | None]
    new: list[str]  # handled first
    rest: list[str]  # sorted and rotated after the resume point
    excluded: dict[str, str]
    notes: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    inventory_baseline: bool = False
    resume_after: str | None = None
