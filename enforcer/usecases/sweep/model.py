"""What one sweep knows and returns: its kinds, its result, and the plan it follows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from enforcer.core.models import Outcome, PricingState, RunSummary, SubscriptionInfo
from enforcer.core.records import AuditRecord

SWEEP_KIND: Final = "sweep"
# A dry run is recorded apart, so that it neither moves the real sweep's resume point nor reads it.
DRY_RUN_KIND: Final = "sweep-dry-run"
COMPLIANT_PER_GRAPH: Final = "compliant per Resource Graph (not re-read from ARM)"
# Markers in the runs table: when the sweep last listed every subscription from the subscriptions API, and
# when it last deleted history past the retention period.
FULL_LISTING_MARKER: Final = "sweep-full-listing"
RETENTION_MARKER: Final = "audit-retention"
RETENTION_EVERY_HOURS: Final = 24.0

Progress = Callable[[int, int], None]


class SweepError(RuntimeError):
    """The sweep could not start (no subscription list, or no audit store to record in); nothing was changed.

    `summary` is the run summary, recorded when the audit store answers.
    """

    def __init__(self, message: str, summary: RunSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class SweepResult:
    outcomes: list[Outcome]
    summary: RunSummary
    # Seconds spent per phase: "inventory" (list, scope, stored inventory, resume point), "checks" (Resource
    # Graph, GETs and PUTs), "records" (digest card, current state, run summary, retention).
    timings: dict[str, float] = field(default_factory=dict)
    # Decisions the audit store did not take (they are in the log at ERROR), and why.
    unrecorded: list[Outcome] = field(default_factory=list)
    store_error: str | None = None


@dataclass
class Plan:
    """What this run will look at, in order, and what it knows before any pricing call."""

    infos: dict[str, SubscriptionInfo | None]
    new: list[str]  # handled first
    rest: list[str]  # sorted and rotated after the resume point
    excluded: dict[str, str]
    # Resource Graph's pricing per subscription it listed (None: no readable row); absent: ask ARM.
    pricings: dict[str, PricingState | None] = field(default_factory=dict)
    # Each subscription's outcome before this run (its current-state row), for what counts as notable.
    previous: dict[str, str] = field(default_factory=dict)
    # The current-state rows themselves (None without an audit store): the record step rewrites only what changed.
    current: dict[str, AuditRecord] | None = None
    notes: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    inventory_baseline: bool = False
    resume_after: str | None = None
    full_listing: bool = False
